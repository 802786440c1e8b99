"""Sampler: runs a `Runner` on random combinations, one row per sample, in a store that loses nothing."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

import numpy as np
import pandas as pd

from k1widgets import display
from k1widgets.farming.keys import canonicalParams, pointKey
from k1widgets.farming.runner import Runner
from k1widgets.farming.state import sweepState
from k1widgets.farming.store import MemoryStore, PointStore, bestRecords
from k1widgets.farming.svg import sweepSvg
from k1widgets.farming.sweep import Sweep, SweepError, sweepErrorMessage
from k1widgets.live import Feed

__all__ = ["Sampler"]

Record = dict[str, Any]


def _load(path: str) -> pd.DataFrame:
    with open(path, "rb") as f:
        df = pickle.load(f)
    if not isinstance(df, pd.DataFrame):
        msg = f"expected a pickled pandas DataFrame, found {type(df).__name__}"
        raise TypeError(msg)
    return df


def _dump(df: Any, f: IO[bytes]) -> None:
    pickle.dump(df, f, protocol=5)


class Sampler:
    """Like a `Harvester`, but samples random combinations and keeps a table (`pandas.DataFrame`).

    Each sample is written atomically to its own file the moment it finishes (``<data_name>.k1sweep``);
    ``full_df`` is the consolidated table (``data_name``, a pickled DataFrame) plus the samples not
    consolidated yet, one row per sample (indexed by a unique sample id), with a column per argument and
    per output. Sampling is seeded with ``seed=`` (xyzpy's is not).

    Args:
        runner: the labelled function.
        data_name: the consolidated file; None keeps the table in memory.
        default_combos: what to sample from when ``sample_combos`` gets no combos.
        full_df: a table to start from (in memory until ``save_full_df``).
        engine: ``"pickle"`` (the only one: a table of arrays and objects round-trips exactly).
    """

    def __init__(
        self,
        runner: Runner,
        data_name: str | None = None,
        default_combos: Mapping[str, Any] | None = None,
        full_df: pd.DataFrame | None = None,
        engine: str = "pickle",
    ) -> None:
        if engine != "pickle":
            msg = f"Sampler engine {engine!r} is not supported: use engine='pickle' (exact round trips of any value)."
            raise ValueError(msg)
        self.runner = runner
        self.data_name = data_name
        self.default_combos = dict(default_combos or {})
        self.engine = engine
        self.store: PointStore | MemoryStore = (
            PointStore(data_name, load=_load, dump=_dump) if data_name else MemoryStore()
        )
        self._last_df: pd.DataFrame | None = None
        self.sweep: Sweep | None = None
        self.feed = Feed()
        self._memory = MemoryStore()
        if full_df is not None:
            self._memory.consolidate(self._merge, transform=lambda _: full_df)

    @property
    def fn(self) -> Callable[..., Any]:
        """The runner's function."""
        return self.runner.fn

    def __repr__(self) -> str:
        where = f"{self.data_name}  [{self.engine}]" if self.data_name else "(in memory)"
        return f"<k1widgets.Sampler>\nRunner: {self.runner!r}\nSync file -->\n    {where}"

    # ------------------------------------------------------------------ data
    def _rows(self, records: Sequence[Record]) -> pd.DataFrame:
        rows = [{**r["params"], **r["result"]} for r in records]
        df = pd.DataFrame(rows, index=pd.Index([r["key"] for r in records], name="sample"))
        return df

    def _merge(self, old: pd.DataFrame | None, ok: list[Record]) -> pd.DataFrame | None:
        if not ok:
            return old
        new = self._rows(sorted(ok, key=lambda r: r.get("finished", 0.0)))
        if old is None or old.empty:
            return new
        return pd.concat([old.drop(index=new.index, errors="ignore"), new])

    def _snapshot(self) -> tuple[pd.DataFrame | None, dict[str, Record]]:
        consolidated, records = self.store.snapshot()
        memConsolidated, memRecords = self._memory.snapshot()
        if memConsolidated is not None:
            consolidated = memConsolidated if consolidated is None else pd.concat([consolidated, memConsolidated])
        return consolidated, bestRecords(records, memRecords)

    @property
    def full_df(self) -> pd.DataFrame | None:
        """Every sample so far: one row per sample, a column per argument and output."""
        consolidated, records = self._snapshot()
        return self._merge(consolidated, [r for r in records.values() if r["status"] == "ok"])

    @property
    def last_df(self) -> pd.DataFrame | None:
        """The samples of the last ``sample_combos``."""
        return self._last_df

    def load_full_df(self, engine: str | None = None) -> pd.DataFrame | None:
        """Reads the table from disk (``full_df`` always does)."""
        return self.full_df

    def save_full_df(self, new_full_df: pd.DataFrame | None = None, engine: str | None = None) -> None:
        """Consolidates every sample into ``data_name`` atomically (or replaces the table with ``new_full_df``)."""
        memConsolidated, memRecords = self._memory.snapshot()
        for r in memRecords.values():
            self.store.write(r)
        transform = None
        if new_full_df is not None:
            transform = lambda _: new_full_df  # noqa: E731
        elif memConsolidated is not None:
            transform = lambda cur: memConsolidated if cur is None else pd.concat([cur, memConsolidated])  # noqa: E731
        self.store.consolidate(self._merge, transform)
        self._memory = MemoryStore()

    def delete_df(self, backup: bool = False) -> None:
        """Deletes ``data_name`` and its store (with ``backup``: renames them ``*.BAK-<time>``)."""
        self.store.delete(backup=backup)
        self._memory = MemoryStore()

    def add_df(self, new_df: pd.DataFrame | Mapping[str, Any], sync: bool = True, engine: str | None = None) -> None:
        """Appends rows (a DataFrame, or a dict of one row) to the table."""
        df = new_df if isinstance(new_df, pd.DataFrame) else pd.DataFrame([dict(new_df)])
        df = df.set_axis(pd.Index([f"added-{uuid.uuid4().hex[:12]}" for _ in range(len(df))], name="sample"))
        store = self.store if sync else self._memory
        store.consolidate(self._merge, transform=lambda cur: df if cur is None else pd.concat([cur, df]))

    # ------------------------------------------------------------------ sampling
    def gen_cases_fnargs(
        self, n: int, combos: Mapping[str, Any] | None = None, seed: int | np.random.Generator | None = None
    ) -> list[dict[str, Any]]:
        """``n`` random cases: each argument drawn from its values, or by calling it if it is a callable."""
        combos = {**self.default_combos, **dict(combos or {})}
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        choices = {k: (v if callable(v) else list(v) if not isinstance(v, str) else [v]) for k, v in combos.items()}
        cases = []
        for _ in range(n):
            case = {}
            for k, v in choices.items():
                case[k] = v() if callable(v) else v[int(rng.integers(len(v)))]
            cases.append(case)
        return cases

    def sample_combos(
        self,
        n: int,
        combos: Mapping[str, Any] | None = None,
        engine: str | None = None,
        *,
        seed: int | None = None,
        sync: bool = True,
        background: bool = False,
        **case_runner_settings: Any,
    ) -> pd.DataFrame | Sweep:
        """Runs the function on ``n`` random combinations; returns their rows (``last_df``).

        Args:
            n: how many samples.
            combos: ``{arg: values or callable}`` (overrides ``default_combos``).
            engine: accepted for xyzpy compatibility (always ``"pickle"``).
            seed: makes the sampling repeatable.
            sync: store on disk (False: in memory until ``save_full_df``).
            background: run in a thread and return the `Sweep` at once.
            case_runner_settings: ``executor``, ``num_workers``, ``raise_errors``, ``shuffle``...

        Raises:
            SweepError: some samples failed (``raise_errors=True``, the default); the others are kept.
        """
        settings = self.runner.settings(case_runner_settings, "sample_combos")
        points = []
        for case in self.gen_cases_fnargs(n, combos, seed):
            params = canonicalParams(case)
            points.append((f"{pointKey(params)}-{uuid.uuid4().hex[:12]}", params))
        store = self.store if sync else self._memory
        if sync and self.data_name:
            meta = self.store.readMeta()
            meta.update(
                format="k1widgets-sweep",
                version=1,
                kind="sampler",
                fn=getattr(self.runner.fn, "__qualname__", repr(self.runner.fn)),
                var_names=list(self.runner.var_names or ()),
                dims=list(dict.fromkeys([*meta.get("dims", []), *(k for _, p in points for k in p)])),
            )
            self.store.writeMeta(meta)

        def sink(record: Record) -> None:
            store.write(record)
            self.feed.changed()

        def onEnd(sweep: Sweep) -> pd.DataFrame | None:
            ok = [sweep.records[k] for k, _ in points if k in sweep.records and sweep.records[k]["status"] == "ok"]
            self._last_df = self._rows(ok) if ok else None
            if isinstance(self.store, PointStore) and self.store.pending() >= 512:
                self.store.consolidate(self._merge)
            self.feed.flush()
            errors = sweep.errors
            if errors and settings.get("raise_errors", True):
                raise SweepError(sweepErrorMessage(errors, len(points)), errors)
            return self._last_df

        sweep = self.runner.sweep(points, sink=sink, settings=settings, source=self, onEnd=onEnd)
        self.sweep = sweep
        if settings.get("verbosity", 1):
            display.show(sweep)
        if background:
            return sweep.start()
        sweep.run()
        return self._last_df

    def consolidate(self) -> pd.DataFrame | None:
        """Folds the sample files into ``data_name`` now (atomic)."""
        df: pd.DataFrame | None = self.store.consolidate(self._merge)
        return df

    # ------------------------------------------------------------------ display
    def viewData(self) -> dict[str, Any]:
        """What the sweep view shows (plain data): the table, the arguments, failed and running samples."""
        consolidated, records = self._snapshot()
        df = self._merge(consolidated, [r for r in records.values() if r["status"] == "ok"])
        failed = {k: r for k, r in records.items() if r["status"] == "error"}
        dims = [a for a in self.runner.fn_args if df is not None and a in df.columns]
        if not dims and df is not None:
            dims = [c for c in df.columns if c not in (self.runner.var_names or ())]
        return {
            "df": df if df is not None else pd.DataFrame(),
            "dims": dims,
            "vars": list(self.runner.var_names or ()),
            "failed": failed,
            "sweep": self.sweep,
        }

    def widget(self, **kwargs: Any) -> Any:
        """The sweep view of the samples (counts, and a heatmap of means over two arguments)."""
        return display.view(self, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self, sweep: Sweep | None = None) -> str:
        return sweepSvg(sweepState(self, sweep=sweep))
