"""The one bridge from core objects to widget views.

Core objects call these functions; they import `k1widgets.widgets` lazily, and only when a
widget-capable front-end is attached, so core never imports ipywidgets, anywidget or bqplot.

Convention for a core object ``obj`` with a view:

- ``obj.widget()`` builds and returns its view (importing from `k1widgets.widgets` inside the method);
- ``obj._repr_mimebundle_(include=None, exclude=None)`` returns ``mimebundle(obj)``: the widget view in
  a widget-capable front-end, plus the static fallback (``text/plain`` always, ``text/html`` when the
  object has ``_repr_html_``) for terminals, nbconvert and GitHub.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["mimebundle", "showProgress", "widgetFrontEnd"]


def widgetFrontEnd() -> bool:
    """Whether we run inside a Jupyter kernel whose front-end can show ipywidgets."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def mimebundle(obj: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """The display data of ``obj``: its widget view (when possible) plus static fallbacks."""
    data: dict[str, Any] = {"text/plain": repr(obj)}
    html = getattr(obj, "_repr_html_", None)
    if html is not None:
        data["text/html"] = html()
    if widgetFrontEnd() and hasattr(obj, "widget"):
        view = obj.widget()
        bundle = view._repr_mimebundle_(include=include, exclude=exclude)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        data.update({k: v for k, v in bundle.items() if k != "text/plain"})
    return data


def showProgress(progressBar: Any) -> Any:
    """Displays a live progress view of a run, in a widget-capable front-end; else returns None.

    Called by `ProgressBar.startRun`. The view follows the learner's feed until the run ends, then
    keeps showing the final state. Displayed from the thread that runs the loop: for a background
    run the learner calls ``startRun`` while ``l.run(..., background=True)`` still waits in the
    calling cell, so the view lands in that cell.

    Returns:
        The `k1widgets.widgets.progress.ProgressView` shown, or None outside a Jupyter kernel (scripts, terminals).
    """
    if not widgetFrontEnd():
        return None
    from IPython.display import display

    from k1widgets.widgets.progress import ProgressView

    view = ProgressView(progressBar, runOnly=True)
    display(view)
    return view
