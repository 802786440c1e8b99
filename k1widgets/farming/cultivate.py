"""cultivate: label a function, run the missing points of a grid, store each as it finishes."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import xarray as xr

from k1widgets.farming.harvester import ON_ERROR, ON_EXISTING, Harvester, checkGrowKwargs
from k1widgets.farming.runner import Runner
from k1widgets.farming.sweep import Sweep

__all__ = ["ON_ERROR", "ON_EXISTING", "cultivate"]


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
    checkGrowKwargs("cultivate()", grow_kwargs, list(inspect.signature(cultivate).parameters))
    if isinstance(fn, Harvester):
        harvester = fn
    else:
        runner = fn if isinstance(fn, Runner) else Runner(fn, var_names, **dict(runner_opts or {}))
        harvester = Harvester(runner, data_name=data_name, **dict(harvester_opts or {}))
    return harvester.cultivate(
        combos,
        cases,
        constants,
        missing_only=missing_only,
        shuffle=shuffle,
        executor=executor,
        num_workers=num_workers,
        raise_errors=raise_errors,
        verbosity=verbosity,
        on_existing=on_existing,
        on_error=on_error,
        background=background,
        seed=seed,
        **grow_kwargs,
    )
