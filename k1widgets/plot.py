"""SliceablePlot: panels of named series, slicing, pass-through options, min-max decimation (no drawing here).

A `SliceablePlot` holds *references* to its data (live `Series`, arrays, or functions returning
arrays), so a plot made during training shows the data recorded so far every time it is drawn, and
its widget view grows as the feed fires. Slicing returns a new plot::

    p = l.Loss.plot()
    p[120:]          # train batches 120 onwards; valid follows proportionally
    p[0.5:]          # the second half (floats are fractions of the first series)
    p[::10]          # every 10th point
    p[120:].yscale("log").title("loss")   # options chain and apply to every panel

Drawing lives in `k1widgets.widgets.plot` (live bqplot figures). This module also renders a static
SVG (`SliceablePlot.svg`) used as the fallback in the display bundle, and the min-max decimation
(`minmaxIndices`, `decimateWindow`) the view uses to send at most ~2,000 points per line.
"""

from __future__ import annotations

import difflib
import html
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from k1widgets import display
from k1widgets.live import Feed, Series
from k1widgets.ranges import Range

__all__ = ["LeafIndex", "LineData", "Panel", "SliceablePlot", "decimateWindow", "minmaxIndices", "pointBudget"]

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
_OPTIONS = ("grid", "legend", "title", "xlabel", "xlim", "xscale", "ylabel", "ylim", "yscale")
_SCALES = ("linear", "log")
_HELP = """Sliceable plot. Can...
- p[a:b]: to focus on a specific range of the plot
- p.yscale("log"): to perform operation as if you're using plt"""


def pointBudget() -> int:
    """Most points a view sends per line: ``settings.plot.points`` when that setting exists, else 2000."""
    from k1widgets.settings import settings

    n = getattr(getattr(settings, "plot", None), "points", 2000)
    try:
        return max(4, int(n))
    except (TypeError, ValueError):
        return 2000


# ---------------------------------------------------------------------- decimation
def minmaxIndices(y: np.ndarray, budget: int) -> np.ndarray:
    """Indices of at most ``budget`` points of ``y`` that keep each bucket's minimum and maximum, in order.

    ``y`` is cut into at most ``budget // 2`` equal buckets; each contributes the positions of its
    smallest and largest value (NaNs are skipped unless a bucket holds nothing else), so every
    window's global extremes survive. All indices when ``len(y) <= budget``.
    """
    n = len(y)
    if n <= budget:
        return np.arange(n)
    nb = max(1, budget // 2)
    size = -(-n // nb)
    full = n // size
    blocks = y[: full * size].reshape(full, size)
    imin, imax = blocks.argmin(1), blocks.argmax(1)
    base = np.arange(full) * size
    if full * size < n:  # the shorter last bucket
        tail = y[full * size :]
        imin = np.append(imin, tail.argmin())
        imax = np.append(imax, tail.argmax())
        base = np.append(base, full * size)
    lo, hi = imin + base, imax + base
    bad = np.isnan(y[lo])  # argmin/argmax return the first NaN of a bucket that has one
    if bad.any():
        for b in np.flatnonzero(bad):
            seg = y[base[b] : base[b] + size]
            if not np.isnan(seg).all():
                lo[b], hi[b] = base[b] + np.nanargmin(seg), base[b] + np.nanargmax(seg)
    return np.stack([np.minimum(lo, hi), np.maximum(lo, hi)], 1).ravel()


@dataclass(frozen=True)
class LineData:
    """One line as drawn: its values ``y`` and positions (``x``, or ``x0 + i * dx`` when ``x`` is None)."""

    name: str
    y: np.ndarray
    x: np.ndarray | None = None
    x0: float = 0.0
    dx: float = 1.0
    key: Any = None  # identifies the source and slicing, for `LeafIndex`

    def __len__(self) -> int:
        return len(self.y)

    def xAt(self, idx: np.ndarray) -> np.ndarray:
        """Positions of the points at indices ``idx``."""
        if self.x is not None:
            return np.asarray(self.x[idx], dtype=np.float64)
        return self.x0 + np.asarray(idx, dtype=np.float64) * self.dx

    def extent(self) -> tuple[float, float] | None:
        """(first, last) position, or None for an empty line."""
        n = len(self.y)
        if n == 0:
            return None
        if self.x is not None:
            return float(self.x[0]), float(self.x[-1])
        return self.x0, self.x0 + (n - 1) * self.dx

    def indexRange(self, lo: float, hi: float) -> tuple[int, int]:
        """Index range [i0, i1) of the points within [lo, hi], plus one neighbour on each side."""
        n = len(self.y)
        if self.x is not None:
            i0 = int(np.searchsorted(self.x, lo, "left")) - 1
            i1 = int(np.searchsorted(self.x, hi, "right")) + 1
        else:
            i0 = math.floor((lo - self.x0) / self.dx) - 1
            i1 = math.ceil((hi - self.x0) / self.dx) + 2
        return max(0, min(n, i0)), max(0, min(n, i1))

    def full(self) -> tuple[np.ndarray, np.ndarray]:
        """Every point: (x, y) as float64 arrays."""
        return self.xAt(np.arange(len(self.y))), np.asarray(self.y, dtype=np.float64)


class LeafIndex:
    """Incremental min-max index of an append-only series: (argmin, argmax) per leaf of ``leaf`` points.

    `update` reduces only the leaves completed since the last call, and `query` decimates any index
    window by merging leaves, so a live plot of a million points re-decimates in a few hundredths
    of a millisecond instead of rescanning every point. It checks that the data it indexed is still a
    prefix of what it is given (same source and slicing, same boundary values) and rebuilds otherwise.
    """

    def __init__(self, leaf: int = 64) -> None:
        self.leaf = leaf
        self.key: Any = None
        self.nLeaves = 0
        self._imin = np.empty(0, dtype=np.int64)  # capacity-doubling buffers; [:nLeaves] is valid
        self._imax = np.empty(0, dtype=np.int64)
        self._vmin = np.empty(0)
        self._vmax = np.empty(0)
        self._probe = np.array([math.nan, math.nan])

    def _valid(self, y: np.ndarray, key: Any) -> bool:
        n = self.nLeaves * self.leaf
        if key != self.key or len(y) < n:
            return False
        if n == 0:
            return True
        a, b = y[0], y[n - 1]
        p0, p1 = self._probe
        return (a == p0 or (a != a and p0 != p0)) and (b == p1 or (b != b and p1 != p1))

    def update(self, y: np.ndarray, key: Any = None) -> None:
        """Indexes the leaves of ``y`` completed since the last call (everything if ``y`` changed)."""
        if not self._valid(y, key):
            self.__init__(self.leaf)  # type: ignore[misc]
            self.key = key
        L, a, b = self.leaf, self.nLeaves, len(y) // self.leaf
        if b <= a:
            return
        blocks = y[a * L : b * L].reshape(b - a, L)
        rows = np.arange(b - a)
        imin, imax = blocks.argmin(1), blocks.argmax(1)
        vmin, vmax = blocks[rows, imin], blocks[rows, imax]
        bad = np.flatnonzero(np.isnan(vmin))
        for i in bad:  # a leaf with NaNs: take its real extremes (NaN only if the leaf is all NaN)
            if not np.isnan(blocks[i]).all():
                imin[i], imax[i] = np.nanargmin(blocks[i]), np.nanargmax(blocks[i])
                vmin[i], vmax[i] = blocks[i, imin[i]], blocks[i, imax[i]]
        if len(bad):  # all-NaN leaves never win a comparison
            vmin = np.where(np.isnan(vmin), np.inf, vmin)
            vmax = np.where(np.isnan(vmax), -np.inf, vmax)
        if b > len(self._vmin):
            cap = max(b, 2 * len(self._vmin), 64)
            for name in ("_imin", "_imax", "_vmin", "_vmax"):
                old = getattr(self, name)
                new = np.empty(cap, dtype=old.dtype)
                new[:a] = old[:a]
                setattr(self, name, new)
        base = rows * L + a * L
        self._imin[a:b], self._imax[a:b] = imin + base, imax + base
        self._vmin[a:b], self._vmax[a:b] = vmin, vmax
        self.nLeaves = b
        self._probe = np.array([y[0], y[b * L - 1]], dtype=np.float64)

    def query(self, y: np.ndarray, i0: int, i1: int, budget: int) -> np.ndarray:
        """Indices (sorted) of at most ``budget`` points of ``y[i0:i1]`` keeping every bucket's min and max."""
        if i1 - i0 <= budget:
            return np.arange(i0, i1)
        L = self.leaf
        la, lb = -(-i0 // L), min(i1 // L, self.nLeaves)
        groups = budget // 2 - 2  # the raw head and tail take up to 2 points each
        if groups < 2 or lb - la < groups:  # leaves are coarser than the budget allows: scan the (short) window
            return i0 + minmaxIndices(y[i0:i1], budget)
        parts = [i0 + minmaxIndices(y[i0 : la * L], 2)]
        k = -(-(lb - la) // groups)
        if k >= 8:  # many leaves per bucket: equal buckets of k leaves (a reshape) use >= 7/8 of the budget
            g = (lb - la) // k
            for s, e, kk in ((la, la + g * k, k), (la + g * k, lb, lb - la - g * k)):
                if e > s:
                    rows = np.arange((e - s) // kk)
                    lo = self._imin[s:e].reshape(-1, kk)[rows, self._vmin[s:e].reshape(-1, kk).argmin(1)]
                    hi = self._imax[s:e].reshape(-1, kk)[rows, self._vmax[s:e].reshape(-1, kk).argmax(1)]
                    parts.append(np.stack([np.minimum(lo, hi), np.maximum(lo, hi)], 1).ravel())
        else:  # few leaves per bucket: `groups` runs whose sizes differ by at most one leaf
            rel = (np.arange(groups) * (lb - la)) // groups
            sizes = np.diff(np.append(rel, lb - la))
            gid = np.repeat(np.arange(groups), sizes)

            def pick(values: np.ndarray, where: np.ndarray, reduce: np.ufunc) -> np.ndarray:
                best = np.repeat(reduce.reduceat(values, rel), sizes)
                hit = np.flatnonzero(values == best)
                g = gid[hit]
                return where[hit[np.r_[True, g[1:] != g[:-1]]]]  # the first best leaf of each run

            lo = pick(self._vmin[la:lb], self._imin[la:lb], np.minimum)
            hi = pick(self._vmax[la:lb], self._imax[la:lb], np.maximum)
            parts.append(np.stack([np.minimum(lo, hi), np.maximum(lo, hi)], 1).ravel())
        parts.append(lb * L + minmaxIndices(y[lb * L : i1], 2))
        return np.concatenate(parts)


def decimateWindow(
    line: LineData,
    lo: float | None = None,
    hi: float | None = None,
    budget: int = 2000,
    index: LeafIndex | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Min-max decimated (x, y) of the part of ``line`` within [lo, hi], at most ``budget`` points.

    When the window is narrower than the line, a quarter of the budget goes to a coarse min-max
    decimation of the whole line outside the window, so a browser-side zoom out shows the rest while
    Python is busy; the window itself always keeps its minimum and maximum. ``index`` (a `LeafIndex`
    kept between calls) makes repeated calls on a growing line cost O(new points + leaves).
    """
    n = len(line)
    if n == 0:
        return np.empty(0), np.empty(0)
    y = line.y

    def dec(a: int, b: int, m: int) -> np.ndarray:
        if index is None:
            return a + minmaxIndices(y[a:b], m)
        return index.query(y, a, b, m)

    if index is not None:
        index.update(y, line.key)
    i0, i1 = (0, n) if lo is None or hi is None else line.indexRange(lo, hi)
    if i0 == 0 and i1 == n:
        idx = dec(0, n, budget)
    else:
        ctx = max(2, budget // 4)
        widx = dec(i0, i1, budget - ctx)
        cidx = dec(0, n, ctx)
        idx = np.concatenate([cidx[cidx < i0], widx, cidx[cidx >= i1]])
    return line.xAt(idx), np.asarray(y[idx], dtype=np.float64)


# ---------------------------------------------------------------------- data sources
def _values(src: Any) -> np.ndarray:
    if isinstance(src, Series):
        return src.values
    if isinstance(src, np.ndarray):
        return src if src.dtype == np.float64 else src.astype(np.float64)
    if hasattr(src, "detach"):  # a torch tensor, without importing torch here
        return src.detach().cpu().double().numpy().ravel()
    if callable(src):
        return _values(src())
    return np.asarray(src, dtype=np.float64).ravel()


def _pair(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(y, x) values; x and y recorded separately may differ in length for a moment: keep the common part."""
    yv = _values(y)
    if x is None:
        return yv, None
    xv = _values(x)
    m = min(len(xv), len(yv))
    return yv[:m], xv[:m]


def _isArrayLike(v: Any) -> bool:
    return not isinstance(v, numbers.Number | str) and (hasattr(v, "__len__") or isinstance(v, Series))


class Panel:
    """One set of axes: named lines, a title and axis labels.

    Args:
        lines: name → y values, or name → ``(x, y)``. Values may be a live `Series`, a numpy array, a
            list, a tensor, or a function returning one of those (called at every draw). ``x`` must increase.
        title: panel title.
        xlabel: x-axis label.
        ylabel: y-axis label.
    """

    def __init__(self, lines: Mapping[str, Any], *, title: str = "", xlabel: str = "", ylabel: str = "") -> None:
        if not isinstance(lines, Mapping) or not lines:
            msg = f"A Panel needs a non-empty mapping of name -> values, got {lines!r:.80}."
            raise TypeError(msg)
        self.lines: dict[str, tuple[Any, Any]] = {}
        for name, v in lines.items():
            if isinstance(v, tuple) and len(v) == 2 and _isArrayLike(v[0]) and _isArrayLike(v[1]):
                self.lines[str(name)] = (v[0], v[1])
            else:
                self.lines[str(name)] = (None, v)
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel

    def __repr__(self) -> str:
        return f"Panel({', '.join(self.lines)}{', title=' + repr(self.title) if self.title else ''})"


# ---------------------------------------------------------------------- the plot
class SliceablePlot:
    """A plot of panels of named series that slices, chains options, and draws itself live.

    Args:
        panels: `Panel` objects, or mappings (name → values) each turned into a Panel.
        docs: text shown after the help in the repr (e.g. "Reminder: ...").
        unitSlice: slice bounds are fractions of [0, 1] (ParamFinder's plot); otherwise ints are
            indices of the first series and floats are fractions.
        feed: a `Feed` that fires when the data grows (``l.feed``); the widget view follows it.

    Slicing: ``p[a:b]`` and ``p[a:b:step]`` return a new plot. The first series of the first panel
    is the reference: int bounds index it (negative ones count from the end), float bounds are
    fractions of its length; every other series is cut at the same fractions of its own length
    (`Range.proportionalSlice`), and its step is scaled the same way. Slices compose: ``p[100:][:50]``.
    """

    def __init__(
        self,
        panels: Any,
        *,
        docs: str = "",
        unitSlice: bool = False,
        feed: Feed | None = None,
    ) -> None:
        if isinstance(panels, Panel | Mapping):
            panels = [panels]
        self.panels = [p if isinstance(p, Panel) else Panel(p) for p in panels]
        if not self.panels:
            msg = "SliceablePlot needs at least one panel."
            raise ValueError(msg)
        self.docs = docs
        self.unitSlice = unitSlice
        self.feed = feed
        self._slices: tuple[slice, ...] = ()
        self._options: dict[str, Any] = {}

    def _copy(self, **changes: Any) -> SliceablePlot:
        new = object.__new__(SliceablePlot)
        new.__dict__.update(self.__dict__)
        new._options = dict(self._options)
        new.__dict__.update(changes)
        return new

    # ------------------------------------------------------------------ slicing
    def __getitem__(self, s: Any) -> SliceablePlot:
        if not isinstance(s, slice):
            msg = f"A SliceablePlot takes one slice, p[a:b] or p[a:b:step]; got {s!r}."
            raise TypeError(msg)
        for bound in (s.start, s.stop):
            if bound is not None and (not isinstance(bound, numbers.Real) or isinstance(bound, bool)):
                msg = f"Slice bounds must be ints (indices), floats (fractions) or None; got {bound!r} in {s!r}."
                raise TypeError(msg)
            if bound is not None and (self.unitSlice or isinstance(bound, float)) and not 0 <= bound <= 1:
                what = "this plot slices in [0, 1]" if self.unitSlice else "float bounds are fractions"
                msg = f"Slice bound {bound!r} is outside [0, 1] ({what}); use ints to index points."
                raise ValueError(msg)
        if s.step is not None and (not isinstance(s.step, numbers.Integral) or isinstance(s.step, bool) or s.step < 1):
            msg = f"The slice step is a stride and must be a whole number >= 1; got {s.step!r}."
            raise ValueError(msg)
        return self._copy(_slices=(*self._slices, s))

    @property
    def slices(self) -> tuple[slice, ...]:
        """The slices applied so far, oldest first."""
        return self._slices

    def _bound(self, b: Any, n: int) -> int | None:
        if b is None:
            return None
        if self.unitSlice or isinstance(b, float):
            return round(b * n)
        return int(b)

    def _resolve(self, n: int) -> range:
        r = range(n)
        for s in self._slices:
            r = r[slice(self._bound(s.start, len(r)), self._bound(s.stop, len(r)), s.step)]
        return range(r.start, max(r.start, r.stop), r.step)

    def data(self) -> list[list[LineData]]:
        """The data to draw now: per panel, one `LineData` per line, sliced (views, no copies)."""
        raw = [[(name, *_pair(x, y)) for name, (x, y) in p.lines.items()] for p in self.panels]
        n0 = len(raw[0][0][1])
        ref = self._resolve(n0)
        out = []
        for pi, panel in enumerate(raw):
            lines = []
            for name, y, x in panel:
                n = len(y)
                if not self._slices:
                    r = range(n)
                elif n == n0 or n0 == 0:
                    r = ref if n == n0 else self._resolve(n)
                else:
                    sub = Range(0, n0).toRange(Range(0, n), Range(ref.start, ref.stop)).slice_
                    step = max(1, round(ref.step * n / n0))
                    r = range(n)[sub.start : sub.stop : step]
                sl = slice(r.start, r.stop, r.step)
                key = (id(self.panels[pi].lines[name][1]), r.start, r.step)
                if x is not None:
                    lines.append(LineData(name, y[sl], x=x[sl], key=key))
                else:
                    lines.append(LineData(name, y[sl], x0=float(r.start), dx=float(r.step), key=key))
            out.append(lines)
        return out

    # ------------------------------------------------------------------ pass-through options
    def _with(self, key: str, value: Any) -> SliceablePlot:
        new = self._copy()
        new._options[key] = value
        return new

    @property
    def options(self) -> dict[str, Any]:
        """The options set by the chaining methods (a copy)."""
        return dict(self._options)

    def _scale(self, key: str, value: str) -> SliceablePlot:
        if value not in _SCALES:
            close = difflib.get_close_matches(str(value), _SCALES, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = f"{key} must be one of {', '.join(map(repr, _SCALES))}; got {value!r}.{hint}"
            raise ValueError(msg)
        return self._with(key, value)

    def yscale(self, value: str) -> SliceablePlot:
        """Sets the y scale of every panel: "linear" or "log"."""
        return self._scale("yscale", value)

    def xscale(self, value: str) -> SliceablePlot:
        """Sets the x scale of every panel: "linear" or "log"."""
        return self._scale("xscale", value)

    def title(self, text: str) -> SliceablePlot:
        """Sets the title of every panel."""
        return self._with("title", str(text))

    def xlabel(self, text: str) -> SliceablePlot:
        """Sets the x-axis label of every panel."""
        return self._with("xlabel", str(text))

    def ylabel(self, text: str) -> SliceablePlot:
        """Sets the y-axis label of every panel."""
        return self._with("ylabel", str(text))

    @staticmethod
    def _limits(key: str, lo: Any, hi: Any) -> tuple[float | None, float | None]:
        if hi is None and isinstance(lo, list | tuple | Range):
            lo, hi = lo
        for v in (lo, hi):
            if v is not None and (not isinstance(v, numbers.Real) or isinstance(v, bool)):
                msg = f"{key} takes numbers or None, as {key}(low, high) or {key}((low, high)); got {v!r}."
                raise TypeError(msg)
        return (None if lo is None else float(lo), None if hi is None else float(hi))

    def xlim(self, low: Any = None, high: Any = None) -> SliceablePlot:
        """Fixes the x range of every panel (None leaves that end automatic)."""
        return self._with("xlim", self._limits("xlim", low, high))

    def ylim(self, low: Any = None, high: Any = None) -> SliceablePlot:
        """Fixes the y range of every panel (None leaves that end automatic)."""
        return self._with("ylim", self._limits("ylim", low, high))

    def grid(self, visible: bool = True) -> SliceablePlot:
        """Shows or hides grid lines on every panel."""
        return self._with("grid", bool(visible))

    def legend(self, visible: bool = True) -> SliceablePlot:
        """Shows or hides the legend of every panel (shown by default)."""
        return self._with("legend", bool(visible))

    def withFeed(self, feed: Feed | None) -> SliceablePlot:
        """A copy whose widget view follows ``feed`` (any `Feed`, e.g. ``l.feed``) to grow live."""
        return self._copy(feed=feed)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        close = difflib.get_close_matches(name, _OPTIONS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        msg = (
            f"SliceablePlot has no attribute {name!r}. Supported pass-through operations: {', '.join(_OPTIONS)}.{hint}"
        )
        raise AttributeError(msg, name=name, obj=None)

    def panelOptions(self, i: int) -> dict[str, Any]:
        """Title, labels and the other options of panel ``i``, the chained options winning."""
        p = self.panels[i]
        o = {"title": p.title, "xlabel": p.xlabel, "ylabel": p.ylabel, "xscale": "linear", "yscale": "linear"}
        o |= {"xlim": (None, None), "ylim": (None, None), "grid": False, "legend": True}
        o.update(self._options)
        return o

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return _HELP + (f"\n\n{self.docs}" if self.docs else "")

    def widget(self) -> Any:
        """The live bqplot view of this plot (a new one each call)."""
        from k1widgets.widgets.plot import PlotView

        return PlotView(self)

    def _repr_html_(self) -> str:
        return f'<div class="k1w-plot-static">{self.svg()}</div>'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data = display.mimebundle(self, include, exclude)
        data["image/svg+xml"] = self.svg()
        return data

    def svg(self, *, width: int = 480, height: int = 300, points: int = 1000) -> str:
        """A static SVG snapshot of the current data: panels side by side, ``width`` × ``height`` each."""
        data = self.data()
        parts = [_svgPanel(lines, self.panelOptions(i), width, height, points) for i, lines in enumerate(data)]
        body = "".join(f'<g transform="translate({i * width},0)">{part}</g>' for i, part in enumerate(parts))
        w = width * len(parts)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" viewBox="0 0 {w} {height}" '
            f'font-family="sans-serif" font-size="11">{body}</svg>'
        )


# ---------------------------------------------------------------------- static SVG
_M = {"left": 58, "right": 14, "top": 26, "bottom": 38}


def _niceTicks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def logTicks(lo: float, hi: float) -> list[float]:
    """Tick positions for a log axis over [lo, hi] (lo > 0): decades, or 1-2-3-5 steps over a short span."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    step = max(1, (b - a) // 6)
    ticks = [10.0**e for e in range(a, b + 1, step) if lo <= 10.0**e <= hi]
    if len(ticks) < 3:  # less than a couple of decades: add 2x and 5x ticks
        ticks = sorted(m * 10.0**e for e in range(a, b + 1) for m in (1, 2, 3, 5) if lo <= m * 10.0**e <= hi)
    return ticks


def _fmt(v: float) -> str:
    return f"{v:.3g}" if v != 0 else "0"


def _domain(
    values: list[np.ndarray], lim: tuple[float | None, float | None], log: bool, pad: bool = False
) -> tuple[float, float]:
    vals = np.concatenate(values) if values else np.empty(0)
    vals = vals[np.isfinite(vals) & ((vals > 0) if log else True)]
    lo = (
        float(vals.min()) if lim[0] is None and len(vals) else (lim[0] if lim[0] is not None else (1.0 if log else 0.0))
    )
    hi = float(vals.max()) if lim[1] is None and len(vals) else (lim[1] if lim[1] is not None else lo + 1)
    if hi <= lo:
        lo, hi = (lo / 2, lo * 2) if log and lo > 0 else (lo - 0.5, lo + 0.5)
    elif pad:  # a little air above and below the data, as plotting libraries do
        if log:
            f = (hi / lo) ** 0.04
            lo, hi = (lo / f if lim[0] is None else lo), (hi * f if lim[1] is None else hi)
        else:
            d = (hi - lo) * 0.04
            lo, hi = (lo - d if lim[0] is None else lo), (hi + d if lim[1] is None else hi)
    return lo, hi


def _svgPanel(lines: list[LineData], o: dict[str, Any], width: int, height: int, points: int) -> str:
    esc = html.escape
    pw, ph = width - _M["left"] - _M["right"], height - _M["top"] - _M["bottom"]
    xlog, ylog = o["xscale"] == "log", o["yscale"] == "log"
    xs, ys = [], []
    for line in lines:
        idx = minmaxIndices(line.y, points)
        xs.append(line.xAt(idx))
        ys.append(np.asarray(line.y[idx], dtype=np.float64))
    (x0, x1), (y0, y1) = _domain(xs, o["xlim"], xlog), _domain(ys, o["ylim"], ylog, pad=True)

    def tx(v: np.ndarray | float) -> Any:
        f = np.log10 if xlog else (lambda a: a)
        with np.errstate(all="ignore"):
            return _M["left"] + (f(v) - f(x0)) / (f(x1) - f(x0)) * pw

    def ty(v: np.ndarray | float) -> Any:
        f = np.log10 if ylog else (lambda a: a)
        with np.errstate(all="ignore"):
            return _M["top"] + ph - (f(v) - f(y0)) / (f(y1) - f(y0)) * ph

    out = [f'<rect x="{_M["left"]}" y="{_M["top"]}" width="{pw}" height="{ph}" fill="white" stroke="#999"/>']
    grid = o["grid"]
    for t in logTicks(x0, x1) if xlog else _niceTicks(x0, x1):
        px = float(tx(t))
        if grid:
            out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{_M["top"]}" y2="{_M["top"] + ph}" stroke="#eee"/>')
        out.append(f'<text class="xtick" x="{px:.1f}" y="{_M["top"] + ph + 14}" text-anchor="middle">{_fmt(t)}</text>')
    for t in logTicks(y0, y1) if ylog else _niceTicks(y0, y1):
        py = float(ty(t))
        if grid:
            out.append(f'<line x1="{_M["left"]}" x2="{_M["left"] + pw}" y1="{py:.1f}" y2="{py:.1f}" stroke="#eee"/>')
        out.append(f'<text class="ytick" x="{_M["left"] - 4}" y="{py + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    clip = f"k1wclip{id(lines)}"
    out.append(f'<clipPath id="{clip}"><rect x="{_M["left"]}" y="{_M["top"]}" width="{pw}" height="{ph}"/></clipPath>')
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        px, py = tx(x), ty(y)
        ok = np.isfinite(px) & np.isfinite(py)
        d, pen = [], False
        for a, b, good in zip(px.tolist(), py.tolist(), ok.tolist(), strict=True):
            if good:
                d.append(f"{'L' if pen else 'M'}{a:.1f},{b:.1f}")
            pen = good
        color = COLORS[i % len(COLORS)]
        out.append(f'<path clip-path="url(#{clip})" d="{"".join(d)}" fill="none" stroke="{color}" stroke-width="1.5"/>')
    if o["legend"]:
        for i, line in enumerate(lines):
            yy = _M["top"] + 12 + 14 * i
            xx = _M["left"] + pw - 8
            color = COLORS[i % len(COLORS)]
            out.append(
                f'<line x1="{xx - 16}" x2="{xx - 4}" y1="{yy - 4}" y2="{yy - 4}" stroke="{color}" stroke-width="2"/>'
            )
            out.append(f'<text x="{xx - 20}" y="{yy}" text-anchor="end">{esc(line.name)}</text>')
    if o["title"]:
        out.append(
            f'<text x="{_M["left"] + pw / 2}" y="16" text-anchor="middle" font-size="13">{esc(o["title"])}</text>'
        )
    if o["xlabel"]:
        out.append(f'<text x="{_M["left"] + pw / 2}" y="{height - 6}" text-anchor="middle">{esc(o["xlabel"])}</text>')
    if o["ylabel"]:
        cy = _M["top"] + ph / 2
        out.append(
            f'<text x="12" y="{cy}" text-anchor="middle" transform="rotate(-90 12 {cy})">{esc(o["ylabel"])}</text>'
        )
    return "".join(out)
