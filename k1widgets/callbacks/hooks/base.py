"""What HookModule and HookParam share: selection, the sampling cadence, the device buffer, the history, views.

A hook callback watches *lines* (modules for `HookModule`, parameters for `HookParam`) chosen by
``l.css`` at every run start. On a **sampled** training batch (every ``every``-th, see
``settings.hooks.every``) it computes statistics on the device (`k1widgets.callbacks.hooks.stats`)
into one preallocated buffer row; nothing is read back during the batch. The buffer is copied to
the host as one transfer once it holds ``flushEvery`` rows, at the end of every epoch and run, and
while a live view of it lives (`addViewer`) at most as often as the view redraws (``settings.hooks.viewHz``,
and ``settings.live.hz``), then appended to a bounded `History`. Other views (the progress bar, the
loss plot) do not make it copy sooner. Unsampled batches cost one integer increment.

``cb[i]`` is one line's data (`Line`); ``cb[a:b]``, ``cb[::k]``, ``cb[[0, 2]]`` and ``cb.css("...")``
are views: callbacks of the same class over some of the lines, reading the same history (live), and
recording nothing themselves.
"""

from __future__ import annotations

import difflib
import math
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from k1widgets import display
from k1widgets.callbacks.callback import Callback
from k1widgets.callbacks.hooks.history import History, capacityFor
from k1widgets.settings import settings

if TYPE_CHECKING:
    from k1widgets.callbacks.hooks.plot import HookPlot

__all__ = ["HookCallback", "Line", "UnknownFieldError"]


class UnknownFieldError(ValueError):
    """A field name that a hook callback does not record (the message lists those it does)."""


STAGE_BYTES = 2 << 20
"""At most this much staging memory per hook callback (samples waiting to be reduced together): about a
core's cache. Samples larger than half of it are reduced at once (batching them made a 64×256 network's
sampled batches about 8 % slower: the reductions then read memory instead of the cache)."""


def stageCapacity(sampleBytes: int, most: int, budget: int) -> int:
    """Samples of ``sampleBytes`` a staging area of ``budget`` bytes holds: 1 to ``most`` (1: reduced at once)."""
    return max(1, min(most, budget // max(sampleBytes, 1)))


def rowRuns(rows: list[int]) -> list[tuple[int | slice, int | slice]]:
    """``(buffer rows, staged samples)`` pairs to write settled samples with.

    One slice when the rows follow each other (the usual case), else one row at a time (a cancelled
    sample left a gap).
    """
    if rows == list(range(rows[0], rows[0] + len(rows))):
        return [(slice(rows[0], rows[0] + len(rows)), slice(None))]
    return list(zip(rows, range(len(rows)), strict=True))


def _few(names: list[str], most: int = 8) -> str:
    """``"a, b, c"``, or the first ``most`` of them and how many more."""
    if len(names) <= most:
        return ", ".join(names) or "none"
    return f"{', '.join(names[:most])} and {len(names) - most} more"


def _settingEvery() -> int:
    return int(settings.hooks.every)


class Line:
    """One watched module or parameter: its path, the object, and its recorded fields.

    ``line.x`` are the training batches sampled; ``line.mean`` (or ``line["mean"]``) the values of a
    field at those batches (NaN where the line was not recorded); ``line.plot()`` plots them.
    """

    def __init__(self, cb: HookCallback, index: int) -> None:
        self._cb, self._i = cb, index
        self.path = cb.paths[index]
        self.obj = cb.targets[index]

    @property
    def x(self) -> np.ndarray:
        """The training batch of each sample."""
        return self._cb.x

    def __getitem__(self, field: str) -> np.ndarray:
        return self._cb.values(field)[:, 0]

    def __getattr__(self, field: str) -> np.ndarray:
        if field.startswith("_"):
            raise AttributeError(field)
        try:
            return self[field]
        except UnknownFieldError as e:
            raise AttributeError(str(e), name=field, obj=None) from None

    def plot(self, *fields: str) -> HookPlot:
        """A `SliceablePlot` of this line's fields (as the callback's ``plot`` draws them)."""
        return self._cb.plot(*fields)

    def __repr__(self) -> str:
        fields = ", ".join(self._cb.allFields)
        return (
            f"{self._cb.kind} {self.path!r} ({type(self.obj).__name__}): {len(self.x)} samples\n"
            "Use...\n- line.x: the training batch of each sample\n"
            f"- line.<field>: {fields}\n- line.plot(): to plot them"
        )


class HookCallback(Callback):
    """Base of `HookModule` and `HookParam` (see the module docs). Subclasses set the class attributes.

    Args:
        every: sample every ``every``-th training batch (None: ``settings.hooks.every``); 1 records all.
        flushEvery: sampled batches between two device-to-host copies (None: ``settings.hooks.flushEvery``).
    """

    suspendInEval = True
    prop = ""  # the selector prop that picks lines ("HookModule", "HookParam")
    kind = ""  # "module" or "param", for texts
    rawColumns = 0  # width of a device buffer row per line
    fields: tuple[str, ...] = ()  # history value fields
    plotFields: tuple[str, ...] = ("mean", "std", "min", "max")  # plot() without arguments
    viewFields: tuple[str, ...] = ("mean", "std", "min", "max")  # the live view of the callback
    bins = 0  # histogram bins kept per line

    def __init__(self, *, every: int | None = None, flushEvery: int | None = None) -> None:
        super().__init__()
        self.every = every
        self.flushEvery = flushEvery
        self._source: HookCallback = self
        self._keys: list[int] | None = None  # a view's line identities (ids), None for the recorder
        self.paths: list[str] = []
        self.targets: list[Any] = []
        self._index: dict[int, int] = {}  # id(target) -> line
        self.history: History | None = None
        self._x = 0  # the training batch being sampled (``l.trainBatch``)
        self._newSelection = True  # set at startRun: did the selection change (caches start over)?
        self._sampling = False
        self._buf: torch.Tensor | None = None
        self._row = 0
        self._pendingX: list[int] = []
        self._pendingN: np.ndarray = np.zeros((0, 0, 2))
        self._lastFlush = 0.0
        self._wantFlush = False
        self._viewers: weakref.WeakSet[Any] = weakref.WeakSet()  # live views of this recorder (`addViewer`)
        self._selected: tuple[Any, list[tuple[str, Any]]] = (None, [])  # (l.moduleSelector, (path, module)s)

    # ------------------------------------------------------------------ selection
    def _select(self, modules: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        """``(path, target)`` of every line, from the ``(path, module)`` pairs ``l.css`` gives `prop`."""
        raise NotImplementedError

    def _historyBins(self) -> int:
        return 0

    def startRun(self) -> None:
        """Follows ``l.css``: the same lines continue their history; another selection starts a new one."""
        if self._source is not self:
            return
        # l.moduleSelector is the same object until l.css, l.model or the model's structure changes
        sel = self.learner.moduleSelector
        cached: tuple[Any, list[tuple[str, Any]]] = getattr(self, "_selected", (None, []))
        if sel is not cached[0]:
            cached = self._selected = (sel, [(path, node.nn) for path, node in sel.named_modules(self.prop)])
        chosen = self._select(cached[1])
        ids = [id(t) for _, t in chosen]
        self._newSelection = self.history is None or ids != [id(t) for t in self.targets]
        if self._newSelection:
            self.paths = [p for p, _ in chosen]
            self.targets = [t for _, t in chosen]
            self._index = {k: i for i, k in enumerate(ids)}
            bins = self._historyBins()
            cap = capacityFor(
                len(ids),
                len(self.fields),
                bins,
                budget=float(settings.hooks.memory) * 2**20,
                maxRows=int(settings.hooks.rows),
            )
            self.history = History(len(ids), self.fields, bins, capacity=cap)
            self._buf = None
        self._row = 0
        self._pendingX = []
        self._sampling = False

    def _checkCount(self, name: str, v: Any) -> int | None:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1):
            msg = f"{type(self).__name__}'s `{name}` must be a whole number >= 1 or None (the setting), got {v!r}."
            raise ValueError(msg)
        return None if v is None else int(v)

    @property
    def every(self) -> int | None:
        """Sample every ``every``-th training batch; None follows ``settings.hooks.every``; 1 records all."""
        d = self.__dict__
        return d["_everyArg"] if "_everyArg" in d else d.get("every")  # "every": saved before it was checked

    @every.setter
    def every(self, v: int | None) -> None:
        self.__dict__["_everyArg"] = self._checkCount("every", v)

    @property
    def flushEvery(self) -> int | None:
        """Sampled batches between two device-to-host copies; None follows ``settings.hooks.flushEvery``."""
        d = self.__dict__
        return d["_flushArg"] if "_flushArg" in d else d.get("flushEvery")

    @flushEvery.setter
    def flushEvery(self, v: int | None) -> None:
        self.__dict__["_flushArg"] = self._checkCount("flushEvery", v)

    @property
    def _every(self) -> int:
        return self.every if self.every is not None else _settingEvery()

    @property
    def _flushEvery(self) -> int:
        return self.flushEvery if self.flushEvery is not None else int(settings.hooks.flushEvery)

    # ------------------------------------------------------------------ sampling
    def _due(self) -> bool:
        """Called at startBatch: is this training batch sampled (``l.trainBatch`` a multiple of ``every``)?"""
        l = self.learner
        if l is None or l._model is None or not l._model.training or not self.targets:
            return False
        self._x = getattr(l, "trainBatch", 0)
        return self._x % self._every == 0

    def _newRow(self, device: torch.device) -> torch.Tensor:
        """The buffer row for this sample (allocated on ``device`` at the first sample of a run), NaN-filled."""
        k, lines = self._flushEvery, len(self.targets)
        if self._buf is None or self._buf.device != device or self._buf.shape[0] != k:
            self._flush()
            self._buf = torch.empty((k, lines, self.rawColumns), dtype=torch.float32, device=device)
            self._pendingN = np.full((k, lines, 2), np.nan)
        row = self._buf[self._row]
        row.fill_(math.nan)
        self._pendingN[self._row] = np.nan
        return row

    def _finishRow(self) -> None:
        """The sample is complete: keep it, and copy to the host when the buffer is full or a view waits."""
        self._pendingX.append(self._x)
        self._row += 1
        if self._row >= self._flushEvery or self._wantFlush:
            self._flush()
        elif self._viewers:  # a live view redraws at most settings.hooks.viewHz: copy no more often
            feed = self.learner.feed if self.learner is not None else None
            every = max(feed.interval if feed is not None else 0.0, 1.0 / float(settings.hooks.viewHz))
            if time.perf_counter() - self._lastFlush >= every:
                self._flush()

    def addViewer(self, view: Any) -> None:
        """Registers a live view: while one lives, samples reach the host at its rate, not every ``flushEvery``.

        Held weakly; `removeViewer` (or the view being collected) ends it.
        """
        self._source._viewers.add(view)

    def removeViewer(self, view: Any) -> None:
        """Ends `addViewer` (safe to call twice)."""
        self._source._viewers.discard(view)

    def _settle(self) -> None:
        """Finishes the statistics of buffered rows whose computation was deferred (see `HookModule`)."""

    def _flush(self) -> None:
        """Copies the buffered rows to the host (one transfer) and appends them to the history."""
        self._wantFlush = False
        self._settle()
        if self._buf is None or self._row == 0 or self.history is None:
            self._row = 0
            self._pendingX = []
            return
        k = self._row
        raw = self._buf[:k].cpu().numpy()
        n = self._pendingN[:k].copy()
        xs = np.asarray(self._pendingX[:k], dtype=np.float64)
        self._row = 0
        self._pendingX = []
        values, hist = self._derive(raw, n)
        self.history.append(xs, values, hist)
        self._lastFlush = time.perf_counter()

    def _derive(self, raw: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Host values ``[k, lines, fields]`` (and histograms) from raw buffer rows."""
        raise NotImplementedError

    def requestFlush(self) -> None:
        """Asks the loop to copy pending samples to the host at the next sampled batch (thread-safe)."""
        self._wantFlush = True

    def endEpoch(self) -> None:
        """Copies what is pending to the host."""
        if self._source is self:
            self._flush()

    def endRun(self) -> None:
        """Removes any hook left and copies what is pending to the host."""
        if self._source is self:
            self._cleanup()
            self._flush()

    def cancelBatch(self) -> None:
        """A cancelled batch records nothing."""
        if self._source is self and self._sampling:
            self._cleanup()

    def suspend(self) -> None:
        """Removes the hooks at once (they come back with the next sampled batch after `restore`)."""
        if self._source is self and self._sampling:
            self._cleanup()

    def _cleanup(self) -> None:
        self._sampling = False

    # ------------------------------------------------------------------ data
    @property
    def _src(self) -> HookCallback:
        return self._source

    def _lines(self) -> list[int]:
        """Indices of this object's lines in the recorder's history."""
        src = self._source
        if self._keys is None:
            return list(range(len(src.targets)))
        return [src._index[k] for k in self._keys if k in src._index]

    @property
    def allFields(self) -> tuple[str, ...]:
        """Every field that `values` and `plot` accept."""
        return self.fields

    def _checkField(self, field: str) -> None:
        if field not in self.allFields:
            close = difflib.get_close_matches(str(field), self.allFields, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = f"{type(self).__name__} records no field {field!r}. Fields: {', '.join(self.allFields)}.{hint}"
            raise UnknownFieldError(msg)

    @property
    def x(self) -> np.ndarray:
        """The training batch (``l.trainBatch``, counted over the learner's life) of each kept sample."""
        h = self._source.history
        return h.xs() if h is not None else np.empty(0)

    def values(self, field: str) -> np.ndarray:
        """``[samples, lines]`` values of one field for this object's lines (a copy)."""
        self._checkField(field)
        h = self._source.history
        if h is None:
            return np.empty((0, len(self)))
        with h.lock:
            return h.values[: h.n][:, self._lines(), h.field(field)].astype(np.float64)

    @property
    def samples(self) -> int:
        """Samples recorded so far (older ones are kept min-max decimated, see `History`)."""
        h = self._source.history
        return h.samples if h is not None else 0

    # ------------------------------------------------------------------ views
    def _view(self, lines: Sequence[int]) -> HookCallback:
        src = self._source
        new = type(self).__new__(type(self))
        HookCallback.__init__(new, every=self.every, flushEvery=self.flushEvery)
        new.name = self.name
        new._source = src
        new._keys = [id(src.targets[i]) for i in lines]
        new.paths = [src.paths[i] for i in lines]
        new.targets = [src.targets[i] for i in lines]
        new._index = {k: i for i, k in enumerate(new._keys)}
        new.learner = src.learner
        return new

    def __len__(self) -> int:
        return len(self._lines())

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, key: Any) -> Any:
        lines = self._lines()
        if isinstance(key, slice):
            return self._view(lines[key])
        if isinstance(key, list | tuple | np.ndarray):
            try:
                return self._view([lines[int(i)] for i in key])
            except IndexError:
                msg = f"{type(self).__name__} has {len(lines)} {self.kind}s; some of {list(key)!r} are out of range."
                raise IndexError(msg) from None
        if isinstance(key, str):  # a path, as the repr lists them
            paths = [self._source.paths[i] for i in lines]
            if key not in paths:
                close = difflib.get_close_matches(key, paths, n=3)
                hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
                msg = (
                    f"{type(self).__name__} has no {self.kind} {key!r}.{hint} "
                    f"cb[i] takes an index, or a path of: {_few(paths)}."
                )
                raise KeyError(msg)
            return Line(self._view([lines[paths.index(key)]]), 0)
        if isinstance(key, int | np.integer) and not isinstance(key, bool):
            if not -len(lines) <= key < len(lines):
                msg = f"{type(self).__name__} has {len(lines)} {self.kind}s (0..{len(lines) - 1}); got index {key}."
                raise IndexError(msg)
            return Line(self._view([lines[int(key)]]), 0)
        msg = f"{type(self).__name__} takes an int, a {self.kind}'s path, a slice or a list of ints, got {key!r}."
        raise TypeError(msg)

    def css(self, css: str) -> HookCallback:
        """A view over the lines that ``css`` selects (any prop counts) among this object's lines."""
        from k1widgets.selector import select

        l = self._source.learner
        if l is None or l.model is None:
            msg = f"{type(self).__name__}.css() needs the callback in a learner with a model."
            raise RuntimeError(msg)
        sel = select(l.model, css)
        picked = self._picked(sel)
        return self._view([i for i in self._lines() if id(self._source.targets[i]) in picked])

    def _picked(self, sel: Any) -> set[int]:
        raise NotImplementedError

    # ------------------------------------------------------------------ plots and display
    def plot(self, *fields: str, byDirection: bool = False) -> HookPlot:
        """A `SliceablePlot` grid of the fields (default: mean, std, min, max), one line per module/param.

        Raises:
            UnknownFieldError: a field this callback does not record (the message lists those it does).
        """
        from k1widgets.callbacks.hooks.plot import HookPlot

        fields = fields or self.plotFields
        for f in fields:
            self._checkField(f)
        return HookPlot(self, fields, byDirection=byDirection)

    def widget(self) -> Any:
        """The live view of this callback (every field, growing while training runs)."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def __getstate__(self) -> dict[str, Any]:
        if self._source is self:
            self._flush()
        state = super().__getstate__()
        state["_buf"] = None
        state["_sampling"] = False
        state["_selected"] = (None, [])
        state["_viewers"] = None  # views are not saved
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._viewers = weakref.WeakSet()
        # maps keyed by id() name the objects of the process that pickled them (a saved learner, a
        # deepcopy): key them by the objects this copy holds, or no line would be found again
        self._keys = None if self._keys is None else [id(t) for t in self.targets]
        self._index = {id(t): i for i, t in enumerate(self.targets)}
