"""Runner: a function with labelled outputs, run over combinations or cases into an xarray Dataset."""

from __future__ import annotations

import difflib
import inspect
import itertools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import xarray as xr

from k1widgets.farming.dataset import buildDataset
from k1widgets.farming.keys import canonical, canonicalParams, pointKey
from k1widgets.farming.sweep import Sweep, SweepError, sweepErrorMessage

__all__ = ["RUNNER_SETTINGS", "Runner", "expandCases", "expandCombos"]

Record = dict[str, Any]
Point = tuple[str, dict[str, Any]]

RUNNER_SETTINGS = ("executor", "num_workers", "parallel", "raise_errors", "shuffle", "seed", "verbosity")
"""Keyword arguments every run accepts (``run_combos``, ``harvest_combos``, ``cultivate``...)."""


def _values(v: Any) -> list[Any]:
    """The values of one combo entry: a str or a non-iterable is one value."""
    if isinstance(v, str | bytes) or not isinstance(v, Iterable):
        return [v]
    return list(v)


def expandCombos(combos: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> tuple[list[str], dict[str, list[Any]]]:
    """The names and the canonical, de-duplicated values (in the given order) of each combo entry.

    Args:
        combos: ``{"lr": [0.1, 0.01], "hidden": [8, 16]}`` or ``[("lr", [...]), ("hidden", [...])]``.
    """
    items = list(combos.items()) if isinstance(combos, Mapping) else [tuple(kv) for kv in combos]
    names = [str(k) for k, _ in items]
    coords = {str(k): list(dict.fromkeys(canonical(x) for x in _values(v))) for k, v in items}
    return names, coords


def expandCases(cases: Iterable[Any], fnArgs: Sequence[str] | None) -> list[dict[str, Any]]:
    """Cases as dicts: a mapping stays one, a tuple is matched with ``fnArgs`` (a scalar too if one arg).

    Raises:
        ValueError: a tuple case whose length does not match ``fnArgs``.
    """
    out = []
    for case in cases:
        if isinstance(case, Mapping):
            out.append(dict(case))
            continue
        values = list(case) if isinstance(case, tuple | list) else [case]
        if fnArgs is None or len(values) != len(fnArgs):
            msg = (
                f"The case {case!r} has {len(values)} values but fn_args is {fnArgs}. Give each case as a "
                f"dict, or pass fn_args=... naming one argument per value."
            )
            raise ValueError(msg)
        out.append(dict(zip(fnArgs, values, strict=True)))
    return out


def combine(
    combos: Mapping[str, Any] | Sequence[tuple[str, Any]] | None, cases: Iterable[Mapping[str, Any]] | None
) -> tuple[list[str], list[dict[str, Any]], dict[str, list[Any]]]:
    """Every point of ``cases`` × ``combos``: (dimension names, canonical params, coordinate values)."""
    names, coords = expandCombos(combos or {})
    caseList = [canonicalParams(c) for c in (cases if cases is not None else [{}])]
    caseNames = list(dict.fromkeys(k for c in caseList for k in c))
    dims = [*caseNames, *[n for n in names if n not in caseNames]]
    params = []
    for case in caseList:
        for values in itertools.product(*(coords[n] for n in names)):
            params.append({**case, **dict(zip(names, values, strict=True))})
    for n in caseNames:
        coords.setdefault(n, list(dict.fromkeys(c[n] for c in caseList if n in c)))
    return dims, params, coords


def checkSettings(settings: Mapping[str, Any], where: str) -> None:
    """Raises TypeError naming the closest valid setting for every unknown one."""
    for name in settings:
        if name not in RUNNER_SETTINGS:
            close = difflib.get_close_matches(name, RUNNER_SETTINGS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = f"{where} got an unknown setting {name!r}. Valid settings: {', '.join(RUNNER_SETTINGS)}.{hint}"
            raise TypeError(msg)


class Runner:
    """A function whose outputs are named, run over many parameters into an `xarray.Dataset`.

    xyzpy's names and semantics. ``runner(*args)`` still calls the plain function.

    Args:
        fn: produces one result.
        var_names: the names of its outputs (a str for one; None if it returns a dict or a Dataset).
        fn_args: the names of its arguments (default: read from its signature).
        var_dims: each output's internal dimensions, ``{"curve": ["epoch"]}``.
        var_coords: the values of internal dimensions, ``{"epoch": range(5)}``.
        constants: arguments given to every call; saved as coordinates when used as internal
            dimensions, else as attributes.
        resources: like constants but never saved (big objects).
        attrs: more attributes for the dataset.
        default_runner_settings: defaults for every run (``executor``, ``num_workers``,
            ``raise_errors``...).

    Example:
        >>> from k1widgets.farming import label
        >>> @label(var_names=["sum", "diff"])
        ... def foo(x, y):
        ...     return x + y, x - y
        >>> foo.run_combos({"x": [1, 2], "y": [10, 20]})["sum"].values.tolist()
        [[11, 21], [12, 22]]
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        var_names: str | Sequence[str] | None,
        fn_args: str | Sequence[str] | None = None,
        var_dims: Mapping[str, str | Sequence[str]] | None = None,
        var_coords: Mapping[str, Any] | None = None,
        constants: Mapping[str, Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        attrs: Mapping[str, Any] | None = None,
        **default_runner_settings: Any,
    ) -> None:
        checkSettings(default_runner_settings, "Runner")
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.var_names = var_names
        self.fn_args = fn_args
        self.var_dims = var_dims
        self.var_coords = dict(var_coords or {})
        self.constants = dict(constants or {})
        self.resources = dict(resources or {})
        self.attrs = dict(attrs or {})
        self.default_runner_settings = dict(default_runner_settings)
        self._last_ds: xr.Dataset | None = None

    # ------------------------------------------------------------------ labels
    @property
    def var_names(self) -> tuple[str, ...] | None:
        """The names of the outputs (None: the function returns labelled data)."""
        return self._var_names

    @var_names.setter
    def var_names(self, value: str | Sequence[str] | None) -> None:
        self._var_names = None if value is None else ((value,) if isinstance(value, str) else tuple(value))

    @property
    def fn_args(self) -> tuple[str, ...]:
        """The names of the function's arguments."""
        return self._fn_args

    @fn_args.setter
    def fn_args(self, value: str | Sequence[str] | None) -> None:
        if value is None:
            try:
                sig = inspect.signature(self.fn)
            except (TypeError, ValueError):
                value = ()
            else:
                kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
                value = tuple(n for n, p in sig.parameters.items() if p.kind in kinds)
        self._fn_args = (value,) if isinstance(value, str) else tuple(value)

    @property
    def var_dims(self) -> dict[str, tuple[str, ...]]:
        """Each output's internal dimensions (``()`` for a scalar)."""
        return self._var_dims

    @var_dims.setter
    def var_dims(self, value: Mapping[str, str | Sequence[str]] | None) -> None:
        dims = {k: ((v,) if isinstance(v, str) else tuple(v)) for k, v in (value or {}).items()}
        self._var_dims = {n: dims.get(n, ()) for n in self.var_names or ()} | dims

    @property
    def last_ds(self) -> xr.Dataset | None:
        """The dataset of the last run."""
        return self._last_ds

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the plain function: ``foo(1, 2)``."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return (
            f"<k1widgets.Runner>\n    fn: {self.fn!r}\n    fn_args: {self.fn_args!r}\n"
            f"    var_names: {self.var_names!r}\n    var_dims: {self.var_dims!r}"
        )

    # ------------------------------------------------------------------ running
    def points(self, params: Iterable[Mapping[str, Any]]) -> list[Point]:
        """``(key, canonical params)`` of each point, without duplicates, in order."""
        out: dict[str, dict[str, Any]] = {}
        for p in params:
            c = canonicalParams(p)
            out.setdefault(pointKey(c), c)
        return list(out.items())

    def callConstants(self, constants: Mapping[str, Any] | Iterable[Any] = ()) -> dict[str, Any]:
        """The keyword arguments added to every call: stored constants, this run's, then resources."""
        return {**self.constants, **dict(constants), **self.resources}

    def build(
        self,
        records: Sequence[Record],
        *,
        dims: Sequence[str] | None = None,
        coords: Mapping[str, Sequence[Any]] | None = None,
        constants: Mapping[str, Any] | Iterable[Any] = (),
        defaults: Mapping[str, Any] | None = None,
    ) -> xr.Dataset:
        """The dataset of successful records, labelled with this runner's names, dims and constants."""
        return buildDataset(
            records,
            dims=dims,
            coords=coords,
            varNames=self.var_names,
            varDims=self.var_dims,
            varCoords=self.var_coords,
            constants={**self.constants, **dict(constants)},
            attrs=self.attrs,
            defaults=defaults,
        )

    def settings(self, given: Mapping[str, Any], where: str) -> dict[str, Any]:
        """This run's settings: the runner's defaults overridden by ``given`` (checked)."""
        checkSettings(given, where)
        s = {**self.default_runner_settings, **given}
        if s.get("parallel") and s.get("num_workers") is None and s.get("executor") is None:
            s["num_workers"] = os.cpu_count() or 2
        return s

    def sweep(
        self,
        points: Sequence[Point],
        *,
        sink: Callable[[Record], None],
        constants: Mapping[str, Any] | Iterable[Any] = (),
        settings: Mapping[str, Any],
        source: Any = None,
        onEnd: Callable[[Sweep], Any] | None = None,
    ) -> Sweep:
        """A `Sweep` of ``points`` through this run's executor, sending each record to ``sink``."""
        return Sweep(
            self.fn,
            points,
            constants=self.callConstants(constants),
            varNames=self.var_names,
            sink=sink,
            executor=settings.get("executor"),
            numWorkers=settings.get("num_workers"),
            shuffle=bool(settings.get("shuffle", False)),
            seed=settings.get("seed"),
            source=source,
            onEnd=onEnd,
        )

    def _runInMemory(
        self,
        dims: list[str],
        params: list[dict[str, Any]],
        coords: dict[str, list[Any]] | None,
        constants: Mapping[str, Any] | Iterable[Any],
        settings: dict[str, Any],
    ) -> xr.Dataset:
        records: dict[str, Record] = {}
        points = self.points(params)
        sweep = self.sweep(
            points, sink=lambda r: records.__setitem__(r["key"], r), constants=constants, settings=settings
        )
        sweep.run()
        ok = [records[k] for k, _ in points if k in records and records[k]["status"] == "ok"]
        self._last_ds = self.build(ok, dims=dims, coords=coords, constants=constants)
        errors = {k: r for k, r in records.items() if r["status"] == "error"}
        if errors and settings.get("raise_errors", True):
            raise SweepError(sweepErrorMessage(errors, len(points)), errors)
        return self._last_ds

    def run_combos(
        self, combos: Mapping[str, Any] | Sequence[tuple[str, Any]], constants: Any = (), **runner_settings: Any
    ) -> xr.Dataset:
        """Runs every combination of ``combos`` and returns the labelled dataset (also ``last_ds``).

        Args:
            combos: the values of each argument, ``{"x": [1, 2], "y": [10, 20, 30]}``.
            constants: extra constant arguments for this run only (they win over stored ones).
            runner_settings: ``executor``, ``num_workers``, ``parallel``, ``raise_errors`` (default
                True: raise `SweepError` after the run if a point failed), ``shuffle``, ``seed``.
        """
        dims, params, coords = combine(combos, None)
        return self._runInMemory(dims, params, coords, constants, self.settings(runner_settings, "run_combos"))

    def run_cases(
        self,
        cases: Iterable[Any],
        constants: Any = (),
        fn_args: str | Sequence[str] | None = None,
        **runner_settings: Any,
    ) -> xr.Dataset:
        """Runs each case (a dict, or a tuple in ``fn_args`` order); gaps in the dataset are NaN."""
        args = ((fn_args,) if isinstance(fn_args, str) else tuple(fn_args)) if fn_args is not None else self.fn_args
        dims, params, _ = combine(None, expandCases(cases, args))
        return self._runInMemory(dims, params, None, constants, self.settings(runner_settings, "run_cases"))
