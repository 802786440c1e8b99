"""The static SVG snapshot of a plot: the fallback drawing in a `SliceablePlot`'s display bundle.

`svgDocument` draws panels of `LineData` side by side (min-max decimated to ``points`` per line) with
ticks, grid, legend, title and axis labels; `COLORS` is the line palette and `logTicks` the log-axis
tick positions, both shared with the live bqplot view (`k1widgets.widgets.plot`).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from k1widgets.plot.decimate import LineData, minmaxIndices

__all__ = ["COLORS", "logTicks", "niceTicks", "svgDocument"]

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
_M = {"left": 58, "right": 14, "top": 26, "bottom": 38}


def svgDocument(
    panels: list[list[LineData]],
    options: list[dict[str, Any]],
    width: int,
    height: int,
    points: int,
    columns: int | None = None,
) -> str:
    """An SVG document of ``panels`` side by side (or in rows of ``columns``), ``width`` × ``height`` each.

    Args:
        panels: per panel, the lines to draw (as `SliceablePlot.data` returns them).
        options: per panel, its options (as `SliceablePlot.panelOptions` returns them).
        width: width of one panel, in pixels.
        height: height of one panel, in pixels.
        points: most points drawn per line (min-max decimated).
        columns: panels per row (None: all in one row).
    """
    parts = [_svgPanel(lines, o, width, height, points) for lines, o in zip(panels, options, strict=True)]
    cols = max(1, min(columns or len(parts), len(parts)))
    body = "".join(
        f'<g transform="translate({(i % cols) * width},{(i // cols) * height})">{part}</g>'
        for i, part in enumerate(parts)
    )
    w, h = width * cols, height * -(-len(parts) // cols)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="sans-serif" font-size="11">{body}</svg>'
    )


def niceTicks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick positions over [lo, hi] for a linear axis: at most ``n + 1``, steps of 1, 2, 2.5 or 5 × 10^k.

    Each tick is a whole multiple of the step, so zero is exactly 0 (never ``5.55e-17``).
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [min(max(k * step, lo), hi) if k else 0.0 for k in range(first, last + 1)]  # no float spill past the ends


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
    for t in logTicks(x0, x1) if xlog else niceTicks(x0, x1):
        px = float(tx(t))
        if grid:
            out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{_M["top"]}" y2="{_M["top"] + ph}" stroke="#eee"/>')
        out.append(f'<text class="xtick" x="{px:.1f}" y="{_M["top"] + ph + 14}" text-anchor="middle">{_fmt(t)}</text>')
    for t in logTicks(y0, y1) if ylog else niceTicks(y0, y1):
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
