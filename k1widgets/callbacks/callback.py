"""Callback and Callbacks: how functionality plugs into the training loop.

A `Callback` implements methods named after the learner's checkpoints (``startRun``, ``startBatch``,
``endLoss``, ...). `Callbacks` holds them sorted by ``order`` and dispatches a checkpoint to every
callback that implements it: ``cbs("startBatch")``. Dispatch is precomputed per checkpoint, so a
checkpoint nobody listens to costs one dictionary look-up.
"""

from __future__ import annotations

import contextlib
import difflib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from k1widgets import display
from k1widgets.callbacks import shortcuts
from k1widgets.cancel import CancelException
from k1widgets.live import Feed
from k1widgets.report import callbacksHtml, timingsHtml

if TYPE_CHECKING:
    from k1widgets.learner import Learner

__all__ = ["CHECKPOINTS", "Callback", "Callbacks", "Timings", "UnknownCallbackError", "checkpointsOf"]

CHECKPOINTS = (
    "startRun",
    "startEpoch",
    "startBatch",
    "startPass",
    "endPass",
    "startLoss",
    "endLoss",
    "startBackward",
    "startStep",
    "startZeroGrad",
    "endBatch",
    "startValidBatches",
    "endEpoch",
    "endRun",
    "cancelBatch",
    "cancelEpoch",
    "cancelRun",
)

_BASE_HELP = """- cb.something: to get specific attribute "something" from learner if not available
- cb.withCheckpoint(checkpoint, f): to quickly insert an event handler
- cb.detach(): to remove itself from its parent Callbacks"""


class UnknownCallbackError(KeyError):
    """No callback has the requested name. Its text lists the names that exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def checkpointsOf(cb: Callback) -> list[str]:
    """The checkpoints ``cb`` implements (its class's methods and `Callback.withCheckpoint` handlers), in loop order."""
    return [c for c in CHECKPOINTS if c in cb.__dict__ or getattr(type(cb), c, None) is not None]


def _closeHint(name: str, options: Any) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


class Callback:
    """Base class of every callback.

    Subclasses implement checkpoint methods (``def startBatch(self): ...``); a truthy return from
    ``startBackward``, ``startStep``, ``startZeroGrad`` or ``startValidBatches`` skips that step.
    Inside a callback, ``self.learner`` is the learner it is attached to, and any attribute the
    callback lacks falls back to the learner (``self.epoch`` is ``self.learner.epoch``).

    Class attributes:
        order: dispatch position, lower first. Suggested: 7 pre-default, 10 default, 13 custom
            modifications, 15 pre-recording, 17 recording modifications, 20 recordings,
            23 post-recordings, 25 guards.
        suspendInEval: suspended while the learner evaluates ``l(xb)`` or records.
    """

    order = 10
    suspendInEval = False
    listOrder: float | None = None
    """Where listings (``repr(cbs)``) place the callback, when the seed lists it apart from its dispatch
    position; None: at its ``order``. Ties keep the order callbacks were added in."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        shortcuts.register(cls)  # bundled classes get their ``cbs.withX`` shortcut

    def __init__(self) -> None:
        # None until the callback joins a learner's Callbacks; typed as the learner, because checkpoint
        # methods only ever run while attached
        self.learner: Learner = None  # type: ignore[assignment]
        self.cbs: Callbacks | None = None
        self.suspended = False
        self.name = type(self).__name__

    # ------------------------------------------------------------------ seed API
    def withCheckpoint(self, checkpoint: str, f: Callable[[Callback], Any]) -> Callback:
        """Adds a handler ``f(cb)`` for ``checkpoint`` to this callback; returns self."""
        if checkpoint not in CHECKPOINTS:
            msg = (
                f"Unknown checkpoint {checkpoint!r}.{_closeHint(checkpoint, CHECKPOINTS)} "
                f"Valid checkpoints: {', '.join(CHECKPOINTS)}."
            )
            raise ValueError(msg)
        self.__dict__[checkpoint] = lambda: f(self)
        if self.cbs is not None:
            self.cbs._invalidate()
        return self

    def detach(self) -> Callback:
        """Removes this callback from its `Callbacks`; returns self."""
        if self.cbs is not None:
            self.cbs.remove(self.name)
        return self

    def attached(self) -> None:
        """Called after the callback is added to a `Callbacks`."""

    def detached(self) -> None:
        """Called after the callback is removed from its `Callbacks`."""

    def suspend(self) -> None:
        """Called when the callback gets suspended (e.g. to remove hooks)."""

    def restore(self) -> None:
        """Called when a suspension ends."""

    # ------------------------------------------------------------------ learner fall-through
    def __getattr__(self, attr: str) -> Any:
        # Only runs for attributes the callback lacks. Fall back to the learner (the seeds' promise),
        # and otherwise raise an AttributeError that names both places and close matches.
        if attr.startswith(("__", "_repr_", "_ipython_")) or attr in ("learner", "cbs", "name", "suspended"):
            raise AttributeError(attr)  # display hooks never fall through: l.Loss is not shown as l
        learner = self.__dict__.get("learner")
        if learner is not None:
            try:
                return getattr(learner, attr)
            except AttributeError:
                pass
        known = set(dir(type(self))) | set(self.__dict__)
        if learner is not None:
            known |= set(learner.__dict__)
        where = "its learner" if learner is not None else "a learner (none attached yet)"
        msg = f"{type(self).__name__!r} callback has no attribute {attr!r}, and neither has {where}."
        raise AttributeError(msg + _closeHint(attr, known), name=attr, obj=None)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["learner"] = state["cbs"] = None
        return state

    # ------------------------------------------------------------------ display
    def widget(self) -> Any:
        """The live view of this callback, for callbacks that have one (``l.Loss.widget()``).

        Raises:
            TypeError: this kind of callback has no view (the message lists the types that do).
        """
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _reprHead(self) -> str:
        return f"Callback `{self.name}`"

    def _reprUse(self) -> str:
        """Extra "Use..." lines of a subclass, each starting with "- "."""
        return ""

    def __repr__(self) -> str:
        extra = self._reprUse()
        return f"{self._reprHead()}, use...\n" + (f"{extra}\n" if extra else "") + _BASE_HELP


class Timings:
    """Seconds spent in each checkpoint's callbacks, accumulated across runs.

    ``cbs.timings["startBatch"]`` or ``cbs.timings.startBatch`` reads one; ``clear()`` resets.
    Displayed in Jupyter: a bar chart of the time per checkpoint, updated live during runs.
    """

    def __init__(self, owner: Callbacks | None = None) -> None:
        self._t: dict[str, float] = {}
        self._owner = owner

    @property
    def feed(self) -> Feed | None:
        """The feed of the `Callbacks` these timings belong to (see `Callbacks.feed`), or None."""
        return self._owner.feed if self._owner is not None else None

    def items(self) -> list[tuple[str, float]]:
        """``(checkpoint, seconds)`` pairs, slowest first."""
        t = dict(self._t)
        return sorted(t.items(), key=lambda kv: kv[1], reverse=True)

    def widget(self) -> Any:
        """A live bar chart of the time per checkpoint."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        return timingsHtml(self.items())

    def __getitem__(self, checkpoint: str) -> float:
        return self._t.get(checkpoint, 0.0)

    def __getattr__(self, checkpoint: str) -> float:
        if checkpoint.startswith("_"):
            raise AttributeError(checkpoint)
        if checkpoint in CHECKPOINTS:
            return self._t.get(checkpoint, 0.0)
        msg = f"Timings has no checkpoint {checkpoint!r}.{_closeHint(checkpoint, CHECKPOINTS)}"
        raise AttributeError(msg, name=checkpoint, obj=None)  # obj=None: our hint, not Python's too

    @property
    def checkpoints(self) -> list[str]:
        """Checkpoints that took any time, slowest first."""
        return sorted(self._t, key=self._t.__getitem__, reverse=True)

    def clear(self) -> None:
        """Resets every timing to 0."""
        self._t.clear()

    def __repr__(self) -> str:
        if not self._t:
            return "Timings: nothing timed yet"
        w = max(len(k) for k in self._t)
        lines = [f"- {k:<{w}}  {_fmtSeconds(self._t[k])}" for k in self.checkpoints]
        return "Timings:\n" + "\n".join(lines) + "\n\nUse...\n- t.clear(): to clear all timings"


def _fmtSeconds(s: float) -> str:
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.1f} us"


class Callbacks:
    """An ordered collection of callbacks, dispatching checkpoints to them.

    ``cbs("startBatch")`` calls ``startBatch()`` on every non-suspended callback that has it, in
    ``order``, and returns True if any returned a truthy value. ``cbs.Loss`` / ``cbs["Loss"]`` get
    a callback by name; ``with cbs.suspend(["Loss"]):`` pauses some; ``cbs.timings`` says how long
    each checkpoint took.
    """

    def __init__(self) -> None:
        self._cbs: list[Callback] = []
        self._nAdded = 0
        self._byName: dict[str, Callback] = {}
        self._dispatch: dict[str, list[tuple[Callback, Callable[[], Any]]]] = {}
        self._suspensions: list[list[tuple[Callback, bool]]] = []
        self._contexts: list[list[Callback]] = []
        self.timings = Timings(self)
        self.learner: Learner | None = None

    @property
    def feed(self) -> Feed:
        """Fires when callbacks are added, removed, suspended or restored (throttled, see `k1widgets.live.Feed`).

        The learner's feed once attached to one (so views of ``l.cbs`` follow runs with the rest of
        the learner's views), else a feed of its own.
        """
        if self.learner is not None:
            return self.learner.feed
        feed = self.__dict__.get("_feed")
        if feed is None:
            feed = self.__dict__["_feed"] = Feed()
        return feed

    # ------------------------------------------------------------------ membership
    def append(self, cb: Callback, name: str | None = None) -> Callbacks:
        """Adds a callback, optionally under a name; returns self so calls chain.

        Names are unique: a second ``Loss`` becomes ``Loss0``, then ``Loss1``...
        """
        if not isinstance(cb, Callback):
            msg = f"cbs.append() takes a Callback instance, got {type(cb).__name__}: {cb!r}."
            raise TypeError(msg)
        if cb.cbs is self:
            return self
        if cb.cbs is not None:
            msg = f"Callback {cb.name!r} already belongs to another Callbacks; detach() it first."
            raise ValueError(msg)
        base = name or cb.name
        unique, i = base, 0
        while unique in self._byName:
            unique, i = f"{base}{i}", i + 1
        cb.name, cb.cbs = unique, self
        cb.learner = self.learner  # type: ignore[assignment]
        cb.__dict__["_addedAt"] = self.__dict__.get("_nAdded", 0)  # listings break ties by it
        self._nAdded = cb.__dict__["_addedAt"] + 1
        self._cbs.append(cb)
        self._cbs.sort(key=lambda c: c.order)  # stable: equal orders keep insertion order
        self._byName[unique] = cb
        if self._contexts:
            self._contexts[-1].append(cb)
        self._invalidate()
        cb.attached()
        return self

    def remove(self, *names: str) -> Callbacks:
        """Removes callbacks by name; returns self."""
        for name in names:
            cb = self[name]
            self._cbs.remove(cb)
            del self._byName[name]
            cb.cbs = None
            cb.learner = None  # type: ignore[assignment]
            self._invalidate()
            cb.detached()
        return self

    def _setLearner(self, learner: Learner | None) -> None:
        self.learner = learner
        for cb in self._cbs:
            cb.learner = learner  # type: ignore[assignment]

    def __getitem__(self, key: str | int) -> Callback:
        if isinstance(key, int):
            return self._cbs[key]
        try:
            return self._byName[key]
        except KeyError:
            names = ", ".join(cb.name for cb in self._cbs) or "(none)"
            msg = f"Unknown callback {key!r}. Available: {names}.{_closeHint(key, self._byName)}"
            raise UnknownCallbackError(msg) from None

    def __getattr__(self, name: str) -> Any:
        # callbacks by name (``cbs.Loss``), then the ``withX`` shortcuts of bundled callbacks
        if name.startswith("_"):
            raise AttributeError(name)
        byName = self.__dict__.get("_byName", {})
        if name in byName:
            return byName[name]
        withX = shortcuts.shortcut(self, name)
        if withX is not None:
            return withX
        names = ", ".join(cb.name for cb in self.__dict__.get("_cbs", ())) or "(none)"
        hint = _closeHint(name, [*byName, *shortcuts.shortcutNames()])
        msg = f"'Callbacks' has no attribute or callback {name!r}. Callbacks: {names}.{hint}"
        raise AttributeError(msg, name=name, obj=None)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._byName, *shortcuts.shortcutNames()]

    def __contains__(self, name: object) -> bool:
        return name in self._byName

    def __len__(self) -> int:
        return len(self._cbs)

    def __iter__(self) -> Iterator[Callback]:
        return iter(list(self._cbs))

    # ------------------------------------------------------------------ dispatch
    def _invalidate(self) -> None:
        self._dispatch.clear()
        feed = self.learner.feed if self.learner is not None else self.__dict__.get("_feed")
        if feed is not None:
            feed.changed()  # views of these callbacks show the change (cheap when nobody listens)

    def _handlers(self, checkpoint: str) -> list[tuple[Callback, Callable[[], Any]]]:
        handlers = []
        for cb in self._cbs:
            if cb.suspended:
                continue
            f = cb.__dict__.get(checkpoint)
            if f is None and getattr(type(cb), checkpoint, None) is not None:
                f = getattr(cb, checkpoint)
            if f is not None:
                handlers.append((cb, f))
        self._dispatch[checkpoint] = handlers
        return handlers

    def __call__(self, *checkpoints: str) -> bool:
        """Runs the checkpoints on every callback; True if any callback returned a truthy value."""
        result = False
        for checkpoint in checkpoints:
            if self.fire(checkpoint):
                result = True
        return result

    def fire(self, checkpoint: str) -> bool:
        """Runs one checkpoint (the learner's hot path: ``cbs("x")`` without the argument tuple)."""
        handlers = self._dispatch.get(checkpoint)
        if handlers is None:
            handlers = self._handlers(checkpoint)
        if not handlers:
            return False
        result = False
        t0 = time.perf_counter()
        for cb, f in handlers:
            try:
                if f():
                    result = True
            except CancelException:
                raise
            except Exception as e:
                e.add_note(f"(raised in callback {cb.name!r} at checkpoint {checkpoint!r})")
                raise
        t = self.timings._t
        t[checkpoint] = t.get(checkpoint, 0.0) + time.perf_counter() - t0
        return result

    # ------------------------------------------------------------------ suspension and contexts
    def suspend(self, names: list[str] | tuple[str, ...] = ()) -> _Suspension:
        """Suspends callbacks by name until `restore()` (or the end of a ``with`` block).

        Suspensions stack: each `restore()` undoes the latest one. A name of a bundled callback that
        this learner does not have (``"Cuda"`` on a CPU learner, as in the seed's
        ``cbs.suspend(["Loss", "Cuda"])``) has nothing to suspend and is skipped; any other unknown
        name raises `UnknownCallbackError` with the closest name.
        """
        if isinstance(names, str):
            names = [names]
        cbs = [self[n] for n in names if n in self._byName or n not in shortcuts.REGISTRY]
        return self._suspend(cbs)

    def suspendClasses(self, *classNames: str) -> _Suspension:
        """Suspends every callback whose class has one of these names."""
        return self._suspend([cb for cb in self._cbs if type(cb).__name__ in classNames])

    def suspendEval(self) -> _Suspension:
        """Suspends the callbacks marked ``suspendInEval`` (progress, recorders, losses...)."""
        return self._suspend([cb for cb in self._cbs if cb.suspendInEval])

    def _suspend(self, cbs: list[Callback]) -> _Suspension:
        self._suspensions.append([(cb, cb.suspended) for cb in cbs])
        for cb in cbs:
            if not cb.suspended:
                cb.suspended = True
                cb.suspend()
        self._invalidate()
        return _Suspension(self)

    def unsuspend(self, name: str) -> Callbacks:
        """Ends every suspension of callback ``name`` and keeps the others; returns self.

        `restore` undoes the latest suspension only. This restores suspensions from the latest down
        to the last one that holds ``name``, then suspends their other callbacks again, in the same
        order, so the stack keeps its depth for every callback but ``name`` (a ``with
        cbs.suspend(...)`` block still restores its own). The callbacks view's toggles use it.
        """
        target = self[name]
        popped: list[list[Callback]] = []
        while target.suspended and self._suspensions:
            popped.append([cb for cb, _ in self._suspensions[-1]])
            self.restore()
        for cbs in reversed(popped):
            self._suspend([cb for cb in cbs if cb is not target and cb.cbs is self])
        return self

    def restore(self) -> Callbacks:
        """Undoes the latest `suspend`; returns self."""
        if not self._suspensions:
            msg = "cbs.restore() called with no suspension in effect."
            raise RuntimeError(msg)
        for cb, was in reversed(self._suspensions.pop()):
            if cb.suspended and not was:
                cb.suspended = False
                cb.restore()
        self._invalidate()
        return self

    @contextlib.contextmanager
    def context(self) -> Iterator[Callbacks]:
        """Every callback added inside the ``with`` block is removed at its end."""
        added: list[Callback] = []
        self._contexts.append(added)
        try:
            yield self
        finally:
            self._contexts.pop()
            for cb in added:
                if cb.cbs is self:
                    self.remove(cb.name)

    # ------------------------------------------------------------------ display
    def rows(self) -> list[dict[str, Any]]:
        """One dict per callback, in dispatch order: name, class, order, checkpoints, suspended."""
        return [
            {
                "name": cb.name,
                "cls": type(cb).__name__,
                "order": cb.order,
                "checkpoints": checkpointsOf(cb),
                "suspended": bool(cb.suspended),
            }
            for cb in list(self._cbs)
        ]

    def widget(self) -> Any:
        """A live table of these callbacks with suspend toggles, Detach buttons and timing bars."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        return callbacksHtml(self.rows(), self.timings.items())

    def listed(self) -> list[Callback]:
        """The callbacks as listings show them: by ``listOrder`` (else ``order``), then as added.

        The seed lists ``ModifyBatch, DType, CancelOnLowLoss`` before ``Loss`` and ``Autosave`` right after
        ``DontTrainValid``, while dispatch must run the recordings before the guards and the save that read
        them; ``cbs`` iterates in dispatch order.
        """

        def key(cb: Callback) -> tuple[float, int]:
            place = cb.listOrder if cb.listOrder is not None else cb.order
            return (place, cb.__dict__.get("_addedAt", 0))

        return sorted(self._cbs, key=key)

    def __repr__(self) -> str:
        names = "\n".join(f"- {cb.name}" + (" (suspended)" if cb.suspended else "") for cb in self.listed())
        return f"""Callbacks:
{names}

Use...
- cbs.append(cb[, name]): to add a callback with a name
- cbs("startRun"): to trigger a specific event
- cbs.Loss: to get a specific callback
- cbs.timings: to get callback execution times
- cbs.suspend(["Loss", "Cuda"]): to temporarily prevent triggering events in
    specific callbacks. Can be used multiple times before restoring
- cbs.restore(): to restore latest temporary suspension
- cbs.withX(...): to add a bundled callback X (see k1widgets.callbacks)"""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_dispatch"] = {}
        state["learner"] = None
        # a save during a run (Autosave at endRun) leaves out what context() blocks added for the run
        temporary = {id(cb) for added in self._contexts for cb in added}
        if temporary:
            state["_cbs"] = [cb for cb in self._cbs if id(cb) not in temporary]
            state["_byName"] = {n: cb for n, cb in self._byName.items() if id(cb) not in temporary}
            state["_suspensions"] = [[(cb, w) for cb, w in s if id(cb) not in temporary] for s in self._suspensions]
        state["_contexts"] = []
        state.pop("_feed", None)  # a feed holds locks and live subscribers: never saved
        return state


class _Suspension:
    """Returned by `Callbacks.suspend`; leaving a ``with`` block restores."""

    def __init__(self, cbs: Callbacks) -> None:
        self._cbs = cbs

    def __enter__(self) -> Callbacks:
        return self._cbs

    def __exit__(self, *exc: object) -> None:
        self._cbs.restore()
