"""Loss: records every batch's training and validation loss, and each epoch's averages.

Losses stay on the model's device as detached scalars and are copied to the host together, once
every ``flushEvery`` batches and at the end of every epoch: one transfer per 20 batches instead of a
``.item()`` (a device sync) per batch.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from k1widgets.callbacks.callback import Callback
from k1widgets.live import Series

__all__ = ["Loss"]

_PLOT_REMINDER = (
    "Reminder: the actual slice you put in is for the training plot. The valid loss's plot will update "
    "automatically to be in the same time frame"
)


class _EpochLosses:
    """Average losses per epoch: ``.train`` and ``.valid`` (NaN for an epoch with no such batches)."""

    def __init__(self) -> None:
        self.train, self.valid = Series(), Series()

    def plot(self, *, feed: Any = None) -> Any:
        """A `SliceablePlot` of the per-epoch average losses: train and valid in one panel.

        Args:
            feed: a `Feed` (``l.feed``) that makes its widget view grow live; ``l.Loss.plot(epoch=True)``
                passes the learner's.
        """
        from k1widgets.plot import Panel, SliceablePlot

        panel = Panel(
            {"train": lambda: self.train, "valid": lambda: self.valid},
            title="Epoch losses",
            xlabel="epoch",
            ylabel="average loss",
        )
        return SliceablePlot([panel], feed=feed)

    def __repr__(self) -> str:
        return (
            f"Epoch losses: {len(self.train)} epochs\n- .train: {self.train.tolist()}\n- .valid: {self.valid.tolist()}"
        )


class Loss(Callback):
    """Records losses: ``cb.train`` and ``cb.valid`` per batch, ``cb.epoch.train/valid`` per epoch."""

    order = 20
    suspendInEval = True

    def __init__(self, *, flushEvery: int = 20) -> None:
        super().__init__()
        self.train, self.valid = Series(), Series()
        self.epoch = _EpochLosses()
        self.flushEvery = flushEvery
        self._pending: list[torch.Tensor] = []
        self._series = self.train
        self._epochStart = (0, 0)

    def startEpoch(self) -> None:
        """Training batches come first."""
        self._flush()
        self._series = self.train
        self._epochStart = (len(self.train), len(self.valid))

    def startValidBatches(self) -> None:
        """Validation batches follow."""
        self._flush()
        self._series = self.valid

    def endLoss(self) -> None:
        """Keeps this batch's loss on the device; copies to the host every ``flushEvery`` batches."""
        loss = self.learner.loss
        if loss is None:
            return
        self._pending.append(loss)
        if len(self._pending) >= self.flushEvery:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            try:
                values = torch.stack(self._pending).float().tolist()
            except RuntimeError:  # mixed dtypes or devices: rare, so convert one by one
                values = [float(t) for t in self._pending]
            self._pending.clear()
            self._series.extend(values)

    def endEpoch(self) -> None:
        """Flushes and appends this epoch's averages."""
        self._flush()
        t0, v0 = self._epochStart
        if len(self.train) == t0 and len(self.valid) == v0:
            return  # cancelled before its first batch: no epoch to average
        for series, start, out in ((self.train, t0, self.epoch.train), (self.valid, v0, self.epoch.valid)):
            vals = series.values[start:]
            out.append(float(vals.mean()) if len(vals) else math.nan)
        self._epochStart = (len(self.train), len(self.valid))

    def endRun(self) -> None:
        """Flushes whatever is left (a cancelled or failed run)."""
        self._flush()

    def plot(self, *, epoch: bool = False) -> Any:
        """A `SliceablePlot` of the losses: a train panel and a valid panel, per batch.

        Slicing it slices the train batches; the valid panel follows proportionally (same fractions
        of the run). Displayed in Jupyter it is a live zoomable plot that grows while training runs.

        Args:
            epoch: plot the per-epoch averages (``cb.epoch``) instead, both in one panel.
        """
        from k1widgets.plot import Panel, SliceablePlot

        feed = self.learner.feed if self.learner is not None else None
        if epoch:  # read through self, so the plot survives cb.clear()
            panel = Panel(
                {"train": lambda: self.epoch.train, "valid": lambda: self.epoch.valid},
                title="Epoch losses",
                xlabel="epoch",
                ylabel="average loss",
            )
            return SliceablePlot([panel], feed=feed)
        panels = [
            Panel({"train": lambda: self.train}, title="Train loss", xlabel="batch", ylabel="loss"),
            Panel({"valid": lambda: self.valid}, title="Valid loss", xlabel="batch", ylabel="loss"),
        ]
        return SliceablePlot(panels, docs=_PLOT_REMINDER, feed=feed)

    @property
    def last(self) -> tuple[float, float]:
        """The latest recorded (train, valid) batch losses, NaN where none yet."""
        t = self.train.values
        v = self.valid.values
        return (float(t[-1]) if len(t) else math.nan, float(v[-1]) if len(v) else math.nan)

    def clear(self) -> None:
        """Forgets every recorded loss."""
        self._pending.clear()
        self.train.clear()
        self.valid.clear()
        self.epoch.train.clear()
        self.epoch.valid.clear()
        self._epochStart = (0, 0)

    def _reprUse(self) -> str:
        return """- cb.train: for all training losses over all epochs and batches (#epochs * #batches)
- cb.valid: for all validation losses over all epochs and batches (#epochs * #batches)
- cb.plot(): to plot the 2 above
- cb.epoch: for average losses of each epochs"""

    def __getstate__(self) -> dict[str, Any]:
        self._flush()
        return super().__getstate__()
