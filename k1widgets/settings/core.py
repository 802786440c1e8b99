"""Settings: a documented tree of values.

A `Settings` is a fancy dict with attribute access (the seeds' ``k1lib.Settings``): every key can
carry docs, a change callback, a "sensitive" flag (shown as ``<redacted>``), an environment variable
that overrides its default, and a list of allowed choices. Settings nest, print as an aligned table,
and change temporarily inside ``with s.context(...)``.

Keys are defined by ``Settings(k=v)``, by `Settings.add` or, for a group, by assigning a new
`Settings`; assigning an unknown key is refused (a typo never creates a key). One set of rules holds
for every way a value comes in (``s.k = v``, a panel's edit, the environment): the type of the value
the key was defined with (bool, int, float, str; a group stays a group), its ``choices``, and its
``cb`` validator. A bad environment value only warns (`SettingsEnvWarning`) and keeps the default.

Reading a setting is a plain attribute read (values live in the instance ``__dict__``), so the
training loop can read settings on every batch for free. Writes take one module-wide lock, so edits
that arrive from a widget on a comm thread are applied atomically with their callbacks while a run
trains on another thread.

Every change, from Python or from a panel, is announced on ``s.feed`` (a throttled `live.Feed`) of
the Settings that changed and of every Settings above it; the settings panel follows that feed.

The rooms beside this one: `values` (the errors, value checks, environment variables), `text`
(redaction, the repr and the HTML table), `form` (a panel's edits) and `defaults` (the global
`settings` of k1widgets). `k1widgets.settings` re-exports their public names.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from k1widgets import display
from k1widgets.live import Feed
from k1widgets.settings.text import REDACTED, _alignedText, _closeHint, _htmlTable, _limitChars, _oneLine, _valueText
from k1widgets.settings.values import (
    SettingsEnvWarning,
    SettingsValueError,
    UnknownSettingError,
    _checkKind,
    _choiceMessage,
    _coerceText,
    _envReason,
    _envWarning,
    _kindOf,
    _parseEnv,
    _same,
)

__all__ = [
    "Settings",
    "SettingsEnvWarning",
    "SettingsValueError",
    "UnknownSettingError",
    "nameRoot",
    "settingsTree",
]

_MISSING: Any = object()
# One lock for every Settings: a write and its callback happen together, whichever thread (the
# kernel, a comm subshell, a background run) makes it. Re-entrant so callbacks may set settings.
_LOCK = threading.RLock()

Callback = Callable[["Settings", Any], None]

# Named roots (the package's global `settings`): messages say ``settings.live.hz``, and every
# Settings prints with the root's ``displayCutoff``. See `nameRoot`.
_ROOTS: dict[int, str] = {}
_ROOT_OBJECTS: list[Settings] = []


def nameRoot(s: Settings, name: str) -> None:
    """Names a root Settings for messages (``settings.live.hz``); its ``displayCutoff`` applies to every repr."""
    _ROOTS[id(s)] = name
    _ROOT_OBJECTS.append(s)


EnvSpec = str | tuple[str, Callable[[str], Any]]


class Settings:
    """A nestable bag of documented values, with attribute access.

    Example:
        >>> s = Settings(a=3, b="42")
        >>> s.c = Settings(d=8)
        >>> s.a, s.b, s.c.d
        (3, '42', 8)
        >>> s.add("lr", 0.1, "learning rate of the demo")  # doctest: +ELLIPSIS
        Settings:
        ...
        >>> s.lr = 0.01
        >>> s.lr = "fast"
        Traceback (most recent call last):
        ...
        k1widgets.settings.values.SettingsValueError: lr takes a finite number, got 'fast' (str).

    Keys are identifiers that do not start with ``_`` and do not shadow a method (``add``,
    ``context``, ``feed``, ``widget``). Reading or assigning a missing key raises
    `UnknownSettingError` (an `AttributeError`) naming the valid keys and the closest one; new keys
    come from `add` (or ``Settings(k=v)``, or assigning a new `Settings` group).

    Args:
        **kwargs: initial keys and values (no docs; use `add` for docs, callbacks, env...).
    """

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_docs", {})
        object.__setattr__(self, "_cbs", {})
        object.__setattr__(self, "_sensitives", {})
        object.__setattr__(self, "_envs", {})
        object.__setattr__(self, "_choices", {})
        object.__setattr__(self, "_defaults", {})
        object.__setattr__(self, "_kinds", {})  # the type rule of each key: "int", "settings"... or None (any)
        object.__setattr__(self, "_parents", [])  # [(parent Settings, key)]
        object.__setattr__(self, "_feed", None)
        for k, v in kwargs.items():
            self._define(k, v)

    # ------------------------------------------------------------------ keys and values
    def _keys(self) -> list[str]:
        return [k for k in self.__dict__ if not k.startswith("_")]

    def _label(self, k: str = "") -> str:
        """A dotted name for messages: ``settings.live.hz`` when reachable from a named root."""
        parts = [k] if k else []
        node: Settings = self
        seen = {id(node)}
        while node._parents:
            node, key = node._parents[0]
            if id(node) in seen:
                break
            seen.add(id(node))
            parts.append(key)
        root = _ROOTS.get(id(node))
        if root is not None:
            parts.append(root)
        return ".".join(reversed(parts)) or "Settings"

    def _checkKey(self, k: str) -> None:
        if not isinstance(k, str) or not k.isidentifier():
            msg = f"A setting's key must be a Python identifier, got {k!r}."
            raise SettingsValueError(msg)
        if k.startswith("_"):
            msg = f"Setting keys may not start with '_' (reserved for internals), got {k!r}."
            raise SettingsValueError(msg)
        if hasattr(type(self), k):
            msg = (
                f"Setting key {k!r} would hide the Settings method of the same name. "
                f"Reserved names: {', '.join(n for n in dir(Settings) if not n.startswith('_'))}."
            )
            raise SettingsValueError(msg)

    def _checkChoice(self, k: str, v: Any) -> None:
        choices = self._choices.get(k)
        if choices is not None and not any(_same(v, c) for c in choices):
            raise SettingsValueError(_choiceMessage(self._label(k), choices, v, bool(self._sensitives.get(k))))

    def _link(self, k: str, old: Any, new: Any) -> None:
        if isinstance(old, Settings) and old is not new:
            old._parents[:] = [(p, key) for p, key in old._parents if not (p is self and key == k)]
        if isinstance(new, Settings) and old is not new:
            if new is self:
                msg = f"A Settings cannot contain itself (key {k!r})."
                raise SettingsValueError(msg)
            new._parents.append((self, k))

    def _write(self, k: str, v: Any) -> None:
        """Stores a value without callbacks (under the lock), keeping parent links right."""
        old = self.__dict__.get(k, _MISSING)
        self._link(k, old, v)
        self.__dict__[k] = v
        if k not in self._defaults:
            self._defaults[k] = v

    def _define(self, k: str, v: Any) -> None:
        """A new key without docs (``Settings(k=v)``, or a new group ``s.k = Settings(...)``)."""
        self._checkKey(k)
        with _LOCK:
            self._kinds[k] = "settings" if isinstance(v, Settings) else _kindOf(v)
            self._write(k, v)
        self._announce()

    def _checkRules(self, k: str, v: Any) -> Any:
        """``v`` as key ``k`` stores it (ints and floats normalised); raises if its type or choices refuse it."""
        kind = self._kinds.get(k)
        if kind == "settings" and not isinstance(v, Settings):
            label = self._label(k)
            keys = [key for key in self.__dict__[k]._keys()][:1] or ["key"]
            msg = f"{label} is a group of settings: set its keys ({label}.{keys[0]} = ...), not the group itself."
            raise SettingsValueError(msg)
        v = _checkKind(self._label(k), kind, v, bool(self._sensitives.get(k)), self._defaults.get(k))
        self._checkChoice(k, v)
        return v

    def __setattr__(self, k: str, v: Any) -> None:
        if k.startswith("_"):
            object.__setattr__(self, k, v)
            return
        self._checkKey(k)
        if k not in self.__dict__:
            if isinstance(v, Settings):
                self._define(k, v)  # a new group, as the seeds write it: s.c = Settings(d=8)
                return
            keys = self._keys()
            msg = (
                f"{self._label()} has no setting {k!r}.{_closeHint(k, keys)} Available: {', '.join(keys) or '(none)'}. "
                f"New settings are added with .add({k!r}, value, docs), so that a typo never creates one."
            )
            raise UnknownSettingError(msg, name=k, obj=None)
        v = self._checkRules(k, v)
        with _LOCK:
            old = self.__dict__.get(k, _MISSING)
            new = k not in self._defaults
            self._write(k, v)
            cb = self._cbs.get(k)
            if cb is not None:
                try:
                    cb(self, v)
                except BaseException:
                    # a callback that raises rejects the value: put the old one back
                    if old is _MISSING:
                        self._link(k, v, None)
                        del self.__dict__[k]
                    else:
                        self._write(k, old)
                    if new:
                        self._defaults.pop(k, None)
                    raise
        self._announce()

    def __getattr__(self, k: str) -> Any:
        # only called for names that are not there: internals and typos
        if k.startswith("_"):
            raise AttributeError(k)
        keys = self._keys()
        msg = (
            f"{self._label()} has no setting {k!r}. "
            f"Available: {', '.join(keys) if keys else '(none)'}.{_closeHint(k, keys)}"
        )
        raise UnknownSettingError(msg, name=k, obj=None)  # obj=None: our hint, not Python's as well

    def __delattr__(self, k: str) -> None:
        if k.startswith("_") or k not in self.__dict__:
            object.__delattr__(self, k)  # raises AttributeError for unknown keys
            return
        with _LOCK:
            self._link(k, self.__dict__[k], None)
            del self.__dict__[k]
            metas = (self._docs, self._cbs, self._sensitives, self._envs, self._choices, self._defaults, self._kinds)
            for meta in metas:
                meta.pop(k, None)
        self._announce()

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._keys()})

    def __getstate__(self) -> dict[str, Any]:
        # the feed belongs to this process's views, not to the values
        return {k: v for k, v in self.__dict__.items() if k != "_feed"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.update(_feed=None)
        if "_kinds" not in state:  # saved before keys had type rules: derive them from the defaults
            kinds = {k: None if self._choices.get(k) is not None else _kindOf(d) for k, d in self._defaults.items()}
            kinds.update({k: "settings" for k, v in self.__dict__.items() if isinstance(v, Settings)})
            self.__dict__["_kinds"] = kinds

    # ------------------------------------------------------------------ seed API
    def add(
        self,
        k: str,
        v: Any,
        docs: str = "",
        cb: Callback | None = None,
        sensitive: bool = False,
        env: EnvSpec | None = None,
        *,
        choices: Sequence[Any] | None = None,
    ) -> Settings:
        """Adds (or redefines) a setting with its docs; returns self so calls chain.

        Example:
            >>> s = Settings().add("a", 3, "some docs")
            >>> s.add("path", ["/default"], env=("PATH", lambda x: x.split(":"))).path != ["/default"]
            True

        Args:
            k: the key (an identifier not starting with ``_``).
            v: the default value. It is also what "reset to default" restores (after the
                environment override, if any). Its type is the key's rule from now on: a bool, int,
                float or str key only takes values of that type (an int key refuses 10.5, a float key
                takes ints and refuses NaN and infinities), a group of settings stays a group.
                Keys with ``choices``, and keys whose default is another type (None, a list...),
                take any value their choices and ``cb`` allow.
            docs: one line shown in the repr and in the panel.
            cb: ``cb(settings, newValue) -> None``, called after every later change of the value
                (``s.k = ...``, a panel edit, or the environment variable's value), under the settings
                lock. If it raises, the old value is put back and the exception propagates: callbacks
                can validate. It must be callable (or None).
            sensitive: if True the value shows as ``<redacted>`` in reprs and error messages, and
                is never sent to a browser.
            env: ``"VAR"`` or ``("VAR", transform)``. When the environment variable is set, its text
                replaces ``v``: through ``transform(text)`` if given, else converted to the type of
                ``v`` when that is bool (``1/true/yes/on`` or ``0/false/no/off``), int or float, else
                used as text. The value then goes through the same rules as ``s.k = value``. A value
                that fails them does not raise: it warns once (`SettingsEnvWarning`, naming the
                variable, the value and the rule) and the default stays, so a bad variable never
                breaks an import.
            choices: the only values allowed; the panel shows a dropdown.

        Raises:
            SettingsValueError: a bad key, a ``cb`` that is not callable, a malformed ``env``, or ``v``
                is not one of ``choices``.
        """
        self._checkKey(k)
        label = self._label(k)
        if cb is not None and not callable(cb):
            got = f"{type(cb).__name__}: {cb!r:.80}"
            msg = f"cb for {label} must be a function cb(settings, newValue) or None, got {got}."
            raise SettingsValueError(msg)
        envSpec = _parseEnv(label, env) if env is not None else None
        if choices is not None:
            choices = list(choices)
            if not choices:
                msg = f"choices for {label} must not be empty."
                raise SettingsValueError(msg)
        with _LOCK:
            self._choices[k] = choices
            self._sensitives[k] = bool(sensitive)
            try:
                self._checkChoice(k, v)
            except SettingsValueError:
                self._choices.pop(k)
                raise
            self._kinds[k] = None if choices is not None else ("settings" if isinstance(v, Settings) else _kindOf(v))
            self._write(k, v)
            self._defaults[k] = v
            self._docs[k] = docs
            self._cbs[k] = cb
            if envSpec is not None:
                self._envs[k] = envSpec[0]
            else:
                self._envs.pop(k, None)
            if choices is None:
                self._choices.pop(k, None)
        if envSpec is not None:
            self._applyEnv(k, *envSpec)
        self._announce()
        return self

    def _applyEnv(self, k: str, envName: str, transform: Callable[[str], Any] | None) -> None:
        """The environment variable's value through the rules of ``s.k = value``; a refusal warns and keeps ``v``."""
        text = os.environ.get(envName)
        if text is None:
            return
        default = self.__dict__[k]
        sensitive = bool(self._sensitives.get(k))
        stage = "transform" if transform is not None else "convert"
        try:
            value = transform(text) if transform is not None else _coerceText(text, default)
            stage = "rules"
            setattr(self, k, value)
        except Exception as e:
            reason = _envReason(e, self._kinds.get(k), sensitive, stage)
            msg = _envWarning(envName, text, self._label(k), default, sensitive, reason)
            warnings.warn(msg, SettingsEnvWarning, stacklevel=3)
            return
        self._defaults[k] = self.__dict__[k]

    @contextlib.contextmanager
    def context(self, **kwargs: Any) -> Iterator[Settings]:
        """Temporarily changes settings; everything is restored on exit, even after an exception.

        Applies to all sub-settings: a change made inside the block to any value of this Settings
        or below (by code or a panel) is undone at the end. A sub-Settings key may be given a dict
        to change some of its keys. Keys added inside the block are kept.

        Entering sets the values with ``setattr`` (callbacks fire). **Restoring does not fire
        callbacks**: it puts the old values back as they were, so a callback runs only for changes
        someone asked for (k1lib re-fires every callback on exit; we do not). The restore is
        announced on the feeds, so panels follow it.

        Example:
            >>> s = Settings(a=3, b="42", c=Settings(d=8))
            >>> with s.context(a=4):
            ...     s.c.d = 20
            ...     (s.a, s.c.d)
            (4, 20)
            >>> (s.a, s.c.d)
            (3, 8)

        Raises:
            UnknownSettingError: a key that this Settings (or the sub-Settings) does not have; the
                message lists the valid keys. Nothing is changed in that case.
        """
        self._checkContextKeys(kwargs)
        with _LOCK:
            snapshot = self._snapshot()
        try:
            self._applyContext(kwargs)
            yield self
        finally:
            with _LOCK:
                changed = self._restore(snapshot)
            if changed:
                self._announce()

    def _checkContextKeys(self, kwargs: dict[str, Any]) -> None:
        keys = self._keys()
        for k, v in kwargs.items():
            if k not in self.__dict__ or k.startswith("_"):
                msg = (
                    f"Cannot change {self._label(k)!r} in a context: {self._label()} has no such setting. "
                    f"Valid keys: {', '.join(keys) if keys else '(none)'}.{_closeHint(k, keys)}"
                )
                raise UnknownSettingError(msg)
            sub = self.__dict__[k]
            if isinstance(sub, Settings) and isinstance(v, dict):
                sub._checkContextKeys(v)

    def _applyContext(self, kwargs: dict[str, Any]) -> None:
        for k, v in kwargs.items():
            sub = self.__dict__[k]
            if isinstance(sub, Settings) and isinstance(v, dict):
                sub._applyContext(v)
            else:
                setattr(self, k, v)

    def _snapshot(self) -> dict[str, tuple[Any, Any]]:
        return {
            k: (v, v._snapshot() if isinstance(v, Settings) else None)
            for k, v in self.__dict__.items()
            if not k.startswith("_")
        }

    def _restore(self, snapshot: dict[str, tuple[Any, Any]]) -> bool:
        changed = False
        for k, (old, sub) in snapshot.items():
            if self.__dict__.get(k, _MISSING) is not old:
                self._write(k, old)
                changed = True
            if sub is not None:
                changed = old._restore(sub) or changed
        return changed

    # ------------------------------------------------------------------ change feed
    @property
    def feed(self) -> Feed:
        """A throttled `live.Feed` that fires after any change to this Settings or below it.

        Subscribers are called at most ``settings.live.hz`` times a second, and once more shortly
        after the last change of a burst, so they always end on the current values.
        """
        feed = self._feed
        if feed is None:
            with _LOCK:
                if self._feed is None:
                    object.__setattr__(self, "_feed", Feed())
                feed = self._feed
        return cast("Feed", feed)

    def _announce(self) -> None:
        self._announceUp(set())

    def _announceUp(self, seen: set[int]) -> None:
        if id(self) in seen:
            return
        seen.add(id(self))
        feed = self._feed
        if feed is not None and feed.active:
            feed.changed()  # throttled; the feed itself delivers the last change of a burst
        for parent, _ in list(self._parents):
            parent._announceUp(seen)

    # ------------------------------------------------------------------ display
    def _rows(self, indent: str) -> list[tuple[str, str, str]]:
        cutoff = next((r.__dict__.get("displayCutoff", 50) for r in _ROOT_OBJECTS), 50)
        simple = [(k, v) for k, v in self.__dict__.items() if not k.startswith("_") and not isinstance(v, Settings)]
        subs = [(k, v) for k, v in self.__dict__.items() if not k.startswith("_") and isinstance(v, Settings)]
        kSpace = max([1, *(len(k) for k, _ in simple + subs)])
        rows = []
        for k, v in simple:
            text = REDACTED if self._sensitives.get(k) else _limitChars(_oneLine(str(v)), cutoff)
            rows.append((f"{indent}- {k.ljust(kSpace)} = {text}", self._envCell(k), self._docs.get(k, "")))
        for k, v in subs:
            rows.append((f"{indent}- {k.ljust(kSpace)} = <Settings>", self._envCell(k), self._docs.get(k, "")))
            rows.extend(v._rows(indent + "  "))
        return rows

    def _envCell(self, k: str) -> str:
        return f"env: {self._envs[k]}" if k in self._envs else ""

    def __repr__(self) -> str:
        """The seed's aligned text: ``- key = value  env: VAR  docs``, sub-settings indented."""
        return _alignedText(self._rows(""))

    def _repr_html_(self) -> str:
        """A static HTML table (the fallback for exports and GitHub); sensitive values redacted."""
        return _htmlTable(settingsTree(self))

    def widget(self) -> Any:
        """The editable settings panel of this Settings (a `SettingsPanel` widget)."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)


def _kind(s: Settings, k: str, v: Any) -> str:
    """Which editor a value gets: the key's type rule (values of other types are read-only in a panel)."""
    if isinstance(v, Settings):
        return "settings"
    if s._choices.get(k) is not None:
        return "choice"
    return s._kinds.get(k) or "readonly"


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
