"""k1widgets: a PyTorch training toolkit in the k1lib tradition where every object is a live widget.

Importing it runs nothing but imports, and never imports a widget library: the view classes named
below (`TreeView`, `SettingsPanel`, ...) load `k1widgets.widgets` on first access. The full
catalogues live in subpackages: `k1widgets.callbacks`, `k1widgets.data`, `k1widgets.widgets`.
"""

from __future__ import annotations

import importlib
from typing import Any

from k1widgets import callbacks, data
from k1widgets.background import RunHandle
from k1widgets.callbacks import Callback, Callbacks
from k1widgets.cancel import CancelBatchException, CancelEpochException, CancelRunException
from k1widgets.learner import Learner
from k1widgets.plot import SliceablePlot
from k1widgets.plot.ranges import Domain, Range
from k1widgets.selector import ModuleSelector, SelectorSyntaxError, select
from k1widgets.settings import Settings, settings

__version__ = "0.1.0"

_VIEWS = {
    "CallbacksView": "k1widgets.widgets.callbacks",
    "DashboardView": "k1widgets.widgets.dashboard",
    "PlotView": "k1widgets.widgets.plot",
    "ProgressView": "k1widgets.widgets.progress",
    "SettingsPanel": "k1widgets.widgets.settings",
    "TreeView": "k1widgets.widgets.tree",
}

__all__ = [
    "Callback",
    "Callbacks",
    "CallbacksView",
    "CancelBatchException",
    "CancelEpochException",
    "CancelRunException",
    "DashboardView",
    "Domain",
    "Learner",
    "ModuleSelector",
    "PlotView",
    "ProgressView",
    "Range",
    "RunHandle",
    "SelectorSyntaxError",
    "Settings",
    "SettingsPanel",
    "SliceablePlot",
    "TreeView",
    "__version__",
    "callbacks",
    "data",
    "select",
    "settings",
]


def __getattr__(name: str) -> Any:
    """Loads the view classes lazily, so ``import k1widgets`` stays free of widget libraries."""
    if name in _VIEWS:
        return getattr(importlib.import_module(_VIEWS[name]), name)
    msg = f"module 'k1widgets' has no attribute {name!r}"
    raise AttributeError(msg)
