"""The tabs of the Learner dashboard: what each shows, built when the tab is first opened.

Every tab is a `TabContent`: a widget, a ``refresh()`` and a ``close()``. The views inside a tab
(progress, plots, the module tree, the callbacks table...) are the same views an object shows on
its own, with one difference: the tab takes over their subscriptions to the learner's feed
(`adopt`), so the dashboard follows that feed once and refreshes only the tab on screen, at a rate
that keeps the kernel's comm messages within ``settings.live.messages``.
"""

from __future__ import annotations

import html
import inspect
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets

from k1widgets import display
from k1widgets.live import Feed, Subscription
from k1widgets.settings import settings

if TYPE_CHECKING:
    from k1widgets.learner import Learner

__all__ = [
    "COMPUTE_TABS",
    "ComputeTab",
    "LossTab",
    "TabContent",
    "ViewsTab",
    "adopt",
    "closeTree",
    "countWidgets",
    "note",
]

COMPUTE_TABS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # tab: (callback name, methods tried in order, button text)
    "Finder": ("ParamFinder", ("run",), "Find a learning rate"),
    "Landscape": ("LossLandscape", ("plot",), "Compute the loss landscape"),
}
_TAB_HZ_MAX = 5.0
CPU_SHARE = 0.01
"""Share of one CPU core a tab's refreshes may use: a tab whose refresh costs more refreshes less often."""


def note(text: str) -> ipywidgets.HTML:
    """A short explanation shown where a view would be (a missing callback, an unset model...)."""
    return ipywidgets.HTML(f"<div class='k1w-dashboard-note'>{html.escape(text)}</div>")


def _children(w: Any) -> list[Any]:
    out: list[Any] = []
    for key in getattr(w, "keys", ()):
        if key in ("layout", "style") or key.startswith("_"):
            continue
        v = getattr(w, key, None)
        values = v if isinstance(v, list | tuple) else (v.values() if isinstance(v, dict) else [v])
        out.extend(x for x in values if isinstance(x, ipywidgets.Widget))
    return out


def _walk(w: Any, seen: set[int] | None = None) -> list[Any]:
    """``w`` and every widget reachable through its synced traits (children, marks, scales, axes...)."""
    seen = set() if seen is None else seen
    if id(w) in seen or isinstance(w, ipywidgets.Layout):
        return []
    seen.add(id(w))
    found = [w]
    for c in _children(w):
        found.extend(_walk(c, seen))
    return found


def countWidgets(w: Any) -> int:
    """How many widgets ``w`` is made of: an upper bound of the messages one refresh can send."""
    return len([x for x in _walk(w) if not type(x).__name__.endswith("Style")])


def adopt(w: Any, feed: Feed) -> list[Callable[[], None]]:
    """Takes over the subscriptions to ``feed`` of every view inside ``w``; returns their refresh functions.

    Composite views that hold their subscriptions themselves (`LossView`, `TimingsView`...) answer
    ``releaseFeed`` for their parts; anywidget views (`View`) answer it for themselves.
    """
    out: list[Callable[[], None]] = []
    for x in _walk(w):
        release = getattr(x, "releaseFeed", None)
        if callable(release):
            out.extend(release(feed))
    return out


def _tabHz(widget: Any) -> float:
    """The tab's refresh rate: ≤ settings.live.hz, ≤ 5 Hz for composite views, and its share of the message budget.

    `TabContent` lowers it further when a refresh costs CPU time (`CPU_SHARE`).
    """
    count = max(1, countWidgets(widget))
    hz = float(settings.live.hz)
    budget = max(1.0, float(settings.live.messages) - hz)  # the header may send one message per feed tick
    if count <= 2:
        return min(hz, budget / count)
    return min(hz, _TAB_HZ_MAX, budget / count)


def closeTree(w: Any, keep: tuple[Any, ...] = ()) -> None:
    """Closes ``w`` and every widget inside it, except those in ``keep`` (and what is inside them)."""
    seen = {id(k) for k in keep}
    for k in keep:
        seen.update(id(x) for x in _walk(k))
    for x in _walk(w, set(seen)):
        x.close()


class TabContent:
    """One tab's widgets and how they refresh: ``refresh()`` at most ``hz`` times a second via its own feed.

    Args:
        learner: the dashboard's learner (its feed is the one the tab's views are taken from).
        widgets: what the tab shows, top to bottom.
        keep: widgets that stay when the body is replaced (buttons, checkboxes).
    """

    def __init__(self, learner: Learner, widgets: list[Any], keep: tuple[Any, ...] = ()) -> None:
        self.learner = learner
        self.box = ipywidgets.VBox(layout=ipywidgets.Layout(width="100%"))
        self._keep = keep
        self._lock = threading.RLock()
        self._refreshers: list[Callable[[], None]] = []
        self._closed = False
        self.feed = Feed()
        self._sub: Subscription | None = None
        self._hz = 0.0  # the rate the widget count allows (`_tabHz`)
        self.cost = 0.0  # CPU seconds of a refresh (moving average, measured on the refreshing thread)
        self.setBody(widgets)

    def setBody(self, widgets: list[Any]) -> None:
        """Shows ``widgets``, adopting their feed subscriptions and closing what the tab showed before."""
        with self._lock:
            if self._closed:
                for w in widgets:
                    closeTree(w, self._keep)
                return
            old = [w for w in self.box.children if w not in widgets]
            self._refreshers = [f for w in widgets for f in adopt(w, self.learner.feed)]
            self.box.children = tuple(widgets)
            if self._sub is not None:
                self._sub.remove()
            self._hz = _tabHz(self.box)
            self.feed = Feed(hz=self._adaptedHz())
            self._sub = self.feed.subscribe(self.refresh)
        for w in old:
            closeTree(w, self._keep)

    @property
    def hz(self) -> float:
        """Refreshes per second at most."""
        return 1.0 / self.feed.interval if self.feed.interval else float("inf")

    def changed(self) -> None:
        """The learner's feed fired: refresh when this tab's own throttle allows (the last change always arrives)."""
        if not self._closed:
            self.feed.changed()

    def _adaptedHz(self) -> float:
        """The widget-count rate, lowered so refreshes use at most `CPU_SHARE` of a core."""
        if self.cost <= 0:
            return self._hz
        floor = min(1.0, self._hz)  # below 1 Hz a view looks frozen; the message budget still wins
        return max(floor, min(self._hz, CPU_SHARE / self.cost))

    def refresh(self) -> None:
        """Refreshes every view of the tab now, and adapts the rate to what that cost."""
        with self._lock:
            if self._closed:
                return
            fns = list(self._refreshers)
        t0 = time.thread_time()
        for f in fns:
            f()
        cost = time.thread_time() - t0
        self.cost = cost if self.cost <= 0 else 0.7 * self.cost + 0.3 * cost
        self.feed.hz = self._adaptedHz()

    def close(self) -> None:
        """Stops refreshing and closes every widget of the tab."""
        with self._lock:
            self._closed = True
            if self._sub is not None:
                self._sub.remove()
                self._sub = None
            self._refreshers = []
        closeTree(self.box)


class ViewsTab(TabContent):
    """A tab showing fixed views (Progress, Hooks, Model, Callbacks, Settings)."""


class LossTab(TabContent):
    """The loss view (``l.Loss``), or with "Compare runs" ticked, this run over the last 5 (`Loss.plotRuns`).

    The comparison has one line per run; the tab rebuilds it when a run starts or ends, so a new run
    appears as a new line.
    """

    def __init__(self, learner: Learner) -> None:
        self.loss = learner.cbs._byName.get("Loss")
        self.compare = ipywidgets.Checkbox(False, description="Compare runs (this one and the last 5)", indent=False)
        self.compare.add_class("k1w-dashboard-compare")
        self._key: Any = None
        super().__init__(learner, self._body(), keep=(self.compare,))
        self.compare.observe(self._onCompare, "value")

    def _runsKey(self) -> Any:
        loss = self.loss
        if loss is None or not self.compare.value:
            return None
        cur = loss.currentRun
        return (len(loss.runs), loss.runs[-1].number if loss.runs else 0, cur["number"] if cur else 0)

    def _body(self) -> list[Any]:
        loss = self.loss
        if loss is None:
            return [note("This learner has no Loss callback (l.cbs.withLoss() adds one).")]
        self._key = self._runsKey()
        view = display.view(loss.plotRuns(5)) if self.compare.value else display.view(loss)
        return [self.compare, view]

    def _onCompare(self, change: dict[str, Any]) -> None:
        with self._lock:
            self.setBody(self._body())
        self.refresh()

    def refresh(self) -> None:
        """Rebuilds the comparison when a run started or ended, then refreshes the plot."""
        if self._runsKey() != self._key:
            with self._lock:
                self.setBody(self._body())
        super().refresh()


class ComputeTab(TabContent):
    """A tab whose view needs a computation first (Finder, Landscape): a button, a status line, the result.

    The button only asks the dashboard to run the computation in its worker thread; the status line
    shows the progress (``l.progress``); the result is the callback's own view when one is
    registered, else the view of what the computation returned, else its text.
    """

    def __init__(self, learner: Learner, tab: str, start: Callable[[str], Any]) -> None:
        self.tab = tab
        self.cbName, self.methods, text = COMPUTE_TABS[tab]
        self.cb = learner.cbs._byName.get(self.cbName)
        self.button = ipywidgets.Button(description=text, layout=ipywidgets.Layout(width="auto"))
        self.button.add_class("k1w-dashboard-compute")
        self.status = ipywidgets.HTML("")
        self.status.add_class("k1w-dashboard-compute-status")
        self.computing = False
        self.button.on_click(lambda _: start(tab))
        self.controls = ipywidgets.HBox([self.button, self.status])
        if self.cb is None:
            body: Any = note(f"This learner has no {self.cbName} callback, so there is nothing to compute here.")
            self.button.disabled = True
        elif display.viewClass(self.cb) is not None:
            body = display.view(self.cb)
        else:
            body = note(f"Press the button: l.{self.cbName}.{self.methods[0]}() runs in a worker thread.")
        super().__init__(learner, [self.controls, body], keep=(self.controls,))

    def compute(self) -> Any:
        """Runs the computation (on the dashboard's worker thread); returns its result."""
        cb: Any = self.cb
        if cb is None:
            msg = f"This learner has no {self.cbName} callback to compute with."
            raise LookupError(msg)
        for name in self.methods:
            if getattr(type(cb), name, None) is not None:
                method = getattr(cb, name)
                quiet = "quiet" in inspect.signature(method).parameters
                result = method(quiet=True) if quiet else method()  # the tab shows the progress itself
                if name == "run" and getattr(type(cb), "plot", None) is not None:
                    result = cb.plot()  # the seed's ParamFinder.plot() draws what run() found
                return result
        msg = f"{self.cbName} has none of {', '.join(m + '()' for m in self.methods)} to compute with."
        raise AttributeError(msg)

    def show(self, result: Any) -> None:
        """Shows the result: the callback's view, else the result's view, else its text."""
        if display.viewClass(self.cb) is not None:
            body = display.view(self.cb)
        elif result is not None and display.viewClass(result) is not None:
            body = display.view(result)
        else:
            body = ipywidgets.HTML(f"<pre>{html.escape(repr(result))}</pre>")
        self.setBody([self.controls, body])

    def setStatus(self, text: str, *, computing: bool) -> None:
        """The line next to the button; the button is disabled while computing."""
        self.computing = computing
        value = html.escape(text)
        if self.status.value != value:
            self.status.value = value
        if self.cb is not None and self.button.disabled != computing:
            self.button.disabled = computing

    def refresh(self) -> None:
        """Shows the computation's progress while it runs, then the views' updates."""
        if self.computing:
            self.setStatus(f"computing… {float(self.learner.progress or 0) * 100:.0f}%", computing=True)
        super().refresh()
