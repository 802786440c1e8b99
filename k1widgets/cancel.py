"""Control-flow exceptions that cancel a batch, an epoch or a whole run.

They are not errors. Raise one from a callback (or press a Cancel button in a view) and the
`Learner` catches it at the matching level, runs the clean-up checkpoints, and carries on:

- `CancelBatchException`: the batch ends (``cancelBatch``, ``endBatch``), training goes on with the next.
- `CancelEpochException`: caught at batch level (clean-up, re-raise), then at epoch level
  (``cancelEpoch``, ``endEpoch``), and the next epoch starts.
- `CancelRunException`: cleaned up at batch and epoch level, then the run ends (``cancelRun``, ``endRun``).

The learner prints ``"<Scope> cancelled: <message>."`` unless the exception was raised with
``silent=True`` (used by limits such as ``l.run(epochs, batches=3)``).
"""

from __future__ import annotations

__all__ = ["CancelBatchException", "CancelEpochException", "CancelException", "CancelRunException"]


class CancelException(Exception):
    """Base of the three cancel exceptions.

    Args:
        message: why it was cancelled; printed as ``"<Scope> cancelled: <message>."``.
        silent: if True the learner does not print the cancel line.
    """

    scope = "Run"

    def __init__(self, message: str = "", *, silent: bool = False) -> None:
        super().__init__(message)
        self.silent = silent

    @property
    def message(self) -> str:
        """The message the exception was raised with."""
        return str(self.args[0]) if self.args else ""

    @property
    def announcement(self) -> str:
        """The line the learner prints and views show: ``"<Scope> cancelled: <message>."``."""
        return f"{self.scope} cancelled: {self.message}."


class CancelRunException(CancelException):
    """Ends the whole run after the batch- and epoch-level clean-up."""

    scope = "Run"


class CancelEpochException(CancelException):
    """Ends the current epoch; the run continues with the next epoch."""

    scope = "Epoch"


class CancelBatchException(CancelException):
    """Ends the current batch; the epoch continues with the next batch."""

    scope = "Batch"
