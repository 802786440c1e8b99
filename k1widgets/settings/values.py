"""What a setting's value may be: the errors of `Settings`, value comparisons, and environment variables.

The three error classes (re-exported by `k1widgets.settings`, where users import them), the words
that read as true or false, the number and sameness checks that choices and edits use, and how an
``env=`` spec and the variable's text become a setting's value. Nothing here imports
`k1widgets.settings`, so `Settings` can use it while its module is still loading.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from k1widgets.settings.text import REDACTED

if TYPE_CHECKING:
    from k1widgets.settings.core import Callback, Settings

__all__ = ["SettingsEnvError", "SettingsValueError", "UnknownSettingError"]

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


class UnknownSettingError(AttributeError):
    """A key that a Settings does not have (attribute access, `Settings.context`, a panel path)."""


class SettingsValueError(ValueError):
    """A value that a setting does not accept (not one of its choices, not a number, read-only...)."""


class SettingsEnvError(ValueError):
    """An environment variable whose text could not be turned into the setting's value."""


def _isNumber(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return False


def _choiceMessage(label: str, choices: Sequence[Any], v: Any, sensitive: bool) -> str:
    """Why ``v`` is not one of a setting's ``choices`` (naming the closest one; hiding ``v`` when sensitive)."""
    texts = [repr(c) for c in choices]
    if sensitive:
        return f"{label} must be one of its {len(texts)} choices; got {REDACTED}."
    close = difflib.get_close_matches(repr(v), texts, n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    return f"{label} must be one of {', '.join(texts)}; got {v!r}.{hint}"


def _atLeast(key: str, low: float, *, strict: bool = False) -> Callback:
    """A callback that rejects values below ``low`` (or equal to it when ``strict``)."""

    def check(s: Settings, v: Any) -> None:
        if not _isNumber(v) or not (v > low if strict else v >= low):
            msg = f"{s._label(key)} must be a number {'>' if strict else '>='} {low:g}, got {v!r}."
            raise SettingsValueError(msg)

    return check


def _coerceText(text: str, default: Any) -> Any:
    """Environment text -> a value of the default's type (bool, int, float); other types keep the text."""
    if isinstance(default, bool):
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        msg = f"expected a boolean (one of {', '.join(sorted(_TRUE | _FALSE - {''}))})"
        raise ValueError(msg)
    if isinstance(default, int):
        return int(text.strip())
    if isinstance(default, float):
        return float(text.strip())
    return text


def _parseEnv(label: str, env: Any) -> tuple[str, Callable[[str], Any] | None]:
    """``"VAR"`` or ``("VAR", transform)`` -> ``(name, transform or None)``, for the setting ``label``."""
    if isinstance(env, str) and env:
        return env, None
    if isinstance(env, tuple) and len(env) == 2 and isinstance(env[0], str) and callable(env[1]):
        return env[0], env[1]
    msg = f'env for {label} must be "VAR" or ("VAR", transform), got {env!r}.'
    raise SettingsValueError(msg)


def _envValue(label: str, env: Any, v: Any, sensitive: bool) -> tuple[str, Any]:
    """The variable's name and the setting's value: ``v``, or the variable's text converted when it is set.

    Raises:
        SettingsValueError: ``env`` is not ``"VAR"`` or ``("VAR", transform)``.
        SettingsEnvError: the text could not be converted (the message names the variable, its value
            unless ``sensitive``, and the setting ``label``).
    """
    envName, transform = _parseEnv(label, env)
    text = os.environ.get(envName)
    if text is None:
        return envName, v
    try:
        return envName, transform(text) if transform is not None else _coerceText(text, v)
    except Exception as e:
        head = f"Environment variable {envName}={{}} could not be converted for setting {label!r}"
        if sensitive:  # the cause's message may quote the value: leave it out, unchained
            msg = f"{head.format(REDACTED)}: {type(e).__name__} (details hidden: sensitive setting)"
            raise SettingsEnvError(msg) from None
        msg = f"{head.format(repr(text))}: {type(e).__name__}: {e}"
        raise SettingsEnvError(msg) from e
