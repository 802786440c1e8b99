"""CallbacksView: the live table of a learner's callbacks; TimingsView: time per checkpoint as bars.

`CallbacksView` (what ``l.cbs`` shows in Jupyter) is a `CallbacksTable` (one row per callback in
dispatch order: name, class, order, the checkpoints it implements, a suspend toggle, a Detach
button; a click shows the callback's text) above a `TimingsView` (a bqplot bar chart of
``cbs.timings``). Both follow ``cbs.feed``, the learner's feed once attached, so runs, appends,
detaches and suspensions made from Python show up live.

Toggles and Detach go through the seed API (``cbs.suspend([name])``, `Callbacks.unsuspend`,
``cb.detach()``), applied by ``l.atBatchBoundary``: at once when the learner is idle, at the next
batch boundary during a run (never in the middle of a dispatch on the training thread). Until the
loop applies an edit, its row shows it as pending.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import bqplot
import ipywidgets
import numpy as np
import traitlets

from k1widgets.callbacks.callback import Callbacks, Timings
from k1widgets.live import Feed, Subscription
from k1widgets.widgets.base import StaticFallback, View, staticAsset

__all__ = ["CallbacksTable", "CallbacksView", "TimingsView"]


class CallbacksTable(View):
    """The table of `CallbacksView`.

    Traits (synced): ``rows`` (name, cls, order, checkpoints, suspended, pending), ``selected`` (the
    clicked row's name, set by the browser), ``details`` (``{"name", "text"}``: that callback's repr),
    ``error`` (the last edit that failed). Messages from the browser: ``{"action": "suspend", "name",
    "on": bool}`` and ``{"action": "detach", "name"}``.
    """

    _esm = staticAsset("callbacks.js")
    _css = staticAsset("callbacks.css")
    rows: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    details = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, cbs: Callbacks) -> None:
        self.cbs = cbs
        self._pending: dict[str, str] = {}  # name -> "suspend" | "restore" | "detach", until applied
        self._lock = threading.Lock()
        super().__init__(rows=self._rows())
        self.on_msg(self._onMsg)
        self.observe(self._onSelect, "selected")
        self.follow(cbs.feed, self.refresh)

    # ------------------------------------------------------------------ Python -> browser
    def _rows(self) -> list[dict[str, Any]]:
        rows = self.cbs.rows()
        names = {r["name"] for r in rows}
        with self._lock:
            for name, want in list(self._pending.items()):
                row = next((r for r in rows if r["name"] == name), None)
                done = (
                    (row is None and want == "detach")
                    or (row is not None and want == "suspend" and row["suspended"])
                    or (row is not None and want == "restore" and not row["suspended"])
                    or name not in names
                )
                if done:
                    del self._pending[name]
            pending = dict(self._pending)
        for r in rows:
            r["pending"] = pending.get(r["name"], "")
        return rows

    def _details(self) -> dict[str, Any]:
        name = self.selected
        if not name or name not in self.cbs:
            return {}
        try:
            text = repr(self.cbs[name])
        except Exception as e:  # a user callback's repr may fail: show that, not crash the view
            text = f"(its repr raised {type(e).__name__}: {e})"
        return {"name": name, "text": text}

    def refresh(self) -> None:
        """Pushes the rows (and the selected callback's text); called by the feed, on any thread."""
        self.push(rows=self._rows(), details=self._details())

    # ------------------------------------------------------------------ browser -> Python
    def _onSelect(self, change: dict[str, Any]) -> None:
        self.push(details=self._details())

    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        action, name = content.get("action"), content.get("name")
        if action not in ("suspend", "detach") or not isinstance(name, str):
            return
        try:
            self.edit(action, name, bool(content.get("on", True)))
        except Exception as e:  # shown under the table; nothing changed
            self.push(error=str(e))

    def edit(self, action: str, name: str, on: bool = True) -> None:
        """Suspends (``on``) or restores callback ``name``, or detaches it; thread-safe (what the buttons do).

        Raises:
            UnknownCallbackError: no callback has that name (the message lists those that exist).
        """
        cbs = self.cbs
        cbs[name]  # raises UnknownCallbackError with the names that exist
        want = "detach" if action == "detach" else ("suspend" if on else "restore")

        def apply() -> None:
            if name in cbs:
                if want == "detach":
                    cbs[name].detach()
                elif want == "suspend":
                    if not cbs[name].suspended:
                        cbs.suspend([name])
                else:
                    cbs.unsuspend(name)
            self.refresh()  # the user waits for this one: show it now, whatever the throttle says

        with self._lock:
            self._pending[name] = want
        self.push(error="", rows=self._rows())
        learner = cbs.learner
        if learner is not None:
            learner.atBatchBoundary(apply)
        else:
            apply()
        self.refresh()


class TimingsView(StaticFallback, ipywidgets.VBox):
    """A live bar chart of ``cbs.timings``: seconds spent in each checkpoint, slowest first (bqplot).

    Args:
        timings: the `Timings` to show (``l.cbs.timings``).
        feed: the feed to follow; defaults to ``timings.feed`` (the learner's, once attached).
    """

    def __init__(self, timings: Timings, *, feed: Feed | None = None) -> None:
        self.timings = timings
        self._closed = False
        self._lock = threading.Lock()
        self.xs = bqplot.OrdinalScale()
        self.ys = bqplot.LinearScale(min=0.0)
        self.bars = bqplot.Bars(
            x=np.array(["-"]),
            y=np.zeros(1),
            scales={"x": self.xs, "y": self.ys},
            orientation="horizontal",
            colors=["#1f77b4"],
            tooltip=bqplot.Tooltip(fields=["x", "y"], formats=["", ".3s"], labels=["checkpoint", "seconds"]),
        )
        self.fig = bqplot.Figure(
            marks=[self.bars],
            axes=[
                bqplot.Axis(scale=self.xs, side="left"),
                bqplot.Axis(scale=self.ys, side="bottom", label="seconds", tick_format=".2s"),
            ],
            title="Time per checkpoint",
            fig_margin={"top": 30, "bottom": 40, "left": 110, "right": 40},
            animation_duration=0,
            layout=ipywidgets.Layout(width="100%", max_width="720px", height="160px"),
        )
        super().__init__(children=[self.fig], layout=ipywidgets.Layout(width="100%"))
        self.add_class("k1w-timings")
        self._last: tuple[tuple[str, ...], tuple[float, ...], str] | None = None
        self.refresh()
        self.feed = feed if feed is not None else timings.feed
        self._sub: Subscription | None = self.feed.subscribe(self.refresh) if self.feed is not None else None

    def releaseFeed(self, feed: Feed) -> list[Callable[[], None]]:
        """Stops following ``feed``; returns the refresh functions (as `View.releaseFeed`)."""
        sub = self._sub
        if sub is None or sub._feed is not feed:
            return []
        sub.remove()
        self._sub = None
        return [sub.fn]

    def refresh(self) -> None:
        """Redraws the bars (called by the feed, on any thread); sends nothing when nothing changed."""
        with self._lock:
            if self._closed:
                return
            items = self.timings.items()
            names = tuple(k for k, _ in items) or ("-",)
            values = tuple(float(v) for _, v in items) or (0.0,)
            total = sum(values)
            title = f"Time per checkpoint (total {_fmt(total)})" if items else "Time per checkpoint: nothing timed yet"
            rounded = tuple(float(f"{v:.3g}") for v in values)
            state = (names, rounded, title)
            if state == self._last:
                return
            self._last = state
            height = f"{70 + 20 * len(names)}px"
            with self.fig.hold_sync():
                with self.bars.hold_sync():
                    self.bars.x = np.array(list(reversed(names)))  # slowest at the top
                    self.bars.y = np.array(list(reversed(values)))
                self.fig.title = title
                if self.fig.layout.height != height:
                    self.fig.layout.height = height

    def close(self) -> None:
        """Closes the chart and stops following the feed."""
        with self._lock:
            self._closed = True
        sub: Subscription | None = getattr(self, "_sub", None)  # None: __init__ failed before subscribing
        if sub is not None:
            sub.remove()
            self._sub = None
        for w in (self.bars, *self.fig.axes, self.fig, self.xs, self.ys):
            w.close()
        super().close()


def _fmt(s: float) -> str:
    from k1widgets.report import fmtSeconds

    return fmtSeconds(s)


class CallbacksView(StaticFallback, ipywidgets.VBox):
    """Live table of a `Callbacks` (what ``l.cbs`` shows in Jupyter) with timing bars below it.

    Args:
        cbs: the callbacks to show (``l.cbs``).

    Example:
        >>> from k1widgets import Learner
        >>> l = Learner.sample()
        >>> v = l.cbs.widget()   # the view, to place in a layout (what displaying l.cbs shows)
        >>> [row["name"] for row in v.table.rows][:3]
        ['ProgressBar', 'DontTrainValid', 'LossLandscape']
        >>> v.close()
    """

    def __init__(self, cbs: Callbacks) -> None:
        if not isinstance(cbs, Callbacks):
            msg = f"CallbacksView shows a k1widgets Callbacks (l.cbs), got {type(cbs).__name__}."
            raise TypeError(msg)
        self.cbs = cbs
        self.table = CallbacksTable(cbs)
        self.timingsView = TimingsView(cbs.timings, feed=cbs.feed)
        super().__init__(children=[self.table, self.timingsView], layout=ipywidgets.Layout(width="100%"))
        self.add_class("k1w-callbacks-view")

    def refresh(self) -> None:
        """Pushes rows and timings now."""
        self.table.refresh()
        self.timingsView.refresh()

    def close(self) -> None:
        """Closes the table and the chart (both stop following the feed)."""
        for part in (getattr(self, "table", None), getattr(self, "timingsView", None)):  # None: __init__ failed
            if part is not None:
                part.close()
        super().close()
