"""Cache keys of `checkpoint`: the call's arguments, key templates and functions, confinement, hashes.

Every key kind sees the same normalised arguments, however the call was written: ``positional`` is
the values of the parameters without a default (plus ``*args``), ``keywords`` every other parameter
by name, defaults included (plus ``**kwargs``). For ``def f(a, b, iterations=4, stride=1)``, the calls
``f(1, 2)``, ``f(1, 2, 4)`` and ``f(a=1, b=2, stride=1)`` all give ``(1, 2)`` and
``{"iterations": 4, "stride": 1}``.

A key is a relative path inside ``work_dir``; `checkKey` refuses anything that could leave it.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
import re
import string
from collections.abc import Callable
from typing import Any

from k1widgets.persist.atomic import isTemp

__all__ = ["CheckpointKeyError", "autoKey", "checkKey", "confine", "normalise", "positionalNames", "renderKey"]

META = ".k1cache"
"""The folder inside ``work_dir`` that holds each entry's metadata and lock (reserved as a key)."""
MAX_PART = 255  # bytes: the longest file name most file systems take


class CheckpointKeyError(ValueError):
    """A key that cannot name a cache entry (it would leave ``work_dir``, or cannot be built)."""


def normalise(
    sig: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(positional, keywords)`` of a call, defaults included (see the module docstring).

    Raises:
        TypeError: the arguments do not fit the function (as calling it would).
    """
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    P = inspect.Parameter
    for name, p in sig.parameters.items():
        v = bound.arguments[name]
        if p.kind is P.VAR_POSITIONAL:
            positional.extend(v)
        elif p.kind is P.VAR_KEYWORD:
            keywords.update(v)
        elif p.kind is P.POSITIONAL_ONLY or (p.kind is P.POSITIONAL_OR_KEYWORD and p.default is P.empty):
            positional.append(v)
        else:
            keywords[name] = v
    return tuple(positional), keywords


_POSITION = re.compile(r"\{(\d+)\}")


def renderKey(
    key: Any, sig: inspect.Signature, fname: str, positional: tuple[Any, ...], keywords: dict[str, Any]
) -> str:
    """The key text for one call: a `str` as is, a `string.Template` filled in, a callable called.

    In a template, ``{0}``, ``{1}``... are the positional values and ``$name`` / ``${name}`` any
    argument by name (positional ones too), defaults included. A callable key is called as
    ``key(positional, keywords)`` and must return a `str`.
    """
    if isinstance(key, str):
        return key
    if isinstance(key, string.Template):
        every = dict(zip(positionalNames(sig), positional, strict=False))
        every.update(keywords)
        mapping = {k: str(v) for k, v in every.items()}

        def position(m: re.Match[str]) -> str:
            i = int(m[1])
            if i >= len(positional):
                msg = (
                    f"Key template {key.template!r} of {fname} uses {{{i}}}, but the call has {len(positional)} "
                    f"positional value(s) {list(positional)!r:.100}. Use $name for arguments with defaults."
                )
                raise CheckpointKeyError(msg)
            mapping[f"_k1pos{i}"] = str(positional[i])
            return f"{key.delimiter}{{_k1pos{i}}}"

        text = _POSITION.sub(position, key.template)
        try:
            return type(key)(text).substitute(mapping)
        except KeyError as e:
            names = ", ".join(every) or "(none)"
            msg = (
                f"Key template {key.template!r} of {fname} uses ${e.args[0]}, which is not an argument. "
                f"Arguments: {names}."
            )
            raise CheckpointKeyError(msg) from None
        except ValueError as e:
            msg = f"Key template {key.template!r} of {fname} is not a valid template: {e}."
            raise CheckpointKeyError(msg) from None
    if callable(key):
        text = key(positional, keywords)
        if not isinstance(text, str):
            msg = f"The key function of {fname} must return a str, got {type(text).__name__}: {text!r:.80}."
            raise CheckpointKeyError(msg)
        return text
    msg = (
        f"checkpoint(key=...) takes a str, a string.Template or a callable key(args, kwargs), got "
        f"{type(key).__name__}: {key!r:.80}. For the first argument's value use key=string.Template('{{0}}')."
    )
    raise TypeError(msg)


def positionalNames(sig: inspect.Signature) -> list[str]:
    """The parameters whose values are the positional ones (``{0}``, ``{1}``...)."""
    P = inspect.Parameter
    return [
        n
        for n, p in sig.parameters.items()
        if p.kind is P.POSITIONAL_ONLY or (p.kind is P.POSITIONAL_OR_KEYWORD and p.default is P.empty)
    ]


def checkKey(key: str, fname: str) -> str:
    """Refuses keys that could leave ``work_dir`` or cannot be file names; returns the key.

    Rules: not empty; no NUL; relative (no leading ``/``); no empty, ``.`` or ``..`` parts; each part
    at most 255 bytes; not the reserved metadata folder ``.k1cache``, a temporary file name, or a
    set-aside ``.corrupt-`` copy. ``/`` makes sub-folders.
    """

    def refuse(rule: str) -> None:
        msg = f"Cache key {key!r:.300} of {fname} is refused: {rule}."
        raise CheckpointKeyError(msg)

    if key == "":
        refuse("a key must not be empty")
    if "\0" in key:
        refuse("a key must not contain NUL characters")
    if os.path.isabs(key) or key.startswith(("/", "\\")):
        refuse("a key must be a relative path (an absolute one would leave work_dir)")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            refuse("'..', '.' and empty parts ('//') are not allowed: a key stays inside work_dir")
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > MAX_PART:
            refuse(f"each part of a key may be at most {MAX_PART} bytes, this one has {size}")
        if part == META or isTemp(part) or ".corrupt-" in part:
            refuse(f"{META!r}, temporary names (*.<pid>.<hex>.tmp) and '.corrupt-' copies are reserved")
    return key


def confine(workDir: str, key: str, fname: str) -> str:
    """The entry's path, ``work_dir/key``, checked to stay inside ``work_dir`` (symlinks resolved)."""
    path = os.path.join(workDir, key)
    real = os.path.realpath(path)
    root = os.path.realpath(workDir)
    if os.path.commonpath([real, root]) != root or real == root:
        msg = (
            f"Cache key {key!r} of {fname} is refused: it resolves to {real!r}, outside work_dir {root!r} "
            "(through a symlink)."
        )
        raise CheckpointKeyError(msg)
    return path


# ---------------------------------------------------------------------- automatic keys
def _feed(h: Any, v: Any, depth: int = 0) -> None:
    """Feeds a typed, canonical form of ``v`` to the hash: ``1``, ``1.0``, ``'1'`` and ``True`` differ."""
    if depth > 50:
        msg = "argument nested too deeply to hash"
        raise CheckpointKeyError(msg)

    def put(tag: str, payload: bytes) -> None:
        h.update(f"{tag}:{len(payload)}:".encode())
        h.update(payload)

    t = type(v)
    if v is None or t in (bool, int, float, complex):
        put(t.__name__, repr(v).encode())
    elif t is str:
        put("str", v.encode("utf-8", "surrogatepass"))
    elif t in (bytes, bytearray):
        put("bytes", bytes(v))
    elif t in (tuple, list, set, frozenset):
        items = list(v)
        if t in (set, frozenset):
            items = sorted(items, key=_digest)
        put(t.__name__, str(len(items)).encode())
        for item in items:
            _feed(h, item, depth + 1)
    elif t is dict:
        put("dict", str(len(v)).encode())
        for k in sorted(v, key=_digest):
            _feed(h, k, depth + 1)
            _feed(h, v[k], depth + 1)
    elif t.__module__.startswith("torch") and hasattr(v, "detach") and hasattr(v, "dtype"):
        import torch

        flat = v.detach().cpu().contiguous().reshape(-1)
        put("tensor", f"{v.dtype}{tuple(v.shape)}".encode())
        put("data", flat.view(torch.uint8).numpy().tobytes())
    elif t.__module__ == "numpy" and hasattr(v, "tobytes") and getattr(getattr(v, "dtype", None), "kind", "O") != "O":
        put("ndarray", f"{v.dtype.str}{getattr(v, 'shape', ())}".encode())
        put("data", v.tobytes())  # C order whatever the layout
    elif isinstance(v, os.PathLike):
        put("path", os.fspath(v).encode() if isinstance(os.fspath(v), str) else bytes(os.fspath(v)))
    else:
        try:
            payload = pickle.dumps(v, protocol=4)
        except Exception as e:
            msg = f"an argument of type {t.__qualname__} cannot be hashed into a cache key ({type(e).__name__}: {e})"
            raise CheckpointKeyError(msg) from e
        put(f"{t.__module__}.{t.__qualname__}", payload)


def _digest(v: Any) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    _feed(h, v)
    return h.digest()


_SAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


def _slug(keywords: dict[str, Any], positional: tuple[Any, ...]) -> str:
    parts = [_short(v) for v in positional] + [f"{k}={_short(v)}" for k, v in keywords.items()]
    text = _SAFE.sub("", "_".join(p for p in parts if p))
    return text[:80]


def _short(v: Any) -> str:
    if v is None or isinstance(v, bool | int | float):
        return repr(v)
    if isinstance(v, str) and len(v) <= 24:
        return v
    return ""


def autoKey(name: str, identity: str, positional: tuple[Any, ...], keywords: dict[str, Any]) -> str:
    """The key when none is given: ``<function>-<readable arguments>-<16 hex of a typed hash>.pkl``.

    ``name`` is the function's name; ``identity`` (its module and qualname) is hashed in, so two functions never share
    an entry.

    Raises:
        CheckpointKeyError: an argument cannot be hashed (pass ``key=...``).
    """
    h = hashlib.blake2b(digest_size=8)
    try:
        _feed(h, (identity, positional, keywords))
    except CheckpointKeyError as e:
        msg = f"{name}: {e}. Give @checkpoint a key=... that names the entry from such arguments."
        raise CheckpointKeyError(msg) from e
    slug = _slug(keywords, positional)
    stem = _SAFE.sub("", name) or "f"
    return f"{stem}-{slug}-{h.hexdigest()}.pkl" if slug else f"{stem}-{h.hexdigest()}.pkl"


KeySpec = str | string.Template | Callable[[tuple[Any, ...], dict[str, Any]], str] | None
