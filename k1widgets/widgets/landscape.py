"""LandscapeView: the interactive view of a loss `Landscape` (heatmap + contours, 3-D surface, scale slider).

bqplot draws neither contour lines nor 3-D surfaces, so this view is a custom anywidget drawing on a
canvas (``js/landscape.js``). Every scale is sent once, as binary float32 buffers, together with the
contour segments computed here (`k1widgets.plot.heatmap.contourSegments`, 8 levels per scale over
log10(loss) when every loss is positive): moving the scale slider, turning the 3-D surface and
hovering (which shows α, β and the loss) all happen in the browser, also while the kernel is busy.
The selected scale and mode sync back (``view.scale``, ``view.view3d``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from k1widgets.plot.heatmap import contourLevels, contourSegments, toColorScale
from k1widgets.widgets.base import View, staticAsset

__all__ = ["LandscapeView"]


class LandscapeView(View):
    """Interactive view of a `k1widgets.callbacks.Landscape` (what ``l.LossLandscape.plot()`` shows).

    Args:
        landscape: the computed landscape.
        scale: index of the scale shown first (default: the middle one).
        levels: contour levels per scale.
    """

    _esm = staticAsset("landscape.js")
    _css = staticAsset("landscape.css")
    losses = traitlets.Bytes().tag(sync=True)
    shape: traitlets.List[int] = traitlets.List().tag(sync=True)
    scales: traitlets.List[float] = traitlets.List().tag(sync=True)
    coords: traitlets.List[float] = traitlets.List().tag(sync=True)
    contours = traitlets.Bytes().tag(sync=True)
    contourOffsets: traitlets.List[int] = traitlets.List().tag(sync=True)
    logColor = traitlets.Bool(False).tag(sync=True)
    centre = traitlets.Float(0.0).tag(sync=True)
    scale = traitlets.Int(0).tag(sync=True)
    view3d = traitlets.Bool(False).tag(sync=True)

    def __init__(self, landscape: Any, *, scale: int | None = None, levels: int = 8) -> None:
        losses = np.asarray(landscape.losses, dtype=np.float64)
        nS, n = losses.shape[0], losses.shape[1]
        segments, offsets = [], [0]
        colorValues, logColor = toColorScale(losses)  # one choice for every scale: log10 when all are > 0
        for s in range(nS):
            c = colorValues[s]
            segs = [contourSegments(c, float(level)) for level in contourLevels(c, levels)]
            segs = [x for x in segs if len(x)]
            stacked = np.concatenate(segs) if segs else np.empty((0, 4))
            segments.append(stacked)
            offsets.append(offsets[-1] + len(stacked))
        first = nS // 2 if scale is None else int(scale)
        if not 0 <= first < nS:
            msg = f"scale is the index of a scale, 0 … {nS - 1}, got {scale!r}."
            raise ValueError(msg)
        super().__init__(
            losses=losses.astype(np.float32).tobytes(),
            shape=[nS, n],
            scales=[float(v) for v in landscape.scales],
            coords=[float(v) for v in landscape.coords],
            contours=np.concatenate(segments).astype(np.float32).tobytes(),
            contourOffsets=offsets,
            logColor=bool(logColor),
            centre=float(landscape.centre),
            scale=first,
        )
        self.landscape = landscape
