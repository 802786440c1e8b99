"""Autocast: mixed-precision training with ``torch.autocast``, and a ``GradScaler`` for float16.

Mixed precision keeps the weights and the optimizer state in float32 and runs the forward pass and
the loss in a lower precision where that is safe (matrix products, convolutions), which torch's
autocast decides op by op. Pure low-precision training (``withDType(torch.float16)``) loses small
updates and gives NaN with Adam within a few batches; this is the safe way to save time and memory.
"""

from __future__ import annotations

from typing import Any

import torch

from k1widgets.callbacks.callback import Callback

__all__ = ["Autocast"]

_DTYPES = (torch.bfloat16, torch.float16)


class Autocast(Callback):
    """Runs the forward pass and the loss under ``torch.autocast(device, dtype)``; float16 adds a GradScaler.

    The autocast region opens at ``startPass`` and closes at ``endLoss``, so backward and the
    optimizer step run outside it, as torch recommends. With ``torch.bfloat16`` (the default; CPUs
    and recent GPUs) nothing else is needed. With ``torch.float16`` a ``torch.amp.GradScaler``
    multiplies ``l.lossG`` at ``endLoss`` (the loop backpropagates ``l.lossG``), steps the optimizer
    through the scaler at ``startStep`` (skipping steps whose gradients overflowed) and adapts its
    scale; ``cb.scaler`` is that scaler (call ``cb.scaler.unscale_(l.opt)`` before clipping gradients).
    The recorded loss (``l.loss``) is never scaled.

    Inference (``l(xb)``) and ``l.record()`` run in full precision (the callback is suspended there).
    The device comes from the model's parameters at the start of every run.

    Args:
        dtype: ``torch.bfloat16`` or ``torch.float16``.

    Example:
        >>> from k1widgets import Learner
        >>> l = Learner.sample()
        >>> l.cbs.withAutocast(dtype=torch.bfloat16).Autocast.dtype
        torch.bfloat16
    """

    order = 22  # after callbacks that change l.lossG at endLoss (their terms get scaled too)
    suspendInEval = True

    def __init__(self, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        if dtype not in _DTYPES:
            msg = (
                f"Autocast takes dtype=torch.bfloat16 or torch.float16, got {dtype!r}. "
                "(torch.float32 needs no autocast: leave the callback out.)"
            )
            raise ValueError(msg)
        self.dtype = dtype
        self.deviceType = "cpu"
        self.scaler: Any = None
        self._region: Any = None

    # ------------------------------------------------------------------ checkpoints
    def startRun(self) -> None:
        """Finds the device of the model; creates the GradScaler for float16."""
        param = next(self.learner.model.parameters(), None)
        self.deviceType = param.device.type if param is not None else "cpu"
        if self.dtype is torch.float16 and (self.scaler is None or self.scaler._device != self.deviceType):
            self.scaler = torch.amp.GradScaler(self.deviceType)

    def startPass(self) -> None:
        """Opens the autocast region around the forward pass and the loss."""
        self._close()
        region = torch.autocast(self.deviceType, dtype=self.dtype)
        region.__enter__()  # type: ignore[no-untyped-call]  # torch.autocast is not annotated
        self._region = region

    def endLoss(self) -> None:
        """Closes the region; with float16, scales ``l.lossG`` for the backward pass."""
        self._close()
        l = self.learner
        if self.scaler is not None and self._training():
            l.lossG = self.scaler.scale(l.lossG)

    def startStep(self) -> bool:
        """With float16: steps through the scaler (which skips steps whose gradients overflowed) instead of plainly."""
        if self.scaler is None or not self._training():
            return False
        self.scaler.step(self.learner.opt)
        self.scaler.update()
        return True

    def endBatch(self) -> None:
        """Closes the region if a cancel or a skipped step left it open."""
        self._close()

    def endRun(self) -> None:
        """Closes the region after an error escaped the loop."""
        self._close()

    # ------------------------------------------------------------------ helpers
    def _training(self) -> bool:
        return bool(self.learner.model.training and torch.is_grad_enabled())

    def _close(self) -> None:
        region, self._region = self._region, None
        if region is not None:
            region.__exit__(None, None, None)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_region"] = None  # a live autocast region is not saved
        return state

    def _reprUse(self) -> str:
        scaler = ", cb.scaler: its GradScaler" if self.dtype is torch.float16 else ""
        return f"- cb.dtype: the autocast dtype ({self.dtype}){scaler}"
