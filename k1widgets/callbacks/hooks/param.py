"""HookParam: statistics of every parameter ``l.css`` selects, with gradient norms and update ratios.

On a sampled training batch: after the backward pass (``startStep``) the gradient 2-norms of all
watched parameters (one ``torch._foreach_norm``) and a copy of the weights to measure the step by;
after the optimizer step (``endBatch``) the weights' mean, std, min and max (small parameters
stacked and reduced together) and the norm of the step ``Δw``. All of it lands in one device buffer
row; nothing is read back during the batch.

Fields: ``mean``, ``std``, ``min``, ``max`` (of the weights after the step), ``grad`` (the gradient's
2-norm) and ``update`` (``‖Δw‖ / ‖w‖``: the size of the step relative to the weights, the same as
std(Δw)/std(w) for zero-mean tensors; around 1e-3 is the usual healthy range, much larger means a
too-large learning rate, much smaller a too-small one). It is exact for parameters of up to
`UPDATE_EXACT_NUMEL` values, smallest first while their copies fit in `UPDATE_EXACT_BYTES`: they are
copied whole on a sampled batch, between the backward pass and the end of the batch. For the others
``‖Δw‖`` is measured on an even subset of `UPDATE_SUBSET` values (blocks of 4 neighbours spread over
the whole tensor, see `subset`) and scaled to the whole, so a sampled batch never copies more than
32 KB of such a parameter. That estimate is within a few
percent for Adam-like steps, but can be 10-15 % off for plain SGD steps, whose size sits in the few
rows with large gradients (fine on the log scale the ratio is read on). ``HookParam(updateRatio=False)``
turns the update ratio off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from k1widgets.callbacks.hooks.base import STAGE_BYTES, HookCallback, rowRuns, stageCapacity
from k1widgets.callbacks.hooks.stats import RAW, derive, flatReductions, subset

__all__ = ["HookParam"]

FIELDS = ("mean", "std", "min", "max", "grad", "update")
FLAT_NUMEL = 1 << 14
"""Parameters with at most this many values are copied into one flat vector and reduced by segment;
larger ones are reduced one by one."""

UPDATE_EXACT_NUMEL = 1 << 20
"""Parameters with at most this many values (4 MB of float32) have their step measured exactly, on a
whole copy (within `UPDATE_EXACT_BYTES`); larger ones on `UPDATE_SUBSET` values."""

UPDATE_EXACT_BYTES = 64 << 20
"""At most this much memory for the whole copies of one sampled batch (the smallest parameters first), so
that a large model's sampled batches do not need another copy of its weights."""

UPDATE_SUBSET = 8192
"""How many values of a larger parameter measure its step: blocks of 4 neighbours spread over it (32 KB)."""


def _bigStats(params: list[torch.Tensor]) -> torch.Tensor:
    """Raw rows (`RAW` columns, zero counts 0) of large parameters, one stack for all of them.

    Each parameter's four reductions run one after another, while it is in the cache (grouping them
    by reduction, a ``_foreach_norm`` and then the sums and extremes, read each parameter from memory
    again: about 25 % slower on a CPU for 9 parameters of 256×256). Half precision is reduced in float32.
    """
    parts: list[torch.Tensor] = []
    for p in params:
        v = p.detach().reshape(-1)
        if v.dtype != torch.float32:
            v = v.float()
        parts += flatReductions(v)
    raw = torch.stack(parts).view(-1, 4)
    raw[:, 1].sqrt_()
    return torch.cat((raw, raw.new_zeros(len(params), 1)), 1)


def _sample(p: torch.Tensor, exact: bool, *, copy: bool = True) -> torch.Tensor:
    """A parameter's values to measure its step by, in float32: whole, or an even subset of `UPDATE_SUBSET`.

    ``copy=False`` (after the step) may return the parameter itself when it is whole and float32.
    """
    v = p.detach().reshape(1, -1)
    if exact:
        return v.clone() if copy and v.dtype == torch.float32 else v.float()
    return subset(v, UPDATE_SUBSET, 4).float()


def _exactOnes(params: list[torch.Tensor]) -> list[bool]:
    """Which parameters' steps are measured on whole copies.

    Those of up to `UPDATE_EXACT_NUMEL` values each, smallest first while the copies fit in `UPDATE_EXACT_BYTES`.
    """
    exact = [False] * len(params)
    used = 0
    for i in sorted(range(len(params)), key=lambda i: params[i].numel()):
        n = params[i].numel()
        if n > UPDATE_EXACT_NUMEL or used + 4 * n > UPDATE_EXACT_BYTES:
            break
        exact[i] = True
        used += 4 * n
    return exact


_GRAD, _UPDATE = len(RAW), len(RAW) + 1


class _FlatStage:
    """Staging memory of the flat groups: per group ``[capacity, 3, n]`` (weights before, after, gradient)."""

    def __init__(self, key: Any, groups: list[list[torch.Tensor]], most: int, budget: int) -> None:
        self.key = key
        size = sum(3 * p.numel() * p.element_size() for g in groups for p in g)
        self.capacity = stageCapacity(size, most, budget)
        self.bufs = [
            torch.empty((self.capacity, 3, sum(p.numel() for p in g)), dtype=g[0].dtype, device=g[0].device)
            for g in groups
        ]
        self.count = 0
        self.rows: list[int] = []


class HookParam(HookCallback):
    """Records the parameters of the modules ``l.css`` gives ``HookParam`` (or ``all``).

    Args:
        every: sample every ``every``-th training batch (None: ``settings.hooks.every``); 1 records all.
        flushEvery: sampled batches between two device-to-host copies (None: ``settings.hooks.flushEvery``).
        updateRatio: record ``‖Δw‖ / ‖w‖`` (copies the watched parameters on sampled batches, see the module).
    """

    prop = "HookParam"
    kind = "param"
    fields = FIELDS
    rawColumns = len(RAW) + 2
    plotFields = ("mean", "std", "min", "max")
    viewFields = FIELDS
    order = 10
    stageBytes = STAGE_BYTES

    def __init__(self, *, every: int | None = None, flushEvery: int | None = None, updateRatio: bool = True) -> None:
        super().__init__(every=every, flushEvery=flushEvery)
        self.updateRatio = bool(updateRatio)
        self._before: list[torch.Tensor] = []
        self._rowT: torch.Tensor | None = None
        self._numel = np.zeros(0)
        self._indices: dict[Any, torch.Tensor] = {}
        self._layout: tuple[list[tuple[list[int], torch.Tensor]], list[int]] | None = None
        self._layoutKey: Any = None
        self._stage: _FlatStage | None = None
        self._exact: list[bool] = []

    def _select(self, modules: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        out, owners, seen = [], [], set()
        for path, m in modules:  # as ModuleSelector.named_parameters, keeping owners
            for name, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    out.append((f"{path}.{name}" if path else name, p))
                    owners.append(m)
        self._owners = owners
        return out

    def hookedModules(self) -> list[Any]:
        """The modules owning the recorded parameters (the tree view marks them)."""
        src = self._source
        owners = getattr(src, "_owners", [])
        lines = set(self._lines())
        return [m for i, m in enumerate(owners) if i in lines]

    def _picked(self, sel: Any) -> set[int]:
        return {id(p) for node in sel.modules() if node.props for p in node.nn._parameters.values() if p is not None}

    def startRun(self) -> None:
        """Re-selects the parameters (see `HookCallback.startRun`)."""
        super().startRun()
        if self._source is self and self._newSelection:  # the same selection keeps its layout
            self._before = []
            self._indices = {}
            self._layout = None
            self._stage = None
            self._numel = np.array([p.numel() for p in self.targets], dtype=np.float64)

    def _groups(self) -> tuple[list[tuple[list[int], torch.Tensor]], list[int]]:
        """Small parameters in flat groups (one per device and dtype, reduced by segment), and large ones."""
        params = self.targets
        kinds = tuple((p.device, p.dtype) for p in params)  # DType / Cuda convert the model at startRun
        if self._layout is None or self._layoutKey != kinds:
            self._layoutKey = kinds
            by: dict[tuple[torch.device, torch.dtype], list[int]] = {}
            big = []
            for i, p in enumerate(params):
                if p.numel() <= FLAT_NUMEL:
                    by.setdefault((p.device, p.dtype), []).append(i)
                else:
                    big.append(i)
            groups = []
            for (device, _), idx in by.items():
                sizes = torch.tensor([params[i].numel() for i in idx], device=device)
                groups.append((idx, torch.repeat_interleave(torch.arange(len(idx), device=device), sizes)))
            self._layout = (groups, big)
            self._exact = _exactOnes([params[i] for i in big])
        return self._layout

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
        groups, big = self._groups()
        with torch.no_grad():
            if groups:  # small parameters: copied now and reduced later, many samples together (`_settle`)
                st = self._stageFor(groups)
                if st.count >= st.capacity:
                    self._settle()
                for (idx, _), buf in zip(groups, st.bufs, strict=True):
                    slot = buf[st.count]
                    if self.updateRatio:
                        torch.cat([params[i].reshape(-1) for i in idx], out=slot[0])
                    # a parameter without a gradient (frozen) stages NaNs: its gradient norm comes out NaN
                    grads = [params[i].grad for i in idx]
                    flat = [
                        params[i].new_full((params[i].numel(),), math.nan) if g is None else g.reshape(-1)
                        for i, g in zip(idx, grads, strict=True)
                    ]
                    torch.cat(flat, out=slot[2])
            withGrad = [i for i in big if params[i].grad is not None]
            if withGrad:
                norms = torch._foreach_norm([params[i].grad for i in withGrad])
                self._put(row, _GRAD, withGrad, torch.stack(norms).to(row.device, torch.float32))
            if self.updateRatio and big:
                # a copy to measure the step by: whole, or an even subset of a very large parameter (`_sample`)
                self._before = [_sample(params[i], e) for i, e in zip(big, self._exact, strict=True)]

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
        groups, big = self._groups()
        with torch.no_grad():
            if groups and self._stage is not None:  # staged at startStep (`_rowT` is None otherwise)
                st = self._stage
                for (idx, _), buf in zip(groups, st.bufs, strict=True):
                    torch.cat([params[i].reshape(-1) for i in idx], out=buf[st.count, 1])
                st.rows.append(self._row)
                st.count += 1
            if big:
                bigParams = [params[i] for i in big]
                self._putMany(row, big, _bigStats(bigParams).to(row.device, torch.float32))
                if self.updateRatio and len(self._before) == len(bigParams):
                    # the step on the same values (its sign does not matter for the norm), scaled to the whole
                    after = [_sample(p, e, copy=False) for p, e in zip(bigParams, self._exact, strict=True)]
                    torch._foreach_sub_(self._before, after)
                    norms = torch.stack(torch._foreach_norm(self._before)).float()
                    norms.mul_(self._sampleScale(big, row.device))
                    self._put(row, _UPDATE, big, norms.to(row.device))
                self._before = []
        self._pendingN[self._row, :, 0] = self._numel
        if groups and self._stage is not None and self._stage.capacity == 1:
            self._settle()  # too large to batch: reduced now
        self._finishRow()

    def _stageFor(self, groups: list[tuple[list[int], torch.Tensor]]) -> _FlatStage:
        """The staging memory for the flat groups (made again when the layout changes)."""
        key = (self._layoutKey, self._flushEvery)
        st = self._stage
        if st is None or st.key != key:
            self._settle()
            params = [[self.targets[i] for i in idx] for idx, _ in groups]
            st = self._stage = _FlatStage(key, params, self._flushEvery, self.stageBytes)
        return st

    def _settle(self) -> None:
        """Reduces the staged samples of the small parameters into their buffer rows, all together.

        Per flat group: one ``index_add_`` for the sums of ``w``, ``w²``, ``g²`` and ``Δw²`` of every
        parameter of every sample, and one ``scatter_reduce_`` each for the minima and maxima.
        """
        st = self._stage
        if st is None or not st.count or self._buf is None or self._layout is None:
            return
        k, rows = st.count, st.rows
        st.count, st.rows = 0, []
        groups = self._layout[0]
        with torch.no_grad():
            for (idx, seg), buf in zip(groups, st.bufs, strict=True):
                x = buf[:k].float()  # [k, 3, n]: before, after, gradient
                b, w, g = x[:, 0], x[:, 1], x[:, 2]
                terms = [w, w * w, g * g] + ([(w - b).square_()] if self.updateRatio else [])
                sums = x.new_zeros(k, len(terms), len(idx)).index_add_(2, seg, torch.stack(terms, 1))
                segs = seg.expand(k, -1)
                mn = x.new_full((k, len(idx)), math.inf).scatter_reduce_(1, segs, w, "amin")
                mx = x.new_full((k, len(idx)), -math.inf).scatter_reduce_(1, segs, w, "amax")
                sq = sums[:, 1:].sqrt()
                update = sq[:, 2] if self.updateRatio else torch.full_like(mn, math.nan)
                stats = torch.stack((sums[:, 0], sq[:, 0], mn, mx, torch.zeros_like(mn), sq[:, 1], update), 2)
                lines = self._indexTensor(idx, self._buf.device)
                stats = stats.to(self._buf.device)
                for r, i in rowRuns(rows):
                    self._buf[r].index_copy_(stats[i].dim() - 2, lines, stats[i])

    def _sampleScale(self, big: list[int], device: torch.device) -> torch.Tensor:
        """``sqrt(n / m)`` per large parameter: a subset's step norm scaled to the whole parameter's (1: exact)."""
        key = ("scale", tuple(big), device)
        t = self._indices.get(key)
        if t is None:
            sizes = [
                (self.targets[i].numel(), _sample(self.targets[i], e, copy=False).numel())
                for i, e in zip(big, self._exact, strict=True)
            ]
            t = self._indices[key] = torch.tensor([math.sqrt(n / m) for n, m in sizes], device=device)
        return t

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

    def _cleanup(self) -> None:
        self._rowT = None  # a staged half-sample is overwritten by the next one
        super()._cleanup()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # settles and flushes what is pending
        state["_stage"] = None
        return state

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
