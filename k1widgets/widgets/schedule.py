"""ScheduleView and ParamSchedulerView: schedules as small bqplot plots with a marker at the progress.

- `ScheduleView` shows one schedule (`k1widgets.schedule.Fn`) over [0, 1], with a red dot at its last
  ``progress`` (none before a run).
- `ParamSchedulerView` shows every schedule of a `ParamScheduler` side by side under a header with
  its css, the progress and the current values. It follows the learner's feed, so during a run
  (blocking or background) the dots move along the curves at most ``settings.live.hz`` times a
  second, and it always ends on the exact final state (the feed is flushed at each epoch's end).
"""

from __future__ import annotations

import html
import math
import threading
from typing import Any

import bqplot
import ipywidgets
import numpy as np

from k1widgets.live import Subscription
from k1widgets.plot.svg import COLORS
from k1widgets.widgets.base import StaticFallback

__all__ = ["ParamSchedulerView", "ScheduleView", "scheduleFigure"]

_POINTS = 201


class _Plot:
    """One schedule's bqplot figure: the curve and the progress marker."""

    def __init__(self, s: Any, *, width: str = "340px", height: str = "210px") -> None:
        self.s = s
        x = np.linspace(0.0, 1.0, _POINTS)
        y = np.array([float(s(v)) for v in x])
        finite = y[np.isfinite(y)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        pad = (hi - lo) * 0.08 or abs(hi) * 0.08 or 1.0
        self.xs = bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self.ys = bqplot.LinearScale(min=lo - pad, max=hi + pad, allow_padding=False)
        scales = {"x": self.xs, "y": self.ys}
        self.curve = bqplot.Lines(x=x, y=y, scales=scales, colors=[COLORS[0]], stroke_width=1.8)
        self.marker = bqplot.Scatter(
            x=np.empty(0), y=np.empty(0), scales=scales, colors=["#d62728"], default_size=60, stroke="white"
        )
        axes = [
            bqplot.Axis(scale=self.xs, label="progress", tick_values=np.linspace(0, 1, 5), tick_format=".2~f"),
            bqplot.Axis(scale=self.ys, side="left", tick_format=".2~g", num_ticks=4),
        ]
        label = getattr(s, "label", "") or "custom"
        self.fig = bqplot.Figure(
            marks=[self.curve, self.marker],
            axes=axes,
            title=f"{getattr(s, 'param', None) or 'schedule'}: {label}",
            fig_margin={"top": 30, "bottom": 40, "left": 60, "right": 16},
            title_style={"font-size": "12px"},
            animation_duration=0,
            layout=ipywidgets.Layout(width=width, height=height),
        )
        self.fig.add_class("k1w-schedule-figure")

    def mark(self, progress: float | None) -> float | None:
        """Moves the marker to ``progress`` (hidden for None); returns the value there."""
        if progress is None or not math.isfinite(progress):
            if len(self.marker.x):
                with self.marker.hold_sync():
                    self.marker.x, self.marker.y = np.empty(0), np.empty(0)
            return None
        value = float(self.s(progress))
        with self.marker.hold_sync():
            self.marker.x, self.marker.y = np.array([progress]), np.array([value])
        return value

    def close(self) -> None:
        for w in (self.curve, self.marker, *self.fig.axes, self.fig, self.xs, self.ys):
            w.close()


def scheduleFigure(s: Any) -> bqplot.Figure:
    """A bqplot figure of schedule ``s`` over [0, 1] with its progress marked (for your own layouts)."""
    p = _Plot(s)
    p.mark(getattr(s, "progress", None))
    return p.fig


class ScheduleView(StaticFallback, ipywidgets.VBox):
    """The view of one schedule (``s.widget()``, or a schedule displayed in Jupyter)."""

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule
        self.plot = _Plot(schedule)
        self.plot.mark(getattr(schedule, "progress", None))
        super().__init__(children=[self.plot.fig])
        self.add_class("k1w-schedule")

    def refresh(self) -> None:
        """Moves the marker to the schedule's current progress."""
        self.plot.mark(getattr(self.schedule, "progress", None))

    def close(self) -> None:
        """Closes the view and its bqplot widgets."""
        self.plot.close()
        super().close()


class ParamSchedulerView(StaticFallback, ipywidgets.VBox):
    """The view of a `ParamScheduler`: its schedules, a marker at the current progress, live during runs.

    Args:
        scheduler: the scheduler (attached to a learner for the live updates).
    """

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.plots = [_Plot(s) for s in scheduler.schedules.values()]
        self.header = ipywidgets.HTML()
        self.header.add_class("k1w-scheduler-header")
        self._lock = threading.Lock()
        self._sub: Subscription | None = None
        self.updates = 0
        figs = ipywidgets.HBox([p.fig for p in self.plots], layout=ipywidgets.Layout(flex_flow="row wrap"))
        super().__init__(children=[self.header, figs])
        self.add_class("k1w-scheduler")
        self.refresh()
        learner = scheduler.learner
        if learner is not None:
            self._sub = learner.feed.subscribe(self.refresh)

    def refresh(self) -> None:
        """Moves every marker to the scheduler's progress and updates the header (called by the feed)."""
        with self._lock:
            progress = self.scheduler.progress
            values = [p.mark(progress) for p in self.plots]
            css = html.escape(self.scheduler.css)
            if progress is None:
                state = "not run yet"
            else:
                now = ", ".join(
                    f"{html.escape(str(param))} {v:.3g}"
                    for param, v in zip(self.scheduler.schedules, values, strict=True)
                    if v is not None
                )
                state = f'progress <b class="k1w-scheduler-progress">{progress:.3f}</b>: {now}'
            self.header.value = f"<b>ParamScheduler</b> <code>{css}</code> · {state}"
            self.updates += 1

    def close(self) -> None:
        """Stops following the learner and closes the figures."""
        if self._sub is not None:
            self._sub.remove()
            self._sub = None
        for p in self.plots:
            p.close()
        super().close()
