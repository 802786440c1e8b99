"""HookParam: statistics of every parameter ``l.css`` selects, with gradient norms and update ratios.

On a sampled training batch: after the backward pass (``startStep``) the gradient 2-norms of all
watched parameters (one ``torch._foreach_norm``) and a copy of the weights; after the optimizer step
(``endBatch``) the weights' mean, std, min and max (small parameters stacked and reduced together)
and the norm of the step ``Δw``. All of it lands in one device buffer row; nothing is read back
during the batch.

Fields: ``mean``, ``std``, ``min``, ``max`` (of the weights after the step), ``grad`` (the gradient's
2-norm) and ``update`` (``‖Δw‖ / ‖w‖``: the size of the step relative to the weights, the same as
std(Δw)/std(w) for zero-mean tensors; around 1e-3 is the usual healthy range, much larger means a
too-large learning rate, much smaller a too-small one). The update ratio keeps one copy of the
watched parameters during a run; ``HookParam(updateRatio=False)`` turns it off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from k1widgets.callbacks.hooks.base import HookCallback
from k1widgets.callbacks.hooks.stats import RAW, derive, rawStats

__all__ = ["HookParam"]

FIELDS = ("mean", "std", "min", "max", "grad", "update")
FLAT_NUMEL = 1 << 14
"""Parameters with at most this many values are copied into one flat vector and reduced by segment."""


def _flatten(tensors: list[torch.Tensor]) -> torch.Tensor:
    """One flat copy of ``tensors`` (a single C++ call, however many there are)."""
    return torch._C._nn.flatten_dense_tensors(tensors)

_GRAD, _UPDATE = len(RAW), len(RAW) + 1


class HookParam(HookCallback):
    """Records the parameters of the modules ``l.css`` gives ``HookParam`` (or ``all``).

    Args:
        every: sample every ``every``-th training batch (None: ``settings.hooks.every``); 1 records all.
        flushEvery: sampled batches between two device-to-host copies (None: ``settings.hooks.flushEvery``).
        updateRatio: record ``‖Δw‖ / ‖w‖`` (keeps a copy of the watched parameters during a run).
    """

    prop = "HookParam"
    kind = "param"
    fields = FIELDS
    rawColumns = len(RAW) + 2
    plotFields = ("mean", "std", "min", "max")
    viewFields = FIELDS
    order = 10

    def __init__(self, *, every: int | None = None, flushEvery: int | None = None, updateRatio: bool = True) -> None:
        super().__init__(every=every, flushEvery=flushEvery)
        self.updateRatio = bool(updateRatio)
        self._before: list[torch.Tensor] = []
        self._rowT: torch.Tensor | None = None
        self._numel = np.zeros(0)
        self._indices: dict[Any, torch.Tensor] = {}
        self._beforeFlat: torch.Tensor | None = None
        self._layout: tuple[list[int], list[int], torch.Tensor | None, torch.device] | None = None

    def _select(self) -> list[tuple[str, Any]]:
        sel = self.learner.moduleSelector  # type: ignore[union-attr]
        return list(sel.named_parameters(self.prop))

    def _picked(self, sel: Any) -> set[int]:
        return {id(p) for node in sel.modules() if node.props for p in node.nn._parameters.values() if p is not None}

    def startRun(self) -> None:
        """Re-selects the parameters (see `HookCallback.startRun`)."""
        super().startRun()
        if self._source is self:
            self._before = []
            self._beforeFlat = None
            self._indices = {}
            self._layout = None
            self._numel = np.array([p.numel() for p in self.targets], dtype=np.float64)

    def _split(self, device: torch.device) -> tuple[list[int], list[int], torch.Tensor | None]:
        """Small parameters (reduced together from one flat copy, by segment) and large ones (one by one)."""
        if self._layout is None or self._layout[3] != device:
            params = self.targets
            small = [i for i, p in enumerate(params) if p.numel() <= FLAT_NUMEL and p.device == device]
            big = [i for i in range(len(params)) if i not in set(small)]
            seg = None
            if small:
                sizes = torch.tensor([params[i].numel() for i in small], device=device)
                seg = torch.repeat_interleave(torch.arange(len(small), device=device), sizes)
            self._layout = (small, big, seg, device)
        return self._layout[0], self._layout[1], self._layout[2]

    def startBatch(self) -> None:
        """Decides whether this training batch is sampled."""
        if self._source is self and self._due():
            self._sampling = True
            self._rowT = None

    def startStep(self) -> None:
        """After the backward pass: gradient norms, and the weights before the step."""
        if not self._sampling:
            return
        params = self.targets
        row = self._rowT = self._newRow(params[0].device)
        small, big, seg = self._split(row.device)
        with torch.no_grad():
            if small:
                grads = [params[i].grad for i in small]
                if all(g is not None for g in grads):
                    g = _flatten(grads)  # type: ignore[arg-type]
                    sq = torch.zeros(len(small), device=row.device).index_add_(0, seg, g * g)  # type: ignore[arg-type]
                    self._put(row, _GRAD, small, sq.sqrt_())
                else:
                    big = big + small
                    small = []
                if self.updateRatio:
                    self._beforeFlat = _flatten([params[i] for i in small]) if small else None
            withGrad = [i for i in big if params[i].grad is not None]
            if withGrad:
                norms = torch._foreach_norm([params[i].grad for i in withGrad])  # type: ignore[misc]
                self._put(row, _GRAD, withGrad, torch.stack(norms).to(row.device, torch.float32))
            if self.updateRatio:
                bigParams = [params[i] for i in big]
                if len(self._before) != len(bigParams) or any(
                    b.shape != p.shape for b, p in zip(self._before, bigParams, strict=True)
                ):
                    self._before = [torch.empty_like(p) for p in bigParams]
                if bigParams:
                    torch._foreach_copy_(self._before, bigParams)

    def _put(self, row: torch.Tensor, col: int, lines: list[int], values: torch.Tensor) -> None:
        if len(lines) == len(self.targets) and lines == list(range(len(lines))):
            row[:, col] = values
        else:
            row[:, col].index_copy_(0, self._indexTensor(lines, row.device), values)

    def endBatch(self) -> None:
        """After the step: weight statistics and the step size; keeps the sample."""
        if not self._sampling:
            return
        self._sampling = False
        row = self._rowT
        self._rowT = None
        if row is None:  # the batch never reached its step
            return
        params = self.targets
        small, big, seg = self._split(row.device)
        with torch.no_grad():
            if small:
                flat = _flatten([params[i] for i in small])
                k = len(small)
                zeros = flat.new_zeros(k)
                s = zeros.clone().index_add_(0, seg, flat)  # type: ignore[arg-type]
                norm = zeros.clone().index_add_(0, seg, flat * flat).sqrt_()  # type: ignore[arg-type]
                mn = torch.full_like(zeros, math.inf).scatter_reduce_(0, seg, flat, "amin")  # type: ignore[arg-type]
                mx = torch.full_like(zeros, -math.inf).scatter_reduce_(0, seg, flat, "amax")  # type: ignore[arg-type]
                cols = [s, norm, mn, mx, zeros]
                self._putMany(row, small, torch.stack(cols, 1).float())
                if self.updateRatio and self._beforeFlat is not None:
                    d = flat - self._beforeFlat
                    dn = zeros.clone().index_add_(0, seg, d * d).sqrt_()  # type: ignore[arg-type]
                    self._put(row, _UPDATE, small, dn.float())
                self._beforeFlat = None
            if big:
                bigParams = [params[i] for i in big]
                stats, order = rawStats(bigParams, zeroTol=None, bins=0, device=row.device)
                self._putMany(row, [big[i] for i in order], stats)
                if self.updateRatio and len(self._before) == len(bigParams):
                    steps = torch._foreach_sub(bigParams, self._before)
                    self._put(row, _UPDATE, big, torch.stack(torch._foreach_norm(steps)).to(row.device, torch.float32))
        self._pendingN[self._row, :, 0] = self._numel
        self._finishRow()

    def _putMany(self, row: torch.Tensor, lines: list[int], values: torch.Tensor) -> None:
        if len(lines) == len(self.targets) and lines == list(range(len(lines))):
            row[:, : len(RAW)] = values
        else:
            row[:, : len(RAW)].index_copy_(0, self._indexTensor(lines, row.device), values)

    def _indexTensor(self, idx: list[int], device: torch.device) -> torch.Tensor:
        """A device tensor of ``idx``, made once (a fresh host-to-device copy per batch would sync a GPU)."""
        key = (tuple(idx), device)
        t = self._indices.get(key)
        if t is None:
            t = self._indices[key] = torch.tensor(idx, dtype=torch.long, device=device)
        return t

    def endRun(self) -> None:
        """Frees the weight copies and copies what is pending to the host."""
        super().endRun()
        self._before = []
        self._beforeFlat = None

    def _cleanup(self) -> None:
        self._rowT = None
        super()._cleanup()

    def _derive(self, raw: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        k, lines, _ = raw.shape
        d = derive(raw[..., : len(RAW)], n[..., 0])
        values = np.empty((k, lines, len(FIELDS)), dtype=np.float32)
        for j, s in enumerate(FIELDS[:4]):
            values[..., j] = d[s]
        values[..., 4] = raw[..., _GRAD]
        with np.errstate(all="ignore"):
            values[..., 5] = raw[..., _UPDATE] / raw[..., 1]
        return values, None

    def __repr__(self) -> str:
        lines = self._lines()
        names = "\n".join(f"  {i}. {self._source.paths[j]}" for i, j in enumerate(lines))
        return (
            f"Callback `{self.name}`: {len(lines)} params, {self.samples} means and stds each:\n{names}\n\n"
            "Use...\n"
            "- cb.plot(): to quickly look at everything\n"
            "- cb[i]: to view a single param\n"
            "- cb[a:b]: to get a new HookParam with selected params\n"
            '- cb.something: to get specific attribute "something" from learner if not available\n'
            "- cb.withCheckpoint(checkpoint, f): to quickly insert an event handler\n"
            "- cb.detach(): to remove itself from its parent Callbacks"
        )
