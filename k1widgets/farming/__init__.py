"""Sweeps: run a function over a grid of parameters into a labelled dataset, losing nothing (xyzpy's farming).

`label` / `Runner` name a function's outputs and run it over combinations or cases (``run_combos``,
``run_cases``); `Harvester` stores the results on disk, one atomically written file per finished
point; `Sampler` does the same for random samples into a table; `cultivate` is the one-call form.
Work runs serially, on local processes (``num_workers=N``), or on anything with ``submit()``
(``dask.distributed.Client``, `concurrent.futures`, `RayExecutor`). This package imports xarray and
pandas; ``import k1widgets`` loads it only when one of its names is first used.
"""

from __future__ import annotations

from k1widgets.farming.cultivate import cultivate
from k1widgets.farming.executors import RayExecutor
from k1widgets.farming.harvester import Harvester
from k1widgets.farming.keys import canonical, pointKey
from k1widgets.farming.label import label
from k1widgets.farming.runner import Runner
from k1widgets.farming.sampler import Sampler
from k1widgets.farming.store import CorruptFileWarning, PointStore
from k1widgets.farming.sweep import Sweep, SweepError

__all__ = [
    "CorruptFileWarning",
    "Harvester",
    "PointStore",
    "RayExecutor",
    "Runner",
    "Sampler",
    "Sweep",
    "SweepError",
    "canonical",
    "cultivate",
    "label",
    "pointKey",
]
