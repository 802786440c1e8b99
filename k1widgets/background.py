"""RunHandle: a run training in a worker thread, returned by ``l.run(epochs, background=True)``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from k1widgets.learner import Learner

__all__ = ["RunHandle"]


class RunHandle:
    """A run training in a worker thread (from ``l.run(epochs, background=True)``).

    ``h.wait()`` blocks until it ends and re-raises any error; ``h.cancel()``, ``h.pause()`` and
    ``h.resume()`` steer it; ``h.done`` says whether it has ended.
    """

    def __init__(self, learner: Learner, epochs: int, batches: int | None) -> None:
        self.learner = learner
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._target, args=(epochs, batches), name="k1widgets-run", daemon=True)
        self._thread.start()
        # Return once startRun is over: what callbacks display there (the progress view) goes to the
        # calling cell, which is still running. Output sent after a cell has finished is dropped.
        self._started.wait()

    def _target(self, epochs: int, batches: int | None) -> None:
        try:
            self.learner._run(epochs, batches, self._started)
        except BaseException as e:
            self.error = e
        finally:
            self.learner._stopRunning()
            self._started.set()

    @property
    def done(self) -> bool:
        """Whether the run has ended (finished, cancelled or failed)."""
        return not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> Learner:
        """Blocks until the run ends; re-raises its error. Raises TimeoutError after ``timeout`` seconds."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            msg = f"The background run is still going after {timeout} s (h.cancel() stops it)."
            raise TimeoutError(msg)
        if self.error is not None:
            raise self.error
        return self.learner

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
        state = "running" if not self.done else ("failed" if self.error else self.learner.status)
        return f"RunHandle({state}, epoch {self.learner.epoch + 1}/{self.learner.epochs})"
