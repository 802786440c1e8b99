"""Guards and limits: callbacks that end a batch, an epoch or the run when a condition holds."""

from __future__ import annotations

import math
import time
import warnings

import torch

from k1widgets.callbacks.callback import Callback
from k1widgets.cancel import CancelEpochException, CancelRunException
from k1widgets.userframe import userStacklevel

__all__ = ["BatchLimit", "CancelOnExplosion", "CancelOnLowLoss", "EpochLimit", "TimeLimit"]


def _fmt(x: float) -> str:
    return f"{x:g}"


class CancelOnLowLoss(Callback):
    """Ends the run once the validation loss drops below ``loss``.

    Args:
        loss: the threshold.
        epochMode: compare each epoch's average validation loss (at the end of the epoch) instead of
            every validation batch's loss as it comes. Batch mode reads one scalar per validation
            batch from the device (a sync on GPUs); epoch mode reads nothing extra.
    """

    listOrder = 13  # listed before Loss, as the seed does (it must run after Loss)
    order = 25
    suspendInEval = True

    def __init__(self, loss: float, epochMode: bool = False) -> None:
        super().__init__()
        if isinstance(loss, bool) or not isinstance(loss, int | float) or math.isnan(loss):
            msg = f"CancelOnLowLoss needs a number as its loss threshold, got {loss!r}."
            raise TypeError(msg)
        self.loss, self.epochMode = float(loss), bool(epochMode)

    def startRun(self) -> None:
        """Checks that a Loss callback records what this guard reads."""
        from k1widgets.callbacks.loss import Loss

        cbs = self.learner.cbs
        losses = [cb for cb in cbs if isinstance(cb, Loss)]
        self._lossCb = next((cb for cb in losses if not cb.suspended), None)
        if self.epochMode and self._lossCb is None:
            if not losses:
                msg = (
                    "CancelOnLowLoss(epochMode=True) reads the Loss callback's epoch averages; "
                    "add one: l.cbs.withLoss()."
                )
                raise RuntimeError(msg)
            # suspended on purpose (the seed's ``with l.cbs.suspend(["Loss"]): ...``): this run has no
            # epoch averages to compare, so the guard sits it out
            warnings.warn(
                "CancelOnLowLoss(epochMode=True) is inactive for this run: the Loss callback it reads is suspended.",
                UserWarning,
                stacklevel=userStacklevel(),
            )

    def endBatch(self) -> None:
        """Batch mode: compares the current validation batch's loss."""
        l = self.learner
        if self.epochMode or l.model.training or l.loss is None:
            return
        value = float(l.loss)
        if value < self.loss:
            msg = f"Low loss {_fmt(self.loss)} achieved!"
            raise CancelRunException(msg)

    def endEpoch(self) -> None:
        """Epoch mode: compares this epoch's average validation loss (NaN, i.e. no validation, never passes)."""
        if not self.epochMode:
            return
        if self._lossCb is None:  # Loss suspended for this run (startRun warned)
            return
        valid = self._lossCb.epoch.valid
        if len(valid) and valid[-1] < self.loss:
            msg = f"Low loss {_fmt(self.loss)} achieved!"
            raise CancelRunException(msg)

    def _reprUse(self) -> str:
        mode = "epoch average" if self.epochMode else "batch"
        return f"- cb.loss: the threshold ({_fmt(self.loss)}, {mode} validation loss)"


class CancelOnExplosion(Callback):
    """Ends the run when any parameter's magnitude exceeds ``limit`` or becomes NaN/inf, or the loss does.

    Checks every ``every`` training batches (50 by default) and at the end of every epoch that
    trained, so short runs are checked too, with one fused reduction over all parameters and one
    read from the device, instead of two syncs per parameter per batch.

    Args:
        limit: the largest parameter magnitude allowed, a number > 0.
        every: check every this many training batches.
    """

    order = 25
    suspendInEval = True

    def __init__(self, limit: float = 1e6, *, every: int = 50) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            msg = f"CancelOnExplosion's `every` must be a whole number >= 1, got {every!r}."
            raise ValueError(msg)
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
            msg = f"CancelOnExplosion's limit must be a number > 0 (the largest magnitude allowed), got {limit!r}."
            raise ValueError(msg)
        self.limit, self.every = float(limit), every
        self._n = self._checked = 0

    def startRun(self) -> None:
        """Collects the parameters once per run, grouped so each group reduces in one stack."""
        groups: dict[tuple[torch.dtype, torch.device], list[torch.Tensor]] = {}
        for p in self.learner.model.parameters():
            if p.numel():
                groups.setdefault((p.dtype, p.device), []).append(p)
        self._groups = list(groups.values())
        self._n = self._checked = 0

    def endBatch(self) -> None:
        """Every ``every`` training batches: one fused check."""
        l = self.learner
        if not l.model.training:
            return
        self._n += 1
        if self._n % self.every:
            return
        self._checked = self._n
        self.check()

    def endEpoch(self) -> None:
        """Checks once more if the epoch trained since the last check (runs shorter than ``every``)."""
        if self._n != self._checked:
            self._checked = self._n
            self.check()

    def check(self) -> None:
        """Runs the check now; raises `CancelRunException` on an explosion."""
        loss = self.learner.loss
        with torch.no_grad():
            # largest magnitude per group, from each parameter's aminmax (one pass; NaN propagates, and
            # NaN <= limit is False). An infinity-norm reduction costs about 9x as much on a CPU.
            peaks = [torch.stack([m for p in g for m in torch.aminmax(p)]).abs().max() for g in self._groups]
            if loss is not None:
                peaks.append(torch.where(torch.isfinite(loss), 0.0, math.inf).to(loss.dtype))
            if not peaks:
                return
            if len(peaks) > 1:
                device = peaks[0].device
                peaks = [torch.stack([p.float().to(device) for p in peaks]).max()]
            ok = bool(peaks[0] <= self.limit)
        if not ok:
            msg = "Explosion detected!"
            raise CancelRunException(msg)

    def _reprUse(self) -> str:
        return f"- cb.limit: the largest magnitude allowed ({_fmt(self.limit)}), checked every {self.every} batches"


class BatchLimit(Callback):
    """Ends every epoch after ``limit`` batches (training batches first, then validation)."""

    order = 25

    def __init__(self, limit: int, *, silent: bool = False) -> None:
        super().__init__()
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            msg = f"BatchLimit needs a whole number >= 1, got {limit!r}."
            raise ValueError(msg)
        self.limit, self.silent = limit, silent

    def startBatch(self) -> None:
        """Cancels the epoch at the limit."""
        if self.learner.batch >= self.limit:
            msg = f"Batch limit ({self.limit}) reached"
            raise CancelEpochException(msg, silent=self.silent)


class EpochLimit(Callback):
    """Ends the run after ``limit`` epochs."""

    order = 25

    def __init__(self, limit: int) -> None:
        super().__init__()
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            msg = f"EpochLimit needs a whole number >= 1, got {limit!r}."
            raise ValueError(msg)
        self.limit = limit

    def startEpoch(self) -> None:
        """Cancels the run at the limit."""
        if self.learner.epoch >= self.limit:
            msg = f"Epoch limit ({self.limit}) reached"
            raise CancelRunException(msg)


class TimeLimit(Callback):
    """Ends the run after ``seconds`` of training."""

    order = 25

    def __init__(self, seconds: float = 30) -> None:
        super().__init__()
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            msg = f"TimeLimit needs a positive number of seconds, got {seconds!r}."
            raise ValueError(msg)
        self.seconds = float(seconds)

    def startRun(self) -> None:
        """Starts the clock."""
        self._t0 = time.perf_counter()

    def startBatch(self) -> None:
        """Cancels the run once the time is up."""
        if time.perf_counter() - self._t0 > self.seconds:
            msg = f"Takes more than {_fmt(self.seconds)} seconds!"
            raise CancelRunException(msg)
