"""What a settings panel reads and writes: the plain-data tree of a `Settings`, and edits by path.

`settingsTree` describes every key (recursively) as JSON-able dicts, never holding a sensitive
value; `editSetting` parses what a browser sends for a setting's type and applies it with
``setattr`` (callbacks fire), `resetSetting` puts a default back. All three are re-exported by
`k1widgets.settings`.

This module needs the `Settings` class, so `k1widgets.settings` imports it after defining the class
(the package always loads `k1widgets.settings` first).
"""

from __future__ import annotations

import math
from typing import Any

from k1widgets.settings import _LOCK, Settings
from k1widgets.settingstext import REDACTED, _closeHint, _valueText
from k1widgets.settingsvalues import _FALSE, _TRUE, SettingsValueError, UnknownSettingError, _isNumber, _same

__all__ = ["editSetting", "resetSetting", "settingsTree"]


def _kind(s: Settings, k: str, v: Any) -> str:
    """Which editor a value gets: by the type of its default, if the current value still has it."""
    if isinstance(v, Settings):
        return "settings"
    if s._choices.get(k) is not None:
        return "choice"
    d = s._defaults.get(k, v)
    if isinstance(d, bool):
        return "bool" if isinstance(v, bool) else "readonly"
    if isinstance(d, int):
        return "int" if isinstance(v, int) and not isinstance(v, bool) else "readonly"
    if isinstance(d, float):
        return "float" if _isNumber(v) else "readonly"
    if isinstance(d, str):
        return "str" if isinstance(v, str) else "readonly"
    return "readonly"


def settingsTree(s: Settings, prefix: str = "") -> list[dict[str, Any]]:
    """JSON-able description of every key of ``s`` (recursively), for views. Never holds a sensitive value.

    Each node: ``key``, ``path`` (dotted, relative to ``s``), ``kind`` (``bool``, ``int``, ``float``,
    ``str``, ``choice``, ``readonly`` or ``settings``), ``text`` (the value as text, ``<redacted>``
    when sensitive), ``value`` (bools only), ``choices`` and ``choiceIndex`` (choices only), ``docs``,
    ``env`` (variable name or None), ``sensitive``, ``isDefault``, ``defaultText`` and ``children``
    (sub-settings only).
    """
    with _LOCK:  # a consistent picture even while another thread edits
        return _tree(s, prefix)


def _tree(s: Settings, prefix: str) -> list[dict[str, Any]]:
    nodes = []
    for k, v in list(s.__dict__.items()):
        if k.startswith("_"):
            continue
        kind = _kind(s, k, v)
        sensitive = bool(s._sensitives.get(k))
        default = s._defaults.get(k, v)
        node: dict[str, Any] = {
            "key": k,
            "path": f"{prefix}{k}",
            "kind": kind,
            "docs": s._docs.get(k, ""),
            "env": s._envs.get(k),
            "sensitive": sensitive,
            "isDefault": True if kind == "settings" else _same(v, default),
        }
        if kind == "settings":
            node["text"] = "<Settings>"
            node["defaultText"] = ""
            node["children"] = _tree(v, f"{prefix}{k}.")
        elif sensitive:
            node["text"] = REDACTED
            node["defaultText"] = REDACTED
        else:
            cutoff = 200 if kind == "readonly" else None  # editable text must round-trip whole
            node["text"] = _valueText(v, cutoff)
            node["defaultText"] = _valueText(default, cutoff)
            if kind == "bool":
                node["value"] = bool(v)
            if kind == "choice":
                choices = s._choices[k]
                node["choices"] = [_valueText(c, 80) for c in choices]
                node["choiceIndex"] = next((i for i, c in enumerate(choices) if _same(c, v)), -1)
        nodes.append(node)
    return nodes


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
