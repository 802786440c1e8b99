"""Loss: records every batch's training and validation loss, and each epoch's averages.

Losses stay on the model's device as detached scalars and are copied to the host together, once
every ``flushEvery`` batches and at the end of every epoch: one transfer per 20 batches instead of a
``.item()`` (a device sync) per batch.
"""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from k1widgets import display
from k1widgets.callbacks.callback import Callback
from k1widgets.live import Series
from k1widgets.plot.decimate import minmaxIndices
from k1widgets.report import epochLossHtml, lossHtml, optimizerSummary

__all__ = ["EpochLosses", "Loss", "LossRun"]

_RUN_POINTS = 1000  # points kept per line of a finished run (min-max decimated): bounded memory
_HYPER_LABELS = (("lr", "lr"), ("weight_decay", "wd"), ("momentum", "momentum"), ("betas", "betas"))

_PLOT_REMINDER = (
    "Reminder: the actual slice you put in is for the training plot. The valid loss's plot will update "
    "automatically to be in the same time frame"
)


@dataclass
class LossRun:
    """The losses of one finished run, kept in memory by `Loss` to compare runs (``l.Loss.runs``).

    ``train`` and ``valid`` are ``(x, y)``: x is the batch number within the run, y the loss, min-max
    decimated to at most 1,000 points each so a long history stays small.
    """

    number: int
    started: float
    hypers: dict[str, Any]
    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    epochs: list[tuple[float, float]] = field(default_factory=list)
    status: str = "done"

    @property
    def label(self) -> str:
        """``"run 2, 14:03:05, lr 0.01"``: its number, start time and hyper-parameters."""
        return f"run {self.number}, {time.strftime('%H:%M:%S', time.localtime(self.started))}" + _hyperText(self.hypers)

    @property
    def shortLabel(self) -> str:
        """``"run 2 14:03:05 lr 0.01"``: what a plot legend has room for."""
        return f"run {self.number} {time.strftime('%H:%M:%S', time.localtime(self.started))}" + _lrText(self.hypers)


def _lrText(hypers: dict[str, Any]) -> str:
    lr = hypers.get("lr")
    return f" lr {lr:.3g}" if isinstance(lr, int | float) and not isinstance(lr, bool) else ""


def _hyperText(hypers: dict[str, Any]) -> str:
    parts = []
    for key, short in _HYPER_LABELS:
        v = hypers.get(key)
        if isinstance(v, list):
            parts.append(f"{short} ({', '.join(f'{x:.3g}' for x in v)})")
        elif isinstance(v, int | float) and not isinstance(v, bool):
            parts.append(f"{short} {v:.3g}")
    return (", " + ", ".join(parts)) if parts else ""


def _keep(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = minmaxIndices(values, _RUN_POINTS)
    return idx.astype(np.float64), np.array(values[idx], dtype=np.float64)


class EpochLosses:
    """Average losses per epoch: ``.train`` and ``.valid`` (NaN for an epoch with no such batches).

    Displayed in Jupyter: a table and a plot of the per-epoch losses that grows while training runs.
    """

    _owner: Loss | None = None  # learners saved before the view existed have none

    def __init__(self, owner: Loss | None = None) -> None:
        self.train, self.valid = Series(), Series()
        self._owner = owner

    @property
    def feed(self) -> Any:
        """The learner's feed, when the `Loss` that owns these is attached to one (else None)."""
        learner = self._owner.learner if self._owner is not None else None
        return learner.feed if learner is not None else None

    def widget(self) -> Any:
        """A live table and plot of the per-epoch losses."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        return epochLossHtml(self.train.tolist(), self.valid.tolist(), self.plot().svg(width=420, height=260))

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
        self.epoch = EpochLosses(self)
        self.flushEvery = flushEvery
        self._pending: list[torch.Tensor] = []
        self._series = self.train
        self._epochStart = (0, 0)
        self.runs: collections.deque[LossRun] = collections.deque(maxlen=10)
        self._current: dict[str, Any] | None = None
        self._runCount = 0

    def startRun(self) -> None:
        """Notes where this run starts and the optimizer's hyper-parameters, to compare runs later."""
        self._flush()
        opt = optimizerSummary(self.learner.opt if self.learner is not None else None)
        groups = opt.get("groups") or [{}]
        self._runCount += 1
        self._current = {
            "number": self._runCount,
            "started": time.time(),
            "hypers": dict(groups[0].get("values", {})),
            "train": len(self.train),
            "valid": len(self.valid),
            "epoch": len(self.epoch.train),
        }

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
        """Flushes whatever is left (a cancelled or failed run) and keeps this run in `runs`."""
        self._flush()
        cur, self._current = self._current, None
        if cur is None:
            return
        e0 = cur["epoch"]
        epochs = list(zip(self.epoch.train.tolist()[e0:], self.epoch.valid.tolist()[e0:], strict=False))
        status = self.learner.status if self.learner is not None else "done"
        self.runs.append(
            LossRun(
                cur["number"],
                cur["started"],
                cur["hypers"],
                _keep(self.train.values[cur["train"] :]),
                _keep(self.valid.values[cur["valid"] :]),
                epochs,
                "done" if status == "running" else status,
            )
        )

    @property
    def maxRuns(self) -> int:
        """How many finished runs `runs` keeps (the oldest go first); 10 by default."""
        return self.runs.maxlen or 0

    @maxRuns.setter
    def maxRuns(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            msg = f"maxRuns must be a whole number >= 0, got {n!r}."
            raise ValueError(msg)
        self.runs = collections.deque(self.runs, maxlen=n)

    @property
    def currentRun(self) -> dict[str, Any] | None:
        """Where the run in progress started (number, start time, hyper-parameters), or None."""
        return self._current

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

    def plotRuns(self, last: int = 5) -> Any:
        """A `SliceablePlot` comparing runs: the run in progress and up to ``last`` earlier ones.

        Each line is one run, from its first batch (x = batch number within the run), labelled with
        its number, start time and learning rate (`LossRun.shortLabel`; ``runs[i].label`` has every
        hyper-parameter). Earlier runs come from `runs` (the
        latest `maxRuns`, kept in memory, decimated); the run in progress grows live.
        """
        from k1widgets.plot import Panel, SliceablePlot

        earlier = list(self.runs)[-last:] if last > 0 else []
        train: dict[str, Any] = {r.shortLabel: r.train for r in earlier}
        valid: dict[str, Any] = {r.shortLabel: r.valid for r in earlier}
        cur = self._current
        if cur is not None:
            label = f"run {cur['number']} (now){_lrText(cur['hypers'])}"
            t0, v0 = cur["train"], cur["valid"]
            train[label] = lambda: self.train.values[t0:]
            valid[label] = lambda: self.valid.values[v0:]
        if not train:
            train["(no run yet)"] = valid["(no run yet)"] = np.empty(0)
        feed = self.learner.feed if self.learner is not None else None
        panels = [
            Panel(train, title="Train loss by run", xlabel="batch of the run", ylabel="loss"),
            Panel(valid, title="Valid loss by run", xlabel="batch of the run", ylabel="loss"),
        ]
        return SliceablePlot(panels, feed=feed)

    def lastValues(self) -> dict[str, Any]:
        """What the loss view shows next to the plot: counts and the latest losses (NaN where none yet)."""
        train, valid = self.last
        et, ev = self.epoch.train.values, self.epoch.valid.values
        return {
            "train batches": len(self.train),
            "valid batches": len(self.valid),
            "last train loss": train,
            "last valid loss": valid,
            "epochs": len(et),
            "last epoch train": float(et[-1]) if len(et) else math.nan,
            "last epoch valid": float(ev[-1]) if len(ev) else math.nan,
        }

    def _repr_html_(self) -> str:
        return lossHtml(self.lastValues(), self.plot().svg(width=420, height=260))

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
        self.runs.clear()

    def _reprUse(self) -> str:
        return """- cb.train: for all training losses over all epochs and batches (#epochs * #batches)
- cb.valid: for all validation losses over all epochs and batches (#epochs * #batches)
- cb.plot(): to plot the 2 above
- cb.epoch: for average losses of each epochs
- cb.runs, cb.plotRuns(): to compare this run with earlier ones"""

    def __getstate__(self) -> dict[str, Any]:
        self._flush()
        return super().__getstate__()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # learners saved before runs were kept have none of these
        state.setdefault("runs", collections.deque(maxlen=10))
        state.setdefault("_current", None)
        state.setdefault("_runCount", 0)
        self.__dict__.update(state)
        if getattr(self.epoch, "_owner", None) is None:
            self.epoch._owner = self


_EpochLosses = EpochLosses  # the old name, which learners saved before the rename refer to
