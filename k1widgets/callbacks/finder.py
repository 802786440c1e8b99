"""ParamFinder: sweeps a hyper-parameter (the learning rate) upwards and suggests a value, leaving no trace.

``l.ParamFinder.plot(samples=1000)[:0.99]`` trains one batch per value of ``10**linspace(-6, 2, samples)``
until the loss blows up, prints ``Suggested param: ...`` and returns a `FinderPlot` (slices in unit
[0, 1] coordinates, as the seed's reminder says). It costs nothing until used: no hooks, no checkpoint
methods (the sweep runs in a callback added only for its duration).

**Flat start.** Values far below the useful range change nothing (with Adam, ``lr = 1e-6`` moves a
weight by about 1e-6 a step), so while the fixed-batch loss stays within 1 % of its first value each
step covers ``flatStride`` (8) values at 125 values a decade (a step multiplies the value by 1.16;
fewer values at lower densities); from the first step that moves it, one value per step. With
``samples=1000`` on the fresh README network that is about 180 steps instead of 480.

**The suggestion.** A training batch's loss mostly says which samples the batch holds (the README
network's targets span 0.007 … 148), so a curve of training losses is noise that no smoothing rescues.
After every third step (second for ``samples < 800``, every step below 400) the finder measures the
loss on one **fixed batch** (``evalSamples`` training samples, 256 by default, in eval mode); that
curve moves only with the weights. The suggestion lies in the valley of that curve (see `suggest`): the geometric
mean of its steepest descent and half its minimum (k1lib's ``best / 2``), after a running median of 5.
The sweep stops when two fixed-batch losses in a row exceed ``tolerance`` × the lowest so far (never
on one batch), when a loss is NaN or infinite (the suggestion then comes from the values before it),
or when the values run out.

**No trace.** A `TrainingSnapshot` taken before the sweep and restored after it (even after an error
or Ctrl-C) puts back the weights, buffers, gradients, train/eval flags, the optimizer's state and
hyper-parameters, and the RNG states, so the next ``l.run()`` gives bit-identical weights to a run
without the finder. Nothing is written to disk. The sweep runs through ``l.run`` with only the
callbacks that prepare batches and steer the loop (order < 15, not ``suspendInEval``: ``ModifyBatch``,
``DType``, ``Cuda``...); recorders, savers, guards, ProgressBar and ParamSchedulers are suspended.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import numpy as np
import torch

from k1widgets.callbacks.callback import Callback
from k1widgets.callbacks.probe import fixedBatch
from k1widgets.callbacks.scheduler import ParamScheduler
from k1widgets.callbacks.snapshot import TrainingSnapshot
from k1widgets.cancel import CancelRunException
from k1widgets.plot import Panel, SliceablePlot
from k1widgets.plot.decimate import LineData

__all__ = ["FinderPlot", "ParamFinder", "suggest"]

_REMINDER = "Reminder: slice range here is actually [0, 1], because it's kinda hard to slice the normal way"


def suggest(values: np.ndarray, losses: np.ndarray) -> tuple[float, int]:
    """The suggested value for a sweep, in the valley of the smoothed fixed-batch loss.

    The losses are smoothed with a running median of 5 in log space (a single odd measurement moves
    nothing). Of the smoothed curve, take the value ``m`` where it is lowest and the value ``k`` where it
    falls fastest (against log value) before that; the suggestion is ``sqrt(values[k] * values[m] / 2)``,
    between the steepest descent and half the minimum (k1lib's ``best / 2``). On the README network
    both ends alone spread 2-3x over seeds; their geometric mean is at least as stable as either.

    Args:
        values: the swept values, increasing.
        losses: the fixed-batch loss measured after the step at each value (finite).

    Returns:
        ``(suggestion, index of the minimum)``; ``(nan, -1)`` when there are no losses.
    """
    n = len(losses)
    if n == 0:
        return math.nan, -1
    lv = np.log(np.maximum(np.asarray(losses, dtype=np.float64), 1e-300))
    if n >= 5:
        padded = np.concatenate([lv[:1], lv[:1], lv, lv[-1:], lv[-1:]])
        lv = np.median(np.stack([padded[i : i + n] for i in range(5)]), axis=0)
    m = int(np.argmin(lv))
    if n < 3 or m == 0:
        return float(values[m]) / 2, m
    slope = np.gradient(lv, np.log(np.asarray(values, dtype=np.float64)))
    k = int(np.argmin(slope[: m + 1]))
    return math.sqrt(float(values[k]) * float(values[m]) / 2), m


class ParamFinder(Callback):
    """Automatically finds out the right value for a specific parameter (the learning rate by default).

    Args:
        tolerance: how many times the lowest fixed-batch loss a loss may reach before the sweep stops.
        evalSamples: how many training samples the fixed evaluation batch holds.
        flatStride: while the fixed-batch loss stays within 1 % of its first value (tiny values that
            change nothing), each step covers this many values (at k1lib's density of 125 values a
            decade, ``samples=1000``; scaled to other densities); then one value per step. 1 turns it off.

    Example:
        >>> from k1widgets import Learner
        >>> l = Learner.sample()
        >>> import contextlib, io
        >>> with contextlib.redirect_stdout(io.StringIO()) as printed:
        ...     p = l.ParamFinder.plot(samples=200)[:0.99]   # sweep, print the suggestion, plot
        ...     lr = l.ParamFinder.run("lr", samples=200)    # sweep, return the suggestion
        >>> "Suggested param: " in printed.getvalue()
        True
        >>> l.ParamFinder.use() == lr == l.opt.param_groups[0]["lr"]   # set it (the view's button)
        True
    """

    order = 30

    def __init__(self, tolerance: float = 4.0, *, evalSamples: int = 256, flatStride: int = 8) -> None:
        super().__init__()
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not tolerance > 1:
            msg = f"ParamFinder's tolerance is a factor > 1 (how much higher the loss may get), got {tolerance!r}."
            raise ValueError(msg)
        if isinstance(flatStride, bool) or not isinstance(flatStride, int) or flatStride < 1:
            msg = (
                f"flatStride (values a step covers while the loss is flat) is a whole number >= 1, got {flatStride!r}."
            )
            raise ValueError(msg)
        self.tolerance, self.evalSamples, self.flatStride = float(tolerance), evalSamples, flatStride
        self._clear("lr", 0)

    def _clear(self, param: str, samples: int) -> None:
        self.param, self.samples = param, samples
        self.values = np.empty(0)  # the values where the fixed batch was measured
        self.losses = np.empty(0)  # the fixed-batch loss after the step at each of them
        self.trainLosses = np.empty(0)  # every step's training-batch loss (noisy; for reference)
        self.trainValues = np.empty(0)
        self.suggestion: float | None = None
        self.stopReason = ""
        self.tried = 0  # values covered
        self.steps = 0  # training steps taken

    # ------------------------------------------------------------------ running
    def run(
        self, param: str = "lr", samples: int = 1000, *, low: float = 1e-6, high: float = 100.0, quiet: bool = False
    ) -> float:
        """Sweeps ``param`` over ``samples`` values from ``low`` to ``high`` (log-spaced); returns the suggestion.

        One training batch per value, until the fixed-batch loss blows up. Everything the sweep changed
        is put back afterwards (see the module docs). Prints one throttled progress line unless ``quiet``.

        Raises:
            ValueError: bad arguments, or the optimizer has no hyper-parameter ``param``.
            LearnerNotReadyError: the learner lacks a model, data, optimizer or loss function.
        """
        l: Any = self.learner
        if l is None:
            msg = "ParamFinder.run() needs the finder in a learner's callbacks (l.cbs.withParamFinder())."
            raise RuntimeError(msg)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
            msg = f"samples is how many values to try, a whole number >= 2, got {samples!r}."
            raise ValueError(msg)
        if not (0 < low < high and math.isfinite(high)):
            msg = (
                f"The sweep goes from low to high on a log scale: need 0 < low < high, got low={low!r}, high={high!r}."
            )
            raise ValueError(msg)
        l._checkReady()
        if l._running:
            msg = "The learner is running; run the ParamFinder after that run ends (or cancel it)."
            raise RuntimeError(msg)
        known = sorted({k for g in l.opt.param_groups for k in g if k != "params"})
        if param not in known:
            have = ", ".join(known)
            msg = f"The optimizer's param groups have no hyper-parameter {param!r} to sweep (they have {have})."
            raise ValueError(msg)
        self._clear(param, samples)
        values = 10 ** np.linspace(math.log10(low), math.log10(high), samples)
        snapshot = TrainingSnapshot(l.model, l.opt)
        sweep = _Sweep(self, values, samples, quiet)
        try:
            sweep.evalBatch = fixedBatch(l, self.evalSamples)
            keep = [cb for cb in l.cbs if cb.order < 15 and not cb.suspendInEval and not isinstance(cb, ParamScheduler)]
            with l.cbs.suspend([cb.name for cb in l.cbs if cb not in keep]), l.cbs.context():
                l.cbs.append(sweep, "_paramFinderSweep")
                try:
                    perEpoch = max(len(l.data.train), 1)
                except TypeError:
                    perEpoch = 1
                l.run(samples // perEpoch + 2)
        finally:
            snapshot.restore()
            sweep.finish()
        self.suggestion, _ = suggest(self.values, self.losses)
        sweep.summary()
        return self.suggestion

    @property
    def suggestedValue(self) -> float | None:
        """The suggested value (k1lib's name); None before a `run`."""
        return self.suggestion

    def plot(self, *args: Any, **kwargs: Any) -> FinderPlot:
        """Loss against the swept value (log axis) with the suggestion marked; runs the sweep first if needed.

        Runs when nothing was swept yet or when arguments are given (they go to `run`). Prints
        ``Suggested param: ...``. The plot slices in unit [0, 1] coordinates: ``[:0.99]`` drops the
        last 1 % of the sweep.
        """
        if args or kwargs or not len(self.losses):
            self.run(*args, **kwargs)
        print(f"Suggested param: {self.suggestion}")
        return FinderPlot(self)

    def use(self, value: float | None = None) -> float:
        """Sets ``value`` (default: the suggestion) as the swept hyper-parameter of every param group.

        Thread-safe: during a run the learner applies it at the next batch boundary.
        """
        v = self.suggestion if value is None else value
        if v is None or not math.isfinite(v):
            msg = "There is no suggestion to use yet: run the finder first (l.ParamFinder.run()), or pass a value."
            raise ValueError(msg)
        l: Any = self.learner
        if l is None:
            msg = "ParamFinder.use() needs the finder in a learner's callbacks."
            raise RuntimeError(msg)
        l.setParam(self.param, float(v))
        return float(v)

    def _reprUse(self) -> str:
        done = f"- cb.suggestion: {self.suggestion:.3g} ({self.param})\n" if self.suggestion is not None else ""
        return (
            f"{done}- cb.run(param='lr', samples=1000): to sweep and get the suggested value\n"
            "- cb.plot(): to plot loss against the value (sweeps first if needed)\n"
            "- cb.use(): to set the suggestion on the optimizer"
        )


class _Sweep(Callback):
    """The sweep itself: added to the learner's callbacks only while `ParamFinder.run` runs."""

    order = 0

    def __init__(self, finder: ParamFinder, values: np.ndarray, samples: int, quiet: bool) -> None:
        super().__init__()
        self.finder, self.allValues, self.samples, self.quiet = finder, values, samples, quiet
        self.every = 3 if samples >= 800 else 2 if samples >= 400 else 1
        self.evalBatch: tuple[Any, Any] = (None, None)
        self.i = 0  # index of the next value
        self.steps = 0
        decades = max(math.log10(float(values[-1]) / float(values[0])), 1e-9)
        perDecade = (samples - 1) / decades
        self.stride = max(1, round(finder.flatStride * perDecade / 125))  # the same log step at any density
        self.first: float | None = None
        self.value = 0.0
        self.stepValues: list[float] = []
        self.pending: list[torch.Tensor] = []
        self.evalValues: list[float] = []
        self.evalLosses: list[float] = []
        self.trainLosses: list[float] = []
        self.reason = ""
        self.lastWrite = 0.0
        self.best = math.inf
        self.above = 0
        self.stepping = False  # a value was set for this batch (endBatch also follows cancelled batches)

    def startBatch(self) -> None:
        l: Any = self.learner
        if not l.model.training:
            return
        if self.i >= self.samples:
            self.reason = "all values tried"
            raise CancelRunException(self.reason, silent=True)
        self.value = value = float(self.allValues[self.i])
        param = self.finder.param
        for g in l.opt.param_groups:
            g[param] = value
        self.stepping = True

    def startValidBatches(self) -> bool:
        return True  # the sweep never validates

    def endLoss(self) -> None:
        l: Any = self.learner
        if l.model.training:
            self.pending.append(l.loss)

    def endBatch(self) -> None:
        """After the step: measures the fixed batch (every ``every`` steps) and decides whether to stop."""
        l: Any = self.learner
        if not (l.model.training and self.stepping):
            return
        self.stepping = False
        value = self.value
        self.stepValues.append(value)
        self.steps += 1
        self.i += self.stride
        if self.steps % self.every and self.i < self.samples:
            return
        self._flush()
        model, (xb, yb) = l.model, self.evalBatch
        model.eval()
        try:
            with torch.no_grad():
                loss = float(l.lossF(model(xb), yb))
        finally:
            model.train()
        bad = [v for v in self.trainLosses[-self.every :] if not math.isfinite(v)]
        if bad or not math.isfinite(loss):
            which = "training" if bad else "fixed-batch"
            self.reason = f"the {which} loss became {bad[0] if bad else loss} at {self.finder.param} {value:.3g}"
            raise CancelRunException(self.reason, silent=True)
        self.evalValues.append(value)
        self.evalLosses.append(loss)
        if self.first is None:
            self.first = loss
        elif self.stride > 1 and abs(loss / self.first - 1) > 0.01:
            self.stride = 1  # the loss moves: one value per step from here on
        self.best = min(self.best, loss)
        self.above = self.above + 1 if loss > self.finder.tolerance * self.best else 0
        if self.above >= 2:
            self.reason = f"loss increases significantly (over {self.finder.tolerance:g}x its lowest)"
            raise CancelRunException(self.reason, silent=True)
        self._progress(value, loss)

    def _flush(self) -> None:
        if self.pending:
            self.trainLosses.extend(torch.stack([t.float() for t in self.pending]).tolist())
            self.pending.clear()

    def _progress(self, value: float, loss: float) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        if now - self.lastWrite >= 0.1:
            self.lastWrite = now
            sys.stdout.write(
                f"\rParamFinder: {min(self.i, self.samples)}/{self.samples}, {self.finder.param} {value:.2e}, "
                f"loss {loss:.4g}   "
            )
            sys.stdout.flush()

    def finish(self) -> None:
        """Moves what was recorded into the finder (also after an error)."""
        self._flush()
        f = self.finder
        f.tried, f.steps = min(self.i, self.samples), self.steps
        f.values, f.losses = np.asarray(self.evalValues), np.asarray(self.evalLosses)
        n = len(self.trainLosses)
        f.trainValues, f.trainLosses = np.asarray(self.stepValues[:n]), np.asarray(self.trainLosses)
        f.stopReason = self.reason or ("all values tried" if self.i >= self.samples else "the run ended")

    def summary(self) -> None:
        if self.quiet:
            return
        f = self.finder
        last = self.stepValues[-1] if self.stepValues else self.allValues[0]
        span = f"{self.allValues[0]:.0e} … {last:.2e}"
        sys.stdout.write(
            f"\rParamFinder: {f.steps} steps over {f.tried} of {self.samples} values ({span}); "
            f"stopped: {f.stopReason}.\n"
        )
        sys.stdout.flush()


class FinderPlot(SliceablePlot):
    """The finder's loss curve as a `SliceablePlot`, sliced in unit [0, 1] coordinates, with the suggestion.

    ``p.finder`` is the `ParamFinder`; ``p.suggestion`` the suggested value. In Jupyter it shows the
    finder view: the curve on a log axis, the suggestion marked, a range slider, and "Use this lr".
    """

    def __init__(self, finder: ParamFinder) -> None:
        values, losses = finder.values, finder.losses
        panel = Panel({"loss": (values, losses)}, title="ParamFinder", xlabel=finder.param, ylabel="fixed-batch loss")
        super().__init__([panel], docs=_REMINDER, unitSlice=True)
        self._options["xscale"] = "log"
        finite = losses[np.isfinite(losses)]
        if len(finite) and finite.min() > 0:  # the loss falls by decades: a log axis shows the whole sweep
            self._options["yscale"] = "log"
        self.finder = finder
        self.suggestion = finder.suggestion

    def data(self) -> list[list[LineData]]:
        """The sliced curve, plus a vertical ``suggested`` line when the suggestion is inside it."""
        panels = super().data()
        s = self.suggestion
        line = panels[0][0]
        if s is not None and math.isfinite(s) and len(line.y) and line.x is not None:
            ys = line.y[np.isfinite(line.y)]
            if len(ys) and line.x[0] <= s <= line.x[-1]:
                x = np.array([s, s])
                panels[0].append(LineData("suggested", np.array([float(ys.min()), float(ys.max())]), x=x))
        return panels
