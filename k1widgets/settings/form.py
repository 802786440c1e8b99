"""What a settings panel writes: edits of a `Settings` by dotted path.

`editSetting` parses what a browser sends for a setting's type and applies it with ``setattr``
(callbacks fire), `resetSetting` puts a default back. The plain-data tree a panel reads is
`k1widgets.settings.core.settingsTree`. All are re-exported by `k1widgets.settings`.
"""

from __future__ import annotations

import math
from typing import Any

from k1widgets.settings.core import Settings, _kind
from k1widgets.settings.text import _closeHint
from k1widgets.settings.values import _FALSE, _TRUE, SettingsValueError, UnknownSettingError

__all__ = ["editSetting", "resetSetting"]


def _resolve(root: Settings, path: str) -> tuple[Settings, str]:
    parts = path.split(".") if isinstance(path, str) else []
    if not parts or not all(parts):
        msg = f"Not a setting path: {path!r}."
        raise UnknownSettingError(msg)
    node = root
    for part in parts[:-1]:
        nxt = node.__dict__.get(part) if not part.startswith("_") else None
        if not isinstance(nxt, Settings):
            keys = [k for k, v in node.__dict__.items() if isinstance(v, Settings) and not k.startswith("_")]
            msg = (
                f"No sub-settings {part!r} in {node._label()} (path {path!r}). "
                f"Available: {', '.join(keys) or '(none)'}."
            )
            raise UnknownSettingError(msg)
        node = nxt
    key = parts[-1]
    if key.startswith("_") or key not in node.__dict__:
        keys = node._keys()
        msg = (
            f"{node._label()} has no setting {key!r}. Available: {', '.join(keys) or '(none)'}.{_closeHint(key, keys)}"
        )
        raise UnknownSettingError(msg)
    return node, key


def _parseEdit(s: Settings, k: str, raw: Any) -> Any:
    v = s.__dict__[k]
    kind = _kind(s, k, v)
    label = s._label(k)
    if kind == "choice":
        choices = s._choices[k]
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < len(choices):
            msg = f"{label}: choose one of the {len(choices)} options (got index {raw!r})."
            raise SettingsValueError(msg)
        return choices[raw]
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE - {""}:
            return raw.strip().lower() in _TRUE
        msg = f"{label} takes true or false, got {raw!r}."
        raise SettingsValueError(msg)
    if kind == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        try:
            return int(str(raw).strip())
        except ValueError:
            msg = f"{label} takes a whole number, got {raw!r}."
            raise SettingsValueError(msg) from None
    if kind == "float":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            value = float(raw)
        else:
            try:
                value = float(str(raw).strip())
            except ValueError:
                msg = f"{label} takes a number, got {raw!r}."
                raise SettingsValueError(msg) from None
        if math.isnan(value):
            msg = f"{label} takes a number, got NaN."
            raise SettingsValueError(msg)
        return value
    if kind == "str":
        if not isinstance(raw, str):
            msg = f"{label} takes text, got {type(raw).__name__}."
            raise SettingsValueError(msg)
        return raw
    msg = f"{label} is read-only in the panel (a {type(v).__name__}); set it from Python."
    raise SettingsValueError(msg)


def editSetting(root: Settings, path: str, raw: Any) -> Any:
    """Applies an edit from a view: parses ``raw`` for the setting's type, then ``setattr`` (callbacks fire).

    ``raw`` is what a browser sends: text for int, float and str settings, a bool for bool settings,
    the option's index for settings with choices. Returns the new value.

    Raises:
        UnknownSettingError: no setting at ``path``.
        SettingsValueError: ``raw`` does not parse for the setting's type, or it is read-only.
        Exception: whatever the setting's callback raised (the value is then unchanged).
    """
    s, k = _resolve(root, path)
    value = _parseEdit(s, k, raw)
    setattr(s, k, value)
    return value


def resetSetting(root: Settings, path: str) -> Any:
    """Sets the setting at ``path`` back to its default (``setattr``, so callbacks fire); returns it."""
    s, k = _resolve(root, path)
    if isinstance(s.__dict__[k], Settings):
        msg = f"{s._label(k)} is a group of settings; reset its keys one by one."
        raise SettingsValueError(msg)
    value = s._defaults.get(k, s.__dict__[k])
    setattr(s, k, value)
    return value
