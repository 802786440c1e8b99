"""Persistence: the atomic writer, the learner's save format, and the ``@checkpoint`` cache.

The decorator itself is ``k1widgets.checkpoint`` (defined in `k1widgets.persist.checkpoint`; not
re-exported here, where its name would hide that module).
"""

from __future__ import annotations

from k1widgets.persist.atomic import atomicWrite
from k1widgets.persist.cacheinfo import CacheEntry, CacheInfo
from k1widgets.persist.checkpoint import Checkpointed, CheckpointFolderError, CheckpointWarning
from k1widgets.persist.keys import CheckpointKeyError

__all__ = [
    "CacheEntry",
    "CacheInfo",
    "CheckpointFolderError",
    "CheckpointKeyError",
    "CheckpointWarning",
    "Checkpointed",
    "atomicWrite",
]
