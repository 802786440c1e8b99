"""SettingsPanel: an editable, searchable view of a `Settings` tree."""

from __future__ import annotations

import threading
from typing import Any

import traitlets

from k1widgets.settings import Settings, editSetting, resetSetting, settingsTree
from k1widgets.widgets.base import View, staticAsset

__all__ = ["SettingsPanel"]


def _flatten(nodes: list[dict[str, Any]], out: dict[str, str]) -> dict[str, str]:
    for node in nodes:
        out[node["path"]] = node["text"]
        _flatten(node.get("children", []), out)
    return out


class SettingsPanel(View):
    """Every key of a `Settings`, with an editor per type, docs, env badges, search and reset.

    bool → checkbox, int/float → a text box checked in Python, str → text box, keys with choices → a
    dropdown, sub-settings → collapsible sections, anything else → read-only text. Sensitive values
    are never sent to the browser: their box is a write-only password field.

    An edit is applied with ``setattr`` (callbacks fire) under the settings lock, so it is safe while
    a run trains on another thread. An edit that does not parse, or that a callback rejects, leaves the
    value unchanged and shows the error next to the field. Changes made from Python (including
    inside ``with settings.context(...)`` and its restore) reach the panel through ``settings.feed``,
    at most ``settings.live.hz`` times a second.

    Args:
        settings: the Settings to show and edit (``k1widgets.settings`` or any other).
        title: the panel's heading.

    In a notebook, a `Settings` object displays as this panel; ``widget()`` returns one to place in a
    layout.

    Example:
        >>> import k1widgets
        >>> panel = k1widgets.settings.widget()
        >>> type(panel).__name__, panel.tree[0]["path"]
        ('SettingsPanel', 'displayCutoff')
    """

    _esm = staticAsset("settings.js")
    _css = staticAsset("settings.css")
    tree: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    errors = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("Settings").tag(sync=True)

    def __init__(self, settings: Settings, *, title: str = "Settings") -> None:
        if not isinstance(settings, Settings):
            msg = f"SettingsPanel shows a k1widgets Settings, got {type(settings).__name__}."
            raise TypeError(msg)
        super().__init__(tree=settingsTree(settings), title=title)
        self.settings = settings
        self.staticSource = settings
        self._errorLock = threading.Lock()
        self._errorTexts: dict[str, str] = {}  # path -> value text when the error was shown
        self.on_msg(self._onMsg)
        self.follow(settings.feed, self.refresh)

    def refresh(self) -> None:
        """Pushes the current values (called by the feed, on whichever thread changed a setting)."""
        tree = settingsTree(self.settings)
        texts = _flatten(tree, {})
        with self._errorLock:
            # an error belongs to the value it was shown for: drop it once the value changed
            stale = [p for p, t in self._errorTexts.items() if p in texts and texts[p] != t]
            for p in stale:
                del self._errorTexts[p]
            errors = {p: m for p, m in self.errors.items() if p not in stale}
        self.push(tree=tree, errors=errors)

    def _setError(self, path: str, message: str | None) -> None:
        with self._errorLock:
            errors = dict(self.errors)
            if message is None:
                errors.pop(path, None)
                self._errorTexts.pop(path, None)
            else:
                errors[path] = message
                self._errorTexts[path] = _flatten(settingsTree(self.settings), {}).get(path, "")
        self.push(errors=errors)

    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        """Edits from the browser: ``{"type": "set", "path": "live.hz", "value": "5"}`` or ``{"type": "reset"}``."""
        if not isinstance(content, dict) or content.get("type") not in ("set", "reset"):
            return
        path = str(content.get("path"))
        try:
            if content["type"] == "set":
                editSetting(self.settings, path, content.get("value"))
            else:
                resetSetting(self.settings, path)
        except Exception as e:  # shown next to the field; the value is unchanged
            self._setError(path, self._describe(path, e))
        else:
            self._setError(path, None)
        self.refresh()

    def _describe(self, path: Any, e: Exception) -> str:
        if self._isSensitive(path):  # a callback's message might quote the old value
            return f"{type(e).__name__}: rejected (details hidden: sensitive setting)"
        return str(e) if type(e).__name__.startswith("Settings") else f"{type(e).__name__}: {e}"

    def _isSensitive(self, path: Any) -> bool:
        node: Any = self.settings
        parts = str(path).split(".")
        for part in parts[:-1]:
            node = node.__dict__.get(part)
            if not isinstance(node, Settings):
                return False
        return bool(node._sensitives.get(parts[-1]))
