"""Heatmaps without a drawing library: a colour map, contour lines (marching squares), a PNG encoder, SVG.

Used by the loss landscape: `contourSegments` gives the contour lines the live view draws, and
`landscapeSvg` draws the static fallback (one heatmap per scale, as a tiny embedded PNG, with the
contour lines and the centre on top).
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib

import numpy as np

__all__ = ["VIRIDIS", "colorize", "contourLevels", "contourSegments", "landscapeSvg", "png", "toColorScale"]

VIRIDIS = (
    (68, 1, 84),
    (72, 40, 120),
    (62, 74, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (110, 206, 88),
    (181, 222, 43),
    (253, 231, 37),
)
"""Anchors of the viridis colour map, low to high (the live view uses the same ones)."""


def toColorScale(z: np.ndarray) -> tuple[np.ndarray, bool]:
    """Values to colour by: ``log10(z)`` when every finite value is positive (losses span decades), else ``z``."""
    z = np.asarray(z, dtype=np.float64)
    finite = z[np.isfinite(z)]
    if len(finite) and finite.min() > 0:
        logged: np.ndarray = np.log10(np.where(np.isfinite(z), z, np.nan))
        return logged, True
    return z, False


def colorize(t: np.ndarray) -> np.ndarray:
    """RGB uint8 colours (shape ``t.shape + (3,)``) for ``t`` in [0, 1]; NaN becomes light grey."""
    t = np.asarray(t, dtype=np.float64)
    anchors = np.asarray(VIRIDIS, dtype=np.float64)
    pos = np.clip(np.nan_to_num(t, nan=0.0), 0, 1) * (len(anchors) - 1)
    i = np.minimum(pos.astype(int), len(anchors) - 2)
    f = (pos - i)[..., None]
    rgb = anchors[i] * (1 - f) + anchors[i + 1] * f
    rgb[np.isnan(t)] = (220, 220, 220)
    out: np.ndarray = np.round(rgb).astype(np.uint8)
    return out


def contourLevels(z: np.ndarray, n: int = 8) -> np.ndarray:
    """``n`` levels evenly spread strictly inside the finite range of ``z``."""
    finite = z[np.isfinite(z)]
    if not len(finite) or finite.max() <= finite.min():
        return np.empty(0)
    levels: np.ndarray = np.linspace(finite.min(), finite.max(), n + 2)[1:-1]
    return levels


def contourSegments(z: np.ndarray, level: float) -> np.ndarray:
    """Marching squares: the contour of ``z`` at ``level`` as segments ``(k, 4)`` = ``x0, y0, x1, y1``.

    Coordinates are grid indices: ``x`` along columns, ``y`` along rows (``z[y, x]``), interpolated
    linearly along cell edges. Saddle cells are resolved by the cell's mean. Cells touching NaN are skipped.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or min(z.shape) < 2:
        return np.empty((0, 4))
    above = z >= level
    rows, cols = z.shape
    yy, xx = np.mgrid[0 : rows - 1, 0 : cols - 1].astype(np.float64)
    bl, br, tl, tr = z[:-1, :-1], z[:-1, 1:], z[1:, :-1], z[1:, 1:]
    abl, abr, atl, atr = above[:-1, :-1], above[:-1, 1:], above[1:, :-1], above[1:, 1:]

    def t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out: np.ndarray = np.clip((level - a) / (b - a), 0.0, 1.0)
        return out

    # the crossing point on each edge: bottom, right, top, left
    pts = np.stack(
        [
            np.stack([xx + t(bl, br), yy], -1),
            np.stack([xx + 1, yy + t(br, tr)], -1),
            np.stack([xx + t(tl, tr), yy + 1], -1),
            np.stack([xx, yy + t(bl, tl)], -1),
        ]
    )
    cross = np.stack([abl != abr, abr != atr, atl != atr, abl != atl])
    ok = np.isfinite(bl) & np.isfinite(br) & np.isfinite(tl) & np.isfinite(tr)
    count = cross.sum(0)
    segs = []
    two = (count == 2) & ok
    if two.any():
        order = np.argsort(~cross[:, two], axis=0, kind="stable")[:2]  # the two crossing edges, in order
        p = pts[:, two]
        idx = np.arange(p.shape[1])
        segs.append(np.concatenate([p[order[0], idx], p[order[1], idx]], -1))
    four = (count == 4) & ok
    if four.any():
        centreAbove = (bl + br + tl + tr)[four] / 4 >= level
        isolateBrTl = centreAbove == abl[four]
        p = pts[:, four]
        first = np.where(isolateBrTl[:, None], np.concatenate([p[0], p[1]], -1), np.concatenate([p[0], p[3]], -1))
        second = np.where(isolateBrTl[:, None], np.concatenate([p[2], p[3]], -1), np.concatenate([p[1], p[2]], -1))
        segs += [first, second]
    return np.concatenate(segs) if segs else np.empty((0, 4))


def png(rgb: np.ndarray) -> bytes:
    """A PNG file of an RGB uint8 image ``(height, width, 3)``, row 0 at the top."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def landscapeSvg(
    losses: np.ndarray, scales: np.ndarray, coords: np.ndarray, *, cell: int = 150, columns: int = 4
) -> str:
    """Small multiples: per scale a heatmap of ``losses[s]`` (rows β bottom-up, columns α) with contours.

    Colours follow log10(loss) over each scale's own range (the legend under each panel gives it);
    the centre (the trained weights) is a red dot.
    """
    nS = len(scales)
    columns = max(1, min(columns, nS))
    rowsOfPanels = math.ceil(nS / columns)
    pad, top, bottom = 26, 18, 30
    pw, ph = cell + pad + 8, cell + top + bottom
    n = len(coords)
    out = []
    for s in range(nS):
        z = losses[s]
        c, logged = toColorScale(z)
        finite = c[np.isfinite(c)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        tnorm = (c - lo) / (hi - lo) if hi > lo else np.zeros_like(c)
        image = colorize(tnorm[::-1])  # row 0 of the image is the top: the largest β
        uri = "data:image/png;base64," + base64.b64encode(png(image)).decode()
        ox, oy = (s % columns) * pw + pad, (s // columns) * ph + top
        k = cell / (n - 1)
        paths = []
        for level in contourLevels(c, 6):
            seg = contourSegments(c, float(level))
            if len(seg):
                d = " ".join(
                    f"M{x0 * k:.1f},{cell - y0 * k:.1f}L{x1 * k:.1f},{cell - y1 * k:.1f}" for x0, y0, x1, y1 in seg
                )
                paths.append(f'<path d="{d}" fill="none" stroke="white" stroke-opacity="0.7" stroke-width="0.8"/>')
        realLo, realHi = (10**lo, 10**hi) if logged else (lo, hi)
        label = html.escape(f"scale {scales[s]:g}")
        out.append(
            f'<g transform="translate({ox},{oy})">'
            f'<text x="{cell / 2}" y="-5" text-anchor="middle" font-weight="bold">{label}</text>'
            f'<image href="{uri}" x="{-k / 2:.2f}" y="{-k / 2:.2f}" width="{cell + k:.2f}" height="{cell + k:.2f}" '
            f'preserveAspectRatio="none" style="image-rendering:pixelated"/>'
            f"{''.join(paths)}"
            f'<circle class="k1w-centre" cx="{cell / 2}" cy="{cell / 2}" r="3" fill="#d62728" stroke="white"/>'
            f'<text x="0" y="{cell + 12}" font-size="9">α −{scales[s]:g}</text>'
            f'<text x="{cell}" y="{cell + 12}" font-size="9" text-anchor="end">+{scales[s]:g}</text>'
            f'<text x="{cell / 2}" y="{cell + 24}" font-size="9" text-anchor="middle">'
            f"loss {_fmt(realLo)} … {_fmt(realHi)}{' (log colours)' if logged else ''}</text>"
            f"</g>"
        )
    w, h = columns * pw, rowsOfPanels * ph
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="sans-serif" font-size="11">{"".join(out)}</svg>'
    )
