"""CacheInfo: what a ``@checkpoint`` function has on disk, as text, HTML, or a live view with delete buttons.

``fn.info()`` returns one. Its entries come from the JSON sidecars in ``work_dir/.k1cache/`` that
name this function, plus the ``.corrupt-`` copies set aside beside them. Deleting goes through
`CacheInfo.delete`, which only ever removes files of this function's listing.
"""

from __future__ import annotations

import glob
import html
import json
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k1widgets import display
from k1widgets.persist.keys import META

if TYPE_CHECKING:
    from k1widgets.live import Feed
    from k1widgets.persist.checkpoint import Checkpointed

__all__ = ["CacheEntry", "CacheInfo"]


@dataclass(frozen=True)
class CacheEntry:
    """One file of a function's cache."""

    key: str
    """The entry's key (its path inside ``work_dir``)."""
    name: str
    """The file's path inside ``work_dir``: the key, or ``<key>.corrupt-<time>`` for a set-aside copy."""
    path: str
    size: int
    created: float
    """When the file was written (unix time)."""
    status: str
    """"ok", or "corrupt" for a copy set aside because it could not be read."""
    arguments: dict[str, str] = field(default_factory=dict)
    seconds: float | None = None
    """How long computing it took."""


def _fmtSize(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _fmtAge(s: float) -> str:
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{s / 60:.0f}m"
    if s < 86400:
        return f"{s / 3600:.1f}h"
    return f"{s / 86400:.1f}d"


class CacheInfo:
    """The cache of one ``@checkpoint`` function: entries, hit and miss counts, delete and clear."""

    def __init__(self, fn: Checkpointed) -> None:
        self.fn = fn

    @property
    def feed(self) -> Feed:
        """Fires when the function's cache changes (a call computed or hit, a delete)."""
        return self.fn.feed

    @property
    def hits(self) -> int:
        """Calls answered from the cache in this process."""
        return self.fn.hits

    @property
    def misses(self) -> int:
        """Calls that computed their value in this process."""
        return self.fn.misses

    def entries(self) -> list[CacheEntry]:
        """The function's files on disk, newest first."""
        workDir = self.fn.workDir
        metaRoot = os.path.join(workDir, META)
        found: list[CacheEntry] = []
        for metaPath in glob.glob(os.path.join(glob.escape(metaRoot), "**", "*.json"), recursive=True):
            try:
                with open(metaPath, encoding="utf-8") as f:
                    meta = json.load(f)
            except (OSError, ValueError):
                continue
            if not isinstance(meta, dict) or meta.get("function") != self.fn._identity:
                continue
            key = os.path.relpath(metaPath, metaRoot)[: -len(".json")].replace(os.sep, "/")
            entry = os.path.join(workDir, key)
            copies = [(entry, "ok")] + [(p, "corrupt") for p in glob.glob(glob.escape(entry) + ".corrupt-*")]
            for path, status in copies:
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                found.append(
                    CacheEntry(
                        key=key,
                        name=os.path.relpath(path, workDir).replace(os.sep, "/"),
                        path=path,
                        size=st.st_size,
                        created=st.st_mtime,
                        status=status,
                        arguments=dict(meta.get("arguments") or {}),
                        seconds=meta.get("seconds"),
                    )
                )
        found.sort(key=lambda e: e.created, reverse=True)
        return found

    def delete(self, name: str) -> int:
        """Deletes one file of the listing by its ``name`` (as `entries` gives it); returns 1, or 0 if gone.

        Raises:
            KeyError: ``name`` is not a file of this function's cache (nothing else is ever deleted).
        """
        entries = {e.name: e for e in self.entries()}
        e = entries.get(name)
        if e is None:
            msg = f"{name!r} is not an entry of {self.fn._identity}'s cache. Entries: {', '.join(entries) or '(none)'}."
            raise KeyError(msg)
        try:
            os.unlink(e.path)
        except FileNotFoundError:
            return 0
        finally:
            self.feed.flush()
        if e.status == "ok" and not any(o.key == e.key and o.status == "corrupt" for o in entries.values()):
            self._forget(e.key)
        return 1

    def clear(self) -> int:
        """Deletes every file of the function's cache; returns how many were deleted."""
        removed = 0
        keys = set()
        for e in self.entries():
            keys.add(e.key)
            try:
                os.unlink(e.path)
                removed += 1
            except FileNotFoundError:
                pass
        for key in keys:
            self._forget(key)
        self.feed.flush()
        return removed

    def _forget(self, key: str) -> None:
        try:
            os.unlink(os.path.join(self.fn.workDir, META, key + ".json"))
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------------ display
    def snapshot(self) -> dict[str, Any]:
        """Plain data for views: the function, folder, counts and entries (with sizes and ages as text)."""
        now = time.time()
        entries = self.entries()
        return {
            "function": self.fn._identity,
            "folder": self.fn.workDir,
            "hits": self.hits,
            "misses": self.misses,
            "totalSize": _fmtSize(sum(e.size for e in entries)),
            "entries": [
                {
                    "name": e.name,
                    "key": e.key,
                    "size": e.size,
                    "sizeText": _fmtSize(e.size),
                    "age": now - e.created,
                    "ageText": _fmtAge(now - e.created),
                    "status": e.status,
                    "arguments": ", ".join(f"{k}={v}" for k, v in e.arguments.items()),
                    "seconds": e.seconds,
                }
                for e in entries
            ],
        }

    def widget(self) -> Any:
        """A live `CacheView`: the entries, with a delete button on each and one to clear all."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        s = self.snapshot()
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (e["name"], e["sizeText"], e["ageText"], e["status"], e["arguments"])
            )
            + "</tr>"
            for e in s["entries"]
        )
        head = "".join(f"<th>{h}</th>" for h in ("key", "size", "age", "status", "arguments"))
        return (
            f'<div class="k1w-cache-static"><b>{html.escape(s["function"])}</b>: '
            f"{_plural(len(s['entries']), 'entry', 'entries')}, {s['totalSize']}, "
            f"{_plural(s['hits'], 'hit', 'hits')}, {_plural(s['misses'], 'miss', 'misses')}, "
            f"in <code>{html.escape(s['folder'])}</code>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        s = self.snapshot()
        lines = [
            f"Cache of {s['function']}: {_plural(len(s['entries']), 'entry', 'entries')}, {s['totalSize']}, "
            f"{_plural(s['hits'], 'hit', 'hits')}, {_plural(s['misses'], 'miss', 'misses')}",
            f"folder: {s['folder']}",
        ]
        if s["entries"]:
            w = max(len(e["name"]) for e in s["entries"])
            lines += [
                f"- {e['name']:<{w}}  {e['sizeText']:>9}  {e['ageText']:>5} ago  {e['status']}" for e in s["entries"]
            ]
        lines += [
            "",
            "Use...",
            "- info.entries(): the entries (key, size, created, status, arguments)",
            "- info.delete(name): to delete one entry's file",
            "- info.clear(): to delete them all (same as fn.clear())",
        ]
        return "\n".join(lines)
