"""The view registry: the one table from a core type to its widget view, and the display bundle.

Core objects never name a widget module. They call `view(obj)` (behind ``obj.widget()``) and
`mimebundle(obj)` (behind ``obj._repr_mimebundle_``); both find the view class in `VIEWS`, a table
of dotted paths, and import it only then, so core never imports ipywidgets, anywidget or bqplot.
Adding a view for a new core type touches `k1widgets.widgets` and this table, nothing in core.

Convention for a core object ``obj`` with a view:

- ``obj.widget()`` returns ``display.view(obj)``;
- ``obj._repr_mimebundle_(include=None, exclude=None)`` returns ``display.mimebundle(obj)``: the widget
  view in a widget-capable front-end, plus the static fallback (`fallback`: ``text/plain`` always,
  ``text/html`` / ``image/svg+xml`` when the object has ``_repr_html_`` / ``_repr_svg_``) for
  terminals, nbconvert and GitHub.

Static fallbacks travel with the views too: a view made by `view` knows the object it shows
(``view.staticSource``), and views built on ``k1widgets.widgets.base.StaticFallback`` put that object's
fallback next to the widget in their own display data, so ``display(view)`` and ``obj.widget()`` as a
cell's result export as well as ``obj`` does. A view shown by `show` keeps its display handle and can
``republish()`` its output at the end of a run, so the notebook keeps the final picture.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "VIEWS",
    "WIDGET_VIEW",
    "fallback",
    "isSuppressed",
    "mimebundle",
    "show",
    "suppressed",
    "view",
    "viewClass",
    "widgetFrontEnd",
]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
"""The MIME type of a widget view in display data (what exports without widget state skip)."""

VIEWS: dict[str, str] = {
    # core type (module.QualName)                 view class (module:Name)
    "k1widgets.plot.sliceable.SliceablePlot": "k1widgets.widgets.plot:PlotView",
    "k1widgets.callbacks.progress.ProgressBar": "k1widgets.widgets.progress:ProgressView",
    "k1widgets.settings.core.Settings": "k1widgets.widgets.settings:SettingsPanel",
    "k1widgets.selector.tree.ModuleSelector": "k1widgets.widgets.tree:TreeView",
    "k1widgets.farming.harvester.Harvester": "k1widgets.widgets.sweep:SweepView",
    "k1widgets.farming.sampler.Sampler": "k1widgets.widgets.sweep:SweepView",
    "k1widgets.farming.sweep.Sweep": "k1widgets.widgets.sweep:SweepView",
    "k1widgets.persist.cacheinfo.CacheInfo": "k1widgets.widgets.cache:CacheView",
    "k1widgets.callbacks.finder.FinderPlot": "k1widgets.widgets.finder:FinderView",
    "k1widgets.callbacks.landscape.Landscape": "k1widgets.widgets.landscape:LandscapeView",
    "k1widgets.schedule.Fn": "k1widgets.widgets.schedule:ScheduleView",
    "k1widgets.callbacks.scheduler.ParamScheduler": "k1widgets.widgets.schedule:ParamSchedulerView",
    "k1widgets.learner.Learner": "k1widgets.widgets.dashboard:DashboardView",
    "k1widgets.callbacks.callback.Callbacks": "k1widgets.widgets.callbacks:CallbacksView",
    "k1widgets.callbacks.callback.Timings": "k1widgets.widgets.callbacks:TimingsView",
    "k1widgets.callbacks.loss.Loss": "k1widgets.widgets.loss:LossView",
    "k1widgets.callbacks.loss.EpochLosses": "k1widgets.widgets.loss:EpochLossView",
    "k1widgets.data.Data": "k1widgets.widgets.data:DataView",
    "k1widgets.data.DataLoader": "k1widgets.widgets.data:DataView",
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
    v = cls(obj, **kwargs)
    if hasattr(v, "staticSource") and v.staticSource is None:
        v.staticSource = obj  # its display data carries obj's static fallback
    return v


def widgetFrontEnd() -> bool:
    """Whether we run inside a Jupyter kernel whose front-end can show ipywidgets."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def fallback(obj: Any) -> dict[str, Any]:
    """The static display data of ``obj``: what exports, terminals and GitHub show instead of a widget.

    ``text/plain`` is ``repr(obj)``; ``text/html`` and ``image/svg+xml`` come from ``obj._repr_html_()``
    and ``obj._repr_svg_()`` when it has them (and they return something).
    """
    data: dict[str, Any] = {"text/plain": repr(obj)}
    for mime, name in (("text/html", "_repr_html_"), ("image/svg+xml", "_repr_svg_")):
        method = getattr(obj, name, None)
        value = method() if callable(method) else None
        if value is not None:
            data[mime] = value
    return data


def mimebundle(obj: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """The display data of ``obj``: its `fallback`, plus its widget view in a widget-capable front-end."""
    if widgetFrontEnd() and viewClass(obj) is not None:
        v = obj.widget()
        bundle = v._repr_mimebundle_(include=include, exclude=exclude)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        if bundle and WIDGET_VIEW in bundle:
            if getattr(v, "staticSource", None) is obj:
                return dict(bundle)  # the view's data already holds obj's fallback
            return {**fallback(obj), WIDGET_VIEW: bundle[WIDGET_VIEW]}
    return fallback(obj)


_local = threading.local()


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """Inside this block, on this thread, `show` displays nothing and `isSuppressed` is True.

    The dashboard trains inside it: it shows the run itself, so ``l.run()``'s own progress view
    (and its text line) would only duplicate it, in whichever cell happened to be current.
    """
    before = getattr(_local, "on", False)
    _local.on = True
    try:
        yield
    finally:
        _local.on = before


def isSuppressed() -> bool:
    """Whether this thread runs inside `suppressed`."""
    return bool(getattr(_local, "on", False))


def show(obj: Any, **kwargs: Any) -> Any:
    """Displays a new view of ``obj`` in a widget-capable front-end and returns it; else returns None.

    `ProgressBar.startRun` uses it: the view follows the learner's feed until the run ends, then keeps
    showing the final state. Displayed from the thread that runs the loop: for a background run the
    learner calls ``startRun`` while ``l.run(..., background=True)`` still waits in the calling cell,
    so the view lands in that cell. The output gets a display id, kept as ``view.displayHandle``: a
    view that ``republish()``-es at the end of a run leaves its final static picture in the notebook.
    """
    if isSuppressed() or not widgetFrontEnd():
        return None
    from IPython.display import display

    v = view(obj, **kwargs)
    handle = display(v, display_id=True)  # type: ignore[no-untyped-call]
    if hasattr(v, "displayHandle"):
        v.displayHandle = handle
    return v
