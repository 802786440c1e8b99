"""What a setting's value may be: the errors of `Settings`, the type rules, value comparisons, env variables.

One set of rules holds for every way a value comes in (``s.k = v``, a panel's edit, an environment
variable): the key's type, taken from the value it was defined with (bool, int, float, str, or a
group of settings), its ``choices`` and its ``cb`` validator. The error and warning classes are
re-exported by `k1widgets.settings`, where users import them. Nothing here imports
`k1widgets.settings`, so `Settings` can use it while its module is still loading.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from k1widgets.settings.text import REDACTED

if TYPE_CHECKING:
    from k1widgets.settings.core import Callback, Settings

__all__ = ["SettingsEnvWarning", "SettingsValueError", "UnknownSettingError"]

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


class UnknownSettingError(AttributeError):
    """A key that a Settings does not have (attribute access, `Settings.context`, a panel path)."""


class SettingsValueError(ValueError):
    """A value that a setting does not accept (not one of its choices, not a number, read-only...)."""


class SettingsEnvWarning(UserWarning):
    """An environment variable whose text the setting does not accept: it is ignored, the default stays."""


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


# ---------------------------------------------------------------------------------------------- type rules
_KIND_TEXT = {
    "bool": "True or False",
    "int": "a whole number",
    "float": "a finite number",
    "str": "text (a str)",
}


def _kindOf(v: Any) -> str | None:
    """The type rule a key gets from the (non-Settings) value it is defined with; None: any value."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    return None


def _checkKind(label: str, kind: str | None, v: Any, sensitive: bool, default: Any) -> Any:
    """``v`` if it has the key's scalar type (ints and floats normalised), else raises `SettingsValueError`."""
    if kind is None or kind == "settings":  # groups are checked by Settings itself
        return v
    if kind == "bool" and isinstance(v, bool):
        return v
    if kind == "int" and isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return int(v)
    if kind == "float" and isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    if kind == "str" and isinstance(v, str):
        return v
    got = REDACTED if sensitive else f"{v!r} ({type(v).__name__})"
    msg = f"{label} takes {_KIND_TEXT[kind]}, got {got}."
    if kind == "int" and isinstance(v, numbers.Real) and not isinstance(v, bool):
        msg += f" Its default {default!r} is a whole number; to allow fractions, define it with a float default."
    if kind == "bool" and isinstance(v, str):
        msg += " Use True or False, not text."
    raise SettingsValueError(msg)


def _envWarning(envName: str, text: str, label: str, default: Any, sensitive: bool, reason: str) -> str:
    shown = REDACTED if sensitive else repr(text)
    kept = REDACTED if sensitive else repr(default)
    return f"Environment variable {envName}={shown} is ignored: {reason} {label} keeps its default {kept}."


def _envReason(e: BaseException, kind: str | None, sensitive: bool, stage: str) -> str:
    """Why an environment value was refused, in one sentence (details hidden for sensitive settings).

    ``stage`` is where it failed: ``"transform"`` (the env spec's function), ``"convert"`` (text to the
    key's type) or ``"rules"`` (type, choices, ``cb``: what ``s.k = value`` checks).
    """
    if sensitive:  # messages may quote the value
        return f"it breaks the setting's rules ({type(e).__name__}, details hidden: sensitive setting)."
    if stage == "rules":
        return str(e) if isinstance(e, SettingsValueError) else f"the setting refused it ({type(e).__name__}: {e})."
    if stage == "transform":
        return f"its transform raised {type(e).__name__}: {e}."
    what = f" to {_KIND_TEXT[kind]}" if kind in _KIND_TEXT else ""
    return f"it does not convert{what} ({type(e).__name__}: {e})."
