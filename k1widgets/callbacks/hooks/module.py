"""HookModule: forward and backward statistics of every module ``l.css`` selects, live.

On a sampled training batch one global forward hook (registered for that batch only) sees every
selected module's output. Outputs are de-duplicated (a container returning its last child's tensor is
computed once and recorded for both); small outputs are snapshotted (so an in-place op that follows
cannot change them) and reduced together at ``endPass``; the output gradient comes from
``retain_grad`` (never ``register_full_backward_hook``, which costs about 50 µs per module per batch)
and is reduced after the backward pass. A module called several times in one forward pass (a shared
submodule) is recorded at its first call. A compiled model's sampled forward pass runs eagerly (`_compiled`).

Fields, per direction (``forward`` for outputs, ``backward`` for output gradients): ``mean``, ``std``,
``min`` and ``max``; for outputs also ``zero`` (the fraction of values with
``|x| <= settings.hooks.zeroTol * rms``: dead units) and an activation histogram per module
(``settings.hooks.bins`` bins over the output's [min, max]; `histogram`).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.modules import module as torch_module

from k1widgets.callbacks.hooks.base import STAGE_BYTES, HookCallback, UnknownFieldError, rowRuns, stageCapacity
from k1widgets.callbacks.hooks.stats import GROUP_NUMEL, RAW, derive, headStats, reduceRows, statColumns, tails
from k1widgets.settings import settings

__all__ = ["HookData", "HookModule"]

_STATS = ("mean", "std", "min", "max", "zero")
FIELDS = (
    *(f"forward.{s}" for s in _STATS),
    "forward.lo",
    "forward.hi",
    *(f"backward.{s}" for s in _STATS[:4]),
)
"""History columns: the five statistics of outputs, ``forward.lo/hi`` (each histogram's range), and the
four of output gradients (near-zero fractions are counted for activations only)."""

_NO_FIELD = "backward.zero"
"""Not a field: asking for it says why (see `HookModule._checkField`)."""

HookFn = Callable[["HookData", nn.Module, Any, Any], Any]

HOT_NUMEL = GROUP_NUMEL
"""Outputs above this many values are reduced in their hooks, while they are in the cache (gradients too);
smaller ones are stacked with the others of their shape and reduced together after the backward pass.
(At 64×256 values, reducing each output in its hook made a sampled batch about 15 % slower than stacking:
the calls cost more than the cache saves.)"""


class HookData(dict[str, list[Any]]):
    """Where a custom hook keeps what it records: ``data.max.append(...)`` creates the list ``max`` on first use."""

    def __getattr__(self, name: str) -> list[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.setdefault(name, [])


def _firstTensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, list | tuple):
        for o in out:
            t = _firstTensor(o)
            if t is not None:
                return t
    if isinstance(out, dict):
        for o in out.values():
            t = _firstTensor(o)
            if t is not None:
                return t
    return None


class _Entry:
    """One distinct output tensor of a sampled forward pass and the module slots it belongs to."""

    __slots__ = ("grad", "gradHead", "head", "numel", "slots", "snap", "sub", "tensor", "version")

    def __init__(self, tensor: torch.Tensor, slot: int) -> None:
        self.tensor: torch.Tensor | None = tensor
        self.version = tensor._version
        self.numel = tensor.numel()
        self.slots = [slot]
        self.snap: torch.Tensor | None = None
        self.head: torch.Tensor | None = None  # a large output's sum, norm, min and max, made in the hook
        self.sub: torch.Tensor | None = None  # ... and its subset, for the near-zero count and histogram
        self.gradHead: torch.Tensor | None = None  # a large output's gradient statistics, made in its hook
        self.grad: torch.Tensor | None = None  # that gradient, kept only for custom backward hooks

    def clear(self) -> None:
        self.tensor = self.snap = self.head = self.sub = self.gradHead = self.grad = None


class _Stage:
    """Staging memory for samples of one structure: per group of same-shaped tensors, ``[capacity, k, *shape]``."""

    def __init__(
        self,
        key: Any,
        tensors: list[torch.Tensor],
        kinds: list[tuple[_Entry, int]],
        hist: list[bool],
        most: int,
        budget: int,
    ) -> None:
        self.key = key
        groups: dict[Any, list[int]] = {}
        for i, (t, f) in enumerate(zip(tensors, hist, strict=True)):
            groups.setdefault((t.shape, t.dtype, t.device, f), []).append(i)
        size = sum(t.numel() * t.element_size() for t in tensors)
        self.capacity = stageCapacity(size, most, budget)
        self.groups = [  # (members, staging memory, whether they get near-zero counts and histograms)
            (
                m,
                torch.empty(
                    (self.capacity, len(m), *tensors[m[0]].shape),
                    dtype=tensors[m[0]].dtype,
                    device=tensors[m[0]].device,
                ),
                withHist,
            )
            for (*_, withHist), m in groups.items()
        ]
        self.order = [kinds[i] for m, _, _ in self.groups for i in m]  # the rows of the reduced stats
        self.count = 0
        self.rows: list[int] = []

    def put(self, tensors: list[torch.Tensor]) -> None:
        """Copies one sample's tensors into the next staging row (one ``stack`` per group)."""
        with torch.no_grad():
            for members, buf, _ in self.groups:
                torch.stack([tensors[i] for i in members], out=buf[self.count])
        self.count += 1


class HookModule(HookCallback):
    """Records forward and backward statistics of the modules ``l.css`` gives ``HookModule`` (or ``all``).

    Args:
        every: sample every ``every``-th training batch (None: ``settings.hooks.every``); 1 records all.
        flushEvery: sampled batches between two device-to-host copies (None: ``settings.hooks.flushEvery``).
    """

    prop = "HookModule"
    kind = "module"
    fields = FIELDS
    plotFields = ("mean", "std", "min", "max")
    viewFields = ("mean", "std", "min", "max", "zero")
    order = 10
    hotNumel = HOT_NUMEL
    stageBytes = STAGE_BYTES
    _eager = False  # class defaults, for learners saved before these existed
    _handles: tuple[Any, ...] | list[Any] = ()
    _compiledModel: bool | None = None

    def __init__(self, *, every: int | None = None, flushEvery: int | None = None) -> None:
        super().__init__(every=every, flushEvery=flushEvery)
        self._zeroTol = float(settings.hooks.zeroTol)
        self._stage: _Stage | None = None
        self._forwardHooks: list[HookFn] = []
        self._backwardHooks: list[HookFn] = []
        self.data: dict[str, HookData] = {}  # custom hooks' records: "forward.<i>" / "backward.<i>"
        self._bins = 0
        self._handles: list[Any] = []  # the global hook's handle, or the per-module ones of a compiled model
        self._eager = False  # is this callback's sampled forward pass running eagerly (`EAGER`)?
        self._compiledModel: bool | None = None  # does l.model hold compiled code (`_compiled`)? None: not known yet
        self._entries: list[_Entry] = []
        self._seen: dict[tuple[int, int], _Entry] = {}
        self._alive: list[torch.Tensor] = []  # large outputs of the forward pass going on (see _onForward)
        self._done: set[int] = set()
        self._rowT: torch.Tensor | None = None
        self._learning = True
        self._cloneSlots: set[int] = set()
        self._indexCache: dict[Any, tuple[list[tuple[int, torch.Tensor, torch.Tensor]], np.ndarray]] = {}

    # ------------------------------------------------------------------ configuration
    def _historyBins(self) -> int:
        self._bins = int(settings.hooks.bins)
        return self._bins

    @property
    def rawColumns(self) -> int:  # type: ignore[override]
        """Device buffer columns per module: forward raw stats with histogram, then backward raw stats."""
        return statColumns(self._bins) + len(RAW)

    @property
    def bins(self) -> int:  # type: ignore[override]
        """Histogram bins per module."""
        return self._bins

    @property
    def allFields(self) -> tuple[str, ...]:
        """Statistic names (``mean``, ``std``, ``min``, ``max``, ``zero``) and full column names.

        No ``backward.zero``: near-zero fractions are counted for activations only.
        """
        return (*_STATS, *self.fields)

    def _checkField(self, field: str) -> None:
        if field == _NO_FIELD:
            msg = (
                f"HookModule counts near-zero fractions of activations only, not of gradients: {field!r} is not "
                f"recorded; 'zero' (or 'forward.zero') is. Fields: {', '.join(self.allFields)}."
            )
            raise UnknownFieldError(msg)
        super()._checkField(field)

    def _column(self, field: str) -> str:
        return field if "." in field else f"forward.{field}"

    def values(self, field: str) -> np.ndarray:
        """``[samples, modules]``: ``"mean"`` means ``"forward.mean"``; ``"backward.std"`` etc."""
        self._checkField(field)
        return super().values(self._column(field))

    def _select(self, modules: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        return [(path or "(root)", m) for path, m in modules]

    def _picked(self, sel: Any) -> set[int]:
        return {id(node.nn) for node in sel.modules() if node.props}

    def hookedModules(self) -> list[Any]:
        """The recorded modules (the tree view marks them)."""
        return [self._source.targets[i] for i in self._lines()]

    # ------------------------------------------------------------------ custom hooks (seed API)
    def withForwardHook(self, f: HookFn) -> HookModule:
        """Also calls ``f(data, module, inp, out)`` on every sampled forward pass of each module; returns self.

        ``data`` is the module's `HookData` (``cb.data["forward.<i>"]``); ``data.x.append(v)`` creates
        the list ``x`` on first use. Reading values (``.item()``) syncs the device: keep it cheap.
        """
        self._source._forwardHooks.append(f)
        return self

    def withBackwardHook(self, f: HookFn) -> HookModule:
        """Also calls ``f(data, module, None, grad)`` after each sampled backward pass; returns self.

        ``grad`` is the gradient of the module's output (there is no full backward hook, so no input
        gradients); ``data`` is ``cb.data["backward.<i>"]``.
        """
        self._source._backwardHooks.append(f)
        return self

    def withHook(self, f: HookFn) -> HookModule:
        """`withForwardHook` and `withBackwardHook` with the same ``f``; returns self."""
        return self.withForwardHook(f).withBackwardHook(f)

    def clearHooks(self) -> HookModule:
        """Removes the custom hooks (the built-in statistics stay); returns self."""
        src = self._source
        src._forwardHooks.clear()
        src._backwardHooks.clear()
        return self

    # ------------------------------------------------------------------ recording
    def startRun(self) -> None:
        """Re-selects the modules (see `HookCallback.startRun`) and reads ``settings.hooks.zeroTol``."""
        self._zeroTol = float(settings.hooks.zeroTol)
        self._compiledModel = None
        super().startRun()
        if self._source is self and self._newSelection:  # the same selection keeps what it learned
            self._stage = None
            self._indexCache.clear()
            self._learning = True
            self._cloneSlots = set()

    def startBatch(self) -> None:
        """On a sampled training batch: one global forward hook for this batch only.

        A compiled model (``torch.compile``) runs that forward pass eagerly (see `_compiled`), with a
        hook on each selected module instead of the global one.
        """
        if self._source is not self or not self._due():
            return
        self._sampling = True
        self._entries, self._seen, self._done = [], {}, set()
        self._rowT = None
        if self._compiledModel is None:  # once per run: a model cannot change during one
            self._compiledModel = _compiled(self.learner.model)
        if self._compiledModel:
            self._eager = EAGER.enter()
            self._handles = [m.register_forward_hook(self._onForward) for m in self.targets]
        else:
            self._handles = [torch_module.register_module_forward_hook(self._onForward)]

    def _onForward(self, module: nn.Module, inp: Any, out: Any) -> None:
        slot = self._index.get(id(module))  # the module's line: its slot in the buffer
        if slot is None or slot in self._done:
            return
        self._done.add(slot)
        t = out if isinstance(out, torch.Tensor) else _firstTensor(out)
        if t is None:
            return
        entry = self._seen.get((id(t), t._version))
        if entry is not None:
            entry.slots.append(slot)
        else:
            n = t.numel()
            if n == 0:
                return
            entry = self._seen[(id(t), t._version)] = _Entry(t, slot)
            self._entries.append(entry)
            if n > self.hotNumel:
                # large: reduced now, while it is in the cache (its subset waits for `tails` with the
                # others), and its gradient in a tensor hook (retain_grad would keep a copy of a large
                # gradient until the step)
                entry.head, entry.sub = headStats(t, withSubset=True)
                if t.requires_grad and t.grad_fn is not None:
                    t.register_hook(functools.partial(self._onGrad, entry))  # type: ignore[no-untyped-call]
                entry.tensor = None  # nothing to read back later
                # held until the forward pass ends: a freed output's id could come back as a later
                # module's output, which would then pass for a duplicate of this one
                self._alive.append(t)
            else:
                if self._learning or slot in self._cloneSlots:
                    # an op after this module changes the tensor in place: keep a copy of it as it is now
                    entry.snap = t.detach().clone()
                if t.requires_grad and t.grad_fn is not None:
                    t.retain_grad()
        if self._forwardHooks:
            data = self.data.setdefault(f"forward.{slot}", HookData())
            for f in self._forwardHooks:
                f(data, module, inp, out)

    def _onGrad(self, entry: _Entry, grad: torch.Tensor) -> None:
        """Tensor hook of a large output: its gradient's statistics, at once (returns None: grad unchanged)."""
        entry.gradHead = headStats(grad, withSubset=False)[0]
        if self._backwardHooks:
            entry.grad = grad

    def endPass(self) -> None:
        """Forward pass done: remove the hook (the statistics wait for the gradients)."""
        if self._sampling:
            self._removeHandle()  # and lets go of the forward pass's large outputs

    def startStep(self) -> None:
        """Backward pass done: reduce every output and output gradient into the buffer row, together."""
        if self._sampling:
            self._compute(backward=True)

    def _compute(self, *, backward: bool) -> None:
        """The sample's outputs and gradients: small ones staged (`_stageRow`), large ones written now.

        An output changed in place after its hook (``relu_``, ``x += y`` in a parent's forward) is
        recorded as NaN this once; from then on its module's outputs are copied in the hook. The first
        sample of a run copies every small output and learns which modules need it.
        """
        entries, self._entries = self._entries, []
        if not entries:
            return
        learning, self._learning = self._learning, False
        tensors: list[torch.Tensor] = []
        kinds: list[tuple[_Entry, int]] = []
        histFlags: list[bool] = []
        grads: list[tuple[_Entry, torch.Tensor]] = []
        changed: set[int] = set()
        hot = [e for e in entries if e.head is not None]
        for e in entries:
            t = e.tensor
            moved = t is not None and t._version != e.version
            if moved:
                changed.update(e.slots)
            if e.head is not None:
                continue
            if e.snap is not None:
                tensors.append(e.snap)
                kinds.append((e, 0))
                histFlags.append(True)
            elif t is not None and not moved:
                tensors.append(t)
                kinds.append((e, 0))
                histFlags.append(True)
        self._cloneSlots = changed if learning else self._cloneSlots | changed
        hotGrads: list[_Entry] = []
        if backward:
            for e in entries:
                if e.gradHead is not None:
                    hotGrads.append(e)
                    if e.grad is not None:
                        grads.append((e, e.grad))
                    continue
                g = e.tensor.grad if e.tensor is not None else None
                if g is None:
                    continue
                grads.append((e, g))
                tensors.append(g)
                kinds.append((e, 1))
                histFlags.append(False)
        if not tensors and not hot and not hotGrads:
            for e in entries:
                e.clear()
            return
        fw = statColumns(self._bins)
        device = tensors[0].device if tensors else (hot[0].head if hot else hotGrads[0].gradHead).device  # type: ignore[union-attr]
        self._rowT = self._newRow(device)
        if tensors:
            self._stageRow(tensors, kinds, histFlags)
        if hot or hotGrads:
            rows = self._hotRows(hot, hotGrads, fw, device)  # sorts `hot`
            self._write(self._row, rows, [(e, 0) for e in hot] + [(e, 1) for e in hotGrads], fw)
        for e in entries:
            e.clear()
        if self._backwardHooks:
            for e, g in grads:
                for slot in e.slots:
                    data = self.data.setdefault(f"backward.{slot}", HookData())
                    for f in self._backwardHooks:
                        f(data, self.targets[slot], None, g)

    def _stageRow(self, tensors: list[torch.Tensor], kinds: list[tuple[_Entry, int]], hist: list[bool]) -> None:
        """Copies this sample's small outputs and gradients into the staging memory of its structure.

        They are reduced later (`_settle`), together with the other staged samples: one set of torch
        calls for up to ``flushEvery`` samples instead of one per sample. At the default cadence a sample
        comes every 15th batch, when the reduction kernels have left the CPU's caches: reducing then cost
        about twice what it costs warm. Staging keeps at most `STAGE_BYTES` per callback.
        """
        layout = tuple((t.shape, t.dtype, t.device, f) for t, f in zip(tensors, hist, strict=True))
        key = (layout, tuple((tuple(e.slots), d, e.numel) for e, d in kinds))
        st = self._stage
        if st is None or st.key != key:
            self._settle()
            st = self._stage = _Stage(key, tensors, kinds, hist, self._flushEvery, self.stageBytes)
        elif st.count >= st.capacity:
            self._settle()
        if st.rows and st.rows[-1] == self._row:  # a cancelled batch left this row staged: take its place
            st.rows.pop()
            st.count -= 1
        st.put(tensors)
        st.rows.append(self._row)
        if st.capacity == 1:  # too large to batch: reduced now, while it is in the cache
            self._settle()

    def _settle(self) -> None:
        """Reduces the staged samples (see `_stageRow`) into their buffer rows, all of them together."""
        st = self._stage
        if st is None or not st.count or self._buf is None:
            return
        k, rows = st.count, st.rows
        st.count, st.rows = 0, []
        parts: list[torch.Tensor] = []
        with torch.no_grad():
            for members, buf, withHist in st.groups:
                x = buf[:k].reshape(k * len(members), -1)
                if x.dtype != torch.float32:
                    x = x.float()
                nHist = k * len(members) if withHist else 0
                parts.append(reduceRows(x, self._zeroTol, self._bins, nHist).view(k, len(members), -1))
            stats = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
            for r, i in rowRuns(rows):
                self._write(r, stats[i], st.order, statColumns(self._bins))

    def _hotRows(self, hot: list[_Entry], hotGrads: list[_Entry], fw: int, device: torch.device) -> torch.Tensor:
        """Raw rows (``fw`` columns) of the large outputs (``hot``, reordered in place) and their gradients.

        Heads were made in the hooks; near-zero counts and histograms come from the subsets, one
        `tails` call per output size (usually one for all).
        """
        parts: list[torch.Tensor] = []
        if hot:
            hot.sort(key=lambda e: e.numel)  # stable: by size, the subsets of each size stack together
            heads = torch.stack([e.head.to(device) for e in hot])  # type: ignore[union-attr]
            cols: list[torch.Tensor] = []
            i = 0
            while i < len(hot):
                j = i
                while j < len(hot) and hot[j].numel == hot[i].numel:
                    j += 1
                h = heads[i:j]
                xs = torch.stack([e.sub.to(device) for e in hot[i:j]])  # type: ignore[union-attr]
                zeros, hist = tails(xs, hot[i].numel, h[:, 1], h[:, 2], h[:, 3], self._zeroTol, self._bins)
                cols.append(zeros.unsqueeze(1) if hist is None else torch.cat((zeros.unsqueeze(1), hist), 1))
                i = j
            parts.append(torch.cat((heads, torch.cat(cols) if len(cols) > 1 else cols[0]), 1))
        if hotGrads:
            g = torch.stack([e.gradHead.to(device) for e in hotGrads])  # type: ignore[union-attr]
            parts.append(torch.cat((g, g.new_zeros(len(hotGrads), fw - 4)), 1))
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def _write(self, rows: int | slice, stats: torch.Tensor, kinds: list[tuple[_Entry, int]], fw: int) -> None:
        """Scatters forward rows to ``buf[rows][slots, :fw]`` and gradient rows to ``buf[rows][slots, fw:]``.

        ``rows`` is one buffer row (``stats`` is ``[len(kinds), columns]``) or a slice of rows (``stats``
        is ``[rows, len(kinds), columns]``: staged samples, written together). Everything that depends
        only on the sample's structure (which slots share an output, which outputs have gradients, their
        sizes) is made once and reused: the device index tensors (no host-to-device copy per batch) and
        the element counts.
        """
        assert self._buf is not None  # a row was allocated before anything is written
        target = self._buf[rows]
        stats = stats.to(target.device)
        sig = (tuple((tuple(e.slots), d, e.numel) for e, d in kinds), stats.device, fw)
        cached = self._indexCache.get(sig)
        if cached is None:
            parts: list[tuple[int, torch.Tensor, torch.Tensor]] = []
            counts = np.full((len(self.targets), 2), np.nan)
            for d in (0, 1):
                reps = [i for i, (e, dd) in enumerate(kinds) if dd == d for _ in e.slots]
                slotList = [s for e, dd in kinds if dd == d for s in e.slots]
                for e, dd in kinds:
                    if dd == d:
                        counts[e.slots, d] = e.numel
                if reps:
                    repT = torch.tensor(reps, dtype=torch.long, device=stats.device)
                    parts.append((d, repT, torch.tensor(slotList, dtype=torch.long, device=stats.device)))
            if len(self._indexCache) > 64:
                self._indexCache.clear()
            cached = self._indexCache[sig] = (parts, counts)
        parts, counts = cached
        dim = stats.dim() - 2
        for d, rep, slots in parts:
            if d == 0:
                target[..., :fw].index_copy_(dim, slots, stats.index_select(dim, rep))
            else:
                target[..., fw:].index_copy_(dim, slots, stats[..., : len(RAW)].index_select(dim, rep))
        n = self._pendingN[rows]
        np.fmax(n, counts, out=n)

    def endBatch(self) -> None:
        """Keeps the sample (copied to the host every ``flushEvery`` samples)."""
        if not self._sampling:
            return
        self._removeHandle()
        if self._entries:  # the step never came (backward skipped): forward statistics only
            self._compute(backward=False)
        recorded = self._rowT is not None
        self._sampling = False
        self._rowT = None
        self._seen, self._done = {}, set()
        if recorded:
            self._finishRow()

    def _removeHandle(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        if self._eager:  # compiled code runs again (once no other learner's sampled pass needs eager)
            self._eager = False
            EAGER.leave()
        self._alive = []

    def _cleanup(self) -> None:
        self._removeHandle()
        for e in self._entries:
            e.clear()
        self._entries, self._seen, self._done = [], {}, set()
        self._rowT = None
        super()._cleanup()

    def _derive(self, raw: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        k, lines, _ = raw.shape
        fw = statColumns(self._bins)
        f = derive(raw[..., :fw], n[..., 0])
        b = derive(raw[..., fw:], n[..., 1])
        values = np.empty((k, lines, len(FIELDS)), dtype=np.float32)
        for j, s in enumerate(_STATS):
            values[..., j] = f[s]
            if j < 4:  # near-zero fractions are counted for activations only
                values[..., j + 7] = b[s]
        hist = None
        if self._bins:
            values[..., 5] = raw[..., len(RAW)]
            values[..., 6] = raw[..., len(RAW) + 1]
            counts = raw[..., len(RAW) + 2 : fw].astype(np.float64)
            with np.errstate(all="ignore"):
                fr = counts / n[..., 0:1]
            fr[np.isnan(fr)] = 0.0  # not recorded (np.nan_to_num costs about 1 ms here)
            hist = fr.astype(np.float16)
        else:
            values[..., 5:7] = np.nan
        return values, hist

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # settles and flushes what is pending
        state["_stage"] = None  # staging memory: empty now, and up to 16 MB
        state["_handles"] = []
        state["_eager"] = False
        return state

    # ------------------------------------------------------------------ data
    def histogram(self, module: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x, fractions[samples, bins], lo, hi)`` of one module's activation histograms.

        Bin ``j`` of sample ``t`` covers ``lo[t] + (hi[t] - lo[t]) * [j, j + 1] / bins``; the edge bins
        also count the values beyond the range.
        """
        h = self._source.history
        lines = self._lines()
        isIndex = isinstance(module, int | np.integer) and not isinstance(module, bool)
        if not isIndex or not -len(lines) <= module < len(lines):
            valid = f"0..{len(lines) - 1}" if lines else "none: l.css selects no module for HookModule"
            msg = f"HookModule.histogram takes a module index ({valid}), got {module!r}."
            raise IndexError(msg)
        line = lines[int(module)]
        if h is None or h.hist is None:
            return np.empty(0), np.empty((0, 0)), np.empty(0), np.empty(0)
        with h.lock:
            x, v, hist = h.view()
            fr = hist[:, line].astype(np.float64)  # type: ignore[index]
            lo = v[:, line, h.field("forward.lo")].astype(np.float64)
            hi = v[:, line, h.field("forward.hi")].astype(np.float64)
            return x.copy(), fr, lo, hi

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        lines = self._lines()
        src = self._source
        names = "\n".join(f"  {i}. {src.paths[j]} ({type(src.targets[j]).__name__})" for i, j in enumerate(lines))
        return (
            f"Callback `{self.name}`: {len(lines)} modules, {self.samples} forward and backward samples each "
            f"({_cadence(self._every)}):\n{names}\n\n"
            "Use...\n"
            "- cb.plot(): to quickly look at everything\n"
            '- cb.plot("zero", "mean"): to plot some fields (mean, std, min, max, zero)\n'
            "- cb[i]: to view a single module\n"
            "- cb[a:b]: to get a new HookModule with selected modules\n"
            '- cb.css("..."): to get a new HookModule with the modules a selector picks\n'
            "- cb.histogram(i): activation histograms of module i over time\n"
            "- cb.withForwardHook(f), cb.withBackwardHook(f), cb.withHook(f): to record more, "
            "f(data, module, inp, out)\n"
            "- cb.clearHooks(): to remove those custom hooks\n"
            '- cb.something: to get specific attribute "something" from learner if not available\n'
            "- cb.withCheckpoint(checkpoint, f): to quickly insert an event handler\n"
            "- cb.detach(): to remove itself from its parent Callbacks"
        )


class _EagerStance:
    """``torch.compiler.set_stance("force_eager")`` while any learner's sampled forward pass needs it.

    The stance is the whole process's: learners training in several threads share it, counted, so the
    last one to leave puts back the stance the user had (with one ``set_stance`` each, the first to
    leave would end another's eager pass, and the last would leave ``force_eager`` on for good).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._ctx: Any = None

    def enter(self) -> bool:
        """Starts (or joins) eager execution; False where torch has no ``set_stance`` (before 2.6)."""
        setStance = getattr(torch.compiler, "set_stance", None)
        if setStance is None:
            return False
        with self._lock:
            if self._users == 0:
                self._ctx = setStance("force_eager")
            self._users += 1
        return True

    def leave(self) -> None:
        """Ends one `enter`; the last one restores the stance from before the first."""
        with self._lock:
            self._users -= 1
            if self._users == 0:
                ctx, self._ctx = self._ctx, None
                ctx.__exit__(None, None, None)


EAGER = _EagerStance()
"""The process's shared eager stance for sampled forward passes of compiled models."""


def _compiled(model: nn.Module | None) -> bool:
    """Whether ``model`` holds code made by ``torch.compile`` (an ``OptimizedModule``, or ``module.compile()``).

    Compiled code does not call the hooks of the modules inside it, and tracing it with hooks that
    come and go would compile it again at every sampled batch (a compiler that gives up after 8 falls
    back to eager for good). So a sampled forward pass of a compiled model runs eagerly, under
    ``torch.compiler.set_stance("force_eager")``, with a hook on each selected module (a global hook
    makes every call of an ``OptimizedModule`` warn); other batches run the compiled code. (Before
    torch 2.6, which has no ``set_stance``, compiled code may skip the hooks of the modules inside it.)
    """
    if model is None or "torch._dynamo" not in sys.modules:  # nothing was ever compiled in this process
        return False
    optimized = getattr(sys.modules.get("torch._dynamo.eval_frame"), "OptimizedModule", ())
    return any(isinstance(m, optimized) or getattr(m, "_compiled_call_impl", None) is not None for m in model.modules())


def _cadence(every: int) -> str:
    """``"every training batch"`` or ``"every 15th training batch"``."""
    if every == 1:
        return "every training batch"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(every % 10 if every % 100 not in (11, 12, 13) else 0, "th")
    return f"every {every}{suffix} training batch"
