"""CacheView: the entries of a ``@checkpoint`` function, live, with delete and clear buttons."""

from __future__ import annotations

import math
from typing import Any

import traitlets

from k1widgets.persist.cacheinfo import CacheInfo
from k1widgets.widgets.base import View, staticAsset

__all__ = ["CacheView"]


def _jsonSafe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _jsonSafe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonSafe(x) for x in v]
    return v


class CacheView(View):
    """A table of a cached function's entries (key, size, age, status, arguments) and its hit/miss counts.

    Each row has a Delete button; "Clear all" empties the cache and "Refresh" re-reads the folder
    (for entries written by other processes). The view follows the function's feed, so calls that
    compute or hit show up live (at most ``settings.live.hz`` updates a second). Button messages
    delete files through `CacheInfo.delete` / `CacheInfo.clear`, which only remove this function's
    entries; no training loop state is touched, so they run on the comm's thread at once.

    Args:
        info: ``fn.info()`` of a ``@checkpoint`` function, or the function itself.

    Example:
        >>> from k1widgets import checkpoint
        >>> @checkpoint(work_dir="cache")
        ... def expensive(x):
        ...     return x * 2
        >>> expensive(3)
        6
        >>> view = expensive.info().widget()   # what displaying expensive.info() shows in JupyterLab
        >>> type(view).__name__
        'CacheView'
    """

    _esm = staticAsset("cache.js")
    _css = staticAsset("cache.css")
    state = traitlets.Dict().tag(sync=True)

    def __init__(self, info: Any) -> None:
        super().__init__()
        if not isinstance(info, CacheInfo):
            info = getattr(info, "info", lambda: None)()
        if not isinstance(info, CacheInfo):
            msg = "CacheView shows a @checkpoint function's cache: pass fn.info() (or the decorated function)."
            raise TypeError(msg)
        self.info = info
        self.on_msg(self._onMsg)
        self.state = _jsonSafe(info.snapshot())
        self.follow(info.feed, self.refresh)

    def refresh(self) -> None:
        """Re-reads the folder and pushes the entries to the browser."""
        self.push(state=_jsonSafe(self.info.snapshot()))

    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        """``{"action": "delete", "name": ...}``, ``{"action": "clear"}`` or ``{"action": "refresh"}``."""
        if not isinstance(content, dict):
            return
        action = content.get("action")
        error = ""
        if action == "delete" and isinstance(content.get("name"), str):
            try:
                self.info.delete(content["name"])
            except (KeyError, OSError) as e:
                error = str(e.args[0]) if e.args else str(e)
        elif action == "clear":
            try:
                self.info.clear()
            except OSError as e:
                error = str(e)
        elif action != "refresh":
            return
        state = _jsonSafe(self.info.snapshot())
        state["error"] = error
        self.push(state=state)
