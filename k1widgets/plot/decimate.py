"""Min-max decimation: how a view sends at most ~2,000 points per line while full history stays in Python.

`minmaxIndices` keeps each bucket's minimum and maximum; `LineData` is one line as drawn (values and
positions); `LeafIndex` is an incremental per-leaf min-max index of an append-only line, so a growing
million-point line re-decimates in O(new points + leaves); `decimateWindow` decimates the visible
window of a line plus a coarse context for the rest. `pointBudget` reads the per-line budget from the
settings. No drawing here: `k1widgets.widgets.plot` and `k1widgets.plot.svg` draw what this returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from k1widgets.settings import settings

__all__ = ["LeafIndex", "LineData", "decimateWindow", "minmaxIndices", "pointBudget"]


def pointBudget() -> int:
    """Most points a view sends per line: ``settings.plot.points`` (its rules keep it an int ≥ 4)."""
    return max(4, int(settings.plot.points))


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
        return bool((a == p0 or (a != a and p0 != p0)) and (b == p1 or (b != b and p1 != p1)))

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
