"""The view registry: the one table from a core type to its widget view, and the display bundle.

Core objects never name a widget module. They call `view(obj)` (behind ``obj.widget()``) and
`mimebundle(obj)` (behind ``obj._repr_mimebundle_``); both find the view class in `VIEWS`, a table
of dotted paths, and import it only then, so core never imports ipywidgets, anywidget or bqplot.
Adding a view for a new core type touches `k1widgets.widgets` and this table, nothing in core.

Convention for a core object ``obj`` with a view:

- ``obj.widget()`` returns ``display.view(obj)``;
- ``obj._repr_mimebundle_(include=None, exclude=None)`` returns ``display.mimebundle(obj)``: the widget
  view in a widget-capable front-end, plus the static fallback (``text/plain`` always, ``text/html``
  when the object has ``_repr_html_``) for terminals, nbconvert and GitHub.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["VIEWS", "mimebundle", "show", "view", "viewClass", "widgetFrontEnd"]

VIEWS: dict[str, str] = {
    # core type (module.QualName)                 view class (module:Name)
    "k1widgets.plot.sliceable.SliceablePlot": "k1widgets.widgets.plot:PlotView",
    "k1widgets.callbacks.progress.ProgressBar": "k1widgets.widgets.progress:ProgressView",
    "k1widgets.settings.core.Settings": "k1widgets.widgets.settings:SettingsPanel",
    "k1widgets.selector.tree.ModuleSelector": "k1widgets.widgets.tree:TreeView",
    "k1widgets.callbacks.hooks.module.HookModule": "k1widgets.widgets.hooks:HookView",
    "k1widgets.callbacks.hooks.param.HookParam": "k1widgets.widgets.hooks:HookView",
    "k1widgets.callbacks.hooks.plot.HookPlot": "k1widgets.widgets.hooks:HookView",
}
"""Core type → its view, both as dotted paths. The first entry along the type's MRO wins."""


def viewClass(obj: Any) -> Any:
    """The view class registered for ``obj``'s type (or a base type); None when it has none."""
    for t in type(obj).__mro__:
        path = VIEWS.get(f"{t.__module__}.{t.__qualname__}")
        if path is not None:
            module, name = path.split(":")
            return getattr(importlib.import_module(module), name)
    return None


def view(obj: Any, **kwargs: Any) -> Any:
    """A new view of ``obj`` (``obj.widget()``); ``kwargs`` go to the view's constructor.

    Raises:
        TypeError: no view is registered for ``obj``'s type (the message lists the types that have one).
    """
    cls = viewClass(obj)
    if cls is None:
        names = ", ".join(sorted(p.rsplit(".", 1)[1] for p in VIEWS))
        msg = f"No widget view is registered for {type(obj).__name__}. Types with a view: {names}."
        raise TypeError(msg)
    return cls(obj, **kwargs)


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
    if widgetFrontEnd() and viewClass(obj) is not None:
        bundle = obj.widget()._repr_mimebundle_(include=include, exclude=exclude)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        data.update({k: v for k, v in bundle.items() if k != "text/plain"})
    return data


def show(obj: Any, **kwargs: Any) -> Any:
    """Displays a new view of ``obj`` in a widget-capable front-end and returns it; else returns None.

    `ProgressBar.startRun` uses it: the view follows the learner's feed until the run ends, then keeps
    showing the final state. Displayed from the thread that runs the loop: for a background run the
    learner calls ``startRun`` while ``l.run(..., background=True)`` still waits in the calling cell,
    so the view lands in that cell.
    """
    if not widgetFrontEnd():
        return None
    from IPython.display import display

    v = view(obj, **kwargs)
    display(v)
    return v
