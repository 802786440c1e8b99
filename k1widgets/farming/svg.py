"""The static picture of a sweep (exports, terminals, GitHub): counts and the heatmap as inline SVG."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["VIRIDIS", "colorOf", "countsLine", "sweepSvg"]

VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"]
"""The colour ramp of values (the front end uses the same stops)."""
MISSING, FAILED, RUNNING = "#c8c8c8", "#d32f2f", "#90caf9"


def colorOf(value: float, lo: float, hi: float) -> str:
    """The viridis colour of ``value`` on [lo, hi] (linear interpolation between the stops)."""
    t = 0.5 if hi <= lo else min(max((value - lo) / (hi - lo), 0.0), 1.0)
    pos = t * (len(VIRIDIS) - 1)
    i = min(int(pos), len(VIRIDIS) - 2)
    f = pos - i
    a, b = VIRIDIS[i], VIRIDIS[i + 1]
    rgb = [round(int(a[k : k + 2], 16) * (1 - f) + int(b[k : k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _fmtTime(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    if s < 60:
        return f"{s:.0f}s"
    m, sec = divmod(int(s), 60)
    return f"{m}m{sec:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def countsLine(state: Mapping[str, Any]) -> str:
    """``6 done · 1 failed · 2 running · 3 pending of 12 · ETA 14s``."""
    c = state["counts"]
    line = f"{c['done']} done · {c['failed']} failed · {c['running']} running · {c['pending']} pending of {c['total']}"
    if state.get("live"):
        line += f" · ETA {_fmtTime(state.get('eta'))}"
    elif state.get("cancelled"):
        line += " · cancelled"
    return line


def sweepSvg(state: Mapping[str, Any], *, cell: int = 36) -> str:
    """HTML with the counts line and an SVG heatmap of ``state`` (from `sweepState`)."""
    esc = html.escape
    xl, yl = state["xLabels"], state["yLabels"]
    left, top = 70, 40
    w, h = left + cell * len(xl) + 10, top + cell * len(yl) + 40
    lo, hi = state["range"] if state["range"] else (0.0, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
    ]
    for i, row in enumerate(state["status"]):
        for j, s in enumerate(row):
            v = state["values"][i][j]
            fill = {"f": FAILED, "r": RUNNING, "m": MISSING}.get(s) or colorOf(v, lo, hi)
            tip = state["errors"].get(f"{i},{j}") if s == "f" else (f"{v:.4g}" if v is not None else s)
            x, y = left + j * cell, top + i * cell
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                f"<title>{esc(str(tip))}</title></rect>"
            )
    for j, label in enumerate(xl):
        parts.append(
            f'<text x="{left + j * cell + cell / 2 - 1}" y="{top - 6}" text-anchor="middle">{esc(label)}</text>'
        )
    for i, label in enumerate(yl):
        parts.append(f'<text x="{left - 6}" y="{top + i * cell + cell / 2 + 3}" text-anchor="end">{esc(label)}</text>')
    axes = f"{state['var'] or ''} over {state['x'] or '-'} (columns) × {state['y'] or '-'} (rows)"
    if state.get("aggregate"):
        axes += ", mean over the other parameters"
    parts.append(f'<text x="{left}" y="{top - 24}">{esc(axes)}</text>')
    if state["range"]:
        parts.append(f'<text x="{left}" y="{h - 14}">range {lo:.4g} … {hi:.4g}; grey: missing, red: failed</text>')
    parts.append("</svg>")
    return (
        f'<div class="k1w-sweep-static"><div><b>{esc(state.get("title", "sweep"))}</b>: {esc(countsLine(state))}</div>'
        + "".join(parts)
        + "</div>"
    )
