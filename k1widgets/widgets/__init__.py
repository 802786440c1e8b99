"""Widget views of k1widgets' core objects: the only package that imports ipywidgets, anywidget, bqplot."""

from __future__ import annotations

from k1widgets.widgets.base import View, staticAsset
from k1widgets.widgets.hooks import HookLegend, HookView
from k1widgets.widgets.plot import PlotView, RangeControl
from k1widgets.widgets.progress import ProgressView
from k1widgets.widgets.settings import SettingsPanel
from k1widgets.widgets.tree import TreeView

__all__ = [
    "HookLegend",
    "HookView",
    "PlotView",
    "ProgressView",
    "RangeControl",
    "SettingsPanel",
    "TreeView",
    "View",
    "staticAsset",
]
