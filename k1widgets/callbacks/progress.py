"""ProgressBar: how far the run is, in a live widget (notebooks) or a throttled text line (terminals)."""

from __future__ import annotations

import html
import math
import sys
import time
from typing import Any

from k1widgets import display
from k1widgets.callbacks.callback import Callback
from k1widgets.cancel import CancelException

__all__ = ["ProgressBar"]


def _fmtTime(s: float) -> str:
    if not math.isfinite(s):
        return "-"
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(s), 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def _fmtLoss(x: float | None) -> str:
    """A loss for the static picture: "-" before any is recorded; NaN and infinities shown, never hidden."""
    if x is None:
        return "-"
    return f"{x:.4g}" if math.isfinite(x) else ("NaN" if math.isnan(x) else f"{x}")


_STATUS_TEXT = {"error": "stopped by an error"}  # the other statuses read as they are named


class ProgressBar(Callback):
    """Tracks progress and shows it.

    Sets ``l.progress`` (0 → 1) every batch. In a widget-capable notebook it displays a live progress
    view (with cancel and pause buttons); elsewhere it rewrites one text line, at most ``hz`` times a
    second, never once per batch.
    """

    suspendInEval = True

    def __init__(self, *, hz: float = 10.0, stream: Any = None) -> None:
        super().__init__()
        self.hz = hz
        self.stream = stream
        self.view: Any = None
        self._resetRun()
        self._t0 = 0.0  # no run yet: state() reports 0 s elapsed

    def _resetRun(self) -> None:
        self._t0 = time.perf_counter()
        self._lastWrite = 0.0
        self._done = 0
        self._cancelled = self._ended = False
        self._lossStart = (0, 0)  # the Loss callback's lengths when this run started
        self.elapsed = 0.0
        self.message = ""  # "Run cancelled: ..." once a run is cancelled, "ValueError: ..." after an error
        self._quiet = False  # inside display.suppressed(): no view and no text line

    # ------------------------------------------------------------------ checkpoints
    def startRun(self) -> None:
        """Starts the clock and shows the view (nothing inside `display.suppressed`: a dashboard shows the run)."""
        self._resetRun()
        learner: Any = self.learner
        lossCb = learner.cbs._byName.get("Loss")
        if lossCb is not None:  # the line shows this run's losses, never the previous run's
            self._lossStart = (len(lossCb.train), len(lossCb.valid))
        self.learner.progress = 0.0
        self.view = display.show(self, runOnly=True)
        self._quiet = display.isSuppressed()

    def startBatch(self) -> None:
        """Updates ``l.progress``; writes the text line when it is due."""
        l = self.learner
        batches = l.batches or 1
        l.progress = (min(l.batch, batches) / batches + l.epoch) / max(l.epochs, 1)
        self._done += 1
        if self.view is None and not self._quiet:
            now = time.perf_counter()
            if now - self._lastWrite >= 1.0 / self.hz:
                self._lastWrite = now
                self._write(self.line(), end="")

    def cancelRun(self) -> None:
        """Leaves the progress line in place; the learner appends "Run cancelled: ..."."""
        self._cancelled = True
        e = sys.exc_info()[1]  # the learner dispatches cancelRun while handling the exception
        if isinstance(e, CancelException):
            self.message = e.announcement
        if self.view is None and not self._quiet:
            self._write(self.line() + "  ", end="")

    def endRun(self) -> None:
        """Writes the final state; after an error, keeps its message (``"ValueError: ..."``) for views."""
        self.elapsed = time.perf_counter() - self._t0
        self._ended = True
        e = sys.exc_info()[1]  # set when the learner cleans up after an error
        if e is not None and self.learner.status == "error":
            self.message = f"{type(e).__name__}: {e}"
        if self.learner.status == "running":
            self.learner.progress = 1.0
        if self.view is None and not self._cancelled and not self._quiet:
            self._write(self.line(), end="\n")

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """A snapshot for views: progress, epoch, batch, times, throughput, last losses, status.

        ``trainLoss`` and ``validLoss`` are the run's latest recorded batch losses (NaN when the loss
        is NaN), or None before the run recorded any.
        """
        l = self.learner
        if self._ended or not self._t0:  # finished, or never started
            elapsed = self.elapsed
        else:
            elapsed = time.perf_counter() - self._t0
        progress = float(l.progress or 0.0)
        remaining = elapsed / progress * (1 - progress) if progress > 0 else math.nan
        train, valid = self._lastLosses()
        return {
            "progress": progress,
            "epoch": int(l.epoch),
            "epochs": int(l.epochs),
            "batch": int(l.batch),
            "batches": int(l.batches or 0),
            "elapsed": elapsed,
            "remaining": remaining,
            "throughput": self._done / elapsed if elapsed > 0.2 else math.nan,
            "trainLoss": train,
            "validLoss": valid,
            "status": l.status,
            "message": self.message,
        }

    def _lastLosses(self) -> tuple[float | None, float | None]:
        """This run's latest (train, valid) batch losses; None where it recorded none yet, NaN stays NaN."""
        learner: Any = self.learner
        lossCb = learner.cbs._byName.get("Loss")
        if lossCb is None:
            return None, None
        out: list[float | None] = []
        for series, start in zip((lossCb.train, lossCb.valid), self._lossStart, strict=True):
            values = series.values
            out.append(float(values[-1]) if len(values) > start else None)
        return out[0], out[1]

    def line(self) -> str:
        """The text form: ``Progress:  20%, epoch:  1/10, batch: 152/157, elapsed:    1.2s ...``."""
        s = self.state()
        w = len(str(s["epochs"]))
        bw = len(str(s["batches"]))
        parts = [
            f"Progress: {round(s['progress'] * 100):3d}%",
            f"epoch: {s['epoch'] + 1:>{w}}/{s['epochs']}",
            f"batch: {s['batch'] + 1:>{bw}}/{s['batches']}",
            f"elapsed: {_fmtTime(s['elapsed']):>6}",
        ]
        if math.isfinite(s["remaining"]) and s["progress"] < 1:
            parts.append(f"remaining: {_fmtTime(s['remaining']):>6}")
        if math.isfinite(s["throughput"]):
            parts.append(f"{s['throughput']:.0f} batches/s")
        if s["trainLoss"] is not None:  # a NaN or infinite loss shows as nan / inf, never hidden
            parts.append(f"loss: {s['trainLoss']:.4g}")
        return "\r" + ", ".join(parts)

    def _repr_html_(self) -> str:
        """A static picture of the progress (the fallback for exports, GitHub and the view's output).

        The fields of the live view, without its buttons: bar and percentage, epoch, batch, elapsed,
        remaining (while running), throughput, last losses, and the status or cancel message.
        """
        s = self.state()
        p = min(max(s["progress"], 0.0), 1.0)
        epochs, batches = s["epochs"], s["batches"]
        finished = s["status"] in ("done", "cancelled", "error")
        parts = [
            f"epoch {min(s['epoch'] + 1, max(epochs, 1))}/{epochs}",
            f"batch {min(s['batch'] + 1, max(batches, 1))}/{batches}",
            f"elapsed {_fmtTime(s['elapsed'])}",
        ]
        if not finished:
            parts.append(f"remaining {_fmtTime(s['remaining'])}")
        if math.isfinite(s["throughput"]):
            parts.append(f"{s['throughput']:.0f} batches/s")
        parts.append(f"loss {_fmtLoss(s['trainLoss'])} train, {_fmtLoss(s['validLoss'])} valid")
        status = html.escape(s["message"] or _STATUS_TEXT.get(s["status"], s["status"]))
        return (
            f'<div class="k1w-progress-static" data-status="{html.escape(s["status"])}" '
            'style="font-family:sans-serif;font-size:13px;line-height:1.6">'
            f'<progress value="{p:.4f}" max="1" style="width:60%;max-width:480px;vertical-align:middle"></progress> '
            f"<b>{round(p * 100)}%</b> {status}<br>"
            f"<span>{html.escape(', '.join(parts))}</span></div>"
        )

    # ------------------------------------------------------------------ widget
    def widget(self) -> Any:
        """A live `ProgressView` of this bar's learner that keeps following later runs too."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["view"] = None  # a live widget is not saved with the learner
        return state

    def _write(self, text: str, end: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text + end)
        stream.flush()

    def _reprUse(self) -> str:
        return "- cb.state(): a snapshot of the progress (what the view shows)"
