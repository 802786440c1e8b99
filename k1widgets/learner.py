"""Learner: trains a model on data through callbacks, as the k1lib seeds describe.

Set four things (``l.model``, ``l.data``, ``l.opt``, ``l.lossF``) and call ``l.run(epochs)``. Every
step of the loop is a checkpoint that callbacks hook into (see `k1widgets.callbacks.CHECKPOINTS`).
Cancel exceptions end a batch, an epoch or the run with clean-up at every level. A run can also go
to a worker thread (``l.run(epochs, background=True)``), which returns a `RunHandle` at once.
"""

from __future__ import annotations

import difflib
import os
import pickle
import sys
import threading
import time
from typing import Any

import torch
from torch import nn

from k1widgets.background import RunHandle
from k1widgets.callbacks.callback import Callbacks
from k1widgets.cancel import CancelBatchException, CancelEpochException, CancelException, CancelRunException
from k1widgets.live import CommandQueue, Feed
from k1widgets.persist.atomic import atomicWrite
from k1widgets.settings import settings

__all__ = ["Learner", "LearnerLoadError", "LearnerNotReadyError", "RunHandle"]

_CANCELS = {"batch": CancelBatchException, "epoch": CancelEpochException, "run": CancelRunException}


class LearnerNotReadyError(RuntimeError):
    """`Learner.run` was called before everything it needs was set."""


class LearnerLoadError(RuntimeError):
    """A saved learner file could not be read."""


def _indent(s: str, n: int = 4) -> str:
    return "\n".join(" " * n + line for line in s.splitlines())


def _limitLines(s: str, limit: int = 10) -> str:
    lines = s.splitlines()
    return "\n".join([*lines[:limit], "....."]) if len(lines) > limit else s


def _baseName(fileName: str | os.PathLike[str]) -> str:
    name = os.fspath(fileName)
    return name[: -len(".pth")] if name.endswith(".pth") else name


class Learner:
    """Trains ``model`` on ``data`` with ``opt`` and ``lossF``, through callbacks ``cbs``.

    Example:
        >>> l = Learner()
        >>> l.model = nn.Linear(1, 1)
        >>> l.data = Data.fromDataset(FunctionDataset.identity, batchSize=64)
        >>> l.opt = torch.optim.Adam(l.model.parameters(), lr=1e-2)
        >>> l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean()
        >>> l.cbs.withModifyBatch(lambda x, y: (x[:, None], y))
        >>> l.run(3)
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
        self._paused = False
        self._running = False
        self.status = "idle"
        self.epoch = self.epochs = self.batch = self.batches = 0
        self.xb = self.yb = self.y = self.lossG = self.loss = None
        self.metab: tuple[Any, ...] = ()
        self.progress = 0.0

    @staticmethod
    def _defaultCallbacks() -> Callbacks:
        cbs = Callbacks().withProgressBar().withDontTrainValid().withHookModule().withHookParam()
        return cbs.withLoss().withCancelOnExplosion()

    # ------------------------------------------------------------------ the four ingredients
    @property
    def model(self) -> nn.Module | None:
        """The `torch.nn.Module` to train."""
        return self._model

    @model.setter
    def model(self, model: nn.Module) -> None:
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

        if data is None or isinstance(data, Data):
            self._data = data
        elif isinstance(data, list | tuple) and len(data) == 2:
            self._data = Data(data[0], data[1])
        elif hasattr(data, "train") and hasattr(data, "valid"):
            self._data = data
        else:
            msg = (
                f"l.data must be a k1widgets.data.Data or a [train, valid] pair of iterables, got "
                f"{type(data).__name__}. Example: l.data = Data.fromDataset(dataset, batchSize=64)."
            )
            raise TypeError(msg)

    @property
    def opt(self) -> torch.optim.Optimizer | None:
        """The optimizer (any `torch.optim.Optimizer`)."""
        return self._opt

    @opt.setter
    def opt(self, opt: torch.optim.Optimizer) -> None:
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
        if f is not None and not callable(f):
            msg = f"l.lossF must be callable as lossF(y, yb), got {type(f).__name__}: {f!r:.80}."
            raise TypeError(msg)
        self._lossF = f

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
        if self._running:
            msg = "The learner is already running; wait for that run or cancel it first (l.cancel())."
            raise RuntimeError(msg)
        self._running = True
        if background:
            return RunHandle(self, epochs, batches)
        try:
            self._run(epochs, batches)
        finally:
            self._running = False
        return self

    def _run(self, epochs: int, batches: int | None, started: threading.Event | None = None) -> None:
        from k1widgets.callbacks.guards import BatchLimit

        cbs = self.cbs
        self.epochs, self.epoch, self.batch = epochs, 0, 0
        self._commands.drain()  # stale commands from an earlier run do not apply
        self._paused = False
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
                with torch.no_grad():
                    for item in valid:
                        self.batch = batch
                        self._runBatch(item, False)
                        batch += 1
                model.train()
        except CancelEpochException as e:
            model.train()
            cbs("cancelEpoch")
            self._announce(e)
        except CancelRunException:
            model.train()
            cbs("cancelEpoch")
            cbs("endEpoch")
            self.feed.flush()
            raise
        cbs("endEpoch")
        self.feed.flush()

    def _runBatch(self, item: Any, training: bool) -> None:
        fire = self.cbs.fire
        try:
            if self._commands:
                self._applyCommands()
            if len(item) == 2:
                (self.xb, self.yb), self.metab = item, ()
            else:
                self.xb, self.yb, *metab = item
                self.metab = tuple(metab)
            self.loss = None
            fire("startBatch")
            fire("startPass")
            self.y = self._model(self.xb)  # type: ignore[misc]
            fire("endPass")
            fire("startLoss")
            lossG = self.lossG = self._lossF(self.y, self.yb)
            self.loss = lossG.detach()
            fire("endLoss")
            if training:
                if not fire("startBackward"):
                    lossG.backward()
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

    def _announce(self, e: CancelException) -> None:
        if e.silent:
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

    def _applyCommands(self) -> None:
        while True:
            commands = self._commands.drain()
            for cmd, arg in commands:
                if cmd == "pause":
                    self._paused = True
                    self.status = "paused"
                elif cmd == "resume":
                    self._paused = False
                    self.status = "running"
                elif cmd == "cancel":
                    self._paused = False
                    self.status = "running"
                    scope, message = arg
                    raise _CANCELS[scope](message)
            if commands:
                self.feed.flush()
            if not self._paused:
                return
            time.sleep(0.02)

    # ------------------------------------------------------------------ inference and helpers
    def __call__(self, xb: Any, yb: Any = None) -> Any:
        """Runs one batch through the model in eval mode, without training or printing.

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
        model, cbs = self._model, self.cbs
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
            >>> def evaluate(self):
            ...     xbs, ybs, ys = self.record(1, 3)
            ...     plt.plot(torch.vstack(xbs), torch.vstack(ys))
            >>> l.evaluate = partial(evaluate, l)
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
    def save(self, fileName: str | os.PathLike[str]) -> None:
        """Saves the learner (all but its data) to ``<fileName>.pth`` and the weights to ``<fileName>.model.pth``.

        Both files are written atomically: a crash while saving leaves any earlier file intact.
        The ``.pth`` file holds pickled code (callbacks, ``lossF`` lambdas) through cloudpickle.
        """
        import cloudpickle

        if not fileName:
            msg = "l.save() needs a file name, e.g. l.save('run1') writes run1.pth and run1.model.pth."
            raise ValueError(msg)
        if self._running:
            msg = "The learner is running; save it after the run (or cancel it) so the files are consistent."
            raise RuntimeError(msg)
        base = _baseName(fileName)
        atomicWrite(base + ".pth", lambda f: cloudpickle.dump(self, f))
        if self._model is not None:
            model = self._model
            atomicWrite(base + ".model.pth", lambda f: torch.save(model.state_dict(), f))
        print(f"Saved to {base}")

    @staticmethod
    def load(fileName: str | os.PathLike[str]) -> Learner:
        """Loads a learner saved with `save` (``l = Learner.load("run1")``).

        Loading unpickles code, so **only load files you trust**. To load only a model's weights,
        which is safe, use `loadWeights`. The loaded learner has no data: set ``l.data`` again.
        """
        if not fileName:
            msg = "Learner.load() needs a file name, e.g. Learner.load('run1') reads run1.pth."
            raise ValueError(msg)
        path = _baseName(fileName) + ".pth"
        if not os.path.exists(path):
            folder = os.path.dirname(path) or "."
            saved = sorted(f for f in os.listdir(folder) if f.endswith(".pth") and not f.endswith(".model.pth"))
            msg = f"No saved learner at {path!r}. Saved learners in {folder!r}: {', '.join(saved) or '(none)'}."
            raise FileNotFoundError(msg)
        try:
            with open(path, "rb") as f:
                learner = pickle.load(f)
        except Exception as e:
            msg = f"{path!r} is not a readable learner file ({type(e).__name__}: {e}). The file was left as it is."
            raise LearnerLoadError(msg) from e
        if not isinstance(learner, Learner):
            msg = f"{path!r} holds a {type(learner).__name__}, not a Learner."
            raise LearnerLoadError(msg)
        return learner

    def loadWeights(self, fileName: str | os.PathLike[str]) -> None:
        """Loads only model weights from ``<fileName>.model.pth`` (no code is unpickled)."""
        if self._model is None:
            msg = "l.loadWeights() needs a model to load into: set l.model = ... first."
            raise LearnerNotReadyError(msg)
        path = _baseName(fileName) + ".model.pth"
        self._model.load_state_dict(torch.load(path, weights_only=True))

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

    def __repr__(self) -> str:
        parts = [f"l.{n} is not set" for n in self._missing()]
        if self._model is not None:
            parts.append("l.model:\n" + _indent(_limitLines(repr(self._model))))
        if self._opt is not None:
            parts.append("l.opt:\n" + _indent(_limitLines(repr(self._opt))))
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


def _mseSqueeze(y: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    return ((y.squeeze() - yb) ** 2).mean()


def _addFeatureDim(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return xb[:, None], yb
