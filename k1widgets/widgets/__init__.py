"""Widget views of k1widgets' core objects: the only package that imports ipywidgets, anywidget, bqplot."""

from __future__ import annotations

import importlib
from typing import Any

from k1widgets.widgets.base import View, staticAsset
from k1widgets.widgets.cache import CacheView
from k1widgets.widgets.finder import FinderView
from k1widgets.widgets.hooks import HookLegend, HookView
from k1widgets.widgets.landscape import LandscapeView
from k1widgets.widgets.plot import PlotView, RangeControl
from k1widgets.widgets.progress import ProgressView
from k1widgets.widgets.schedule import ParamSchedulerView, ScheduleView
from k1widgets.widgets.settings import SettingsPanel
from k1widgets.widgets.tree import TreeView

__all__ = [
    "CacheView",
    "FinderView",
    "HookLegend",
    "HookView",
    "LandscapeView",
    "ParamSchedulerView",
    "PlotView",
    "ProgressView",
    "RangeControl",
    "ScheduleView",
    "SettingsPanel",
    "SweepPanel",
    "SweepView",
    "TreeView",
    "View",
    "staticAsset",
]


def __getattr__(name: str) -> Any:
    """The sweep views load on first use: they import xarray and pandas, which other views do not need."""
    if name in ("SweepPanel", "SweepView"):
        return getattr(importlib.import_module("k1widgets.widgets.sweep"), name)
    msg = f"module 'k1widgets.widgets' has no attribute {name!r}"
    raise AttributeError(msg)
