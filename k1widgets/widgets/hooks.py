"""HookView: the live view of `HookModule`, `HookParam` and their plots, growing while training runs.

Layout, top to bottom:

- a grid of bqplot panels, one per field (``Forward mean``, ``Backward std``... for `HookModule`;
  ``Means``, ``Gradient norms``, ``Update ratios``... for `HookParam`), each ONE multi-line `Lines`
  mark with a line per module or parameter. All panels share one x scale (the training batch);
- `HookLegend` (js/hooks.js): the line names in their colours; clicking a name hides or shows that line
  in every panel, hovering a line shows its module path, clicking a line pins it (and picks it for
  the heatmap). It sets the marks' ``curves_subset`` in the browser, so it works while a cell runs;
- for `HookModule`, the activation-histogram heatmap (time × value bins) of the picked module;
- the `RangeControl` of `k1widgets.widgets.plot`: one range slider that zooms every panel and the
  heatmap in the browser, "follow latest" and "log y".

Every update sends at most ``settings.hooks.viewPoints`` values for all lines together (each line
at most ``settings.plot.points``), min-max decimated over the visible window (plus a coarse quarter
for the rest), as float32: about 50 KB per update whatever the number of modules, few enough for a
browser to redraw them as SVG. Updates follow the learner's feed, at most ``settings.hooks.viewHz``
times a second, and are skipped while no browser shows the view.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import bqplot
import ipywidgets
import numpy as np
import traitlets

from k1widgets.callbacks.hooks import HookCallback, HookModule, HookPlot
from k1widgets.live import Feed, Subscription
from k1widgets.plot.decimate import pointBudget
from k1widgets.plot.svg import COLORS, logTicks, niceTicks
from k1widgets.settings import settings
from k1widgets.widgets.base import ShownTracking, StaticFallback, View, staticAsset
from k1widgets.widgets.plot import RangeControl, RangeZoom, followWindow

__all__ = ["HookLegend", "HookView", "LeafCache", "envelope", "regrid"]

_MARGIN = {"top": 30, "bottom": 30, "left": 56, "right": 10}
_HEAT_COLUMNS = 200
_HEAT_ROWS = 32


def _palette(n: int) -> list[str]:
    """``n`` distinct colours: the plot palette first, then evenly spaced hues."""
    if n <= len(COLORS):
        return list(COLORS[:n])
    out = list(COLORS)
    for i in range(n - len(COLORS)):
        h = (i * 0.618033988749895) % 1.0
        r, g, b = (int(255 * (0.45 + 0.4 * math.cos(2 * math.pi * (h + k / 3)))) for k in range(3))
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return out


def envelope(x: np.ndarray, y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Min-max decimation of many lines sharing ``x``: at most ``points`` columns of ``y[rows, lines]``.

    Buckets of consecutive rows become two points, the per-line minimum (at the bucket's first x)
    and maximum (at its last x): every line's extremes survive, and all lines keep one shared x.
    """
    n = len(x)
    if n <= points:
        return x, y
    nb = max(1, points // 2)
    size = -(-n // nb)
    full = n // size
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    if full:
        blocks = y[: full * size].reshape(full, size, *y.shape[1:])
        lo, hi = np.fmin.reduce(blocks, axis=1), np.fmax.reduce(blocks, axis=1)
        xb = x[: full * size].reshape(full, size)
        xs.append(np.stack([xb[:, 0], xb[:, -1]], 1).reshape(-1))
        ys.append(np.stack([lo, hi], 1).reshape(2 * full, *y.shape[1:]))
    if full * size < n:
        tail = y[full * size :]
        xs.append(np.array([x[full * size], x[-1]]))
        ys.append(np.stack([np.fmin.reduce(tail, 0), np.fmax.reduce(tail, 0)]))
    return np.concatenate(xs), np.concatenate(ys)


def regrid(fractions: np.ndarray, lo: np.ndarray, hi: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histograms with per-row ranges ``[lo, hi]`` re-binned onto shared ``edges`` (rows × (len(edges) - 1)).

    Each row's cumulative distribution is interpolated linearly inside its bins, so mass moves to
    the shared grid in proportion to overlap.
    """
    rows, bins = fractions.shape
    if rows == 0:
        return np.zeros((0, len(edges) - 1))
    cum = np.concatenate([np.zeros((rows, 1)), np.cumsum(fractions, 1)], 1)
    with np.errstate(all="ignore"):
        width = np.where(hi > lo, hi - lo, 1.0)
        u = (edges[None, :] - lo[:, None]) / width[:, None] * bins
    u = np.clip(np.nan_to_num(u), 0, bins)
    i = np.minimum(np.floor(u).astype(np.int64), bins - 1)
    f = u - i
    r = np.arange(rows)[:, None]
    at = cum[r, i] + f * (cum[r, i + 1] - cum[r, i])
    return np.diff(at, axis=1)


class LeafCache:
    """Per-leaf (``leaf`` consecutive rows) minima and maxima of a view's lines, updated incrementally.

    A live update then reads only the rows added since the last one, and decimates any window by
    merging leaves: O(new rows + leaves), not O(history). Rebuilt when the history folds (its
    ``version`` changes) or the rows, lines or fields shown change.
    """

    def __init__(self, leaf: int = 32) -> None:
        self.leaf = leaf
        self.key: Any = None
        self.n = 0  # complete leaves
        self.x0 = np.empty(0)
        self.x1 = np.empty(0)
        self.lo = np.empty((0, 0, 0), dtype=np.float32)
        self.hi = np.empty((0, 0, 0), dtype=np.float32)

    def update(self, key: Any, rows: int, x: np.ndarray, read: Any) -> None:
        """Indexes the leaves completed among ``rows`` rows (``read(a, b)``: rows [a, b), ``[k, lines, fields]``)."""
        if key != self.key or rows < self.n * self.leaf:
            self.key, self.n = key, 0
        L, a, b = self.leaf, self.n, rows // self.leaf
        if b <= a:
            return
        block = read(a * L, b * L).reshape(b - a, L, *read(0, 0).shape[1:])
        lo, hi = np.fmin.reduce(block, axis=1), np.fmax.reduce(block, axis=1)
        if b > len(self.x0) or lo.shape[1:] != self.lo.shape[1:]:
            cap = max(b, 2 * len(self.x0), 64)
            for name, shape, dtype in (("x0", (cap,), np.float64), ("x1", (cap,), np.float64)):
                new = np.empty(shape, dtype=dtype)
                new[:a] = getattr(self, name)[:a]
                setattr(self, name, new)
            for name in ("lo", "hi"):
                new = np.empty((cap, *lo.shape[1:]), dtype=np.float32)
                old = getattr(self, name)
                if old.shape[1:] == lo.shape[1:]:
                    new[:a] = old[:a]
                setattr(self, name, new)
        xs = x[a * L : b * L].reshape(b - a, L)
        self.x0[a:b], self.x1[a:b] = xs[:, 0], xs[:, -1]
        self.lo[a:b], self.hi[a:b] = lo, hi
        self.n = b

    def envelope(self, x: np.ndarray, read: Any, i0: int, i1: int, points: int) -> tuple[np.ndarray, np.ndarray]:
        """Min-max decimation of rows [i0, i1) to about ``points`` columns, from leaves where it can."""
        if i1 <= i0:
            empty = read(0, 0)
            return np.empty(0), empty
        if i1 - i0 <= points:
            return x[i0:i1], read(i0, i1)
        L = self.leaf
        la, lb = -(-i0 // L), min(i1 // L, self.n)
        groups = max(1, points // 2 - 2)
        if lb - la < 2:
            return envelope(x[i0:i1], read(i0, i1), points)
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        if i0 < la * L:  # raw rows before the first whole leaf
            a, b = envelope(x[i0 : la * L], read(i0, la * L), 2)
            xs.append(a)
            ys.append(b)
        k = -(-(lb - la) // groups)
        full = (lb - la) // k
        if full:  # whole groups of k leaves: one reduction each way
            e = la + full * k
            lo = np.fmin.reduce(self.lo[la:e].reshape(full, k, *self.lo.shape[1:]), axis=1)
            hi = np.fmax.reduce(self.hi[la:e].reshape(full, k, *self.hi.shape[1:]), axis=1)
            xs.append(np.stack([self.x0[la:e:k], self.x1[la + k - 1 : e : k]], 1).reshape(-1))
            ys.append(np.stack([lo, hi], 1).reshape(2 * full, *lo.shape[1:]))
        if la + full * k < lb:  # the last, shorter group
            s0 = la + full * k
            xs.append(np.array([self.x0[s0], self.x1[lb - 1]]))
            ys.append(np.stack([np.fmin.reduce(self.lo[s0:lb], 0), np.fmax.reduce(self.hi[s0:lb], 0)]))
        if lb * L < i1:  # raw rows after the last whole leaf
            a, b = envelope(x[lb * L : i1], read(lb * L, i1), 2)
            xs.append(a)
            ys.append(b)
        return np.concatenate(xs), np.concatenate(ys)


class HookLegend(View):
    """The clickable legend and line picker of a `HookView` (front end: js/hooks.js).

    Synced traits: ``names``, ``colors``, ``marks`` (the panels' `Lines`), ``hidden`` (line indices the
    user hid; the browser sets the marks' ``curves_subset`` itself), ``picked`` (the clicked line, -1
    for none) and ``details`` (``"i. path (Class)"`` per line, shown on hover and click).
    """

    _esm = staticAsset("hooks.js")
    _css = staticAsset("hooks.css")
    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    details = traitlets.List(traitlets.Unicode()).tag(sync=True)
    colors = traitlets.List(traitlets.Unicode()).tag(sync=True)
    marks = traitlets.List(traitlets.Instance(ipywidgets.Widget)).tag(sync=True, **ipywidgets.widget_serialization)
    hidden = traitlets.List(traitlets.Int()).tag(sync=True)
    picked = traitlets.Int(-1).tag(sync=True)


class _Panel:
    """One bqplot figure: a multi-line mark over the shared x scale, with its own y scale."""

    def __init__(self, title: str, xs: bqplot.Scale, names: list[str], colors: list[str], log: bool) -> None:
        self.title = title
        self.xs = xs
        self.ys = _yScale(log)
        self.mark = bqplot.Lines(
            x=np.empty(0, dtype=np.float32),
            y=np.empty((max(len(names), 1), 0), dtype=np.float32),
            scales={"x": xs, "y": self.ys},
            colors=colors or ["#1f77b4"],
            labels=names,
            stroke_width=1.3,
        )
        self.xAxis = bqplot.Axis(scale=xs, label="batch", num_ticks=5, label_offset="24px")
        self.yAxis = self._yAxis(log)
        self.fig = bqplot.Figure(
            marks=[self.mark],
            axes=[self.xAxis, self.yAxis],
            title=title,
            title_style={"font-size": "13px"},
            fig_margin=dict(_MARGIN),
            animation_duration=0,
            layout=ipywidgets.Layout(width="auto", height="230px", min_width="0"),
        )
        self.fig.add_class("k1w-hooks-panel")

    def _yAxis(self, log: bool) -> bqplot.Axis:
        return bqplot.Axis(scale=self.ys, side="left", num_ticks=_Y_TICKS + 1, tick_format=".4~g", label_offset="40px")

    def setLog(self, log: bool) -> None:
        self.ys = _yScale(log)
        self.yAxis = self._yAxis(log)
        with self.fig.hold_sync():
            self.mark.scales = {"x": self.xs, "y": self.ys}
            self.fig.axes = [self.xAxis, self.yAxis]

    def setY(self, y: np.ndarray, log: bool) -> None:
        vals = y[np.isfinite(y)]
        if log:
            vals = vals[vals > 0]
        if not len(vals):
            return
        lo, hi = float(vals.min()), float(vals.max())
        if log:
            lo, hi = lo / 1.2, hi * 1.2
        else:  # a margin, but not across zero: norms, ratios and fractions never show negative ticks
            pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
            lo = max(lo - pad, 0.0) if lo >= 0 else lo - pad
            hi = min(hi + pad, 0.0) if hi <= 0 and lo < 0 else hi + pad
        if (self.ys.min, self.ys.max) != (lo, hi):
            with self.ys.hold_sync():
                self.ys.min, self.ys.max = lo, hi
            # round ticks (bqplot's num_ticks spaces them evenly from the ends: 0.0821, 2.4, 4.72...)
            self.yAxis.tick_values = np.array(logTicks(lo, hi) if log else niceTicks(lo, hi, _Y_TICKS))

    def close(self) -> None:
        for w in (self.mark, self.xAxis, self.yAxis, self.fig, self.ys):
            w.close()


_Y_TICKS = 5
"""At most this many intervals between the round ticks of a panel's y axis."""


def _yScale(log: bool) -> bqplot.Scale:
    # no padding of bqplot's own: `_Panel.setY` adds the margin (and keeps it from crossing zero)
    return bqplot.LogScale(allow_padding=False) if log else bqplot.LinearScale(allow_padding=False)


class HookView(RangeZoom, ShownTracking, StaticFallback, ipywidgets.VBox):
    """Live view of a `HookModule` / `HookParam` (every field) or of one of their `HookPlot` s.

    Args:
        obj: the callback (or a view of it, ``l.HookParam[::2]``) or a `HookPlot` (``cb.plot("mean")``).
        feed: a `Feed` to follow (default: the learner's).
        points: most values sent per update for all lines together (default ``settings.hooks.viewPoints``).
    """

    def __init__(self, obj: Any, *, feed: Feed | None = None, points: int | None = None) -> None:
        if isinstance(obj, HookPlot):
            plot = obj
        elif isinstance(obj, HookCallback):
            plot = obj.plot(*obj.viewFields, byDirection=True)
        else:
            msg = f"HookView shows a HookModule, a HookParam or their plot(), got {type(obj).__name__}."
            raise TypeError(msg)
        self.plot = plot
        self.cb: HookCallback = plot.cb
        self.points = int(points) if points else int(settings.hooks.viewPoints)
        self._lock = threading.RLock()
        self._closed = False
        self._pushing: int | None = None
        self.updates = 0
        self.bytesSent = 0  # payload bytes of the arrays sent by the latest update (diagnostics)
        self._leaves = LeafCache()
        self._shownLines = self.cb._lines()
        names, details, colors = self._labels(self._shownLines)
        self.xs = bqplot.LinearScale(allow_padding=False)  # the range control sets it: no batch -2 at the left
        log = False
        self.panels = [_Panel(t.title, self.xs, names, colors, log) for t in plot.panels]
        columns = max(1, plot.gridColumns)
        grid = ipywidgets.GridBox(
            [p.fig for p in self.panels],
            layout=ipywidgets.Layout(grid_template_columns=f"repeat({columns}, minmax(0, 1fr))", width="100%"),
        )
        src = self.cb._source
        self.legend = HookLegend(names=names, details=details, colors=colors, marks=[p.mark for p in self.panels])
        self.control = RangeControl(scales=[self.xs], log=log)
        children: list[ipywidgets.Widget] = [grid, self.legend]
        self.heat: dict[str, Any] | None = None
        if isinstance(src, HookModule) and src.bins and len(self.cb.paths):
            children.append(self._makeHeat())
        children.append(self.control)
        # round batch ticks on every x axis, for the window the browser shows
        self.control.roundAxes = [p.xAxis for p in self.panels] + ([self.heat["axes"][0]] if self.heat else [])
        super().__init__(children=children, layout=ipywidgets.Layout(width="100%"))
        self.add_class("k1w-hooks")
        self._draw(first=True)
        self.control.observe(self._onWindow, ["value", "followLatest"])
        self.control.observe(self._onLog, "log")
        self.control.on_msg(self._onMsg)
        self.legend.observe(self._onPick, "picked")
        learnerFeed = src.learner.feed if src.learner is not None else None
        self.feed = feed if feed is not None else learnerFeed
        self._sub: Subscription | None = None
        # redraws at most settings.hooks.viewHz times a second (the trailing edge keeps the final state)
        self._slow = Feed(hz=float(settings.hooks.viewHz))
        self._slow.subscribe(self.refresh)
        if self.feed is not None:
            self._sub = self.control.follow(self.feed, self._slow.changed)
        src.addViewer(self)  # the recorder copies samples to the host at this view's rate

    # ------------------------------------------------------------------ heatmap
    def _makeHeat(self) -> ipywidgets.Widget:
        ys = bqplot.LinearScale()
        cs = bqplot.ColorScale(scheme="viridis", min=0.0, max=1.0)
        mark = bqplot.HeatMap(
            x=np.arange(2, dtype=np.float32),
            y=np.arange(2, dtype=np.float32),
            color=np.zeros((2, 2), dtype=np.float32),
            scales={"x": self.xs, "y": ys, "color": cs},
        )
        ax = bqplot.Axis(scale=self.xs, label="batch", num_ticks=6)
        ay = bqplot.Axis(scale=ys, side="left", label="value", tick_format=".3~g")
        fig = bqplot.Figure(
            marks=[mark],
            axes=[ax, ay],
            title="Activation histogram",
            title_style={"font-size": "13px"},
            fig_margin=dict(_MARGIN),
            animation_duration=0,
            layout=ipywidgets.Layout(width="100%", height="220px"),
        )
        fig.add_class("k1w-hooks-heatmap")
        options = [(n, i) for i, n in enumerate(self.legend.names)]
        pick = ipywidgets.Dropdown(
            options=options, value=0, description="module", layout=ipywidgets.Layout(width="auto")
        )
        pick.observe(lambda ch: self._heatPicked(ch["new"]), "value")
        self.heat = {"mark": mark, "ys": ys, "fig": fig, "pick": pick, "axes": (ax, ay), "cs": cs, "module": 0}
        return ipywidgets.VBox([pick, fig], layout=ipywidgets.Layout(width="100%"))

    def _heatPicked(self, module: int) -> None:
        if self.heat is not None and module is not None:
            self.heat["module"] = int(module)
            self._draw()

    def _onPick(self, change: dict[str, Any]) -> None:
        i = change["new"]
        if self.heat is not None and isinstance(i, int) and 0 <= i < len(self.cb.paths):
            self.heat["pick"].value = i  # also redraws through _heatPicked

    def _drawHeat(self, x: np.ndarray, idx: np.ndarray, window: tuple[float, float] | None) -> int:
        """Redraws the heatmap of the picked module over the visible rows; returns bytes sent.

        Reads at most ``2 * _HEAT_COLUMNS`` evenly spaced rows of the window (call with the history lock held).
        """
        heat = self.heat
        h = self.cb._source.history
        if heat is None or h is None or h.hist is None or not len(x):
            return 0
        line = self.cb._lines()[heat["module"]]
        i0, i1 = 0, len(x)
        if window is not None:
            i0 = max(0, int(np.searchsorted(x, window[0], "left")))
            i1 = min(len(x), int(np.searchsorted(x, window[1], "right")))
            if i1 - i0 < 2:
                i0, i1 = 0, len(x)
        pick = np.unique(np.linspace(i0, i1 - 1, min(i1 - i0, _HEAT_COLUMNS)).astype(np.int64))
        rows = idx[pick]
        xs = x[pick]
        fr = h.hist[rows, line].astype(np.float64)
        lo = h.values[rows, line, h.field("forward.lo")].astype(np.float64)
        hi = h.values[rows, line, h.field("forward.hi")].astype(np.float64)
        ok = np.isfinite(lo) & np.isfinite(hi)
        xs, fr, lo, hi = xs[ok], fr[ok], lo[ok], hi[ok]
        if not len(xs):
            return 0
        ylo, yhi = float(lo.min()), float(hi.max())
        if not yhi > ylo:
            ylo, yhi = ylo - 0.5, ylo + 0.5
        edges = np.linspace(ylo, yhi, _HEAT_ROWS + 1)
        grid = regrid(fr, lo, hi, edges)  # [cols, rows]
        if len(xs) > _HEAT_COLUMNS:  # average neighbouring columns
            size = -(-len(xs) // _HEAT_COLUMNS)
            cut = (len(xs) // size) * size
            grid = grid[:cut].reshape(-1, size, grid.shape[1]).mean(1)
            xs = xs[:cut].reshape(-1, size).mean(1)
        if len(xs) == 1:
            xs = np.array([xs[0], xs[0] + 1.0])
            grid = np.repeat(grid, 2, axis=0)
        color = np.sqrt(np.clip(grid.T, 0, 1)).astype(np.float32)  # sqrt: faint tails stay visible
        centers = ((edges[:-1] + edges[1:]) / 2).astype(np.float32)
        mark = heat["mark"]
        xs32 = xs.astype(np.float32)
        with mark.hold_sync():
            mark.x, mark.y, mark.color = xs32, centers, color
        with heat["ys"].hold_sync():
            heat["ys"].min, heat["ys"].max = ylo, yhi
        heat["fig"].title = f"Activation histogram: {self.cb.paths[heat['module']]}"
        return int(color.nbytes + xs32.nbytes + centers.nbytes)

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Re-reads the history and redraws (the feed calls this; safe from any thread)."""
        if self.hidden():
            return
        self._draw()

    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        if self.trackShown(content):
            self.refresh()

    def _labels(self, lines: list[int]) -> tuple[list[str], list[str], list[str]]:
        """Names (``"i. path"``), details (with the type) and colours of the recorder's ``lines``."""
        src = self.cb._source
        names = self.plot.lineNames()
        details = [f"{i}. {src.paths[j]} ({type(src.targets[j]).__name__})" for i, j in enumerate(lines)]
        return names, details, _palette(len(names))

    def _relabel(self, lines: list[int]) -> None:
        """Names, details and colours of the lines recorded now, in the legend, the panels and the heatmap."""
        self._shownLines = list(lines)  # first: the heatmap's new options redraw (and come back here)
        names, details, colors = self._labels(lines)
        with self.legend.hold_sync():
            self.legend.hidden, self.legend.picked = [], -1
            self.legend.names, self.legend.details, self.legend.colors = names, details, colors
        for p in self.panels:
            with p.mark.hold_sync():
                p.mark.labels, p.mark.colors = names, colors or ["#1f77b4"]
        if self.heat is not None:
            self.heat["module"] = 0
            self.heat["pick"].options = [(n, i) for i, n in enumerate(names)]

    def _draw(self, *, first: bool = False, user: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            cb, plot = self.cb, self.plot
            h = cb._source.history
            if h is None or not len(cb.paths):
                return
            lines = cb._lines()
            if lines != self._shownLines:
                self._relabel(lines)  # l.css changed the recorded lines since the view was made
            cols = [h.field(c) for c in plot.columns]
            with h.lock:
                xAll, vAll, _ = h.view()
                idx = plot.rowIndex(xAll)
                x = xAll[idx].astype(np.float64)
                plain = len(idx) == 0 or (idx[0] == 0 and idx[-1] == len(idx) - 1)  # rows [0, n): slices, no copy
                allLines = lines == list(range(vAll.shape[1]))
                cols_ = np.asarray(cols)

                def read(a: int, b: int) -> np.ndarray:
                    rows = vAll[a:b] if plain else vAll[idx[a:b]]
                    rows = rows if allLines else rows[:, lines]
                    return rows[:, :, cols_]

                key = (id(h), h.version, tuple(plot.slices), tuple(lines), tuple(cols))
                self._leaves.update(key, len(x), x, read)
                c = self.control
                ext = [float(x[0]), float(x[-1])] if len(x) else None
                old = c.extents[0] if c.extents else None
                value = list(c.value)
                if ext is not None and not user and (c.followLatest or not value or old is None):
                    value = followWindow(value, old, ext)
                window = (value[0], value[1]) if value and ext is not None else None
                perLine = max(16, min(pointBudget(), self.points // max(1, len(lines) * len(self.panels))))
                xd, yd = self._decimate(x, read, window, perLine)
            log = c.log
            sent = 0
            for j, panel in enumerate(self.panels):
                y = np.ascontiguousarray(yd[:, :, j].T, dtype=np.float32)  # [lines, points]
                if log:
                    y = np.where(y > 0, y, np.nan).astype(np.float32)
                xv = xd.astype(np.float32)
                with panel.mark.hold_sync():
                    panel.mark.x, panel.mark.y = xv, y
                sent += y.nbytes + xv.nbytes
                visible = y if window is None else y[:, (xv >= window[0]) & (xv <= window[1])]
                panel.setY(visible, log)
            if first and window is not None:
                with self.xs.hold_sync():
                    self.xs.min, self.xs.max = (
                        (window[0], window[1]) if window[1] > window[0] else (window[0] - 0.5, window[0] + 0.5)
                    )
            with h.lock:
                sent += self._drawHeat(x, idx, window)
            self._pushing = threading.get_ident()
            try:
                extents = [ext if ext is not None else [0.0, 0.0]]
                if user:
                    c.push(extents=extents)
                else:
                    c.push(extents=extents, value=value if value else [])
            finally:
                self._pushing = None
            self.bytesSent = sent
            self.updates += 1

    def _decimate(
        self, x: np.ndarray, read: Any, window: tuple[float, float] | None, points: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The window at ~3/4 of ``points``, the rest of the history at ~1/4 (for browser-side zoom out)."""
        leaves, n = self._leaves, len(x)
        if n <= points or window is None:
            return leaves.envelope(x, read, 0, n, points)
        i0 = max(0, int(np.searchsorted(x, window[0], "left")) - 1)
        i1 = min(n, int(np.searchsorted(x, window[1], "right")) + 1)
        if i0 == 0 and i1 == n:
            return leaves.envelope(x, read, 0, n, points)
        ctx = max(8, points // 4)
        share = max(4, ctx * i0 // max(1, i0 + n - i1))
        parts = [
            leaves.envelope(x, read, 0, i0, share),
            leaves.envelope(x, read, i0, i1, points - ctx),
            leaves.envelope(x, read, i1, n, max(4, ctx - share)),
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def close(self) -> None:
        """Closes the view and everything in it, and stops following the feed."""
        with self._lock:
            self._closed = True
        self.cb._source.removeViewer(self)
        self.control.close()
        self.legend.close()
        for p in self.panels:
            p.close()
        if self.heat is not None:
            for w in (
                self.heat["mark"],
                self.heat["fig"],
                self.heat["ys"],
                self.heat["pick"],
                self.heat["cs"],
                *self.heat["axes"],
            ):
                w.close()
        self.xs.close()
        super().close()
