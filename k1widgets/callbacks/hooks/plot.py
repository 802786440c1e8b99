"""HookPlot: the `SliceablePlot` of a hook callback, a grid of panels with one line per module or parameter.

``cb.plot()`` returns one. It reads the callback's history every time it is drawn, so it grows while
training runs. Slicing follows the x axis, the training batch: ``p[50:]`` shows batches 50 onwards,
``p[0.5:]`` the second half of the samples (floats are fractions), ``p[::2]`` every other sample;
slices compose. In Jupyter its view is `k1widgets.widgets.hooks.HookView` (a grid of live bqplot
panels with a clickable legend); exports get a static SVG grid.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from k1widgets.plot import Panel, SliceablePlot
from k1widgets.plot.decimate import LineData
from k1widgets.plot.svg import svgDocument

if TYPE_CHECKING:
    from k1widgets.callbacks.hooks.base import HookCallback

__all__ = ["HookPlot", "panelTitle"]

_PARAM_TITLES = {
    "mean": "Means",
    "std": "Stds",
    "min": "Mins",
    "max": "Maxs",
    "grad": "Gradient norms",
    "update": "Update ratios",
    "zero": "Near-zero fractions",
}


def panelTitle(kind: str, column: str) -> str:
    """The panel title of a history column: ``"Forward mean"``, ``"Means"``, ``"Update ratios"``..."""
    if kind == "module":
        direction, _, stat = column.partition(".")
        return f"{direction.capitalize()} {stat}"
    return _PARAM_TITLES.get(column, column)


class HookPlot(SliceablePlot):
    """Panels of a hook callback's fields (see the module docs).

    Args:
        cb: the `HookModule` or `HookParam` (or a view of one) to plot.
        fields: the fields to draw, in order.
        byDirection: for a `HookModule`, one row of forward panels then one of backward panels
            (the live view of the callback); by default each field's forward and backward panels
            side by side, a grid of ``len(fields)`` rows × 2 as in k1lib.
    """

    def __init__(self, cb: HookCallback, fields: tuple[str, ...], *, byDirection: bool = False) -> None:
        self.cb = cb
        self.columns = self._columnsOf(cb, fields, byDirection)
        feed = cb._source.learner.feed if cb._source.learner is not None else None
        panels = [self._panel(c) for c in self.columns]
        super().__init__(panels, feed=feed)
        if cb.kind == "module":
            self.gridColumns = -(-len(self.columns) // 2) if byDirection and len(self.columns) > 2 else 2
        else:
            self.gridColumns = 2 if len(panels) <= 4 else 3
        if len(cb.paths) > 8:
            self._options["legend"] = False  # dozens of names hide the lines; the live view has its own legend

    @staticmethod
    def _columnsOf(cb: HookCallback, fields: tuple[str, ...], byDirection: bool) -> list[str]:
        if cb.kind != "module":
            return list(fields)
        # near-zero fractions are recorded for activations only (no "backward.zero" panel)
        if byDirection and all("." not in f for f in fields):
            return [f"forward.{f}" for f in fields] + [f"backward.{f}" for f in fields if f != "zero"]
        out: list[str] = []
        for f in fields:
            if "." in f:
                out.append(f)
            else:
                out += [f"forward.{f}"] + ([f"backward.{f}"] if f != "zero" else [])
        return out

    def _panel(self, column: str) -> Panel:
        cb = self.cb
        names = self.lineNames()
        lines: dict[str, Any] = {}
        for j, name in enumerate(names):
            lines[name] = _Col(cb, column, j)
        if not lines:
            lines["(nothing hooked)"] = np.empty(0)
        return Panel(lines, title=panelTitle(cb.kind, column), xlabel="batch", ylabel="")

    def lineNames(self) -> list[str]:
        """``"i. path"`` for every line the callback records now.

        A view (``cb[::2]``) keeps the lines that are still selected: after ``l.css`` changes, the ones it
        no longer selects have no history left.
        """
        src = self.cb._source
        return [f"{i}. {src.paths[j]}" for i, j in enumerate(self.cb._lines())]

    # ------------------------------------------------------------------ slicing in batches
    def rowIndex(self, x: np.ndarray) -> np.ndarray:
        """Indices of the history rows this plot shows, given the rows' batches ``x``."""
        idx = np.arange(len(x))
        for s in self._slices:
            sub = x[idx]
            lo, hi = 0, len(idx)
            for j, b in enumerate((s.start, s.stop)):
                if b is None:
                    continue
                if isinstance(b, float):
                    pos = round(b * len(idx))
                elif isinstance(b, numbers.Integral):
                    # ints are training batches; negative ones count back from the last batch
                    batch = int(b) if int(b) >= 0 else (sub[-1] + 1 + int(b) if len(sub) else 0)
                    pos = int(np.searchsorted(sub, batch, "left"))
                else:
                    pos = 0
                if j == 0:
                    lo = pos
                else:
                    hi = pos
            idx = idx[lo : max(lo, hi) : s.step or 1]
        return idx

    def data(self) -> list[list[LineData]]:
        """Per panel, one `LineData` per line (x = training batch), sliced."""
        x = self.cb.x
        idx = self.rowIndex(x)
        xs = x[idx]
        out = []
        names = self.lineNames()
        for column in self.columns:
            values = self.cb.values(column)[idx] if names else np.empty((len(idx), 0))
            out.append([LineData(name, values[:, j], x=xs) for j, name in enumerate(names)])
        return out

    def svg(self, *, width: int = 360, height: int = 260, points: int = 1000) -> str:
        """A static SVG grid of the panels (``self.gridColumns`` per row)."""
        data = self.data()
        opts = [self.panelOptions(i) for i in range(len(data))]
        return svgDocument(data, opts, width, height, points, columns=self.gridColumns)


class _Col:
    """A callable column of one line (what a `Panel` line reads when drawn)."""

    def __init__(self, cb: HookCallback, column: str, line: int) -> None:
        self.cb, self.column, self.line = cb, column, line

    def __call__(self) -> np.ndarray:
        v = self.cb.values(self.column)
        return v[:, self.line] if self.line < v.shape[1] else np.full(len(v), np.nan)  # a line no longer selected
