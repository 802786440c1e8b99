"""Atomic file writes: a crash never leaves a half-written file where a good one was.

Every file k1widgets writes (learner saves, caches, settings, sweep results) goes through
`atomicWrite`: the bytes go to a temporary file in the same folder, are flushed and fsynced, and the
temporary file then replaces the target with `os.replace`. Readers see the old complete file or the
new complete file, never a mixture, whatever happens in between (an exception, Ctrl-C, kill -9).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import IO

__all__ = ["atomicWrite"]


def atomicWrite(path: str | os.PathLike[str], writeF: Callable[[IO[bytes]], object]) -> None:
    """Writes a file atomically.

    Args:
        path: the file to create or replace.
        writeF: ``writeF(f)`` writes the content into the binary file object ``f``.

    Raises:
        Whatever ``writeF`` raises; the target is then untouched and the temporary file removed.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(2, 1)
        >>> atomicWrite("model.pt", lambda f: torch.save(model.state_dict(), f))
        >>> sorted(torch.load("model.pt"))
        ['bias', 'weight']
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writeF(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dfd = os.open(folder, os.O_RDONLY)  # make the rename itself durable
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
