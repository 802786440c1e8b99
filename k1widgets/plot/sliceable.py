"""SliceablePlot: panels of named series, slicing, pass-through options (no drawing here).

A `SliceablePlot` holds *references* to its data (live `Series`, arrays, or functions returning
arrays), so a plot made during training shows the data recorded so far every time it is drawn, and
its widget view grows as the feed fires. Slicing returns a new plot::

    p = l.Loss.plot()
    p[120:]          # train batches 120 onwards; valid follows proportionally
    p[0.5:]          # the second half (floats are fractions of the first series)
    p[::10]          # every 10th point
    p[120:].yscale("log").title("loss")   # options chain and apply to every panel

Drawing lives in `k1widgets.widgets.plot` (live bqplot figures) and `k1widgets.plot.svg` (the static SVG
snapshot, `SliceablePlot.svg`, used as the fallback in the display bundle). The min-max decimation
the view uses to send at most ~2,000 points per line lives in `k1widgets.plot.decimate`.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from k1widgets import display
from k1widgets.live import Feed, Series
from k1widgets.plot.decimate import LineData
from k1widgets.plot.ranges import Range
from k1widgets.plot.svg import svgDocument

__all__ = ["Panel", "SliceablePlot"]

_OPTIONS = ("grid", "legend", "title", "xlabel", "xlim", "xscale", "ylabel", "ylim", "yscale")
_SCALES = ("linear", "log")
_HELP = """Sliceable plot. Can...
- p[a:b]: to focus on a specific range of the plot
- p.yscale("log"): to perform operation as if you're using plt"""


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
        new = object.__new__(type(self))  # subclasses (HookPlot) slice into their own type
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
        return display.view(self)

    def _repr_html_(self) -> str:
        return f'<div class="k1w-plot-static">{self.svg()}</div>'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data = display.mimebundle(self, include, exclude)
        data["image/svg+xml"] = self.svg()
        return data

    def svg(self, *, width: int = 480, height: int = 300, points: int = 1000) -> str:
        """A static SVG snapshot of the current data: panels side by side, ``width`` × ``height`` each."""
        data = self.data()
        return svgDocument(data, [self.panelOptions(i) for i in range(len(data))], width, height, points)
