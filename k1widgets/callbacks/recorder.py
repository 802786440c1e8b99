"""Recorder: runs the model over the data without training and keeps what went through it."""

from __future__ import annotations

from typing import Any

import torch

from k1widgets.callbacks.callback import Callback

__all__ = ["Recorder"]


class Recorder(Callback):
    """Records ``(xb, yb, y)`` of every batch while `record` runs (nothing otherwise).

    ``l.record(epochs, batches)`` is the short way. There is no hidden time limit: a recording has
    exactly the batches asked for.
    """

    order = 20

    def __init__(self) -> None:
        super().__init__()
        self._recording = False
        self.xbs: list[Any] = []
        self.ybs: list[Any] = []
        self.metabs: list[Any] = []
        self.ys: list[Any] = []

    def endPass(self) -> None:
        """Keeps the batch and the model's output (detached)."""
        if not self._recording:
            return
        l = self.learner
        self.xbs.append(l.xb)
        self.ybs.append(l.yb)
        self.metabs.append(l.metab)
        self.ys.append(l.y.detach() if isinstance(l.y, torch.Tensor) else l.y)

    def record(self, epochs: int = 1, batches: int | None = None) -> tuple[list[Any], ...]:
        """Runs ``epochs`` epochs (``batches`` batches each) without training; returns what it saw.

        Returns:
            ``(xbs, ybs, ys)``, or ``(xbs, ybs, metabs, ys)`` when batches carry extra items.
        """
        from k1widgets.callbacks.modify import DontTrain

        l = self.learner
        if l is None:
            msg = "Recorder.record() needs the recorder to be in a learner's callbacks (l.cbs.withRecorder())."
            raise RuntimeError(msg)
        if l._running:  # before suspending anything: the running loop shares these callbacks
            msg = "The learner is already running; record after that run ends (h.wait()) or cancel it (l.cancel())."
            raise RuntimeError(msg)
        self.xbs, self.ybs, self.metabs, self.ys = [], [], [], []
        with l.cbs.context(), l.cbs.suspendEval(), torch.no_grad():
            l.cbs.append(DontTrain(), "_dontTrain")
            self._recording = True
            try:
                l.run(epochs, batches)
            finally:
                self._recording = False
        if any(self.metabs):
            return self.xbs, self.ybs, self.metabs, self.ys
        return self.xbs, self.ybs, self.ys

    def _reprUse(self) -> str:
        return "- cb.record(epochs, batches): to run without training and get (xbs, ybs, ys)"
