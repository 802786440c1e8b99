"""Widget views of k1widgets' core objects: the only package that imports ipywidgets, anywidget, bqplot."""

from __future__ import annotations

from k1widgets.widgets.base import View, staticAsset
from k1widgets.widgets.finder import FinderView
from k1widgets.widgets.landscape import LandscapeView
from k1widgets.widgets.plot import PlotView, RangeControl
from k1widgets.widgets.progress import ProgressView
from k1widgets.widgets.schedule import ParamSchedulerView, ScheduleView
from k1widgets.widgets.settings import SettingsPanel
from k1widgets.widgets.tree import TreeView

__all__ = [
    "FinderView",
    "LandscapeView",
    "ParamSchedulerView",
    "PlotView",
    "ProgressView",
    "RangeControl",
    "ScheduleView",
    "SettingsPanel",
    "TreeView",
    "View",
    "staticAsset",
]
