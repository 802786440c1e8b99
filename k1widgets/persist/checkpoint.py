"""``@checkpoint``: ediblepickle's on-disk cache of an expensive function, without its ways of losing data.

The names and the API are ediblepickle's (``key``, ``work_dir``, ``refresh``, ``pickler``,
``unpickler``); the semantics are fixed:

- keys (a `str`, a `string.Template` or a callable ``key(args, kwargs)``) see the call's arguments
  with defaults, however they were passed (`k1widgets.persist.keys`), and stay inside ``work_dir``;
- an entry is written atomically, so it exists only once complete; an entry that fails to load is
  moved aside (``<entry>.corrupt-<time>``), reported, and recomputed; a result that cannot be pickled
  is returned uncached, with a warning; no empty file is ever left;
- a custom pickler may write `str` or `bytes`; its unpickler gets the file in the same mode;
- without ``work_dir``, entries go to a private per-user folder (``settings.cache.folder``), never
  the shared temp folder, from which unpickling would run anyone's code;
- two processes computing the same missing entry: the second waits for the first (a file lock in
  ``work_dir/.k1cache/``) and then reads its result.

Each entry has a small JSON sidecar in ``work_dir/.k1cache/`` (the function, the arguments, the
file mode, the time taken) that `CacheInfo` lists and the cache view shows.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import json
import logging
import os
import pickle
import stat
import string
import time
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k1widgets.live import Feed
from k1widgets.persist.atomic import atomicWrite
from k1widgets.persist.keys import (
    META,
    CheckpointKeyError,
    KeySpec,
    autoKey,
    checkKey,
    confine,
    normalise,
    positionalNames,
    renderKey,
)
from k1widgets.userframe import userStacklevel

__all__ = [
    "CheckpointFolderError",
    "CheckpointKeyError",
    "CheckpointWarning",
    "Checkpointed",
    "cacheFolder",
    "checkpoint",
    "defaultCacheFolder",
    "useDefaultFolder",
]

logger = logging.getLogger("k1widgets.checkpoint")


class CheckpointWarning(UserWarning):
    """A cache entry was set aside, or a result could not be cached; the call still returned its value."""


class CheckpointFolderError(PermissionError):
    """The default cache folder is not private to this user (others could plant code in it)."""


# ---------------------------------------------------------------------- the default folder
_folderGetter: Callable[[], str] | None = None
_privateChecked: set[str] = set()


def defaultCacheFolder() -> str:
    """``$XDG_CACHE_HOME/k1widgets/checkpoint``, or ``~/.cache/k1widgets/checkpoint``: private to the user."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "k1widgets", "checkpoint")


def useDefaultFolder(getter: Callable[[], str]) -> None:
    """Registers where entries go without a ``work_dir`` (the settings do: ``settings.cache.folder``).

    `k1widgets.persist` sits below `k1widgets.settings`, so the setting is read through this getter.
    """
    global _folderGetter
    _folderGetter = getter


def cacheFolder() -> str:
    """The folder of entries whose function has no ``work_dir`` (``settings.cache.folder``)."""
    return os.fspath(_folderGetter() if _folderGetter is not None else defaultCacheFolder())


def _ensurePrivate(folder: str) -> None:
    """Creates the default folder (mode 0700); refuses one that another user owns or others can write."""
    if folder in _privateChecked:
        return
    os.makedirs(folder, mode=0o700, exist_ok=True)
    st = os.stat(folder)
    if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        msg = (
            f"The cache folder {folder!r} (settings.cache.folder) is not private: mode {stat.filemode(st.st_mode)}, "
            f"owner uid {st.st_uid} (you are {os.geteuid()}). Anyone who can write there runs code in your "
            f"process when an entry is unpickled. Fix it with `chmod go-w {folder}`, or choose another folder."
        )
        raise CheckpointFolderError(msg)
    _privateChecked.add(folder)


# ---------------------------------------------------------------------- one call
@dataclass(frozen=True)
class _Call:
    key: str
    workDir: str
    entry: str
    positional: tuple[Any, ...]
    keywords: dict[str, Any]

    @property
    def metaPath(self) -> str:
        return os.path.join(self.workDir, META, self.key + ".json")

    @property
    def lockPath(self) -> str:
        return os.path.join(self.workDir, META, self.key + ".lock")


_MISSING: Any = object()
_COLLISION: Any = object()  # the entry belongs to another function: recompute and take it over


class Checkpointed:
    """A function decorated with `checkpoint`: call it as the function; its results are cached on disk.

    Attributes:
        hits: calls answered from the cache (in this process).
        misses: calls that computed the value.
        feed: a `live.Feed` that fires when the cache changes (the cache view follows it).
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        key: KeySpec,
        workDir: str | os.PathLike[str] | None,
        refresh: bool | Callable[[], Any],
        pickler: Callable[[Any, Any], Any] | None,
        unpickler: Callable[[Any], Any] | None,
        lock: bool,
    ) -> None:
        functools.update_wrapper(self, func)
        self.__wrapped__ = func
        self._sig = inspect.signature(func)
        self._key = key
        self._workDir = os.fspath(workDir) if workDir is not None else None
        self._refresh = refresh
        self._pickler = pickler
        self._unpickler = unpickler
        self._lock = lock
        self._identity = f"{func.__module__}.{func.__qualname__}"
        self.hits = 0
        self.misses = 0
        self.feed = Feed()

    # ------------------------------------------------------------------ where things go
    @property
    def workDir(self) -> str:
        """The folder of this function's entries (absolute); the per-user cache folder by default."""
        if self._workDir is not None:
            return os.path.abspath(os.path.expanduser(self._workDir))
        return os.path.join(os.path.abspath(cacheFolder()), self._identity)

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call:
        positional, keywords = normalise(self._sig, args, kwargs)
        name = self.__wrapped__.__qualname__
        if self._key is None:
            key = autoKey(self.__wrapped__.__name__, self._identity, positional, keywords)
        else:
            key = renderKey(self._key, self._sig, name, positional, keywords)
        checkKey(key, name)
        if self._workDir is None:
            _ensurePrivate(os.path.abspath(cacheFolder()))
        workDir = self.workDir
        return _Call(key, workDir, confine(workDir, key, name), positional, keywords)

    def path(self, *args: Any, **kwargs: Any) -> Path:
        """Where the entry of this call lives (whether or not it exists yet)."""
        return Path(self._call(args, kwargs).entry)

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Returns the cached value of this call, or computes, caches and returns it."""
        call = self._call(args, kwargs)
        refresh = self._refresh() if callable(self._refresh) else self._refresh
        failure = None
        if not refresh:
            value, failure = self._load(call)
            if value is not _MISSING:
                self._hit(call)
                return value
            if failure is _COLLISION:
                refresh, failure = True, None
        return self._compute(call, args, kwargs, bool(refresh), failure)

    def __reduce__(self) -> str:
        # pickled by reference, as functions are (for process pools, Dask...): its module's global
        return self.__wrapped__.__qualname__

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """Decorated methods bind like functions (``self`` is part of the arguments)."""
        return self if obj is None else types.MethodType(self, obj)

    def _hit(self, call: _Call) -> None:
        self.hits += 1
        logger.debug("%s: cache hit %s", self._identity, call.entry)
        self.feed.changed()

    def _compute(self, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any], refresh: bool, failure: Any) -> Any:
        os.makedirs(os.path.dirname(call.metaPath), exist_ok=True)
        with self._locked(call):
            if failure is not None:
                self._setAside(call, *failure)
            if not refresh:  # another process may have computed it while we waited for the lock
                value, failure = self._load(call)
                if value is not _MISSING:
                    self._hit(call)
                    return value
                if failure is not None and failure is not _COLLISION:
                    self._setAside(call, *failure)
            self.misses += 1
            t0 = time.perf_counter()
            value = self.__wrapped__(*args, **kwargs)
            self._store(call, value, time.perf_counter() - t0)
        self.feed.changed()
        return value

    @contextlib.contextmanager
    def _locked(self, call: _Call) -> Iterator[None]:
        if not self._lock:
            yield
            return
        from filelock import FileLock

        os.makedirs(os.path.dirname(call.lockPath), exist_ok=True)
        with FileLock(call.lockPath, is_singleton=True):
            yield

    # ------------------------------------------------------------------ reading and writing entries
    def _meta(self, call: _Call) -> dict[str, Any] | None:
        try:
            with open(call.metaPath, encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def _load(self, call: _Call) -> tuple[Any, Any]:
        """``(value, None)`` on a hit; ``(_MISSING, None)`` when absent; ``(_MISSING, (id, error))`` when unreadable.

        ``(_MISSING, _COLLISION)`` when another function wrote the entry (warned about here).
        """
        meta = self._meta(call)
        owner = meta.get("function") if meta is not None else None
        if owner is not None and owner != self._identity:
            msg = (
                f"Cache entry {call.entry!r} was written by {owner}, not {self._identity}: the two functions share "
                f"the key {call.key!r}. Recomputing (give them different keys or work_dirs)."
            )
            _warn(msg)
            return _MISSING, _COLLISION
        try:
            f = open(call.entry, "rb")  # closed by the with below (also through a text wrapper)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return _MISSING, None
        with f:
            st = os.fstat(f.fileno())
            identity = (st.st_dev, st.st_ino, st.st_mtime_ns)
            mode = meta.get("mode") if meta is not None else None
            try:
                if self._unpickler is None:
                    return pickle.load(f), None
                if mode is None:
                    mode = _guessMode(f)
                if mode == "text":
                    with io.TextIOWrapper(f, encoding="utf-8") as text:
                        return self._unpickler(text), None
                return self._unpickler(f), None
            except Exception as e:
                return _MISSING, (identity, e)

    def _setAside(self, call: _Call, identity: tuple[int, int, int], error: Exception) -> None:
        """Moves an unreadable entry to ``<entry>.corrupt-<time>`` (if no one replaced it meanwhile) and warns."""
        try:
            st = os.stat(call.entry)
        except FileNotFoundError:
            return
        if (st.st_dev, st.st_ino, st.st_mtime_ns) != identity:
            return  # already replaced by a good entry
        aside = f"{call.entry}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
        n = 0
        while os.path.exists(aside):
            n += 1
            aside = f"{call.entry}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}"
        os.replace(call.entry, aside)
        msg = (
            f"Cache entry {call.entry!r} could not be read ({type(error).__name__}: {error!s:.200}); "
            f"moved it to {os.path.basename(aside)!r} and recomputing."
        )
        logger.warning(msg)
        _warn(msg)

    def _store(self, call: _Call, value: Any, seconds: float) -> None:
        os.makedirs(os.path.dirname(call.entry), exist_ok=True)
        pickler = self._pickler
        try:
            if pickler is None:
                mode = atomicWrite(call.entry, lambda f: pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL))
            else:
                mode = atomicWrite(call.entry, lambda f: pickler(value, f), mode="auto", allowEmpty=False)
        except Exception as e:
            msg = (
                f"{self._identity}: the result was returned but not cached, because the pickler failed "
                f"({type(e).__name__}: {e!s:.200}). No file was left in {call.workDir!r}."
            )
            logger.warning(msg)
            _warn(msg)
            return
        arguments = {**dict(zip(positionalNames(self._sig), call.positional, strict=False)), **call.keywords}
        meta = {
            "function": self._identity,
            "key": call.key,
            "mode": mode,
            "created": time.time(),
            "seconds": round(seconds, 6),
            "arguments": {k: _shortRepr(v) for k, v in arguments.items()},
        }
        try:
            atomicWrite(call.metaPath, lambda f: json.dump(meta, f), mode="text")
        except OSError as e:  # the entry stands; only the listing misses it
            logger.warning("%s: could not write the metadata of %s: %s", self._identity, call.entry, e)
        logger.info("%s: computed in %.3f s, saved to %s", self._identity, seconds, call.entry)

    # ------------------------------------------------------------------ managing the cache
    def clear(self, *args: Any, **kwargs: Any) -> int:
        """Deletes the entry of this call, or, without arguments, every entry of this function.

        Returns:
            The number of entries deleted (set-aside ``.corrupt-`` copies included).
        """
        from k1widgets.persist.cacheinfo import CacheInfo

        info = CacheInfo(self)
        if args or kwargs:
            key = self._call(args, kwargs).key
            removed = sum(info.delete(e.name) for e in info.entries() if e.key == key)
        else:
            removed = info.clear()
        return removed

    def info(self) -> Any:
        """A `CacheInfo`: the entries (key, size, age, status), hit and miss counts; a live view in Jupyter."""
        from k1widgets.persist.cacheinfo import CacheInfo

        return CacheInfo(self)

    def __repr__(self) -> str:
        return f"<checkpointed function {self._identity} (entries in {self.workDir})>"


def _warn(msg: str) -> None:
    """Warns with `CheckpointWarning`, attributed to the first caller outside k1widgets.persist."""
    warnings.warn(CheckpointWarning(msg), stacklevel=userStacklevel("k1widgets.persist"))


def _guessMode(f: Any) -> str:
    """Text when the file's start decodes as UTF-8 (a custom pickler's entry without its sidecar)."""
    head = f.read(65536)
    f.seek(0)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "binary"
    return "text"


def _shortRepr(v: Any) -> str:
    try:
        text = repr(v)
    except Exception:
        text = f"<{type(v).__name__}>"
    return text if len(text) <= 120 else text[:117] + "..."


def checkpoint(
    func: Callable[..., Any] | None = None,
    /,
    *,
    key: KeySpec = None,
    pickler: Callable[[Any, Any], Any] | None = None,
    unpickler: Callable[[Any], Any] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    refresh: bool | Callable[[], Any] = False,
    lock: bool = True,
) -> Any:
    """Caches a function's result in a file named by ``key`` (ediblepickle's decorator, made safe).

    Args:
        func: the function (``@checkpoint`` without parentheses uses every default).
        key: the entry's file name: a `str` (one entry for every call), a `string.Template`
            (``{0}``, ``{1}`` for the arguments without defaults, ``$name`` / ``${name}`` for any
            argument by name, defaults included), or a callable ``key(args, kwargs)`` getting the
            same normalised arguments (functions, lambdas, partials, callable objects). Default: the
            function's name, the arguments, and a typed hash of them (``f-lr=0.1-<16 hex>.pkl``).
        pickler: ``pickler(obj, f)`` writes ``obj`` to the file ``f``, as ``str`` or as ``bytes``
            (the first write decides). Default: `pickle.dump`.
        unpickler: ``unpickler(f)`` reads it back; ``f`` is in the mode the pickler used (text,
            UTF-8, for ``str``; binary for ``bytes``). Default: `pickle.load`.
        work_dir: the folder of the entries (created when missing). Default: a folder per function
            in ``settings.cache.folder`` (private to the user).
        refresh: True recomputes and overwrites on every call; a callable is asked at each call
            (``lambda: defs.REFRESH``, bound methods too).
        lock: a second process asking for an entry being computed waits for it (True), or
            computes it too (False; the entry is still never torn).

    Returns:
        A `Checkpointed` function with ``.path(*args, **kwargs)``, ``.clear()`` and ``.info()``.

    Example:
        >>> @checkpoint(key=string.Template("m{0}_n{1}_${iterations}_$stride.csv"), work_dir="results")
        ... def expensive_computation(m, n, iterations=4, stride=1):
        ...     return range(m, n, stride)
        >>> expensive_computation(-100, 200, stride=2)   # computed, saved to results/m-100_n200_4_2.csv
        range(-100, 200, 2)
        >>> expensive_computation(-100, 200, 4, 2)       # loaded
        range(-100, 200, 2)
        >>> expensive_computation.hits, expensive_computation.misses
        (1, 1)
    """
    if isinstance(func, str | string.Template):
        msg = f"checkpoint takes its key by keyword: @checkpoint(key={func!r:.60})."
        raise TypeError(msg)
    if not (isinstance(refresh, bool) or callable(refresh)):
        msg = f"refresh must be True, False or a callable returning one (lambda: defs.REFRESH), got {refresh!r:.60}."
        raise TypeError(msg)
    for name, f in (("pickler", pickler), ("unpickler", unpickler)):
        if f is not None and not callable(f):
            msg = f"{name} must be callable ({name}(obj, f) / unpickler(f)), got {type(f).__name__}: {f!r:.60}."
            raise TypeError(msg)
    if key is not None and not isinstance(key, str | string.Template) and not callable(key):
        renderKey(key, inspect.Signature(), "checkpoint", (), {})  # raises the TypeError that explains

    def decorate(f: Callable[..., Any]) -> Checkpointed:
        if not callable(f):
            msg = f"@checkpoint decorates a function, got {type(f).__name__}: {f!r:.60}."
            raise TypeError(msg)
        return Checkpointed(
            f, key=key, workDir=work_dir, refresh=refresh, pickler=pickler, unpickler=unpickler, lock=lock
        )

    return decorate(func) if func is not None else decorate
