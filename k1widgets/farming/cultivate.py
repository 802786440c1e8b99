"""cultivate: label a function, run the missing points of a grid, store each as it finishes."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import xarray as xr

from k1widgets.farming.harvester import Harvester
from k1widgets.farming.runner import Runner
from k1widgets.farming.sweep import Sweep

__all__ = ["ON_ERROR", "ON_EXISTING", "cultivate"]

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


def cultivate(
    fn: Callable[..., Any] | Runner | Harvester,
    *,
    var_names: str | Sequence[str] | None = None,
    data_name: str | None = None,
    runner_opts: Mapping[str, Any] | None = None,
    harvester_opts: Mapping[str, Any] | None = None,
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
    """Runs ``fn`` over ``combos`` (× ``cases``), computing only what is missing, storing each point at once.

    xyzpy's ``cultivate`` with a per-point store instead of crops and batches: each point is its own
    unit, written atomically to ``<data_name>.k1sweep/`` the moment it finishes, so a crash or a kill loses
    at most the points in flight, and calling it again (``missing_only=True``) computes only what is
    missing or failed. Nothing ever prompts.

    Args:
        fn: the function (or a `Runner` / `Harvester`, used as is).
        var_names: the names of its outputs (see `Runner`).
        data_name: the file to store into; None keeps the results in memory.
        runner_opts: more `Runner` arguments (``var_dims``, ``constants``...).
        harvester_opts: more `Harvester` arguments (``engine``, ``consolidateAt``).
        combos: the values of each argument (``...``: every value already present).
        cases: partial settings, each combined with every combination of ``combos``.
        constants: extra constant arguments of this run.
        name: accepted for xyzpy compatibility; unused (there are no crops: every point is stored on its own).
        parent_dir: the same (unused).
        batchsize: the same (unused: there are no batches).
        num_batches: the same (unused).
        clean_up: the same (unused).
        missing_only: compute only points without a good result (default True).
        shuffle: run points in random order.
        seed: makes the shuffled order repeatable.
        executor: anything with ``submit()`` (a ``dask.distributed.Client``, a `concurrent.futures`
            executor, `RayExecutor`); results stream into the store as each future completes.
        num_workers: with no executor, run on this many local processes.
        raise_errors: raise `SweepError` after the sweep if points failed (every good one is saved).
        verbosity: 0 shows nothing; 1 shows the live sweep view in Jupyter.
        on_existing: ``"resume"`` (default), ``"raise"``, ``"delete"`` or ``"skip"`` (see `ON_EXISTING`).
        on_error: ``"record"`` (default), ``"raise"`` or ``"skip"`` (see `ON_ERROR`).
        background: run in a thread and return the running `Sweep` at once (``.wait()``, ``.cancel()``).
        grow_kwargs: xyzpy's crop options ``subprocess``, ``num_threads``, ``gpus``, ``affinities`` are not
            available: use a Dask or Ray executor to place work on GPUs or pin threads.

    Returns:
        The full dataset (None if nothing was stored), or the running `Sweep` with ``background=True``.
    """
    for k, v in grow_kwargs.items():
        if k in _CROP_ONLY and (v is None or v is False or v == "auto"):
            continue
        valid = ", ".join(sorted(cultivate.__kwdefaults__ or {}))
        why = (
            " xyzpy's crop subprocess options have no equivalent here: use a Dask or Ray executor"
            if k in _CROP_ONLY
            else ""
        )
        close = difflib.get_close_matches(k, list(cultivate.__kwdefaults__ or {}), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        msg = f"cultivate() got an unexpected argument {k}={v!r}.{why}{hint} Valid arguments: {valid}."
        raise TypeError(msg)
    on_existing = _choice("on_existing", on_existing, ON_EXISTING)
    on_error = _choice("on_error", on_error, ON_ERROR)
    if on_error == "raise":
        raise_errors = True
    elif on_error == "skip":
        raise_errors = False
    if isinstance(fn, Harvester):
        harvester = fn
    else:
        runner = fn if isinstance(fn, Runner) else Runner(fn, var_names, **dict(runner_opts or {}))
        harvester = Harvester(runner, data_name=data_name, **dict(harvester_opts or {}))
    if harvester.data_name and (
        os.path.exists(harvester.data_name) or os.path.exists(harvester.data_name + ".k1sweep")
    ):
        if on_existing == "raise":
            msg = (
                f"{harvester.data_name!r} already holds a sweep (on_existing='raise'). Use on_existing='resume' to "
                f"compute only the missing points, or 'delete' to start again."
            )
            raise FileExistsError(msg)
        if on_existing == "delete":
            harvester.delete_ds()
        elif on_existing == "skip":
            return harvester.full_ds
    sweep = harvester.harvest_combos(
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
    return harvester.full_ds
