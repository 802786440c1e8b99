"""``cbs.withX(...)``: one shortcut per bundled callback, as the seeds spell them.

Each shortcut builds the callback, appends it, and returns the `Callbacks` so calls chain:
``l.cbs.withModifyBatch(f).withDType(torch.float32)``. The callback classes are imported inside the
methods because they subclass `Callback`, which lives beside `Callbacks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from k1widgets.callbacks.callback import Callback, Callbacks

__all__ = ["WithShortcuts"]


class WithShortcuts:
    """Mixin of `Callbacks` holding the ``withX`` shortcuts."""

    def append(self, cb: Callback, name: str | None = None) -> Callbacks:
        """Adds a callback (implemented by `Callbacks`)."""
        raise NotImplementedError

    def withProgressBar(self, *, name: str | None = None) -> Callbacks:
        """Adds a `ProgressBar`."""
        from k1widgets.callbacks.progress import ProgressBar

        return self.append(ProgressBar(), name)

    def withDontTrainValid(self, *, name: str | None = None) -> Callbacks:
        """Adds `DontTrainValid`."""
        from k1widgets.callbacks.modify import DontTrainValid

        return self.append(DontTrainValid(), name)

    def withDontTrain(self, *, name: str | None = None) -> Callbacks:
        """Adds `DontTrain` (no backward pass, no optimizer step at all)."""
        from k1widgets.callbacks.modify import DontTrain

        return self.append(DontTrain(), name)

    def withModifyBatch(self, f: Callable[[Any, Any], tuple[Any, Any]], *, name: str | None = None) -> Callbacks:
        """Adds `ModifyBatch(f)`: ``xb, yb = f(xb, yb)`` before every batch."""
        from k1widgets.callbacks.modify import ModifyBatch

        return self.append(ModifyBatch(f), name)

    def withDType(self, dtype: torch.dtype, *, name: str | None = None) -> Callbacks:
        """Adds `DType(dtype)`: the model and every batch converted to ``dtype``."""
        from k1widgets.callbacks.modify import DType

        return self.append(DType(dtype), name)

    def withCuda(self, device: str = "cuda", *, name: str | None = None) -> Callbacks:
        """Adds `Cuda`: the model and every batch moved to a CUDA device."""
        from k1widgets.callbacks.modify import Cuda

        return self.append(Cuda(device), name)

    def withCpu(self, *, name: str | None = None) -> Callbacks:
        """Adds `Cpu`: the model and every batch moved to the CPU."""
        from k1widgets.callbacks.modify import Cpu

        return self.append(Cpu(), name)

    def withLoss(self, *, name: str | None = None) -> Callbacks:
        """Adds a `Loss` recorder."""
        from k1widgets.callbacks.loss import Loss

        return self.append(Loss(), name)

    def withRecorder(self, *, name: str | None = None) -> Callbacks:
        """Adds a `Recorder`."""
        from k1widgets.callbacks.recorder import Recorder

        return self.append(Recorder(), name)

    def withCancelOnLowLoss(self, loss: float, epochMode: bool = False, *, name: str | None = None) -> Callbacks:
        """Adds `CancelOnLowLoss(loss, epochMode)`: ends the run once the validation loss is below ``loss``."""
        from k1widgets.callbacks.guards import CancelOnLowLoss

        return self.append(CancelOnLowLoss(loss, epochMode), name)

    def withCancelOnExplosion(self, limit: float = 1e6, *, every: int = 50, name: str | None = None) -> Callbacks:
        """Adds `CancelOnExplosion(limit)`: ends the run when parameters blow up or turn NaN/inf."""
        from k1widgets.callbacks.guards import CancelOnExplosion

        return self.append(CancelOnExplosion(limit, every=every), name)

    def withBatchLimit(self, limit: int, *, name: str | None = None) -> Callbacks:
        """Adds `BatchLimit(limit)`: every epoch stops after ``limit`` batches."""
        from k1widgets.callbacks.guards import BatchLimit

        return self.append(BatchLimit(limit), name)

    def withEpochLimit(self, limit: int, *, name: str | None = None) -> Callbacks:
        """Adds `EpochLimit(limit)`: the run stops after ``limit`` epochs."""
        from k1widgets.callbacks.guards import EpochLimit

        return self.append(EpochLimit(limit), name)

    def withTimeLimit(self, seconds: float = 30, *, name: str | None = None) -> Callbacks:
        """Adds `TimeLimit(seconds)`: the run stops after ``seconds``."""
        from k1widgets.callbacks.guards import TimeLimit

        return self.append(TimeLimit(seconds), name)
