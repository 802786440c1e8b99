"""Widget views of k1widgets' core objects: the only package that imports ipywidgets, anywidget, bqplot."""

from __future__ import annotations

from k1widgets.widgets.base import View, staticAsset

__all__ = ["View", "staticAsset"]
