"""ProgressView: the live progress widget of a run, with cancel and pause/resume buttons."""

from __future__ import annotations

import math
from typing import Any

import traitlets

from k1widgets.live import Subscription
from k1widgets.widgets.base import View, staticAsset

__all__ = ["ProgressView"]

_FINAL = ("done", "cancelled", "error")
_SCOPES = ("batch", "epoch", "run")


_LOSSES = ("trainLoss", "validLoss")


def _jsonSafe(state: dict[str, Any]) -> dict[str, Any]:
    """The state with NaN and infinities made JSON-safe.

    A loss goes as the text "NaN", "Infinity" or "-Infinity" (the view shows it, so a diverged run
    is seen); anything else as null (the view shows "-").
    """
    out = {}
    for k, v in state.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = ("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")) if k in _LOSSES else None
        out[k] = v
    return out


class ProgressView(View):
    """How far a run is: overall bar, epoch, batch, times, throughput, last losses, status.

    Buttons cancel the batch, the epoch or the run and pause/resume it; they only enqueue commands
    (``learner.cancel(scope)``, ``learner.pause()``, ``learner.resume()``), which the loop applies at
    the next batch boundary, so they are safe on any thread.

    The view follows ``learner.feed`` (throttled to ``settings.live.hz``; flushed at every epoch end and
    at the end of the run, so the final state is exact) and pushes the `ProgressBar`'s ``state()`` in
    one message per update. Closing the view unsubscribes it.

    Its display data also holds the bar's static picture (``ProgressBar._repr_html_``) and its text line;
    when a run ends, a view shown by ``l.run()`` re-sends its output (`republish`), so an executed
    notebook keeps the final progress for exports.

    Args:
        progressBar: the `k1widgets.callbacks.ProgressBar` to show (attached to a learner).
        runOnly: stop following once the run ends (the views that ``l.run()`` displays in a cell do
            this, so old cells stop updating); False keeps following later runs too (``widget()``).

    Example:
        >>> from k1widgets import Learner
        >>> l = Learner.sample()
        >>> view = l.ProgressBar.widget()  # a view to place in your own layout
        >>> view.state["status"], view.state["epochs"]
        ('idle', 0)
    """

    _esm = staticAsset("progress.js")
    _css = staticAsset("progress.css")
    state = traitlets.Dict().tag(sync=True)

    def __init__(self, progressBar: Any, *, runOnly: bool = False) -> None:
        super().__init__()
        self.progressBar = progressBar
        self.runOnly = runOnly
        self._sub: Subscription | None = None
        learner = progressBar.learner
        if learner is None:
            msg = (
                "ProgressView needs a ProgressBar attached to a learner (l.ProgressBar), "
                "got one with no learner: add it with l.cbs.append(ProgressBar())."
            )
            raise ValueError(msg)
        self.learner = learner
        self.staticSource = progressBar
        self.on_msg(self._onMsg)
        self.state = self._snapshot()
        self._final = self.state["status"] in _FINAL
        self._sub = self.follow(learner.feed, self.refresh)

    def _snapshot(self) -> dict[str, Any]:
        state = dict(self.progressBar.state())
        state.setdefault("message", "")
        return _jsonSafe(state)

    def refresh(self) -> None:
        """Pushes the current state to the browser (called by the feed, on the training thread)."""
        state = self._snapshot()
        self.push(state=state)
        final = state["status"] in _FINAL
        if final and not self._final:
            self.republish()  # the notebook keeps the run's final picture (exports)
        self._final = final
        if self.runOnly and final and self._sub is not None:
            self.unfollow()

    def staticData(self) -> dict[str, Any]:
        """The bar's static HTML, and its text line (with the cancel message) as ``text/plain``."""
        data = super().staticData()
        line = self.progressBar.line().lstrip("\r")
        message = self.progressBar.message
        data["text/plain"] = f"{line}  {message}" if message else line
        return data

    def unfollow(self) -> None:
        """Stops following the learner's feed (the view keeps showing its last state)."""
        sub, self._sub = self._sub, None
        if sub is not None:
            sub.remove()
            if sub in self._subs:
                self._subs.remove(sub)

    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        """Button messages from the browser: ``{"action": "cancel", "scope": "run"}``, pause, resume."""
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "cancel" and content.get("scope") in _SCOPES:
            self.learner.cancel(content["scope"])
        elif action == "pause":
            self.learner.pause()
        elif action == "resume":
            self.learner.resume()
