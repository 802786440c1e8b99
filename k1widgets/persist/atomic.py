"""Atomic file writes: a crash never leaves a half-written file where a good one was.

Every file k1widgets writes (learner saves, caches, settings, sweep results) goes through
`atomicWrite`: the content goes to a temporary file in the same folder, is flushed and fsynced, and
the temporary file then replaces the target with `os.replace`. Readers see the old complete file or
the new complete file, never a mixture, whatever happens in between (an exception, Ctrl-C, kill -9).

Temporary files are named ``<target>.<pid>.<8 hex>.tmp`` and locked (``flock``) while written. A
writer killed with ``kill -9`` cannot delete its own; the next write of the same target does
(`cleanTemps`): a temp is stale when no live process holds its lock and its pid is gone.

New files get the permissions the umask allows (``0o666 & ~umask``, as ``open()`` and
``torch.save`` give); replacing a file keeps that file's permissions.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from typing import IO, Any, Literal

__all__ = [
    "AutoModeFile",
    "atomicWrite",
    "cleanTemps",
    "fsyncFolder",
    "isTemp",
    "linkDurably",
    "replaceDurably",
]

Mode = Literal["binary", "text", "auto"]

_TEMP = re.compile(r"^(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
_inProgress: set[str] = set()  # this process's temps being written (never "stale")
_inProgressLock = threading.Lock()


def isTemp(name: str) -> bool:
    """Whether a file name is one of `atomicWrite`'s temporary files (listings skip them)."""
    return _TEMP.match(os.path.basename(name)) is not None


def _pidAlive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or a pid we cannot ask about): assume alive
    return True


def cleanTemps(path: str | os.PathLike[str]) -> list[str]:
    """Removes the stale temporary files that interrupted writes of ``path`` left behind.

    A temp is stale when its writer is gone: nobody holds its lock and its pid is not a live process
    (or is this process, which is not writing it). Temps of live writers are never touched.

    Returns:
        The paths removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    base = os.path.basename(path)
    removed: list[str] = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(base + ".") and n.endswith(".tmp")]
    except FileNotFoundError:
        return removed
    me = os.getpid()
    for name in names:
        m = _TEMP.match(name)
        if m is None or m["target"] != base:
            continue
        tmp = os.path.join(folder, name)
        pid = int(m["pid"])
        if pid == me:
            with _inProgressLock:
                if tmp in _inProgress:
                    continue
        elif _pidAlive(pid):
            continue
        try:
            fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live writer holds it
        try:
            os.unlink(tmp)
            removed.append(tmp)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
    return removed


def fsyncFolder(folder: str | os.PathLike[str]) -> None:
    """Makes renames and deletions in ``folder`` durable (a no-op where folders cannot be fsynced)."""
    try:
        fd = os.open(os.fspath(folder) or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def replaceDurably(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, sync: bool = True) -> None:
    """``os.replace(src, dst)`` (atomic within a folder), then fsyncs the folder (unless ``sync=False``).

    A series of changes in one folder may fsync only after the last: journaling file systems
    replay metadata changes in order, so a power loss keeps a prefix of them.
    """
    os.replace(src, dst)
    if sync:
        fsyncFolder(os.path.dirname(os.fspath(dst)) or ".")


def linkDurably(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, sync: bool = True) -> None:
    """Atomically makes ``dst`` hold what ``src`` holds, leaving ``src`` in place.

    A hard link (no copy) placed under a temporary name and renamed onto ``dst``, so ``dst`` is
    always either its old file or ``src``'s. Where hard links are not supported, a copy is written
    with `atomicWrite` instead.
    """
    src, dst = os.fspath(src), os.fspath(dst)
    tmp = _tempName(dst)
    try:
        os.link(src, tmp, follow_symlinks=False)
    except OSError:
        with open(src, "rb") as f:
            atomicWrite(dst, lambda out: shutil.copyfileobj(f, out))
        return
    try:
        replaceDurably(tmp, dst, sync=sync)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _tempName(path: str) -> str:
    return f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


class AutoModeFile(io.RawIOBase):
    """A write-only file that takes ``str`` or ``bytes``: the first write decides the mode.

    Given to custom picklers: text is encoded (``encoding``), bytes go through as they are, and
    `mode` says afterwards which one the pickler used ("text", "binary", or None when it wrote
    nothing), so its unpickler can get the file back in the same mode.
    """

    def __init__(self, raw: IO[bytes], encoding: str = "utf-8") -> None:
        super().__init__()
        self._raw = raw
        self.encoding = encoding
        self.mode: str | None = None
        self.written = 0

    def writable(self) -> bool:  # noqa: D102
        return True

    def write(self, data: Any) -> int:
        """Writes ``data`` (``str`` or bytes-like); returns the number of characters or bytes taken."""
        if isinstance(data, str):
            kind, payload = "text", data.encode(self.encoding)
        else:
            try:
                payload = bytes(memoryview(data))
            except TypeError:
                msg = f"write() takes str or bytes, got {type(data).__name__}: {data!r:.60}."
                raise TypeError(msg) from None
            kind = "binary"
        if self.mode is None:
            self.mode = kind
        elif self.mode != kind:
            msg = (
                f"This file was first written as {self.mode}, then got {kind} "
                f"({type(data).__name__}). Write only str or only bytes to one file."
            )
            raise TypeError(msg)
        self._raw.write(payload)
        self.written += len(payload)
        return len(data)

    def tell(self) -> int:  # noqa: D102
        return self.written

    def flush(self) -> None:  # noqa: D102
        self._raw.flush()


def atomicWrite(
    path: str | os.PathLike[str],
    writeF: Callable[[Any], object],
    *,
    mode: Mode = "binary",
    encoding: str = "utf-8",
    allowEmpty: bool = True,
    beforeReplace: Callable[[], object] | None = None,
) -> str:
    """Writes a file atomically.

    Args:
        path: the file to create or replace (its folder must exist).
        writeF: ``writeF(f)`` writes the content into the file object ``f``.
        mode: "binary" gives ``writeF`` a binary file, "text" a text file (``encoding``), "auto" an
            `AutoModeFile` that takes either, the first write deciding.
        encoding: the text encoding of "text" and "auto" modes.
        allowEmpty: False refuses to create an empty file (``ValueError``; nothing is written).
        beforeReplace: called once the content is complete and durable, just before the rename
            (e.g. to remove a file that must not outlive the old version).

    Returns:
        The mode the content was written in: "binary" or "text" ("binary" for an empty "auto" write).

    Raises:
        Whatever ``writeF`` raises; the target is then untouched and the temporary file removed.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(2, 1)
        >>> atomicWrite("model.pt", lambda f: torch.save(model.state_dict(), f))
        'binary'
        >>> sorted(torch.load("model.pt"))
        ['bias', 'weight']
    """
    path = os.fspath(path)
    cleanTemps(path)
    tmp = _tempName(path)
    with _inProgressLock:
        _inProgress.add(tmp)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)  # the umask applies
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # "a live writer": cleanTemps leaves it alone
            with contextlib.suppress(FileNotFoundError):
                os.fchmod(fd, os.stat(path).st_mode & 0o7777)  # replacing a file keeps its permissions
        except BaseException:
            os.close(fd)
            raise
        used = "binary" if mode != "text" else "text"
        with os.fdopen(fd, "wb") as f:
            if mode == "text":
                text = io.TextIOWrapper(f, encoding=encoding, write_through=True)
                writeF(text)
                text.flush()
                text.detach()
            elif mode == "auto":
                auto = AutoModeFile(f, encoding)
                writeF(auto)
                used = auto.mode or "binary"
            else:
                writeF(f)
            f.flush()
            if not allowEmpty and f.tell() == 0:
                msg = f"Nothing was written for {path!r}: an empty file is never created."
                raise ValueError(msg)
            os.fsync(f.fileno())
        if beforeReplace is not None:
            beforeReplace()
        replaceDurably(tmp, path)
        return used
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        with _inProgressLock:
            _inProgress.discard(tmp)
