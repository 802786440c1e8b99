"""What every view shares: bundled front-end assets, static fallbacks, feed subscriptions, thread-safe pushes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget

from k1widgets import display
from k1widgets.live import Feed, Subscription

__all__ = ["StaticFallback", "View", "staticAsset"]

_STATIC = Path(__file__).resolve().parent.parent / "static"


def staticAsset(name: str) -> str:
    """The text of a built front-end file, ``k1widgets/static/<name>``.

    Views set ``_esm``/``_css`` to this string, never to a `Path`: a `Path` makes anywidget keep
    every instance alive (anywidget issue #929).

    Raises:
        FileNotFoundError: the front-end was not built (``npm run build``, or ``pip install .``).
    """
    path = _STATIC / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if name.endswith(".css"):
            return ""
        msg = f"The front-end bundle {path} is missing. Build it with `npm install && npm run build`."
        raise FileNotFoundError(msg) from None


class StaticFallback:
    """Mixin for views (first base): the view's display data carries a static picture of what it shows.

    A widget's own display data holds only the widget and ``<...View object at 0x...>`` as text, so a
    notebook exported without the live kernel (nbconvert, GitHub, a terminal) showed nothing useful.
    With this mixin the display data also holds `staticData` (by default ``display.fallback`` of
    ``staticSource``, the core object the view shows; `k1widgets.display.view` sets it): its text, and
    its HTML / SVG picture. Exports that have no widget state pick that picture.

    ``displayHandle`` is the handle of the output the view was shown in by `k1widgets.display.show`;
    `republish` re-sends that output, so the notebook keeps the view's latest picture (for example at
    the end of a run) while the front end keeps showing the live widget.
    """

    staticSource: Any = None
    displayHandle: Any = None

    def staticData(self) -> dict[str, Any]:
        """The static display data: ``text/plain`` and, when the source has them, ``text/html`` / SVG."""
        return display.fallback(self.staticSource) if self.staticSource is not None else {}

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, None)
        if data is None:  # a widget without a view
            return bundle
        data = {**data, **self.staticData()}
        return (data, meta) if meta is not None else data

    def republish(self) -> None:
        """Re-sends the output this view was shown in, with its current static picture (no-op if none)."""
        if self.displayHandle is not None:
            self.displayHandle.update(self)


class ShownTracking:
    """Mixin for views that skip redraws while no front end shows them.

    Their JS reports ``{"event": "rendered"}`` and ``{"event": "removed"}``; `hidden` is True once the
    view was displayed and no front end shows it now (its output cleared, its cell re-run), and then
    marks the view stale; `trackShown` counts the events and says when a stale view is shown again, so
    the caller redraws it. Forgotten views cost nothing during training.
    """

    _shown = 0
    _shownEver = False
    _stale = False

    def hidden(self) -> bool:
        """True (and the view marked stale) when the view was shown once and is shown nowhere now."""
        if self._shownEver and self._shown <= 0:
            self._stale = True
            return True
        return False

    def trackShown(self, content: Any) -> bool:
        """Counts a front end's "rendered" / "removed" message; True when a stale view was just shown again."""
        event = content.get("event") if isinstance(content, dict) else None
        if event == "rendered":
            self._shown += 1
            self._shownEver = True
            if self._stale:
                self._stale = False
                return True
        elif event == "removed":
            self._shown -= 1
        return False


class View(StaticFallback, anywidget.AnyWidget):
    """Base of the anywidget views.

    ``self.follow(feed, refresh)`` calls ``refresh()`` whenever the feed fires (throttled there) and
    stops when the view is closed. ``self.push(**traits)`` sets several traits in one message, from
    any thread.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._subs: list[Subscription] = []
        self._pushLock = threading.RLock()  # a trait set inside push may fire an observer that pushes again
        self._closed = False
        self._keepBrowserRouting()

    def _send(self, msg: Any, buffers: Any = None) -> None:
        super()._send(msg, buffers)
        self._keepBrowserRouting()

    def _keepBrowserRouting(self) -> None:
        """Lets the browser's messages reach Python during a blocking run (comms over subshells).

        ipykernel >= 7.2 routes the browser's next message on a comm to the shell that last sent on
        it, so that replies reach a subshell waiting for them. Views send from the training loop,
        which is the busy main shell during ``l.run()``; clicks and edits would then wait for the
        cell to end. Nothing here waits for replies, so forget that routing and keep the subshell
        JupyterLab chose for the comm (view callbacks are thread-safe).
        """
        comm = self.comm
        if comm is not None:
            comm.__dict__.pop("_reply_subshell_id", None)

    def follow(self, feed: Feed, refresh: Callable[[], None]) -> Subscription:
        """Subscribes ``refresh`` to ``feed`` for as long as this view is open."""
        sub = feed.subscribe(refresh)
        self._subs.append(sub)
        return sub

    def releaseFeed(self, feed: Feed) -> list[Callable[[], None]]:
        """Stops following ``feed`` and returns the refresh functions, for a container that calls them itself.

        The dashboard does this with the views inside its tabs: it follows the learner's feed once
        and refreshes only the tab on screen, at a rate that keeps the kernel's messages in budget.
        """
        mine = [s for s in self._subs if s._feed is feed]
        for sub in mine:
            sub.remove()
            self._subs.remove(sub)
        return [s.fn for s in mine]

    def push(self, **traits: Any) -> None:
        """Sets traits together (one comm message); skips values that did not change; thread-safe."""
        if self._closed:
            return
        with self._pushLock:
            changed = {k: v for k, v in traits.items() if getattr(self, k) != v}
            if not changed:
                return
            with self.hold_sync():
                for k, v in changed.items():
                    setattr(self, k, v)

    def close(self) -> None:
        """Closes the view and stops following every feed."""
        self._closed = True
        for sub in self._subs:
            sub.remove()
        self._subs.clear()
        super().close()
