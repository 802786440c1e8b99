"""Atomic replacement without fsync: crash-safe for the process, not durable against power loss.

`atomicWriteNoSync` is `k1widgets.persist.atomicWrite` minus the two fsyncs (file and folder): the
bytes go to a temporary file in the same folder, which then replaces the target with `os.replace`. A
reader sees the old complete file or the new complete file whatever happens to the writing process
(an exception, Ctrl-C, ``kill -9``): the page cache outlives the process. A power cut or kernel crash
may lose the last writes, or, on some file systems, leave an empty or partial file. Use it only for
files that can be recomputed and are checked when read: the sweep store's point files (an unreadable
one is set aside and its point computed again), where two fsyncs would cost more than the point.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import IO

__all__ = ["atomicWriteNoSync"]


def atomicWriteNoSync(path: str | os.PathLike[str], writeF: Callable[[IO[bytes]], object]) -> None:
    """Writes a file atomically (temporary file + `os.replace`), without waiting for the disk.

    Args:
        path: the file to create or replace.
        writeF: ``writeF(f)`` writes the content into the binary file object ``f``.

    Raises:
        Whatever ``writeF`` raises; the target is then untouched and the temporary file removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writeF(f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
