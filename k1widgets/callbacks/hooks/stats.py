"""Statistics of many tensors at once, on their device, with no host sync: what the hooks record.

`rawStats` turns a list of tensors (activations, gradients or parameters) into one float32 tensor of
raw sums, one row per tensor, computed where the tensors live. Small tensors of the same size are
stacked and reduced together, so a network of a hundred 64×10 activations costs a handful of torch
operations, not hundreds; large tensors are reduced one by one (their cost is the arithmetic, not the
call). Nothing is read back: the rows go into a preallocated device buffer that the hook callbacks
copy to the host once every ``flushEvery`` sampled batches (`k1widgets.settings` ``hooks.flushEvery``).

Columns of a row (`RAW`): ``sum``, ``norm`` (the 2-norm, so the sum of squares is ``norm**2``),
``min``, ``max``, ``zeros`` (how many values have ``|x| <= zeroTol * rms(x)``), and with ``bins``:
``lo``, ``hi`` (the histogram's range) and ``bins`` counts. `derive` turns rows into mean, std
(from the sums, never `torch.std`: 5-20x cheaper on large tensors), min, max and the near-zero
fraction on the host. One-element tensors get std NaN, silently.

The histogram bins span each tensor's [min, max], so every value is counted. For tensors above
`SUBSET` values, the near-zero count and the histogram come from an even subset of about `SUBSET`
values (`subset`: blocks of `BLOCK` neighbours, the block stride coprime with the number of blocks, so
every unit is visited), scaled to the whole (a few percent of sampling error, at a fraction of the cost).
`headStats` and `tails` do the same for one large tensor reduced in its hook, and its subset later.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "BLOCK",
    "GROUP_NUMEL",
    "RAW",
    "SUBSET",
    "WHOLE_NUMEL",
    "derive",
    "flatReductions",
    "headStats",
    "rawStats",
    "reduceRows",
    "statColumns",
    "subset",
    "tails",
]

RAW = ("sum", "norm", "min", "max", "zeros")
"""The raw columns every row starts with."""

GROUP_NUMEL = 1 << 14
"""Tensors with at most this many elements are stacked with others of the same size and reduced together."""

SUBSET = 4096
"""Near-zero fractions and histograms of larger tensors use an even `subset` of about this many values."""


def statColumns(bins: int) -> int:
    """Width of a raw row: the `RAW` columns, plus ``lo``, ``hi`` and ``bins`` counts when ``bins > 0``."""
    return len(RAW) + (2 + bins if bins else 0)


def reduceRows(x: torch.Tensor, zeroTol: float | None, bins: int, nHist: int) -> torch.Tensor:
    """Raw rows of the rows of ``x`` (a float ``[k, n]`` matrix): ``[k, statColumns(bins)]``.

    Near-zero counts and histograms only for the first ``nHist`` rows (the others get zeros), from
    each row's `subset`. Written for few torch calls on small matrices (each costs microseconds there,
    whatever its size): separate ``amin``/``amax`` (``aminmax`` over a dim is ~15x slower on CPU).
    """
    k, n = x.shape
    h = nHist
    if k == 1:
        s, norm, mn, mx = _flatStats(x.view(-1))
    else:
        s = x.sum(1)
        norm = torch.linalg.vector_norm(x, 2, dim=1)
        mn, mx = x.amin(1), x.amax(1)
    if h <= 0 or (zeroTol is None and not bins):
        head = torch.stack((s, norm, mn, mx, torch.zeros_like(s)), 1)
        return torch.cat((head, x.new_zeros(k, 2 + bins)), 1) if bins else head
    zeros, hist = tails(subset(x if h == k else x[:h]), n, norm[:h], mn[:h], mx[:h], zeroTol, bins)
    if h < k:
        zeros = torch.cat((zeros, zeros.new_zeros(k - h)))
    head = torch.stack((s, norm, mn, mx, zeros), 1)
    if hist is None:
        return head
    if h < k:
        hist = torch.cat((hist, x.new_zeros(k - h, 2 + bins)))
    return torch.cat((head, hist), 1)


def tails(
    xs: torch.Tensor,
    n: int,
    norm: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    zeroTol: float | None,
    bins: int,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Near-zero counts ``[h]`` and histograms ``[h, 2 + bins]`` (``lo``, ``hi``, counts) of ``h`` rows.

    ``xs`` holds each row's `subset` (``[h, m]``); ``n`` is the full rows' size, ``norm``, ``lo`` and
    ``hi`` (``[h]``) their 2-norms, minima and maxima. Counts of a subset are scaled to the whole. Float
    arithmetic instead of boolean masks and one ``index_add_`` for all rows: few torch calls, each
    over the rows once. Near-zero counts are 0 when ``zeroTol`` is None; the histogram is None when
    ``bins`` is 0.
    """
    h, m = xs.shape
    if zeroTol is None:
        zeros = norm.new_zeros(h)
    else:  # |x| <= thr as a float 1/0 written in place (a boolean mask and its sum cost 4x more on a CPU)
        thr = (norm * (zeroTol / math.sqrt(n))).unsqueeze(1)
        zeros = xs.abs().le_(thr).sum(1)
        if m != n:
            zeros *= n / m
    if not bins:
        return zeros, None
    # the bins span each row's [min, max], so every value is counted
    scale = (hi - lo).clamp_(min=1e-30).reciprocal_().mul_(bins).unsqueeze(1)
    # NaN and infinities (a diverging run) must not index outside the bins: NaN counts in bin 0
    idx = (xs - lo.unsqueeze(1)).mul_(scale).nan_to_num_(0.0, bins - 0.5, 0.0).clamp_(0, bins - 0.5).int()
    if h > 1:
        idx += _offsets(h, bins, xs.device)
    # index_add_ of ones with int32 indices: about twice as fast as bincount on a CPU (no range check
    # pass), and 10-15 % faster than scatter_add_, which needs int64 indices
    flat = idx.view(-1)
    counts = xs.new_zeros(h * bins).index_add_(0, flat, _ones(flat.numel(), xs.dtype, xs.device)).view(h, bins)
    if m != n:
        counts *= n / m  # a subset's counts stand for the whole tensor
    return zeros, torch.cat((lo.unsqueeze(1), hi.unsqueeze(1), counts), 1)


def headStats(t: torch.Tensor, *, withSubset: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Sum, 2-norm, min and max of one tensor (``[4]`` float32, on its device), and its `subset` (a copy).

    For a large tensor reduced at once, while it is still in the cache (an activation in its forward
    hook, a gradient in its tensor hook); `tails` turns the subsets of many tensors into near-zero
    counts and histograms later, in a few calls for all of them.
    """
    with torch.no_grad():
        f = t.detach().reshape(-1)
        if f.dtype != torch.float32:
            f = f.float()
        head = torch.cat(_flatStats(f))
        if not withSubset:
            return head, None
        sub = subset(f.view(1, -1)).view(-1)
        if sub.data_ptr() == t.data_ptr():  # the subset is the tensor itself: keep a copy as it is now
            sub = sub.clone()
        return head, sub


WHOLE_NUMEL = 1 << 18
"""From this many values on, min and max come from one ``aminmax`` pass (see `_flatStats`)."""


def _flatStats(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum, 2-norm, min and max of a flat tensor, each ``[1]``.

    Below `WHOLE_NUMEL` values (the data sits in the cache) ``amin`` and ``amax``: there they are
    about 1.5-2x faster than one ``aminmax`` on a CPU. From it on, the passes read memory, so
    ``aminmax`` makes three passes of four (measured on 0.5-2 M values: 10-20 % less time than
    ``amin`` + ``amax``, and than reducing cache-sized chunks one after another, whose extra calls
    cost what the cache saves).
    """
    s, sq, mn, mx = flatReductions(v)
    return s.view(1), sq.sqrt_().view(1), mn.view(1), mx.view(1)


def flatReductions(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum, sum of squares, min and max of a flat float tensor (0-d each; see `_flatStats` for the passes)."""
    s, sq = v.sum(), torch.dot(v, v)
    if v.numel() < WHOLE_NUMEL:
        return s, sq, v.amin(), v.amax()
    mn, mx = torch.aminmax(v)
    return s, sq, mn, mx


BLOCK = 16
"""A subset is made of blocks of this many neighbouring values (64 bytes of float32: one cache line)."""


def subset(x: torch.Tensor, size: int = SUBSET, block: int = BLOCK) -> torch.Tensor:
    """An even subset of about ``size`` values of each row of ``x`` (``[k, n]``), as a contiguous ``[k, m]``.

    Rows of at most ``size`` values are returned whole. Larger rows give every ``s``-th block of
    ``block`` neighbouring values: copying them reads only the cache lines they sit in (a subset of
    single values strided through memory reads every line, and costs as much as a full pass). The
    block stride is coprime with the number of blocks, so the subset visits every position of every
    trailing dimension (a stride that divides a row of units would see the same units every time).
    """
    k, n = x.shape
    if n <= size:
        return x
    nb = n // block
    s = _stride(nb, -(-nb * block // size))
    m = -(-nb // s)  # blocks 0, s, 2s, ...
    if x.is_contiguous():  # as one strided view (fewer calls than slicing), then copied
        return x.as_strided((k, m, block), (n, s * block, 1), x.storage_offset()).reshape(k, m * block)
    return x[:, : nb * block].reshape(k, nb, block)[:, ::s].reshape(k, m * block)


@functools.cache
def _stride(nb: int, s: int) -> int:
    """The first stride from ``s`` on that is coprime with ``nb`` (the number of blocks).

    Coprime, so the subset visits every position of every trailing dimension (a stride that divides
    the row length, 5 for 64×300, would sample the same 60 of 300 units in every row).
    """
    s = max(1, s)
    while math.gcd(s, nb) != 1:
        s += 1
    return s


@functools.lru_cache(maxsize=64)
def _ones(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``n`` ones on ``device``, made once per size (read only)."""
    return torch.ones(n, dtype=dtype, device=device)


@functools.lru_cache(maxsize=256)
def _offsets(k: int, bins: int, device: torch.device) -> torch.Tensor:
    """``[[0], [bins], [2 bins], ...]`` (int32) on ``device``, made once per shape (read only)."""
    return torch.arange(0, k * bins, bins, dtype=torch.int32, device=device)[:, None]


def rawStats(
    tensors: Sequence[torch.Tensor],
    *,
    zeroTol: float | None = 0.01,
    bins: int = 0,
    device: torch.device | None = None,
    hist: Sequence[bool] | None = None,
) -> tuple[torch.Tensor, list[int]]:
    """Raw statistics of each tensor, as rows of one float32 tensor; nothing is copied to the host.

    Args:
        tensors: any shapes and floating dtypes (integer tensors are converted); on one device or several.
        zeroTol: a value counts as near zero when ``|x| <= zeroTol * rms(x)`` of its tensor (None:
            do not count, the column holds 0).
        bins: histogram bins per row (0: no histogram columns).
        device: where the rows go (default: the first tensor's device).
        hist: which tensors get a near-zero count and a histogram (default: all); the others hold
            zeros there. Tensors above `SUBSET` values use an even subset of `SUBSET` values for both.

    Returns:
        ``(rows, order)``: ``rows[j]`` belongs to ``tensors[order[j]]``. Tensors are grouped by shape,
        so the rows come in group order; `order` says whose each row is.
    """
    if not tensors:
        msg = "rawStats needs at least one tensor."
        raise ValueError(msg)
    target = device if device is not None else tensors[0].device
    groups: dict[Any, tuple[list[int], list[int]]] = {}  # key -> (with histogram, without)
    for i, t in enumerate(tensors):
        n = t.numel()
        if n == 0:
            msg = f"rawStats got an empty tensor (shape {tuple(t.shape)}) at position {i}; leave empty tensors out."
            raise ValueError(msg)
        key = (t.shape, t.device, t.dtype) if n <= GROUP_NUMEL else i
        g = groups.get(key)
        if g is None:
            g = groups[key] = ([], [])
        g[0 if hist is None or hist[i] else 1].append(i)
    parts: list[torch.Tensor] = []
    order: list[int] = []
    with torch.no_grad():
        for withHist, without in groups.values():
            idxs = withHist + without
            x = tensors[idxs[0]].reshape(1, -1) if len(idxs) == 1 else torch.stack([tensors[i] for i in idxs])
            x = x.reshape(len(idxs), -1)
            if x.dtype != torch.float32:
                x = x.float()
            parts.append(reduceRows(x, zeroTol, bins, len(withHist)))
            order.extend(idxs)
        if len(parts) > 1:
            rows = torch.cat([p if p.device == target else p.to(target, non_blocking=True) for p in parts])
        else:
            rows = parts[0] if parts[0].device == target else parts[0].to(target, non_blocking=True)
    return rows, order


def derive(raw: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, std, min, max and near-zero fraction from raw columns (any leading shape), on the host.

    Args:
        raw: ``[..., >= 5]`` with the `RAW` columns first.
        n: the element count of each row (``raw.shape[:-1]``); NaN or 0 where nothing was recorded.

    Returns:
        ``{"mean", "std", "min", "max", "zero"}`` arrays of shape ``raw.shape[:-1]``. The std is the
        sample std (n - 1); NaN for one-element tensors; no warnings either way.
    """
    with np.errstate(all="ignore"):
        s, norm = raw[..., 0].astype(np.float64), raw[..., 1].astype(np.float64)
        n = n.astype(np.float64)
        mean = s / n
        var = (norm * norm - s * mean) / (n - 1)
        std = np.sqrt(np.maximum(var, 0.0))
        std = np.where(n > 1, std, np.nan)
        return {
            "mean": mean,
            "std": std,
            "min": raw[..., 2].astype(np.float64),
            "max": raw[..., 3].astype(np.float64),
            "zero": raw[..., 4].astype(np.float64) / n,
        }
