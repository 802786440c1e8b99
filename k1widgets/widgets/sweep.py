"""SweepView: the live view of a sweep (a `Harvester`, a `Sampler`, or a running `Sweep` from `cultivate`).

Layout: a `SweepPanel` (an anywidget: counts, ETA, progress, Cancel, the variable and axis pickers, the
heatmap, the clicked point's details) and under it a bqplot figure with the clicked point's curves
(its variables with one internal dimension, e.g. a loss history), hidden when there are none.

- **Live.** The view follows the source's feed (points stored) and the running sweep's feed (points
  started, finished, cancelled), both throttled to ``settings.live.hz``, and ends on the exact final
  state (the sweep flushes its feed at the end). A new harvest on the same source is picked up.
- **Inbound.** The pickers set the synced ``choice`` trait; a click on a cell sends ``{"action":
  "select", "row", "col"}``; Cancel sends ``{"action": "cancel"}``, which only sets the sweep's flag
  (thread-safe): no new point is submitted, running ones finish and are stored.
- **Fresh kernel.** Everything shown is read from the store (``viewData()``), so
  ``Harvester(None, data_name=...)`` in a new kernel shows the same picture.
"""

from __future__ import annotations

import threading
from typing import Any

import bqplot
import ipywidgets
import numpy as np
import traitlets

from k1widgets.farming import Sweep
from k1widgets.farming.state import pointDetail, sweepState
from k1widgets.live import Subscription
from k1widgets.plot.svg import COLORS
from k1widgets.widgets.base import StaticFallback, View, staticAsset

__all__ = ["SweepPanel", "SweepView"]


class SweepPanel(View):
    """The anywidget part of the sweep view.

    Traits (synced): ``state`` (from `sweepState`), ``detail`` (from `pointDetail`, the clicked cell),
    ``choice`` (``{"x", "y", "var", "fixed": {dim: index}}``, set by the pickers).
    """

    _esm = staticAsset("sweep.js")
    _css = staticAsset("sweep.css")
    state = traitlets.Dict().tag(sync=True)
    detail = traitlets.Dict().tag(sync=True)
    choice = traitlets.Dict().tag(sync=True)


class SweepView(StaticFallback, ipywidgets.VBox):
    """Live view of a harvester, sampler or running sweep (what their ``widget()`` returns).

    Args:
        obj: a `Harvester`, a `Sampler`, or a `Sweep` (whose ``source`` is one of them).
        choice: the first heatmap choice, e.g. ``{"x": "lr", "y": "hidden", "var": "loss"}``.
    """

    def __init__(self, obj: Any, *, choice: dict[str, Any] | None = None) -> None:
        if isinstance(obj, Sweep):
            self.sweep: Sweep | None = obj
            self.source = obj.source
        else:
            self.sweep = getattr(obj, "sweep", None)
            self.source = obj
        if self.source is None or not hasattr(self.source, "viewData"):
            msg = f"SweepView shows a Harvester, a Sampler or a Sweep of one, got {type(obj).__name__}."
            raise TypeError(msg)
        self._lock = threading.RLock()
        self._closed = False
        self._selected: tuple[int, int] | None = None
        self.updates = 0
        self.panel = SweepPanel(choice=dict(choice or {}))
        self.xs = bqplot.LinearScale()
        self.ys = bqplot.LinearScale()
        self.lines = bqplot.Lines(x=np.empty(0), y=np.empty((0, 0)), scales={"x": self.xs, "y": self.ys})
        self.xAxis = bqplot.Axis(scale=self.xs, label="", label_offset="32px")
        self.yAxis = bqplot.Axis(scale=self.ys, side="left", label_offset="50px")
        self.figure = bqplot.Figure(
            marks=[self.lines],
            axes=[self.xAxis, self.yAxis],
            title="",
            fig_margin={"top": 36, "bottom": 44, "left": 70, "right": 16},
            animation_duration=0,
            layout=ipywidgets.Layout(width="100%", max_width="720px", height="260px", display="none"),
        )
        self.figure.add_class("k1w-sweep-curve")
        super().__init__(children=[self.panel, self.figure], layout=ipywidgets.Layout(width="100%"))
        self.add_class("k1w-sweep-view")
        self.panel.on_msg(self._onMsg)
        self.panel.observe(self._onChoice, "choice")
        self._sweepSub: Subscription | None = None
        feed = getattr(self.source, "feed", None)
        if feed is not None:
            self.panel.follow(feed, self.refresh)
        self._followSweep()
        self.refresh()

    def _followSweep(self) -> None:
        """Follows the source's latest sweep (a new harvest replaces it)."""
        current = self.sweep if self.sweep is not None and not self.sweep.done else None
        latest = getattr(self.source, "sweep", None)
        if latest is not None and latest is not self.sweep and (current is None or latest.started is not None):
            self.sweep = latest
        if self.sweep is not None and (self._sweepSub is None or self._sweepSub._feed is not self.sweep.feed):
            if self._sweepSub is not None:
                self._sweepSub.remove()
            self._sweepSub = self.panel.follow(self.sweep.feed, self.refresh)

    def refresh(self) -> None:
        """Recomputes the state from the store and the live sweep and pushes it (any thread)."""
        with self._lock:
            if self._closed:
                return
            self._followSweep()
            state = sweepState(self.source, sweep=self.sweep, choice=self.panel.choice)
            self.panel.push(state=state)
            if self._selected is not None:
                self._select(*self._selected)
            self.updates += 1

    def _onChoice(self, change: dict[str, Any]) -> None:
        self.refresh()

    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        """Messages from the browser: ``{"action": "cancel"}`` and ``{"action": "select", "row", "col"}``."""
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "cancel" and self.sweep is not None:
            self.sweep.cancel()
        elif action == "select":
            self._select(int(content.get("row", 0)), int(content.get("col", 0)))

    def select(self, row: int, col: int) -> dict[str, Any]:
        """Shows the point of heatmap cell (``row``, ``col``), as a click does; returns its details."""
        self._select(row, col)
        return dict(self.panel.detail)

    def _select(self, row: int, col: int) -> None:
        with self._lock:
            self._selected = (row, col)
            detail = pointDetail(self.source, self.panel.choice, row, col)
            detail["row"], detail["col"] = row, col
            self.panel.push(detail=detail)
            curves = detail.get("curves", [])
            with self.figure.hold_sync():
                if curves:
                    n = max(len(c["x"]) for c in curves)
                    x = np.asarray(curves[0]["x"], dtype=float)
                    y = np.full((len(curves), n), np.nan)
                    for i, c in enumerate(curves):
                        y[i, : len(c["y"])] = [np.nan if v is None else v for v in c["y"]]
                    with self.lines.hold_sync():
                        self.lines.x, self.lines.y = x[:n], y
                        self.lines.labels = [c["var"] for c in curves]
                        self.lines.colors = [COLORS[i % len(COLORS)] for i in range(len(curves))]
                        self.lines.display_legend = len(curves) > 1
                    self.xAxis.label = curves[0]["dim"]
                    self.figure.title = ", ".join(f"{k}={v}" for k, v in detail["params"].items())
                    self.figure.layout.display = None
                else:
                    self.figure.layout.display = "none"

    def close(self) -> None:
        """Closes the view and stops following the feeds."""
        with self._lock:
            self._closed = True
        self.panel.close()
        for w in (self.lines, self.xAxis, self.yAxis, self.figure, self.xs, self.ys):
            w.close()
        super().close()
