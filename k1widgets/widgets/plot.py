"""PlotView: the live bqplot view of a `SliceablePlot`, with a range slider that zooms every panel.

Layout: one bqplot `Figure` per panel side by side, and under them a `RangeControl` (an anywidget:
"follow latest" toggle, a two-handle range slider, a log/linear toggle).

- **Zoom in the browser.** The slider holds a window in the x units of the first panel; its front
  end maps it proportionally onto every panel and sets the bqplot x scales itself (through
  ``model.widget_manager``), so zooming works while the kernel is busy. Python re-decimates the
  visible window when it gets the new value.
- **Decimation.** Each line sends at most `pointBudget()` points (``settings.plot.points``, else
  2000): a min-max decimation of the visible window, plus a coarse quarter of the budget for the rest
  of the line so a browser-side zoom out is never empty. Full history stays in Python; a
  `LeafIndex` per line makes re-decimating a growing million-point line cost well under a millisecond.
- **Live.** The view follows the plot's feed (``l.feed`` for ``l.Loss.plot()``): each (throttled)
  notification re-reads the data, and with "follow latest" on, slides the window to the newest point.
- **Log scale.** Toggling swaps whole scale and `Axis` objects (assigning ``Axis.scale`` does not
  redraw the ticks in bqplot 0.13); values <= 0 are hidden on a log axis.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import bqplot
import ipywidgets
import numpy as np
import traitlets

from k1widgets.live import Feed, Subscription
from k1widgets.plot import SliceablePlot
from k1widgets.plot.decimate import LeafIndex, LineData, decimateWindow, pointBudget
from k1widgets.plot.svg import COLORS, logTicks
from k1widgets.widgets.base import ShownTracking, StaticFallback, View, staticAsset

__all__ = ["PlotView", "RangeControl", "followWindow", "mapWindow"]

_MARGIN = {"top": 36, "bottom": 44, "left": 70, "right": 16}


def mapWindow(value: Sequence[float], ext0: Sequence[float], ext: Sequence[float]) -> tuple[float, float]:
    """The window of a panel with x extent ``ext`` that matches ``value`` on the first panel's ``ext0``.

    Proportional, as `SliceablePlot` slicing is: the same fractions of each panel's extent.
    """
    w0 = ext0[1] - ext0[0]
    if w0 <= 0:
        return ext[0], ext[1]
    f0, f1 = (value[0] - ext0[0]) / w0, (value[1] - ext0[0]) / w0
    w = ext[1] - ext[0]
    return ext[0] + f0 * w, ext[0] + f1 * w


def followWindow(value: Sequence[float] | None, old: Sequence[float] | None, new: Sequence[float]) -> list[float]:
    """Where a "follow latest" window goes when the first panel's extent grows from ``old`` to ``new``.

    A window showing everything keeps showing everything; a narrower one keeps its width and moves
    its right edge to the newest point. (The front end applies the same rule while Python is busy.)
    """
    if not value or old is None or (value[0] <= old[0] + 1e-9 and value[1] >= old[1] - 1e-9):
        return [new[0], new[1]]
    width = value[1] - value[0]
    return [max(new[0], new[1] - width), new[1]]


class RangeControl(View):
    """The control bar under a plot: "follow latest", a range slider over the x axis, "log y".

    Traits (synced): ``scales`` (the x scale of each panel), ``extents`` (``[lo, hi]`` x extent of each
    panel's data), ``value`` (``[lo, hi]`` window in the first panel's x units), ``followLatest``,
    ``log``, ``zoomSeq`` (bumped when Python sets the window, so the front end drops a local zoom) and
    ``roundAxes`` (axes over the first scale whose ticks the front end sets to round values of the
    window shown, at most each axis's ``num_ticks``: bqplot's ``num_ticks`` alone spaces them evenly
    from the ends, 0, 125, 251, 376).
    """

    _esm = staticAsset("plot.js")
    _css = staticAsset("plot.css")
    scales = traitlets.List(traitlets.Instance(ipywidgets.Widget)).tag(sync=True, **ipywidgets.widget_serialization)
    extents: traitlets.List[list[float]] = traitlets.List().tag(sync=True)
    value: traitlets.List[float] = traitlets.List().tag(sync=True)
    followLatest = traitlets.Bool(True).tag(sync=True)
    log = traitlets.Bool(False).tag(sync=True)
    zoomSeq = traitlets.Int(0).tag(sync=True)
    roundAxes = traitlets.List(traitlets.Instance(ipywidgets.Widget)).tag(sync=True, **ipywidgets.widget_serialization)


class RangeZoom:
    """Mixin for a view of panels under one `RangeControl`: the control's events, `zoom` and `window`.

    The view provides ``control`` (its `RangeControl`), ``panels`` (each with ``setLog``), ``_lock``,
    ``_pushing`` (the thread that is pushing the window itself, so its trait changes are not taken for
    the front end's), ``refresh()`` and ``_draw(user=...)``.
    """

    control: RangeControl
    panels: Sequence[Any]
    _lock: threading.RLock
    _pushing: int | None

    if TYPE_CHECKING:

        def refresh(self) -> None: ...

        def _draw(self, *, user: bool) -> None: ...

    def _onWindow(self, change: dict[str, Any]) -> None:
        if self._pushing == threading.get_ident():  # our own push from _draw, not the front end
            return
        if change["name"] == "followLatest" and change["new"]:
            self.refresh()
        else:
            self._draw(user=True)

    def _onLog(self, change: dict[str, Any]) -> None:
        with self._lock:
            for p in self.panels:
                p.setLog(bool(change["new"]))
        self._draw(user=True)

    def zoom(self, low: float | None = None, high: float | None = None) -> None:
        """Shows [low, high] of the x axis in every panel and stops following (``high=None``: follow the end)."""
        c = self.control
        ext = c.extents[0] if c.extents else [0.0, 1.0]
        value = [ext[0] if low is None else float(low), ext[1] if high is None else float(high)]
        with self._lock:
            self._pushing = threading.get_ident()  # one redraw below, not one per trait
            try:
                c.push(value=value, followLatest=high is None, zoomSeq=c.zoomSeq + 1)
            finally:
                self._pushing = None
        self._draw(user=True)

    @property
    def window(self) -> tuple[float, float] | None:
        """The window Python knows of, in the first panel's x units (None before any data)."""
        v = self.control.value
        return (v[0], v[1]) if v else None


class _PanelView:
    """The bqplot objects of one panel."""

    def __init__(self, lines: list[LineData], o: dict[str, Any], log: bool) -> None:
        self.o = o
        self.xs = bqplot.LogScale() if o["xscale"] == "log" else bqplot.LinearScale()
        self.ys = _yScale(log, o)
        self.marks = [
            bqplot.Lines(
                x=np.empty(0),
                y=np.empty(0),
                scales={"x": self.xs, "y": self.ys},
                colors=[COLORS[j % len(COLORS)]],
                labels=[line.name],
                display_legend=o["legend"],
                tooltip=bqplot.Tooltip(fields=["name"]),
                stroke_width=1.5,
            )
            for j, line in enumerate(lines)
        ]
        self.xAxis = bqplot.Axis(scale=self.xs, label=o["xlabel"], grid_lines=_grid(o), label_offset="32px")
        self.yAxis = self._yAxis()
        self.fig = bqplot.Figure(
            marks=self.marks,
            axes=[self.xAxis, self.yAxis],
            title=o["title"],
            fig_margin=dict(_MARGIN),
            legend_location="top-right",
            animation_duration=0,
            layout=ipywidgets.Layout(flex="1 1 0%", min_width="0", height="300px"),
        )
        self.fig.add_class("k1w-plot-panel")
        self.indexes = [LeafIndex() for _ in lines]

    def _yAxis(self) -> bqplot.Axis:
        o = self.o
        log = isinstance(self.ys, bqplot.LogScale)
        return bqplot.Axis(
            scale=self.ys,
            side="left",
            label=o["ylabel"],
            grid_lines=_grid(o),
            label_offset="50px",
            tick_format=".3~g" if log else None,
        )

    def setLog(self, log: bool) -> None:
        """Swaps the y scale and the whole y axis (bqplot only redraws ticks for a new Axis)."""
        self.ys = _yScale(log, self.o)
        self.yAxis = self._yAxis()
        with self.fig.hold_sync():
            for m in self.marks:
                m.scales = {"x": self.xs, "y": self.ys}
            self.fig.axes = [self.xAxis, self.yAxis]


def _grid(o: dict[str, Any]) -> str:
    return "solid" if o["grid"] else "none"


def _yScale(log: bool, o: dict[str, Any]) -> bqplot.Scale:
    lo, hi = o["ylim"]
    if log:
        return bqplot.LogScale(min=lo if lo and lo > 0 else None, max=hi if hi and hi > 0 else None)
    return bqplot.LinearScale(min=lo, max=hi)


class PlotView(RangeZoom, ShownTracking, StaticFallback, ipywidgets.VBox):
    """Live bqplot view of a `SliceablePlot` (what ``p.widget()`` returns).

    Args:
        plot: the plot to show.
        feed: a `Feed` to follow for live growth; defaults to ``plot.feed``.
        points: most points per line per update; defaults to `pointBudget()`.
    """

    def __init__(self, plot: SliceablePlot, *, feed: Feed | None = None, points: int | None = None) -> None:
        self.plot = plot
        self.staticSource = plot
        self.points = int(points) if points else pointBudget()
        self._lock = threading.RLock()
        self._closed = False
        self._pushing: int | None = None
        self.updates = 0  # redraws so far (tests, diagnostics)
        data = plot.data()
        log = plot.panelOptions(0)["yscale"] == "log"
        self.panels = [_PanelView(lines, plot.panelOptions(i), log) for i, lines in enumerate(data)]
        self.control = RangeControl(scales=[p.xs for p in self.panels], log=log)
        figs = ipywidgets.HBox([p.fig for p in self.panels], layout=ipywidgets.Layout(width="100%"))
        super().__init__(children=[figs, self.control], layout=ipywidgets.Layout(width="100%"))
        self.add_class("k1w-plot")
        self._draw(data, user=False, first=True)
        self.control.observe(self._onWindow, ["value", "followLatest"])
        self.control.observe(self._onLog, "log")
        self.control.on_msg(self._onMsg)
        self.feed = feed if feed is not None else plot.feed
        self._sub: Subscription | None = None
        if self.feed is not None:
            self._sub = self.control.follow(self.feed, self.refresh)

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Re-reads the data and redraws (the feed calls this; safe from any thread).

        Skipped (and done when shown again) while the view was displayed once but no front end shows
        it now, e.g. after its output was cleared, so forgotten plots cost nothing during training.
        """
        if self.hidden():
            return
        self._draw(None, user=False)

    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        if self.trackShown(content):
            self.refresh()

    def _draw(self, data: list[list[LineData]] | None = None, *, user: bool, first: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            data = self.plot.data() if data is None else data
            extents = [_extent(lines) for lines in data]
            c = self.control
            old = c.extents[0] if c.extents else None
            value: list[float] = list(c.value)
            xlim = self.plot.panelOptions(0)["xlim"]
            if first and extents[0] is not None and xlim != (None, None):  # p.xlim(a, b): start there
                value = [extents[0][0] if xlim[0] is None else xlim[0], extents[0][1] if xlim[1] is None else xlim[1]]
                c.followLatest = xlim[1] is None
            elif extents[0] is not None and not user and (c.followLatest or not value or old is None):
                value = followWindow(value, old, extents[0])
            log = c.log
            ext0 = extents[0]
            for pv, lines, ext in zip(self.panels, data, extents, strict=True):
                lo, hi = (None, None) if ext is None or ext0 is None or not value else mapWindow(value, ext0, ext)
                ylo, yhi = math.inf, -math.inf
                for mark, line, index in zip(pv.marks, lines, pv.indexes, strict=True):
                    x, y = decimateWindow(line, lo, hi, self.points, index)
                    if log:
                        y = np.where(y > 0, y, np.nan)
                    inside = y if lo is None else y[(x >= lo) & (x <= hi)]
                    inside = inside[np.isfinite(inside)]
                    if len(inside):
                        ylo, yhi = min(ylo, float(inside.min())), max(yhi, float(inside.max()))
                    with mark.hold_sync():
                        mark.x, mark.y = x, y
                self._setY(pv, ylo, yhi, log)
                if first and lo is not None:  # later, the front end owns the x scales
                    with pv.xs.hold_sync():
                        pv.xs.min, pv.xs.max = _nonEmpty(lo, hi if hi is not None else lo)
            extentLists = [list(e) if e is not None else [0.0, 0.0] for e in extents]
            self._pushing = threading.get_ident()
            try:
                if user:
                    c.push(extents=extentLists)
                else:
                    c.push(extents=extentLists, value=value)
            finally:
                self._pushing = None
            self.updates += 1

    def _setY(self, pv: _PanelView, lo: float, hi: float, log: bool) -> None:
        ylim = pv.o["ylim"]
        if not math.isfinite(lo):
            return
        if log:
            lo, hi = (lo / 1.2, hi * 1.2) if lo > 0 else (lo, hi)
        else:
            pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
            lo, hi = lo - pad, hi + pad
        lo = ylim[0] if ylim[0] is not None else lo
        hi = ylim[1] if ylim[1] is not None else hi
        if (pv.ys.min, pv.ys.max) != (lo, hi):
            with pv.ys.hold_sync():
                pv.ys.min, pv.ys.max = lo, hi
            if log and lo > 0:  # d3 labels every minor tick of a log axis; choose readable ones
                pv.yAxis.tick_values = np.array(logTicks(lo, hi))

    def close(self) -> None:
        """Closes the view, its figures and the control, and stops following the feed."""
        with self._lock:
            self._closed = True
        self.control.close()
        for pv in self.panels:
            for w in (*pv.marks, pv.xAxis, pv.yAxis, pv.fig, pv.xs, pv.ys):
                w.close()
        super().close()


def _extent(lines: list[LineData]) -> tuple[float, float] | None:
    exts = [e for e in (line.extent() for line in lines) if e is not None]
    if not exts:
        return None
    return min(e[0] for e in exts), max(e[1] for e in exts)


def _nonEmpty(lo: float, hi: float) -> tuple[float, float]:
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)
