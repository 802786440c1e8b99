"""k1widgets: a PyTorch training toolkit in the k1lib tradition where every object is a live widget.

Importing it runs nothing but imports, and never imports a widget library: the view classes named
below (`TreeView`, `SettingsPanel`, ...) load `k1widgets.widgets` on first access. The full
catalogues live in subpackages: `k1widgets.callbacks`, `k1widgets.data`, `k1widgets.schedule`,
`k1widgets.widgets`.
"""

from __future__ import annotations

import importlib
from typing import Any

from k1widgets import callbacks, data, schedule
from k1widgets.background import RunHandle
from k1widgets.callbacks import Callback, Callbacks
from k1widgets.cancel import CancelBatchException, CancelEpochException, CancelRunException
from k1widgets.learner import Learner
from k1widgets.persist.checkpoint import checkpoint
from k1widgets.plot import SliceablePlot
from k1widgets.plot.ranges import Domain, Range
from k1widgets.selector import ModuleSelector, SelectorSyntaxError, select
from k1widgets.settings import Settings, settings

__version__ = "0.1.0"

# Sweeps import xarray and pandas: they load on first use of one of these names.
_FARMING = ("Harvester", "Runner", "Sampler", "cultivate", "farming", "label")

_VIEWS = {
    "CacheView": "k1widgets.widgets.cache",
    "CallbacksView": "k1widgets.widgets.callbacks",
    "DashboardView": "k1widgets.widgets.dashboard",
    "PlotView": "k1widgets.widgets.plot",
    "ProgressView": "k1widgets.widgets.progress",
    "SettingsPanel": "k1widgets.widgets.settings",
    "TreeView": "k1widgets.widgets.tree",
}

__all__ = [
    "CacheView",
    "Callback",
    "Callbacks",
    "CallbacksView",
    "CancelBatchException",
    "CancelEpochException",
    "CancelRunException",
    "DashboardView",
    "Domain",
    "Harvester",
    "Learner",
    "ModuleSelector",
    "PlotView",
    "ProgressView",
    "Range",
    "RunHandle",
    "Runner",
    "Sampler",
    "SelectorSyntaxError",
    "Settings",
    "SettingsPanel",
    "SliceablePlot",
    "TreeView",
    "__version__",
    "callbacks",
    "checkpoint",
    "cultivate",
    "data",
    "farming",
    "label",
    "schedule",
    "select",
    "settings",
]


def __getattr__(name: str) -> Any:
    """Loads the views and the sweeps lazily: ``import k1widgets`` stays free of widget libraries and xarray."""
    if name in _VIEWS:
        return getattr(importlib.import_module(_VIEWS[name]), name)
    if name in _FARMING:
        farming = importlib.import_module("k1widgets.farming")
        return farming if name == "farming" else getattr(farming, name)
    msg = f"module 'k1widgets' has no attribute {name!r}"
    raise AttributeError(msg)
