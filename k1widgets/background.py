"""RunHandle: a run training in a worker thread, returned by ``l.run(epochs, background=True)``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from k1widgets.learner import Learner

__all__ = ["RunHandle"]

_INTERRUPTED = "interrupted (Ctrl-C in h.wait())"


class RunHandle:
    """A run training in a worker thread (from ``l.run(epochs, background=True)``).

    ``h.wait()`` blocks until it ends and re-raises any error; ``h.cancel()``, ``h.pause()`` and
    ``h.resume()`` steer it; ``h.done`` says whether it has ended.

    **Ctrl-C in** ``h.wait()`` (a kernel interrupt) **cancels the run**, as Ctrl-C in a plain
    ``l.run()`` does: the run ends at its next batch boundary with its usual clean-up (status
    ``cancelled``), ``wait`` waits for that, then raises `KeyboardInterrupt`, and the learner is
    ready to run again. A second Ctrl-C stops waiting for the clean-up; ``h.done`` still tells the
    truth. To stop waiting without cancelling, wait with a timeout (``h.wait(5)``) or not at all.
    """

    def __init__(self, learner: Learner, epochs: int, batches: int | None) -> None:
        self.learner = learner
        self.epochs = epochs
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._target, args=(epochs, batches), name="k1widgets-run", daemon=True)
        self._thread.start()
        # Return once startRun is over: what callbacks display there (the progress view) goes to the
        # calling cell, which is still running. Output sent after a cell has finished is dropped.
        try:
            self._started.wait()
        except KeyboardInterrupt:
            self._cancelAfterInterrupt()
            raise

    def _target(self, epochs: int, batches: int | None) -> None:
        try:
            self.learner._run(epochs, batches, self._started)
        except BaseException as e:
            self.error = e
        finally:
            self.learner._stopRunning()
            self._started.set()
            self._finished.set()  # last: once `done`, the learner is free

    @property
    def done(self) -> bool:
        """Whether the run has ended (finished, cancelled or failed) and the learner is free again."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> Learner:
        """Blocks until the run ends and returns the learner; re-raises the run's error.

        Ctrl-C while waiting cancels the run, waits for its clean-up, and raises `KeyboardInterrupt`
        (see the class docs).

        Raises:
            TimeoutError: the run is still going after ``timeout`` seconds (it keeps going).
        """
        # An Event, not Thread.join: Ctrl-C inside join() can mark a live thread as finished
        # (CPython gh-90882), and the handle would then claim the run is over while it trains on.
        try:
            finished = self._finished.wait(timeout)
        except KeyboardInterrupt:
            self._cancelAfterInterrupt()
            raise
        if not finished:
            msg = f"The background run is still going after {timeout} s (h.cancel() stops it)."
            raise TimeoutError(msg)
        if self.error is not None:
            raise self.error
        return self.learner

    def _cancelAfterInterrupt(self) -> None:
        self.learner.cancel("run", _INTERRUPTED)
        try:
            self._finished.wait()
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting for the clean-up; `done` says when it is over

    def cancel(self, scope: str = "run", message: str = "cancelled by the user") -> None:
        """Cancels the batch, the epoch or the run at the next batch boundary."""
        self.learner.cancel(scope, message)

    def pause(self) -> None:
        """Pauses at the next batch boundary."""
        self.learner.pause()

    def resume(self) -> None:
        """Resumes a paused run."""
        self.learner.resume()

    def __repr__(self) -> str:
        l = self.learner
        if self.done:
            state = "failed" if self.error is not None else l.status
        else:
            state = l.status if l.status in ("running", "paused") else "running"
        epoch = min(l.epoch + 1, self.epochs)
        return f"RunHandle({state}, epoch {epoch}/{self.epochs})"
