"""Plots without a drawing library: `SliceablePlot`, `Range`/`Domain`, decimation, the static SVG.

`sliceable` holds the plot object (panels of live series, slicing, options), `ranges` the interval
arithmetic, `decimate` the min-max decimation to the point budget, `svg` the static snapshot used in
exports. The live bqplot view is `k1widgets.widgets.plot.PlotView`.
"""

from __future__ import annotations

from k1widgets.plot.decimate import LeafIndex, LineData, decimateWindow, minmaxIndices, pointBudget
from k1widgets.plot.ranges import Domain, Range
from k1widgets.plot.sliceable import Panel, SliceablePlot
from k1widgets.plot.svg import COLORS, logTicks, niceTicks

__all__ = [
    "COLORS",
    "Domain",
    "LeafIndex",
    "LineData",
    "Panel",
    "Range",
    "SliceablePlot",
    "decimateWindow",
    "logTicks",
    "minmaxIndices",
    "niceTicks",
    "pointBudget",
]
