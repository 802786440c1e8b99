"""Harvester: runs a `Runner` over parameters into an on-disk store that never loses a finished point."""

from __future__ import annotations

import difflib
import functools
import inspect
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from k1widgets import display
from k1widgets.farming.dataset import buildDataset, canonicalCoords, mergeDatasets, sortedValues
from k1widgets.farming.engines import dumper, loader, presentKeys, sameValue
from k1widgets.farming.keys import canonical
from k1widgets.farming.runner import Runner, combine, expandCases
from k1widgets.farming.state import sweepState
from k1widgets.farming.store import MemoryStore, PointStore, bestRecords
from k1widgets.farming.svg import sweepSvg
from k1widgets.farming.sweep import Sweep, SweepError, sweepErrorMessage
from k1widgets.live import Feed

__all__ = ["Harvester"]

Record = dict[str, Any]
CONSOLIDATE_AT = 512
"""A harvest consolidates the store when this many point files wait (amortised O(1) writes per point)."""


ON_EXISTING = ("resume", "raise", "delete", "skip")
"""``on_existing``: what to do when ``data_name`` already holds data. Default ``"resume"``: never a prompt."""
ON_ERROR = ("record", "raise", "skip")
"""``on_error``: ``"record"`` (default) stores each failure and raises after the sweep if ``raise_errors``;
``"raise"`` forces raising after the sweep; ``"skip"`` never raises (failures are still recorded)."""

_CROP_ONLY = ("subprocess", "num_threads", "gpus", "affinities")


def _choice(name: str, value: str, valid: Sequence[str]) -> str:
    if value in valid:
        return value
    close = difflib.get_close_matches(str(value), valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    ask = " k1widgets never prompts, so 'ask' is not available." if value == "ask" else ""
    msg = f"{name}={value!r} is not valid: use one of {', '.join(map(repr, valid))}.{ask}{hint}"
    raise ValueError(msg)


def checkGrowKwargs(where: str, grow_kwargs: Mapping[str, Any], valid: Sequence[str]) -> None:
    """Refuses xyzpy crop options other than their no-op values, and unknown arguments, naming the valid ones."""
    names = sorted(n for n in valid if n not in ("self", "fn", "grow_kwargs"))
    for k, v in grow_kwargs.items():
        if k in _CROP_ONLY and (v is None or v is False or v == "auto"):
            continue
        why = (
            " xyzpy's crop subprocess options have no equivalent here: use a Dask or Ray executor"
            if k in _CROP_ONLY
            else ""
        )
        close = difflib.get_close_matches(k, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        msg = f"{where} got an unexpected argument {k}={v!r}.{why}{hint} Valid arguments: {', '.join(names)}."
        raise TypeError(msg)


@functools.cache  # an engine that wrote once in this process keeps working: check it once
def _checkEngine(engine: str) -> None:
    """Refuses at once an engine that cannot write here (not when the first consolidation comes)."""
    try:
        xr.Dataset({"a": ("x", [0])}).to_netcdf(engine=engine)  # type: ignore[call-overload]
    except Exception as e:  # any failure means this engine cannot store the sweep
        installed = ", ".join(repr(n) for n in ["pickle", *xr.backends.list_engines()] if n != "store")
        msg = (
            f"Harvester engine {engine!r} cannot write netCDF here ({type(e).__name__}: {e}). "
            f"Engines xarray knows here: {installed}. For netCDF, install its packages "
            "(pip install h5netcdf h5py, or scipy)."
        )
        raise ValueError(msg) from e


class Harvester:
    """Runs a `Runner` over parameters and merges the results into ``full_ds``, stored on disk.

    xyzpy's names and merge rules, with a store that never loses a finished point: each point is written
    atomically to its own file (``<data_name>.k1sweep/points/``) the moment it finishes; ``full_ds`` is the
    consolidated dataset (``data_name``, a pickled `xarray.Dataset` by default) merged with the points not
    consolidated yet. A failing point records its error and traceback; the others go on and are kept.
    Several processes may harvest into one store at once.

    Args:
        runner: the labelled function (`label` / `Runner`); None opens a store read-only (e.g. to show it).
        data_name: the consolidated file; None keeps everything in memory.
        chunks: accepted for xyzpy compatibility (datasets are loaded in memory).
        engine: ``"pickle"`` (default) or an xarray netCDF engine (``"h5netcdf"``, ``"scipy"``...) for
            ``data_name``.
        full_ds: a dataset to start from (kept in memory until ``save_full_ds``).
        consolidateAt: consolidate after a harvest once this many point files wait.
        syncPoints: fsync every point file as it is written (see `PointStore`; consolidation always does).

    Example:
        >>> from k1widgets.farming import label
        >>> @label(var_names=["sum", "diff"])
        ... def foo(x, y):
        ...     return x + y, x - y
        >>> h = Harvester(foo, data_name="foo.pkl")
        >>> h.harvest_combos({"x": [1, 2], "y": [10, 20]}, missing_only=True)
        >>> h.full_ds["diff"].values.tolist()
        [[-9, -19], [-8, -18]]
    """

    def __init__(
        self,
        runner: Runner | None,
        data_name: str | None = None,
        chunks: Any = None,
        engine: str = "pickle",
        full_ds: xr.Dataset | None = None,
        *,
        consolidateAt: int = CONSOLIDATE_AT,
        syncPoints: bool = False,
    ) -> None:
        if engine != "pickle":
            _checkEngine(engine)
        self.runner = runner
        self.data_name = data_name
        self.chunks = chunks
        self.engine = engine
        self.consolidateAt = consolidateAt
        self.store: PointStore | MemoryStore = (
            PointStore(data_name, load=loader(engine), dump=dumper(engine), syncPoints=syncPoints)
            if data_name
            else MemoryStore()
        )
        self._memory = MemoryStore()  # results of sync=False harvests
        self._last_ds: xr.Dataset | None = None
        self.sweep: Sweep | None = None  # the latest sweep (running or over)
        self.feed = Feed()  # fires when points are stored (live views follow it)
        if full_ds is not None:
            self._memory.consolidate(self._merge, transform=lambda _: canonicalCoords(full_ds))

    # ------------------------------------------------------------------ description
    @property
    def fn(self) -> Callable[..., Any]:
        """The runner's function."""
        return self._needRunner().fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the plain function."""
        return self._needRunner()(*args, **kwargs)

    def _needRunner(self) -> Runner:
        if self.runner is None:
            msg = (
                f"This Harvester of {self.data_name!r} was opened without a runner, so it can show and edit "
                f"the data but not compute points: pass the labelled function, Harvester(runner, data_name)."
            )
            raise TypeError(msg)
        return self.runner

    @property
    def meta(self) -> dict[str, Any]:
        """What the store holds: function, variables, dimensions, the grid asked for so far."""
        return self.store.readMeta()

    @property
    def dims(self) -> list[str]:
        """The parameter dimensions of the data (in order)."""
        dims = self.meta.get("dims")
        if dims:
            return list(dims)
        ds = self.full_ds
        if ds is None:
            return []
        inner = {d for dd in (self.runner.var_dims.values() if self.runner else ()) for d in dd}
        return [str(d) for d in ds.dims if d not in inner]

    def __repr__(self) -> str:
        where = f"{self.data_name}  [{self.engine}]" if self.data_name else "(in memory)"
        _, records = self.store.snapshot()
        failed = sum(1 for r in records.values() if r["status"] == "error")
        runner = repr(self.runner) if self.runner is not None else "None (opened read-only)"
        return (
            f"<k1widgets.Harvester>\nRunner: {runner}\nSync file -->\n    {where}\n"
            f"Store: {self.store.pending()} points waiting for consolidation, {failed} failed"
        )

    # ------------------------------------------------------------------ data
    def _build(self, records: Sequence[Record]) -> xr.Dataset | None:
        if not records:
            return None
        meta = self.store.readMeta()
        defaults = {k: v for k, v in meta.get("expanded", {}).items()}
        dims = meta.get("dims") or None
        if self.runner is not None:
            return self.runner.build(records, dims=dims, defaults=defaults)
        return buildDataset(
            records,
            dims=dims,
            varNames=meta.get("var_names"),
            varDims=meta.get("var_dims"),
            varCoords=meta.get("var_coords"),
            defaults=defaults,
        )

    def _merge(self, old: xr.Dataset | None, ok: list[Record]) -> xr.Dataset | None:
        """Consolidation: the records win over the old data."""
        new = self._build(ok)
        if new is None:
            return old
        return new if old is None else new.combine_first(old)

    def _snapshot(self) -> tuple[xr.Dataset | None, dict[str, Record]]:
        consolidated, records = self.store.snapshot()
        memConsolidated, memRecords = self._memory.snapshot()
        if memConsolidated is not None:
            consolidated = mergeDatasets(consolidated, memConsolidated, overwrite=True)
        return consolidated, bestRecords(records, memRecords)

    @property
    def full_ds(self) -> xr.Dataset | None:
        """Every point harvested so far (read from disk: consolidated data + points not consolidated)."""
        consolidated, records = self._snapshot()
        return self._merge(consolidated, [r for r in records.values() if r["status"] == "ok"])

    @property
    def last_ds(self) -> xr.Dataset | None:
        """The dataset of the last harvest's points."""
        return self._last_ds

    @property
    def errors(self) -> dict[str, Record]:
        """Error records of the points whose last attempt failed and that have no good result."""
        consolidated, records = self._snapshot()
        failed = {k: r for k, r in records.items() if r["status"] == "error"}
        if not failed or consolidated is None:
            return failed
        present = presentKeys(consolidated, {k: r["params"] for k, r in failed.items()})
        return {k: r for k, r in failed.items() if k not in present}

    @property
    def corrupt(self) -> list[tuple[str, str, str]]:
        """Unreadable files set aside so far: ``(file, where it went, why)``."""
        return list(self.store.corrupt)

    def load_full_ds(self, chunks: Any = None, engine: str | None = None) -> xr.Dataset | None:
        """Reads the data from disk (``full_ds`` always does; kept for xyzpy compatibility)."""
        return self.full_ds

    def consolidate(self) -> xr.Dataset | None:
        """Folds the point files into ``data_name`` now (atomic; a harvest does it every ``consolidateAt``)."""
        ds: xr.Dataset | None = self.store.consolidate(self._merge)
        return ds

    def save_full_ds(self, new_full_ds: xr.Dataset | None = None, engine: str | None = None) -> None:
        """Writes everything (or ``new_full_ds``, replacing it all) to ``data_name``, atomically."""
        memConsolidated, memRecords = self._memory.snapshot()
        for r in memRecords.values():
            self.store.write(r)
        transform = None
        if new_full_ds is not None:
            new = canonicalCoords(new_full_ds)
            transform = lambda _: new  # noqa: E731
        elif memConsolidated is not None:
            transform = lambda cur: mergeDatasets(cur, memConsolidated, overwrite=True)  # noqa: E731
        self.store.consolidate(self._merge, transform)
        self._memory = MemoryStore()
        self.feed.changed()

    def delete_ds(self, backup: bool = False) -> None:
        """Deletes ``data_name`` and its store (with ``backup``: renames them ``*.BAK-<time>``)."""
        self.store.delete(backup=backup)
        self._memory = MemoryStore()
        self.feed.changed()

    def add_ds(
        self,
        new_ds: xr.Dataset | xr.DataArray,
        sync: bool = True,
        overwrite: bool | None = None,
        chunks: Any = None,
        engine: str | None = None,
    ) -> None:
        """Merges a dataset into the full dataset (on disk with ``sync``), with xyzpy's ``overwrite`` rules.

        Raises:
            xarray.MergeError: ``overwrite=None`` and values conflict (nothing is changed).
        """
        new = canonicalCoords(new_ds.to_dataset() if isinstance(new_ds, xr.DataArray) else new_ds)
        store = self.store if sync else self._memory
        store.consolidate(self._merge, transform=lambda cur: mergeDatasets(cur, new, overwrite))
        self.feed.changed()

    def expand_dims(self, name: str, value: Any, engine: str | None = None) -> None:
        """Adds the dimension ``name`` with the single coordinate ``value`` to the data (synced to disk).

        Earlier points get ``name=value``; later harvests can then vary ``name``.
        """
        value = canonical(value)
        self.store.consolidate(self._merge)  # the points stored so far, with the old dimensions
        self._memory.consolidate(self._merge)
        meta = self.store.readMeta()
        if self.data_name is not None:
            meta.setdefault("expanded", {})[name] = value
            dims = meta.get("dims") or self.dims
            meta["dims"] = [name, *[d for d in dims if d != name]]
            meta.setdefault("grid", {})[name] = [value]
            self.store.writeMeta(meta)
        expand = lambda ds: ds if ds is None or name in ds.dims else ds.expand_dims({name: [value]})  # noqa: E731
        self.store.consolidate(self._merge, transform=expand)
        self._memory.consolidate(self._merge, transform=expand)
        self.feed.changed()

    def drop_sel(
        self,
        labels: Mapping[str, Any] | None = None,
        *,
        errors: str = "raise",
        engine: str | None = None,
        **labels_kwargs: Any,
    ) -> None:
        """Drops coordinate values from the data and its store (synced to disk), like `xarray.Dataset.drop_sel`."""
        labels = {**dict(labels or {}), **labels_kwargs}
        canon = {
            k: [canonical(v) for v in (v if isinstance(v, list | tuple | np.ndarray) else [v])]
            for k, v in labels.items()
        }
        drop = lambda ds: None if ds is None else ds.drop_sel(canon, errors=errors)  # noqa: E731
        self.store.consolidate(self._merge, transform=drop)
        self._memory.consolidate(self._merge, transform=drop)

        def keep(r: Record) -> bool:
            return not any(r["params"].get(k) in vs for k, vs in canon.items())

        if isinstance(self.store, PointStore):
            self.store.replaceErrors(keep)
            meta = self.store.readMeta()
            grid = meta.get("grid", {})
            for k, vs in canon.items():
                if k in grid:
                    grid[k] = [v for v in grid[k] if canonical(v) not in vs]
            if grid:
                self.store.writeMeta(meta)
        self.feed.changed()

    # ------------------------------------------------------------------ harvesting
    def _expandEllipsis(self, combos: Any) -> Any:
        items = list(combos.items()) if isinstance(combos, Mapping) else [tuple(kv) for kv in combos]
        if not any(v is Ellipsis for _, v in items):
            return combos
        ds = self.full_ds
        out = {}
        for k, v in items:
            if v is Ellipsis:
                if ds is None or k not in ds.coords:
                    msg = f"combos[{k!r}] is ... (every value present), but the full dataset has no {k!r} values yet."
                    raise ValueError(msg)
                v = ds[k].values.tolist()
            out[k] = v
        return out

    def _updateMeta(self, dims: list[str], params: list[dict[str, Any]], constants: Mapping[str, Any]) -> None:
        runner = self._needRunner()
        meta = self.store.readMeta()
        grid = meta.get("grid", {})
        for d in dims:
            old = [tuple(v) if isinstance(v, list) else v for v in grid.get(d, [])]
            grid[d] = sortedValues([*old, *(p[d] for p in params if d in p)])
        expanded = meta.get("expanded", {})
        oldDims = [d for d in meta.get("dims", []) if d not in dims]
        meta.update(
            format="k1widgets-sweep",
            version=1,
            kind="harvester",
            fn=getattr(runner.fn, "__qualname__", repr(runner.fn)),
            var_names=list(runner.var_names) if runner.var_names is not None else None,
            var_dims={k: list(v) for k, v in runner.var_dims.items()},
            var_coords=runner.var_coords,
            constants={**runner.constants, **constants},
            dims=[*[d for d in oldDims if d in expanded], *dims],
            grid=grid,
        )
        self.store.writeMeta(meta)

    def cultivate(
        self,
        combos: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        cases: Iterable[Any] | None = None,
        constants: Mapping[str, Any] | None = None,
        name: str | None = None,
        parent_dir: str | None = None,
        batchsize: int | None = None,
        num_batches: int | None = None,
        missing_only: bool = True,
        shuffle: bool = True,
        executor: Any = None,
        num_workers: int | None = None,
        raise_errors: bool = True,
        verbosity: int = 1,
        on_existing: str = "resume",
        on_error: str = "record",
        clean_up: bool | None = None,
        background: bool = False,
        seed: int | None = None,
        **grow_kwargs: Any,
    ) -> xr.Dataset | Sweep | None:
        """Runs the missing points of ``combos`` (× ``cases``) into this harvester: xyzpy's ``Harvester.cultivate``.

        The same as ``cultivate(harvester, ...)`` (see `k1widgets.farming.cultivate` for every argument):
        ``name``, ``parent_dir``, ``batchsize``, ``num_batches`` and ``clean_up`` are accepted for
        xyzpy compatibility and unused (every point is stored on its own, there are no crops).

        Returns:
            The full dataset (None if nothing was stored), or the running `Sweep` with ``background=True``.
        """
        checkGrowKwargs("Harvester.cultivate()", grow_kwargs, list(inspect.signature(Harvester.cultivate).parameters))
        on_existing = _choice("on_existing", on_existing, ON_EXISTING)
        on_error = _choice("on_error", on_error, ON_ERROR)
        if on_error == "raise":
            raise_errors = True
        elif on_error == "skip":
            raise_errors = False
        if self.data_name and (os.path.exists(self.data_name) or os.path.exists(self.data_name + ".k1sweep")):
            if on_existing == "raise":
                msg = (
                    f"{self.data_name!r} already holds a sweep (on_existing='raise'). Use on_existing='resume' to "
                    f"compute only the missing points, or 'delete' to start again."
                )
                raise FileExistsError(msg)
            if on_existing == "delete":
                self.delete_ds()
            elif on_existing == "skip":
                return self.full_ds
        sweep = self.harvest_combos(
            combos or {},
            cases=cases,
            missing_only=missing_only,
            overwrite=None if missing_only else True,
            constants=constants or {},
            background=background,
            executor=executor,
            num_workers=num_workers,
            raise_errors=raise_errors,
            shuffle=shuffle,
            seed=seed,
            verbosity=verbosity,
        )
        if background:
            return sweep
        return self.full_ds

    def harvest_combos(
        self,
        combos: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
        *,
        cases: Iterable[Any] | None = None,
        missing_only: bool = False,
        sync: bool = True,
        overwrite: bool | None = None,
        chunks: Any = None,
        engine: str | None = None,
        constants: Any = (),
        background: bool = False,
        **runner_settings: Any,
    ) -> Sweep | None:
        """Runs every combination of ``combos`` (× ``cases``), storing each point as it finishes.

        Args:
            combos: the values of each argument; ``...`` means every value already in ``full_ds``.
            cases: partial settings, each combined with every combination of ``combos``.
            missing_only: run only points without data (failed points are retried).
            sync: store on disk (False: keep the results in memory until ``save_full_ds``).
            overwrite: for points that already hold data: None raises `xarray.MergeError` after the
                harvest if a new value differs (the old one is kept, every other point saved); True
                replaces; False keeps the old value.
            chunks: accepted for xyzpy compatibility (datasets are loaded in memory).
            engine: accepted for xyzpy compatibility (the harvester's engine is used).
            constants: extra constant arguments for this harvest.
            background: run in a thread and return the `Sweep` at once (``.wait()``, ``.cancel()``).
            runner_settings: ``executor``, ``num_workers``, ``raise_errors`` (default True: raise
                `SweepError` after the harvest if points failed), ``shuffle``, ``seed``, ``verbosity``.

        Returns:
            None, or the running `Sweep` with ``background=True``.
        """
        combos = self._expandEllipsis(combos or {})
        args = self._needRunner().fn_args
        dims, params, _ = combine(combos, expandCases(cases, args) if cases is not None else None)
        return self._harvest(dims, params, missing_only, sync, overwrite, constants, background, runner_settings)

    def harvest_cases(
        self,
        cases: Iterable[Any],
        *,
        sync: bool = True,
        overwrite: bool | None = None,
        chunks: Any = None,
        engine: str | None = None,
        missing_only: bool = False,
        constants: Any = (),
        background: bool = False,
        **runner_settings: Any,
    ) -> Sweep | None:
        """Runs each case (a dict, or a tuple in ``fn_args`` order), storing each point as it finishes."""
        dims, params, _ = combine(None, expandCases(cases, self._needRunner().fn_args))
        return self._harvest(dims, params, missing_only, sync, overwrite, constants, background, runner_settings)

    def _harvest(
        self,
        dims: list[str],
        params: list[dict[str, Any]],
        missingOnly: bool,
        sync: bool,
        overwrite: bool | None,
        constants: Any,
        background: bool,
        runnerSettings: Mapping[str, Any],
    ) -> Sweep | None:
        runner = self._needRunner()
        settings = runner.settings(runnerSettings, "harvest")
        points = runner.points(params)
        if sync:
            self._updateMeta(dims, [p for _, p in points], dict(constants))
        consolidated, records = self._snapshot()
        okKeys = {k for k, r in records.items() if r["status"] == "ok"}
        present = okKeys | presentKeys(consolidated, {k: p for k, p in points if k not in okKeys})
        if missingOnly:
            points = [(k, p) for k, p in points if k not in present]
        existing = self.full_ds if (present and overwrite is not True and not missingOnly) else None
        conflicts: dict[str, Record] = {}
        store = self.store if sync else self._memory

        def sink(record: Record) -> None:
            if record["status"] == "ok" and existing is not None and record["key"] in present:
                old = existing.sel({d: record["params"][d] for d in existing.dims if d in record["params"]})
                same = all(sameValue(old[v].values, x) for v, x in record["result"].items() if v in old)
                if overwrite is False or not same:
                    if not same and overwrite is None:
                        conflicts[record["key"]] = record
                    return  # the old value stays
            store.write(record)
            self.feed.changed()

        def onEnd(sweep: Sweep) -> Callable[[], xr.Dataset | None]:
            ok = [r for r in sweep.records.values() if r["status"] == "ok"]
            self._last_ds = runner.build(ok, dims=dims, constants=constants) if ok else None
            if isinstance(self.store, PointStore) and self.store.pending() >= self.consolidateAt:
                self.consolidate()
            self.feed.flush()
            if conflicts:
                first = next(iter(conflicts.values()))
                msg = (
                    f"{len(conflicts)} new results conflict with stored values (first at {first['params']}); the "
                    f"stored values were kept and every other point saved. Pass overwrite=True to replace them, "
                    f"overwrite=False to keep the old ones silently, or missing_only=True to skip present points."
                )
                raise xr.MergeError(msg)
            errors = sweep.errors
            if errors and settings.get("raise_errors", True):
                raise SweepError(sweepErrorMessage(errors, len(sweep.points)), errors)
            return lambda: self.full_ds  # built only if someone waits for it

        sweep = runner.sweep(points, sink=sink, constants=constants, settings=settings, source=self, onEnd=onEnd)
        self.sweep = sweep
        self.feed.changed()
        if settings.get("verbosity", 1):
            display.show(sweep)  # the live view, in a widget front-end
        if background:
            return sweep.start()
        sweep.run()
        return None

    # ------------------------------------------------------------------ display
    def viewData(self) -> dict[str, Any]:
        """What the sweep view shows: the data, the grid, failed and running points (plain data)."""
        consolidated, records = self._snapshot()
        ds = self._merge(consolidated, [r for r in records.values() if r["status"] == "ok"])
        failed = {k: r for k, r in records.items() if r["status"] == "error"}
        meta = self.store.readMeta()
        dims = list(meta.get("dims") or self.dims)
        grid: dict[str, list[Any]] = {}
        for d in dims:
            values = [tuple(v) if isinstance(v, list) else v for v in meta.get("grid", {}).get(d, [])]
            if ds is not None and d in ds.coords:
                values += [canonical(v) for v in ds[d].values.tolist()]
            values += [r["params"][d] for r in failed.values() if d in r["params"]]
            grid[d] = sortedValues(values)
        fn = meta.get("fn")
        return {"ds": ds, "dims": dims, "grid": grid, "failed": failed, "sweep": self.sweep, "fn": fn}

    def widget(self, **kwargs: Any) -> Any:
        """The sweep view: counts, ETA, a heatmap of a result over two parameters, point details."""
        return display.view(self, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self, sweep: Sweep | None = None) -> str:
        return sweepSvg(sweepState(self, sweep=sweep))
