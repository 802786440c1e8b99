"""Learner: trains a model on data through callbacks, as the k1lib seeds describe.

Set four things (``l.model``, ``l.data``, ``l.opt``, ``l.lossF``) and call ``l.run(epochs)``. Every
step of the loop is a checkpoint that callbacks hook into (see `k1widgets.callbacks.CHECKPOINTS`).
Cancel exceptions end a batch, an epoch or the run with clean-up at every level. A run can also go
to a worker thread (``l.run(epochs, background=True)``), which returns a `RunHandle` at once.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import torch
from torch import nn

from k1widgets import display
from k1widgets.background import RunHandle
from k1widgets.callbacks.callback import Callbacks
from k1widgets.callbacks.modify import _NOT_A_PAIR
from k1widgets.cancel import CancelBatchException, CancelEpochException, CancelException, CancelRunException
from k1widgets.live import CommandQueue, Feed
from k1widgets.persist.saves import SaveFormatError, readSave, readWeights, writeSave
from k1widgets.settings import settings

__all__ = ["Learner", "LearnerLoadError", "LearnerNotReadyError", "RunHandle"]

_CANCELS = {"batch": CancelBatchException, "epoch": CancelEpochException, "run": CancelRunException}
_SCOPE_RANK = {"batch": 0, "epoch": 1, "run": 2}


class LearnerNotReadyError(RuntimeError):
    """`Learner.run` was called before everything it needs was set."""


class LearnerLoadError(RuntimeError):
    """A saved learner file could not be read."""


def _className(cls: type) -> str:
    """How users spell a class: ``nn.CrossEntropyLoss``, ``torch.optim.Adam``, else its bare name."""
    module = cls.__module__
    if module.startswith("torch.nn."):
        return f"nn.{cls.__name__}"
    if module.startswith("torch.optim."):
        return f"torch.optim.{cls.__name__}"
    return cls.__name__


_MAIN_OPTIONS = ("lr", "momentum", "betas", "eps", "weight_decay")


def _optimizerText(opt: Any) -> str:
    """Torch's optimizer repr with the main options (``lr`` first) at the top of each parameter group.

    torch lists a group's options alphabetically, so the 10-line cut of the learner's repr hid ``lr``.
    """
    out: list[str] = []
    group: list[str] = []

    def flush() -> None:
        rank = {k: i for i, k in enumerate(_MAIN_OPTIONS)}
        key = lambda line: rank.get(line.strip().split(":", 1)[0], len(rank))  # noqa: E731
        out.extend(sorted(group, key=key))  # stable: the other options keep torch's order
        group.clear()

    for line in repr(opt).splitlines():
        if line.startswith("    ") and ": " in line:
            group.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return _limitLines("\n".join(out))


def _indent(s: str, n: int = 4) -> str:
    return "\n".join(" " * n + line for line in s.splitlines())


def _limitLines(s: str, limit: int = 10) -> str:
    lines = s.splitlines()
    return "\n".join([*lines[:limit], "....."]) if len(lines) > limit else s


def _baseName(fileName: str | os.PathLike[str]) -> str:
    name = os.fspath(fileName)
    return name[: -len(".pth")] if name.endswith(".pth") else name


DEFAULT_CALLBACKS = (
    "ProgressBar",
    "DontTrainValid",
    "Autosave",
    "LossLandscape",
    "HookModule",
    "HookParam",
    "Loss",
    "CancelOnExplosion",
    "ParamFinder",
)
"""The callbacks every new learner starts with, by class name (each has its ``cbs.withX`` shortcut)."""


class Learner:
    """Trains ``model`` on ``data`` with ``opt`` and ``lossF``, through callbacks ``cbs``.

    Example:
        >>> from k1widgets.data import Data, FunctionDataset
        >>> l = Learner()
        >>> l.model = nn.Linear(1, 1)
        >>> l.data = Data.fromDataset(FunctionDataset.identity, batchSize=64)  # bfloat16 samples, as the seeds'
        >>> l.opt = torch.optim.Adam(l.model.parameters(), lr=1e-2)
        >>> l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean()
        >>> l.cbs.withModifyBatch(lambda x, y: (x[:, None], y)).withDType(torch.float32)  # doctest: +ELLIPSIS
        Callbacks:
        ...
        >>> l.run(3)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Progress: ...
        >>> l.status, len(l.Loss.epoch.train)
        ('done', 3)
    """

    def __init__(self) -> None:
        self._model: nn.Module | None = None
        self._data: Any = None
        self._opt: torch.optim.Optimizer | None = None
        self._lossF: Any = None
        self._css = "*"
        self._selector: Any = None
        self._selectorKey: tuple[int, str] | None = None
        self.trainBatch = 0  # training batches run so far (during one: its index); the hooks' x axis
        self._initRuntime()
        self._cbs = Callbacks()
        self.cbs = self._defaultCallbacks()

    def _initRuntime(self) -> None:
        """State that is never saved: the live feed, commands, the running flag."""
        self.feed = Feed()
        self._commands = CommandQueue()
        self._control = threading.Lock()  # `_running` changes and "apply now or at the next batch" decisions
        self._paused = False
        self._running = False
        self._loopThread: int | None = None  # the thread running the loop, while it runs
        self.status = "idle"
        self.epoch = self.epochs = self.batch = self.batches = 0
        self.xb: Any = None
        self.yb: Any = None
        self.y: Any = None
        self.lossG: Any = None  # the loss with its graph; callbacks may change it at endLoss
        self.loss: Any = None
        self.metab: tuple[Any, ...] = ()
        self.progress = 0.0

    @staticmethod
    def _defaultCallbacks() -> Callbacks:
        # the seed lists ProgressBar, DontTrainValid, Autosave, LossLandscape, HookModule, HookParam,
        # <user callbacks>, Loss, CancelOnExplosion, ParamFinder; dispatch follows each class's `order`
        cbs = Callbacks()
        for name in DEFAULT_CALLBACKS:
            getattr(cbs, f"with{name}")()
        return cbs

    # ------------------------------------------------------------------ the four ingredients
    @property
    def model(self) -> nn.Module:
        """The `torch.nn.Module` to train (None until set: `run` names what is missing)."""
        return cast("nn.Module", self._model)

    @model.setter
    def model(self, model: nn.Module) -> None:
        self._refuseWhileRunning("model")
        if isinstance(model, type):
            name = _className(model)
            msg = (
                f"l.model must be a torch.nn.Module instance, got the class {name}. Did you mean l.model = {name}(...)?"
            )
            raise TypeError(msg)
        if model is not None and not isinstance(model, nn.Module):
            msg = f"l.model must be a torch.nn.Module, got {type(model).__name__}: {model!r:.80}."
            raise TypeError(msg)
        self._model = model

    @property
    def data(self) -> Any:
        """A `k1widgets.data.Data` (``.train`` and ``.valid``); a ``[train, valid]`` pair is wrapped."""
        return self._data

    @data.setter
    def data(self, data: Any) -> None:
        from k1widgets.data import Data

        self._refuseWhileRunning("data")
        if data is None or isinstance(data, Data):
            self._data = data
        elif isinstance(data, list | tuple) and len(data) == 2 and any(isinstance(d, torch.Tensor) for d in data):
            shapes = ", ".join(str(tuple(d.shape)) if isinstance(d, torch.Tensor) else type(d).__name__ for d in data)
            msg = (
                f"l.data takes [train, valid] loaders of batches, got a pair of tensors ({shapes}), which would be "
                "iterated row by row. To batch and split inputs X and targets Y: "
                "l.data = Data.fromDataset(TensorDataset(X, Y), batchSize=64)."
            )
            raise TypeError(msg)
        elif isinstance(data, list | tuple) and len(data) == 2:
            self._data = Data(data[0], data[1])
        elif hasattr(data, "train") and hasattr(data, "valid"):
            self._data = data
        else:
            msg = (
                f"l.data must be a k1widgets.data.Data or a [train, valid] pair of iterables, got "
                f"{type(data).__name__}. Example: l.data = Data.fromDataset(dataset, batchSize=64), "
                "or l.data = Data(trainLoader, validLoader) for loaders you already have."
            )
            raise TypeError(msg)

    @property
    def opt(self) -> torch.optim.Optimizer:
        """The optimizer (any `torch.optim.Optimizer`; None until set)."""
        return cast("torch.optim.Optimizer", self._opt)

    @opt.setter
    def opt(self, opt: torch.optim.Optimizer) -> None:
        self._refuseWhileRunning("opt")
        if isinstance(opt, type):
            name = _className(opt)
            msg = (
                f"l.opt must be an optimizer instance, got the class {name}. "
                f"Did you mean l.opt = {name}(l.model.parameters(), lr=1e-3)?"
            )
            raise TypeError(msg)
        if opt is not None and not (hasattr(opt, "step") and hasattr(opt, "zero_grad")):
            msg = f"l.opt must be an optimizer with step() and zero_grad(), got {type(opt).__name__}."
            raise TypeError(msg)
        self._opt = opt

    @property
    def lossF(self) -> Any:
        """The loss function ``lossF(y, yb) -> scalar tensor``."""
        return self._lossF

    @lossF.setter
    def lossF(self, f: Any) -> None:
        self._refuseWhileRunning("lossF")
        if isinstance(f, type):
            name = _className(f)
            msg = (
                f"l.lossF must be a loss function or a loss module instance, got the class {name}. "
                f"Did you mean {name}()?"
            )
            raise TypeError(msg)
        if f is not None and not callable(f):
            msg = f"l.lossF must be callable as lossF(y, yb), got {type(f).__name__}: {f!r:.80}."
            raise TypeError(msg)
        self._lossF = f

    def _refuseWhileRunning(self, name: str) -> None:
        if self.__dict__.get("_running"):
            msg = (
                f"l.{name} cannot be replaced while the learner runs: the loop keeps using the one it started "
                "with. Wait for the run to end (h.wait()) or cancel it (l.cancel()) first."
            )
            raise RuntimeError(msg)

    @property
    def cbs(self) -> Callbacks:
        """The `Callbacks` that run at every checkpoint. Assign a new one to replace them all."""
        return self._cbs

    @cbs.setter
    def cbs(self, cbs: Callbacks) -> None:
        if not isinstance(cbs, Callbacks):
            msg = f"l.cbs must be a k1widgets.Callbacks, got {type(cbs).__name__}."
            raise TypeError(msg)
        if self._running:
            msg = "l.cbs cannot be replaced while the learner runs; append or suspend callbacks instead."
            raise RuntimeError(msg)
        self._cbs._setLearner(None)
        self._cbs = cbs
        cbs._setLearner(self)

    # ------------------------------------------------------------------ selection
    @property
    def css(self) -> str:
        """The CSS selector choosing which modules the hooks watch (see `k1widgets.selector`)."""
        return self._css

    @css.setter
    def css(self, css: str) -> None:
        from k1widgets.selector import parse

        if not isinstance(css, str):
            msg = f"l.css must be a string of CSS selector rules, got {type(css).__name__}: {css!r:.80}."
            raise TypeError(msg)
        parse(css)  # raises SelectorSyntaxError, with a caret under the problem, before anything changes
        self._css = css
        self._selector = self._selectorKey = None  # `l.css = l.css` forces a rebuild
        if self._model is not None:
            self.moduleSelector  # noqa: B018  (builds now, so rules that match nothing warn at once)
        self.feed.flush()  # views showing l.css update now, not at the next batch

    @property
    def moduleSelector(self) -> Any:
        """The `ModuleSelector` tree of ``l.model`` with the props ``l.css`` assigns.

        Rebuilt when ``l.css`` or ``l.model`` changes, or when the model's structure changed in place
        (modules added or removed). Callbacks read it at ``startRun``: an ``l.css`` change during a
        run (from code or from the tree view's CSS box) shows here at once and reaches the hooks at
        the next run start. Rules that match nothing raise one `SelectorWarning` each, once per tree.
        """
        from k1widgets.selector import select

        model = self._model
        if model is None:
            msg = "l.moduleSelector needs a model: set l.model = ... first."
            raise LearnerNotReadyError(msg)
        css = self._css
        sel = self._selector
        if sel is None or sel.nn is not model or sel.css != css or sel.stale:
            sel = select(model, css, warn=False)
            sel._attachLearner(self)  # lets its tree view write l.css back
            self._selector, self._selectorKey = sel, (id(model), css)
        sel._emitWarnings()  # once per tree, and never on a view's thread (quietWarnings)
        return sel

    @property
    def selector(self) -> Any:
        """The same as `moduleSelector` (the base module's reference calls it ``l.selector``)."""
        return self.moduleSelector

    # ------------------------------------------------------------------ running
    def _missing(self) -> list[str]:
        missing = [n for n in ("model", "data", "opt", "lossF") if getattr(self, "_" + n) is None]
        return missing

    def _checkReady(self) -> None:
        missing = self._missing()
        if missing:
            how = ", ".join(f"l.{n} = ..." for n in missing)
            msg = f"The learner cannot run: it has no {', '.join(missing)}. Set {how} first."
            raise LearnerNotReadyError(msg)

    def run(self, epochs: int, batches: int | None = None, *, background: bool = False) -> Any:
        """Trains for ``epochs`` epochs.

        Args:
            epochs: number of passes over ``data.train`` (each followed by ``data.valid``).
            batches: if set, every epoch stops after this many batches.
            background: train in a worker thread and return a `RunHandle` at once, so widget
                controls work in every front-end.

        Returns:
            The learner itself, or a `RunHandle` when ``background=True``.

        Raises:
            LearnerNotReadyError: model, data, optimizer or loss function is missing.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            msg = f"epochs must be a whole number >= 0, got {epochs!r}."
            raise ValueError(msg)
        if batches is not None and (isinstance(batches, bool) or not isinstance(batches, int) or batches < 1):
            msg = f"batches must be a whole number >= 1 or None, got {batches!r}."
            raise ValueError(msg)
        self._checkReady()
        with self._control:
            if self._running:
                msg = "The learner is already running; wait for that run or cancel it first (l.cancel())."
                raise RuntimeError(msg)
            self._running = True
        if background:
            return RunHandle(self, epochs, batches)
        try:
            self._run(epochs, batches)
        finally:
            self._stopRunning()
        return self

    def _stopRunning(self) -> None:
        """The run is over: later `atBatchBoundary` calls apply at once, and those that came too late run now."""
        with self._control:
            self._running = False
            late = self._commands.drain()
        for cmd, arg in late:
            if cmd == "call":
                arg()

    def _run(self, epochs: int, batches: int | None, started: threading.Event | None = None) -> None:
        from k1widgets.callbacks.guards import BatchLimit

        cbs = self.cbs
        self.epochs, self.epoch, self.batch = epochs, 0, 0
        for cmd, arg in self._commands.drain():  # stale cancels and pauses do not apply; queued edits do,
            if cmd == "call":
                arg()
            elif cmd == "infer":  # and l(xb) calls waiting for this run are served at its first batch
                self._commands.put(cmd, arg)
        self._paused = False
        self._loopThread = threading.get_ident()
        self.status = "running"
        endRunReached = False
        with cbs.context():
            if batches is not None:
                cbs.append(BatchLimit(batches, silent=True), "_batchLimit")
            try:
                try:
                    cbs("startRun")
                    if started is not None:
                        started.set()
                    for epoch in range(epochs):
                        self.epoch = epoch
                        self._runEpoch()
                except CancelRunException as e:
                    self.status = "cancelled"
                    cbs("cancelRun")
                    self._announce(e)
                endRunReached = True
                cbs("endRun")
            except BaseException as e:
                self.status = "error" if not isinstance(e, KeyboardInterrupt) else "cancelled"
                if not endRunReached:  # an endRun that raised itself is not run twice
                    self._cleanUpAfter(e)
                raise
            finally:
                self._loopThread = None
                if self.status == "running":
                    self.status = "done"
                self.feed.flush()

    def _cleanUpAfter(self, error: BaseException) -> None:
        """An error (or Ctrl-C) escaped the loop: still give callbacks their ``endRun`` clean-up."""
        try:
            self.cbs("endRun")
        except Exception as e:
            error.add_note(f"while cleaning up after it, endRun raised too: {e!r}")

    def _runEpoch(self) -> None:
        cbs, model, data = self.cbs, self._model, self._data
        assert model is not None  # checked by run()
        try:
            cbs("startEpoch")
            train, valid = data.train, data.valid
            try:
                self.batches = len(train) + len(valid)
            except TypeError:
                self.batches = self.batches or 0
            model.train()
            batch = 0
            for item in train:
                self.batch = batch
                self._runBatch(item, True)
                batch += 1
                self.trainBatch += 1
            if not cbs("startValidBatches"):
                model.eval()
                try:
                    with torch.no_grad():
                        for item in valid:
                            self.batch = batch
                            self._runBatch(item, False)
                            batch += 1
                finally:
                    model.train()  # on every way out: done, cancelled, an error, Ctrl-C
        except CancelEpochException as e:
            cbs("cancelEpoch")
            self._announce(e)
        except CancelRunException:
            cbs("cancelEpoch")
            cbs("endEpoch")
            self.feed.flush()
            raise
        cbs("endEpoch")
        self.feed.flush()

    def _runBatch(self, item: Any, training: bool) -> None:
        fire = self.cbs.fire
        unpaired = False
        try:
            if self._commands:
                self._applyCommands()
            if type(item) is tuple and len(item) == 2:
                (self.xb, self.yb), self.metab = item, ()
            else:
                unpaired = self._unpack(item)
            self.loss = None
            fire("startBatch")
            if unpaired and self.yb is _NOT_A_PAIR:
                raise TypeError(_notAPairMessage(item))
            fire("startPass")
            self.y = self._model(self.xb)  # type: ignore[misc]
            fire("endPass")
            fire("startLoss")
            lossG = self.lossG = self._lossF(self.y, self.yb)
            self.loss = lossG.detach()
            fire("endLoss")
            if training:
                if not fire("startBackward"):
                    self.lossG.backward()  # as the endLoss callbacks left it (scaled, regularised...)
                if not fire("startStep"):
                    self._opt.step()  # type: ignore[union-attr]
                if not fire("startZeroGrad"):
                    self._opt.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        except CancelBatchException as e:
            fire("cancelBatch")
            self._announce(e)
        except (CancelEpochException, CancelRunException):
            fire("cancelBatch")
            fire("endBatch")
            raise
        fire("endBatch")
        self.feed.changed()

    def _unpack(self, item: Any) -> bool:
        """Sets ``xb, yb, metab`` from a batch that is not a plain pair; True if it is not a sequence at all.

        A batch that is no tuple or list (a dict, a bare tensor) becomes ``l.xb`` with ``l.yb`` unset, so a
        ``ModifyBatch`` can turn it into a pair; if nothing does, the batch fails with a clear error.
        """
        if isinstance(item, tuple | list) and len(item) >= 2:
            self.xb, self.yb, *metab = item
            self.metab = tuple(metab)
            return False
        self.xb, self.yb, self.metab = item, _NOT_A_PAIR, ()
        return True

    def _announce(self, e: CancelException) -> None:
        if e.silent or display.isSuppressed():  # a dashboard's run: the dashboard shows the message
            return
        end = "\n" if settings.cancelRun_newLine else ""
        sys.stdout.write(e.announcement + end)

    # ------------------------------------------------------------------ controls (thread-safe)
    def cancel(self, scope: str = "run", message: str = "cancelled by the user") -> None:
        """Asks the running loop to cancel the batch, the epoch or the run at the next batch boundary.

        Safe to call from any thread (widget buttons, a `RunHandle`).
        """
        if scope not in _CANCELS:
            msg = f"cancel scope must be one of {', '.join(_CANCELS)}, got {scope!r}."
            raise ValueError(msg)
        self._commands.put("cancel", (scope, message))

    def pause(self) -> None:
        """Asks the running loop to pause at the next batch boundary (thread-safe)."""
        self._commands.put("pause")

    def resume(self) -> None:
        """Resumes a paused run (thread-safe)."""
        self._commands.put("resume")

    def atBatchBoundary(self, fn: Callable[[], Any]) -> None:
        """Runs ``fn()`` where it cannot race the training loop: at once when idle, else at the next batch boundary.

        Safe to call from any thread (widget callbacks use it to suspend or detach callbacks and to
        change hyper-parameters). During a run, ``fn`` runs on the training thread before the next
        batch, and the learner's feed is flushed after it so views show the change.
        """
        with self._control:
            if self._running:
                self._commands.put("call", fn)
                return
        fn()
        self.feed.flush()

    def setParam(self, param: str, value: Any, *, group: int | None = None) -> None:
        """Sets an optimizer hyper-parameter (``lr``, ``weight_decay``, ``momentum``, ``betas``...), thread-safely.

        The value is checked now (an error says what is valid) and applied by `atBatchBoundary`: at
        once when idle, at the next batch boundary during a run.

        Args:
            param: a key of the optimizer's param groups, e.g. ``"lr"`` (the seeds' "param", as in ParamFinder).
            value: a number (or a string holding one); a pair for ``betas``.
            group: the param group to change; None changes every group.

        Example:
            >>> l = Learner.sample()
            >>> l.setParam("lr", 1e-3)          # every param group; during a run, before the next batch
            >>> l.opt.param_groups[0]["lr"]
            0.001
        """
        opt = self._opt
        if opt is None:
            msg = f"l.setParam({param!r}, ...) needs an optimizer: set l.opt = ... first."
            raise LearnerNotReadyError(msg)
        groups = opt.param_groups
        if group is not None and not (isinstance(group, int) and 0 <= group < len(groups)):
            n = len(groups)
            msg = f"group must be None (every group) or 0..{n - 1} (the optimizer has {n}), got {group!r}."
            raise ValueError(msg)
        indices = list(range(len(groups))) if group is None else [group]
        keys = sorted(k for k in groups[indices[0]] if k != "params")
        if param == "params" or any(param not in groups[i] for i in indices):
            close = difflib.get_close_matches(str(param), keys, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = f"{type(opt).__name__} has no hyper-parameter {param!r}. It has: {', '.join(keys)}.{hint}"
            raise ValueError(msg)
        new = _hyperValue(param, groups[indices[0]][param], value)

        def apply() -> None:
            for i in indices:
                g = opt.param_groups[i]
                if isinstance(g[param], torch.Tensor):
                    g[param].fill_(new)  # a tensor lr (capturable/fused optimizers) stays a tensor
                else:
                    g[param] = new

        self.atBatchBoundary(apply)

    def _applyCommands(self) -> None:
        while True:
            commands = self._commands.drain()
            cancel: tuple[str, str] | None = None
            for cmd, arg in commands:
                if cmd == "infer":  # inference callers get their answer, even when a cancel came first
                    self._serve(arg)
                elif cmd == "pause":
                    self._paused = True
                    self.status = "paused"
                elif cmd == "resume":
                    self._paused = False
                    self.status = "running"
                elif cmd == "cancel":
                    # every command of the batch is applied; of several cancels, the widest scope wins
                    if cancel is None or _SCOPE_RANK[arg[0]] > _SCOPE_RANK[cancel[0]]:
                        cancel = arg
                elif cmd == "call":
                    arg()
            if cancel is not None:
                self._paused = False
                self.status = "running"
                scope, message = cancel
                raise _CANCELS[scope](message)
            if commands:
                self.feed.flush()
            if not self._paused:
                return
            time.sleep(0.02)

    # ------------------------------------------------------------------ inference and helpers
    def __call__(self, xb: Any, yb: Any = None) -> Any:
        """Runs one batch through the model in eval mode, without training or printing.

        During a run (a background one, or from a widget's thread) the call waits for the next batch
        boundary, where the loop computes it between two training batches and hands the result back:
        the run's model mode, batches and recorded losses are untouched. A callback of the run may
        call it too (it runs at once, on the loop's thread).

        Args:
            xb: x batch. Callbacks that prepare batches (``ModifyBatch``, ``DType``...) still apply.
            yb: y batch. If given, returns ``(y, loss)`` with ``loss`` a float, else ``y``.
        """
        if self._model is None:
            msg = "l(xb) needs a model: set l.model = ... first."
            raise LearnerNotReadyError(msg)
        if yb is not None and self._lossF is None:
            msg = "l(xb, yb) computes a loss, so it needs l.lossF = ... first (or call l(xb) alone)."
            raise LearnerNotReadyError(msg)
        if self._running and threading.get_ident() != self._loopThread:
            return self._inferBetweenBatches(xb, yb)
        return self._infer(xb, yb)

    def _infer(self, xb: Any, yb: Any) -> Any:
        model, cbs = self._model, self.cbs
        assert model is not None  # checked by __call__
        wasTraining = model.training
        saved = (self.xb, self.yb, self.y, self.metab)
        try:
            with torch.no_grad(), cbs.suspendEval():
                model.eval()
                self.xb, self.yb, self.metab = xb, yb, ()
                cbs("startBatch", "startPass")
                self.y = y = model(self.xb)
                cbs("endPass")
                if yb is None:
                    return y
                cbs("startLoss")
                loss = self._lossF(y, self.yb)
                return y, float(loss)
        finally:
            model.train(wasTraining)
            self.xb, self.yb, self.y, self.metab = saved

    def _inferBetweenBatches(self, xb: Any, yb: Any) -> Any:
        """Queues ``l(xb)`` for the running loop and waits for its answer."""
        request = _Inference(xb, yb)
        self._commands.put("infer", request)
        while not request.done.wait(0.05):
            if not self._running and request.claim():  # the run ended before its next batch
                return self(xb, yb)
        if request.error is not None:
            raise request.error
        return request.result

    def _serve(self, request: _Inference) -> None:
        """Computes a queued ``l(xb)`` at a batch boundary, on the loop's thread."""
        if not request.claim():
            return
        try:
            request.result = self._infer(request.xb, request.yb)
        except Exception as e:  # the caller gets the error; the run goes on
            request.error = e
        except BaseException:
            request.error = RuntimeError("The run was interrupted while it computed l(xb); call it again.")
            raise
        finally:
            request.done.set()

    def record(self, epochs: int = 1, batches: int | None = None) -> Any:
        """Runs without training and returns what went through the model: ``(xbs, ybs, ys)``.

        Uses the `Recorder` callback (``(xbs, ybs, metabs, ys)`` if batches carry extra items).
        """
        from k1widgets.callbacks.recorder import Recorder

        recorders = [cb for cb in self.cbs if isinstance(cb, Recorder)]
        if recorders:
            return recorders[0].record(epochs, batches)
        with self.cbs.context():
            rec = Recorder()
            self.cbs.append(rec, "_recorder")
            return rec.record(epochs, batches)

    def evaluate(self) -> Any:
        """Shows how the network is doing. A convention: assign your own, as the seeds do.

        Example:
            >>> from functools import partial
            >>> def evaluate(self):  # in a notebook: plt.plot(torch.vstack(xbs), torch.vstack(ys))
            ...     xbs, ybs, ys = self.record(1, 3)
            ...     return torch.vstack(ys).shape
            >>> l = Learner.sample()
            >>> l.evaluate = partial(evaluate, l)
            >>> l.evaluate()
            torch.Size([192, 1])
        """
        msg = "l.evaluate() is a convention you fill in: l.evaluate = partial(myEvaluate, l)."
        raise NotImplementedError(msg)

    @staticmethod
    def sample() -> Learner:
        """A small ready-to-run learner that learns y = x (for trying things out)."""
        from k1widgets.data import Data, FunctionDataset

        l = Learner()
        l.model = nn.Sequential(nn.Linear(1, 3), nn.LeakyReLU(), nn.Linear(3, 1))
        l.data = Data.fromDataset(FunctionDataset.identity, batchSize=64)
        l.opt = torch.optim.Adam(l.model.parameters(), lr=3e-3)
        l.lossF = _mseSqueeze
        l.cbs.withModifyBatch(_addFeatureDim).withDType(torch.float32)
        return l

    # ------------------------------------------------------------------ persistence
    def save(self, fileName: str | os.PathLike[str] | None = None, *, quiet: bool = False) -> None:
        """Saves the learner (all but its data) as ``<fileName>.pth``, and its weights as ``<fileName>.model.pth``.

        One save is one generation: ``Learner.load`` and `loadWeights` read ``<fileName>.pth`` alone,
        and a crash while saving (an exception, Ctrl-C, ``kill -9``) leaves the previous save
        loadable, never a mixture of two (see `k1widgets.persist.saves`). Temporary files that an
        interrupted save left are removed; new files get the umask's permissions (``0o644`` under
        umask 022). The learner is pickled with cloudpickle, so ``lossF`` lambdas and callbacks
        come back; ``<fileName>.model.pth`` is a plain ``state_dict`` for other tools.
        ``quiet=True`` skips the "Saved to ..." line (the dashboard reports it itself).
        """
        if not fileName:
            msg = "l.save() needs a file name, e.g. l.save('run1') writes run1.pth and run1.model.pth."
            raise ValueError(msg)
        if self._running:
            msg = "The learner is running; save it after the run (or cancel it) so the files are consistent."
            raise RuntimeError(msg)
        path = self._saveTo(_baseName(fileName))
        if not quiet:
            print(f"Saved to {path}")

    def _saveTo(self, base: str) -> str:
        """Writes the save ``base`` (also at ``endRun``, for `Autosave`); returns the ``.pth`` path."""
        model = self._model
        writeSave(base, self, model.state_dict() if model is not None else None)
        return base + ".pth"

    @staticmethod
    def load(fileName: str | os.PathLike[str] | None = None) -> Learner:
        """Loads a learner saved with `save` (``l = Learner.load("run1")``).

        Loading unpickles code, so **only load files you trust**. To load only a model's weights,
        which is safe, use `loadWeights`. The loaded learner has no data: set ``l.data`` again.
        ``Learner.load("autosave-2")`` loads the newest autosave (from ``settings.autosave.folder``
        when the current folder has none).
        """
        if not fileName:
            msg = "Learner.load() needs a file name, e.g. Learner.load('run1') reads run1.pth."
            raise ValueError(msg)
        path = _baseName(fileName) + ".pth"
        if not os.path.exists(path):
            name = os.fspath(fileName)
            inAutosaves = os.path.join(settings.autosave.folder, os.path.basename(path))
            if os.path.dirname(name) == "" and name.startswith("autosave-") and os.path.exists(inAutosaves):
                path = inAutosaves
            else:
                folder = os.path.dirname(path) or "."
                saved = (
                    sorted(f for f in os.listdir(folder) if f.endswith(".pth") and not f.endswith(".model.pth"))
                    if os.path.isdir(folder)
                    else []
                )
                msg = f"No saved learner at {path!r}. Saved learners in {folder!r}: {', '.join(saved) or '(none)'}."
                raise FileNotFoundError(msg)
        try:
            learner, _ = readSave(path)
        except SaveFormatError as e:
            msg = f"{e} The file was left as it is."
            raise LearnerLoadError(msg) from e
        if not isinstance(learner, Learner):
            msg = f"{path!r} holds a {type(learner).__name__}, not a Learner."
            raise LearnerLoadError(msg)
        return learner

    def loadWeights(self, fileName: str | os.PathLike[str]) -> None:
        """Loads only the model's weights of a save (``torch.load(weights_only=True)``: no code runs).

        Reads ``<fileName>.pth`` (the weights it holds) or, without one, ``<fileName>.model.pth``
        (any ``torch.save(model.state_dict())`` file works too).
        """
        if self._model is None:
            msg = "l.loadWeights() needs a model to load into: set l.model = ... first."
            raise LearnerNotReadyError(msg)
        base = _baseName(fileName)
        paths = [p for p in (base + ".pth", base + ".model.pth") if os.path.exists(p)]
        if not paths:
            msg = f"No saved weights at {base + '.pth'!r} or {base + '.model.pth'!r}."
            raise FileNotFoundError(msg)
        try:
            weights = readWeights(paths[0])
        except SaveFormatError as e:
            msg = f"{e} The file was left as it is."
            raise LearnerLoadError(msg) from e
        self._model.load_state_dict(weights)

    def __getstate__(self) -> dict[str, Any]:
        keep = ("_model", "_opt", "_lossF", "_css", "_cbs")
        state = {k: v for k, v in self.__dict__.items() if k in keep}
        # user attributes such as l.evaluate are kept too
        state.update({k: v for k, v in self.__dict__.items() if not k.startswith("_") and k not in _RUNTIME})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._data = None
        self._selector = self._selectorKey = None
        self._initRuntime()
        self._cbs._setLearner(self)

    # ------------------------------------------------------------------ look-ups and display
    def __getattr__(self, name: str) -> Any:
        # Only runs when normal look-up fails. `l.Loss` finds the callback named "Loss".
        if name.startswith("_"):
            raise AttributeError(name)
        prop = getattr(type(self), name, None)
        if isinstance(prop, property):
            return prop.fget(self)  # type: ignore[misc]  # re-raise the property's own error, with its traceback
        cbs = self.__dict__.get("_cbs")
        if cbs is not None and name in cbs:
            return cbs[name]
        known = [*dir(type(self)), *self.__dict__, *(cbs._byName if cbs is not None else ())]
        close = difflib.get_close_matches(name, [k for k in known if not k.startswith("_")], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        names = ", ".join(cbs._byName) if cbs is not None else "(none)"
        msg = f"'Learner' has no attribute or callback {name!r} (callbacks: {names}).{hint}"
        raise AttributeError(msg, name=name, obj=None)  # obj=None: our hint, not Python's as well

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._cbs._byName]

    def summary(self) -> dict[str, Any]:
        """What the dashboard's header shows: model, data, optimizer, loss function and run status.

        Plain data (see `k1widgets.report.summary`); the data part takes one batch from each loader
        that can be iterated again.
        """
        from k1widgets.report import dataSummary, functionName, modelSummary, optimizerSummary

        return {
            "model": modelSummary(self._model),
            "data": dataSummary(self._data),
            "opt": optimizerSummary(self._opt),
            "lossF": functionName(self._lossF),
            "missing": self._missing(),
            "status": self.status,
            "message": self._statusMessage(),
            "progress": float(self.progress or 0.0),
        }

    def _statusMessage(self) -> str:
        pb = self._cbs._byName.get("ProgressBar")
        return str(getattr(pb, "message", "") or "") if pb is not None else ""

    def widget(self, **kwargs: Any) -> Any:
        """The live dashboard of this learner (what displaying ``l`` shows in Jupyter).

        Args:
            **kwargs: passed to the view, e.g. ``tab="Loss"`` to open another tab first.
        """
        return display.view(self, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        from k1widgets.report import learnerHtml

        loss = self._cbs._byName.get("Loss")
        svg = ""
        if loss is not None and hasattr(loss, "plot") and len(getattr(loss, "train", ())):
            svg = loss.plot().svg(width=420, height=240)
        return learnerHtml(self.summary(), lossSvg=svg, callbacks=[cb.name for cb in self._cbs])

    def __repr__(self) -> str:
        parts = [f"l.{n} is not set" for n in self._missing()]
        if self._model is not None:
            parts.append("l.model:\n" + _indent(_limitLines(repr(self._model))))
        if self._opt is not None:
            parts.append("l.opt:\n" + _indent(_optimizerText(self._opt)))
        parts.append("l.cbs:\n" + _indent(_limitLines(repr(self.cbs).split("\n\nUse...")[0])))
        return "\n".join(parts) + "\n" + _LEARNER_HELP


_RUNTIME = {
    "feed",
    "status",
    "epoch",
    "epochs",
    "batch",
    "batches",
    "xb",
    "yb",
    "y",
    "lossG",
    "loss",
    "metab",
}
_RUNTIME |= {"progress", "epochThroughput", "batchThroughput", "remaining"}

_LEARNER_HELP = """Use...
- l.model = ...: to specify a nn.Module object
- l.data = ...: to specify data object
- l.opt = ...: to specify an optimizer
- l.lossF = ...: to specify a loss function
- l.css = ...: to select modules using CSS
- l.cbs = ...: to use a custom `Callbacks` object
- l.moduleSelector: to get the modules selected by `l.css`
- l.run(epochs): to run the network
- l.run(epochs, background=True): to train in a worker thread (returns a handle)
- l.Loss: to get a specific callback, this case "Loss\""""


class _Inference:
    """An ``l(xb)`` call waiting for the running loop; the loop or the caller claims it, never both."""

    def __init__(self, xb: Any, yb: Any) -> None:
        self.xb, self.yb = xb, yb
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._claimed = False

    def claim(self) -> bool:
        """True for the first caller only."""
        with self._lock:
            claimed, self._claimed = self._claimed, True
        return not claimed


def _describe(item: Any) -> str:
    if isinstance(item, torch.Tensor):
        return f"a Tensor of shape {tuple(item.shape)}"
    if isinstance(item, dict):
        return f"a dict with keys {list(item)[:8]}"
    if isinstance(item, tuple | list):
        return f"a {type(item).__name__} of {len(item)} item{'s' if len(item) != 1 else ''}"
    return f"a {type(item).__name__}"


def _notAPairMessage(item: Any) -> str:
    if isinstance(item, dict):
        keys = [k for k in item if isinstance(k, str)]
        targets = [k for k in keys if k.lower() in ("y", "label", "labels", "target", "targets")]
        y = targets[0] if targets else (keys[1] if len(keys) > 1 else "y")
        x = next((k for k in keys if k != y), "x")
        fix = f"l.cbs.withModifyBatch(lambda b: (b[{x!r}], b[{y!r}]))"
    elif isinstance(item, torch.Tensor):
        fix = "l.cbs.withModifyBatch(lambda b: (b[:, :-1], b[:, -1])) (or lambda b: (b, b) for an autoencoder)"
    else:
        fix = 'l.cbs.withModifyBatch(lambda b: (b["x"], b["y"]))'
    return (
        f"The data gave a batch that is not an (xb, yb) pair: {_describe(item)}. The learner needs the model's "
        f"input and the loss's target of every batch; say how to get them from a whole batch b: {fix}."
    )


_NON_NEGATIVE = ("lr", "weight_decay", "momentum", "eps", "dampening", "lr_decay", "initial_accumulator_value")


def _hyperValue(name: str, current: Any, value: Any) -> Any:
    """``value`` checked and converted to the kind of ``current`` (a float, a bool, a tuple of floats)."""

    def number(v: Any) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            msg = f"{name} must be a number, got {v!r}."
            raise ValueError(msg) from None
        if not math.isfinite(x) or (name in _NON_NEGATIVE and x < 0):
            kind = "a finite number >= 0" if name in _NON_NEGATIVE else "a finite number"
            msg = f"{name} must be {kind}, got {v!r}."
            raise ValueError(msg)
        return x

    if isinstance(current, bool):
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            msg = f"{name} is a flag: give True or False, got {value!r}."
            raise ValueError(msg)
        return value
    if isinstance(current, tuple | list):
        if isinstance(value, str):
            value = [v for v in value.replace("(", " ").replace(")", " ").replace(",", " ").split() if v]
        if not isinstance(value, tuple | list) or len(value) != len(current):
            msg = f"{name} takes {len(current)} numbers, like {tuple(current)!r}; got {value!r}."
            raise ValueError(msg)
        out = tuple(number(v) for v in value)
        if name == "betas" and not all(0 <= b < 1 for b in out):
            msg = f"betas must each be in [0, 1), got {out!r}."
            raise ValueError(msg)
        return type(current)(out)
    if isinstance(current, int | float | torch.Tensor):
        return number(value)
    msg = f"{name} holds {type(current).__name__} {current!r}: only numbers, flags and number pairs can be edited."
    raise ValueError(msg)


def _mseSqueeze(y: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    return ((y.squeeze() - yb) ** 2).mean()


def _addFeatureDim(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return xb[:, None], yb
