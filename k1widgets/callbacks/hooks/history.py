"""History: the bounded record of a hook callback, many lines (modules or parameters) sampled together.

Every sample is a row: its position ``x`` (the training batch it came from), one float32 value per
line and field (``values[row, line, field]``), and optionally a histogram per line
(``hist[row, line, bin]``, float16 fractions). A long run on a big model must not grow without bound,
so the history holds at most ``capacity`` rows:

- the newest half of the rows are kept **at full resolution**;
- older samples are folded into buckets of ``b`` consecutive samples, each kept as **two rows**: the
  element-wise minimum (at the bucket's first ``x``) and maximum (at its last ``x``) of every value,
  so trends and extremes survive at any age (the same min-max decimation the plots use); histograms
  of a bucket are averaged (both rows hold the mean).
- when the old part fills its quarter, neighbouring buckets merge and ``b`` doubles, so the old part
  always covers the run so far at a uniform resolution.

Memory is ``capacity * (8 + lines * (4 * fields + 2 * bins))`` bytes, whatever the run's length:
`capacityFor` picks the capacity from a byte budget (``settings.hooks.memory``). Appends and folds
happen on the training thread; readers (views, on other threads) take `lock` while they read.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["MIN_ROWS", "History", "capacityFor"]

MIN_ROWS = 128
"""Smallest capacity: room for at least 32 appended rows between two folds."""


def capacityFor(lines: int, fields: int, bins: int, *, budget: float, maxRows: int) -> int:
    """Rows that fit in ``budget`` bytes (at least `MIN_ROWS`, at most ``maxRows``, a multiple of 4)."""
    perRow = 8 + max(lines, 1) * (4 * fields + 2 * bins)
    rows = int(budget // perRow)
    rows = max(MIN_ROWS, min(int(maxRows), rows))
    return rows - rows % 4


class History:
    """Bounded rows of ``(x, values[lines, fields], hist[lines, bins])``; see the module docs.

    Args:
        lines: how many lines (modules or parameters) each row holds.
        fields: the value fields per line (names, in column order).
        bins: histogram bins per line (0 for none).
        capacity: most rows kept (at least `MIN_ROWS`).
    """

    def __init__(self, lines: int, fields: tuple[str, ...], bins: int = 0, *, capacity: int = 4096) -> None:
        cap = max(MIN_ROWS, int(capacity))
        cap -= cap % 4
        self.fields = tuple(fields)
        self.lines, self.bins, self.capacity = int(lines), int(bins), cap
        self.lock = threading.RLock()
        self.x = np.empty(cap, dtype=np.float64)
        self.values = np.empty((cap, self.lines, len(self.fields)), dtype=np.float32)
        self.hist = np.empty((cap, self.lines, self.bins), dtype=np.float16) if bins else None
        self.n = 0  # rows in use
        self.nOld = 0  # of which the first nOld are folded buckets (two rows each)
        self.bucket = 4  # samples per old bucket
        self._counts = np.zeros(cap // 2, dtype=np.int64)  # samples in each old bucket
        self.samples = 0  # samples ever appended
        self.version = 0  # bumped whenever existing rows change (a fold)

    # ------------------------------------------------------------------ sizes
    @property
    def nbytes(self) -> int:
        """Bytes of host memory the rows take."""
        total = self.x.nbytes + self.values.nbytes + self._counts.nbytes
        return total + (self.hist.nbytes if self.hist is not None else 0)

    def field(self, name: str) -> int:
        """Column index of a field."""
        return self.fields.index(name)

    def __len__(self) -> int:
        return self.n

    # ------------------------------------------------------------------ writing
    def append(self, x: np.ndarray, values: np.ndarray, hist: np.ndarray | None = None) -> None:
        """Appends ``k`` samples: ``x[k]``, ``values[k, lines, fields]``, ``hist[k, lines, bins]``."""
        k = len(x)
        start = 0
        while start < k:
            with self.lock:
                if self.n >= self.capacity:
                    self._fold()
                m = min(k - start, self.capacity - self.n)
                a, b = self.n, self.n + m
                self.x[a:b] = x[start : start + m]
                self.values[a:b] = values[start : start + m]
                if self.hist is not None and hist is not None:
                    self.hist[a:b] = hist[start : start + m]
                elif self.hist is not None:
                    self.hist[a:b] = 0
                self.n = b
                self.samples += m
            start += m

    def clear(self) -> None:
        """Forgets every row."""
        with self.lock:
            self.n = self.nOld = self.samples = 0
            self.bucket = 4
            self.version += 1

    def _fold(self) -> None:
        """Folds the oldest full-resolution rows into min-max buckets (keeps the newest half raw)."""
        keep = self.capacity // 2
        a, b = self.nOld, self.n - keep  # raw rows [a, b) are folded
        if b <= a:
            return
        nb = self.nOld // 2
        xs, vs = self.x[a:b], self.values[a:b]
        hs = self.hist[a:b] if self.hist is not None else None
        i = 0
        F = b - a
        out: list[tuple[float, float, np.ndarray, np.ndarray, np.ndarray | None, int]] = []
        if nb and self._counts[nb - 1] < self.bucket:  # fill the open bucket first
            j = nb - 1
            t = min(self.bucket - int(self._counts[j]), F)
            self._mergeInto(j, xs[:t], vs[:t], None if hs is None else hs[:t])
            i = t
        full = (F - i) // self.bucket
        if full:
            sl = slice(i, i + full * self.bucket)
            shape = (full, self.bucket, self.lines, len(self.fields))
            blocks = vs[sl].reshape(shape)
            lo, hi = np.fmin.reduce(blocks, axis=1), np.fmax.reduce(blocks, axis=1)
            xb = xs[sl].reshape(full, self.bucket)
            hm = None
            if hs is not None:
                hm = hs[sl].reshape(full, self.bucket, self.lines, self.bins).astype(np.float32).mean(1)
            for q in range(full):
                out.append((xb[q, 0], xb[q, -1], lo[q], hi[q], None if hm is None else hm[q], self.bucket))
            i += full * self.bucket
        if i < F:  # the rest opens a new bucket
            seg = vs[i:F]
            hm1 = None if hs is None else hs[i:F].astype(np.float32).mean(0)
            out.append((xs[i], xs[F - 1], np.fmin.reduce(seg, 0), np.fmax.reduce(seg, 0), hm1, F - i))
        # write the new buckets after the old ones, then move the kept raw rows down
        row = 2 * nb
        for x0, x1, lo1, hi1, h1, c in out:
            if row // 2 >= len(self._counts):
                break
            self.x[row], self.x[row + 1] = x0, x1
            self.values[row], self.values[row + 1] = lo1, hi1
            if self.hist is not None and h1 is not None:
                self.hist[row] = self.hist[row + 1] = h1
            self._counts[row // 2] = c
            row += 2
        keepFrom = b
        m = self.n - keepFrom
        self.x[row : row + m] = self.x[keepFrom : self.n].copy()
        self.values[row : row + m] = self.values[keepFrom : self.n].copy()
        if self.hist is not None:
            self.hist[row : row + m] = self.hist[keepFrom : self.n].copy()
        self.nOld = row
        self.n = row + m
        while self.nOld > self.capacity // 4:
            self._mergeOld()
        self.version += 1

    def _mergeInto(self, j: int, xs: np.ndarray, vs: np.ndarray, hs: np.ndarray | None) -> None:
        r = 2 * j
        c = int(self._counts[j])
        self.values[r] = np.fmin(self.values[r], np.fmin.reduce(vs, 0))
        self.values[r + 1] = np.fmax(self.values[r + 1], np.fmax.reduce(vs, 0))
        self.x[r + 1] = xs[-1]
        if self.hist is not None and hs is not None:
            mean = (self.hist[r].astype(np.float32) * c + hs.astype(np.float32).sum(0)) / (c + len(xs))
            self.hist[r] = self.hist[r + 1] = mean
        self._counts[j] = c + len(xs)

    def _mergeOld(self) -> None:
        """Merges neighbouring old buckets: half the old rows, twice the bucket size."""
        nb = self.nOld // 2
        pairs = nb // 2
        for p in range(pairs):
            r0, r1 = 4 * p, 4 * p + 2  # the rows of buckets 2p and 2p + 1
            c0, c1 = int(self._counts[2 * p]), int(self._counts[2 * p + 1])
            dst = 2 * p
            self.x[dst], self.x[dst + 1] = self.x[r0], self.x[r1 + 1]
            self.values[dst] = np.fmin(self.values[r0], self.values[r1])
            self.values[dst + 1] = np.fmax(self.values[r0 + 1], self.values[r1 + 1])
            if self.hist is not None:
                h = (self.hist[r0].astype(np.float32) * c0 + self.hist[r1].astype(np.float32) * c1) / max(c0 + c1, 1)
                self.hist[dst] = self.hist[dst + 1] = h
            self._counts[p] = c0 + c1
        if nb % 2:  # an odd last bucket stays as it is
            src, dst = 2 * (nb - 1), 2 * pairs
            self.x[dst : dst + 2] = self.x[src : src + 2]
            self.values[dst : dst + 2] = self.values[src : src + 2]
            if self.hist is not None:
                self.hist[dst : dst + 2] = self.hist[src : src + 2]
            self._counts[pairs] = self._counts[nb - 1]
        newOld = 2 * (pairs + nb % 2)
        m = self.n - self.nOld
        self.x[newOld : newOld + m] = self.x[self.nOld : self.n].copy()
        self.values[newOld : newOld + m] = self.values[self.nOld : self.n].copy()
        if self.hist is not None:
            self.hist[newOld : newOld + m] = self.hist[self.nOld : self.n].copy()
        self.n = newOld + m
        self.nOld = newOld
        self.bucket *= 2

    # ------------------------------------------------------------------ reading
    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(x, values, hist)`` of the rows in use (views: read them under `lock` if training runs)."""
        n = self.n
        return self.x[:n], self.values[:n], (self.hist[:n] if self.hist is not None else None)

    def column(self, field: str, line: int | None = None) -> np.ndarray:
        """A copy of one field: ``[rows]`` for one line, ``[rows, lines]`` for all."""
        with self.lock:
            v = self.values[: self.n, :, self.field(field)]
            return (v[:, line] if line is not None else v).astype(np.float64)

    def xs(self) -> np.ndarray:
        """A copy of the positions of the rows in use."""
        with self.lock:
            return self.x[: self.n].copy()

    def __getstate__(self) -> dict[str, Any]:
        with self.lock:
            state = dict(self.__dict__)
            del state["lock"]
            n = self.n
            state["x"], state["values"] = self.x[:n].copy(), self.values[:n].copy()
            state["hist"] = self.hist[:n].copy() if self.hist is not None else None
            return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        cap, n = state["capacity"], state["n"]
        for key in ("x", "values", "hist"):
            arr = state[key]
            if arr is not None:
                full = np.empty((cap, *arr.shape[1:]), dtype=arr.dtype)
                full[:n] = arr
                state[key] = full
        self.__dict__.update(state)
        self.lock = threading.RLock()
