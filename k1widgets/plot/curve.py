"""The static SVG of a schedule: a function of progress over [0, 1], its ends labelled, its progress marked."""

from __future__ import annotations

import html
import math
import numbers
from typing import Any

__all__ = ["scheduleSvg"]


def _fmt(v: Any) -> str:
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return f"{float(v):.3g}"
    return repr(v)


def scheduleSvg(s: Any, *, width: int = 260, height: int = 150, points: int = 200) -> str:
    """A small SVG plot of schedule ``s`` over [0, 1]: the curve, both ends labelled, the progress marked.

    ``s`` is called as ``s(x)``; its ``param``, ``label`` and ``progress`` attributes are used when present.
    """
    xs = [i / (points - 1) for i in range(points)]
    try:
        ys = [float(s(x)) for x in xs]
    except Exception as e:
        text = html.escape(f"cannot plot this schedule: {type(e).__name__}: {e}")
        head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40">'
        return f'{head}<text x="4" y="20">{text}</text></svg>'
    finite = [y for y in ys if math.isfinite(y)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    ml, mr, mt, mb = 52, 10, 20, 22
    pw, ph = width - ml - mr, height - mt - mb

    def px(x: float) -> float:
        return ml + x * pw

    def py(y: float) -> float:
        return mt + (1 - (y - lo) / (hi - lo)) * ph

    path = " ".join(
        f"{'M' if i == 0 or not math.isfinite(ys[i - 1]) else 'L'}{px(x):.1f},{py(y):.1f}"
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
        if math.isfinite(y)
    )
    title = html.escape(f"{getattr(s, 'param', None) or 'schedule'}: {getattr(s, 'label', '') or 'custom'}")
    parts = [
        f'<text x="{ml}" y="13" font-weight="bold">{title}</text>',
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>',
        f'<path d="{path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>',
        f'<text x="{ml - 4}" y="{mt + 4}" text-anchor="end">{_fmt(hi)}</text>',
        f'<text x="{ml - 4}" y="{mt + ph}" text-anchor="end">{_fmt(lo)}</text>',
        f'<text x="{ml}" y="{height - 6}" text-anchor="middle">0</text>',
        f'<text x="{ml + pw}" y="{height - 6}" text-anchor="middle">1</text>',
        f'<text x="{ml + pw / 2}" y="{height - 6}" text-anchor="middle" fill="#666">progress</text>',
    ]
    progress = getattr(s, "progress", None)
    if progress is not None:
        try:
            v = float(s(progress))
        except Exception:
            v = math.nan
        if math.isfinite(v):
            x, y = px(min(max(progress, 0.0), 1.0)), py(v)
            parts.append(f'<circle class="k1w-progress" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#d62728"/>')
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="10">{body}</svg>'
    )
