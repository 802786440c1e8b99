"""The per-point store: one atomically written file per finished point, beside ``data_name``.

Layout for ``data_name="sweep.pkl"``::

    sweep.pkl                    the consolidated data (a pickled xarray Dataset / pandas DataFrame)
    sweep.pkl.k1sweep/
        points/<key>.pkl         one record per finished point, written the moment it finishes
        staging/<key>.<id>.pkl   points being consolidated (read like points/)
        errors.pkl               error records of failed points, kept by consolidation
        corrupt/                 unreadable files, set aside (and reported) instead of used
        sweep.json               what the sweep is: variables, dimensions, grid (for a fresh kernel)
        lock                     flock: readers share it, consolidation holds it alone

What is on disk at any instant holds every finished point: a reader merges the consolidated data
with the records in ``points/`` and ``staging/``, records winning (they are newer). Consolidation
(under the exclusive lock) moves the point files to ``staging/``, writes the merged data atomically,
saves the error records, and only then deletes the staged files, so a kill at any step leaves every
point readable, and the next consolidation finishes the job. Writers of points never take the lock:
concurrent processes write different files, or replace one file atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from k1widgets.persist import atomicWrite
from k1widgets.persist.nosync import atomicWriteNoSync

__all__ = ["CorruptFileWarning", "MemoryStore", "PointStore", "bestRecords"]

Record = dict[str, Any]
Loader = Callable[[str], Any]
Dumper = Callable[[Any, IO[bytes]], object]
Merger = Callable[[Any, list[Record]], Any]

_STALE_TMP = 3600.0  # seconds after which a leftover temporary file is removed by consolidation


class CorruptFileWarning(UserWarning):
    """A store file could not be read: it was set aside (moved to ``corrupt/``) and is not used."""


def _better(a: Record, b: Record) -> bool:
    """Whether record ``a`` should replace ``b`` for the same point: ok beats error, then the newest."""
    if (a["status"] == "ok") != (b["status"] == "ok"):
        return bool(a["status"] == "ok")
    return float(a.get("written") or a.get("finished") or 0.0) >= float(b.get("written") or b.get("finished") or 0.0)


def bestRecords(*sources: dict[str, Record]) -> dict[str, Record]:
    """One record per key from several sources: a good result beats an error, then the newest wins."""
    out: dict[str, Record] = {}
    for source in sources:
        for key, r in source.items():
            old = out.get(key)
            if old is None or _better(r, old):
                out[key] = r
    return out


def _validRecord(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("key"), str)
        and isinstance(obj.get("params"), dict)
        and obj.get("status") in ("ok", "error")
        and (obj["status"] == "error" or isinstance(obj.get("result"), dict))
    )


class MemoryStore:
    """The store of a harvester without ``data_name``: the same interface, nothing on disk."""

    dataName: str | None = None

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._consolidated: Any = None
        self.meta: dict[str, Any] = {}
        self.corrupt: list[tuple[str, str, str]] = []

    def write(self, record: Record) -> None:
        """Keeps ``record`` (replacing an older one for the same point unless that is a good result)."""
        record = {**record, "written": time.time()}
        old = self._records.get(record["key"])
        if old is None or _better(record, old):
            self._records[record["key"]] = record

    def snapshot(self) -> tuple[Any, dict[str, Record]]:
        """The consolidated data and the best record of each point not consolidated yet."""
        return self._consolidated, dict(self._records)

    def pending(self) -> int:
        """How many points are not consolidated."""
        return len(self._records)

    def consolidate(self, merge: Merger, transform: Callable[[Any], Any] | None = None) -> Any:
        """Folds the good records into the consolidated data, then applies ``transform`` to it."""
        ok = [r for r in self._records.values() if r["status"] == "ok"]
        self._consolidated = merge(self._consolidated, ok)
        self._records = {k: r for k, r in self._records.items() if r["status"] != "ok"}
        if transform is not None:
            self._consolidated = transform(self._consolidated)
        return self._consolidated

    def readMeta(self) -> dict[str, Any]:
        """What the sweep is (variables, dimensions, grid)."""
        return dict(self.meta)

    def writeMeta(self, meta: dict[str, Any]) -> None:
        """Replaces the sweep's description."""
        self.meta = dict(meta)

    def delete(self, backup: bool = False) -> None:
        """Forgets everything."""
        self.__init__()  # type: ignore[misc]


class PointStore:
    """The on-disk store of ``data_name`` (see the module docstring for the layout and guarantees).

    Args:
        dataName: the consolidated file; the store is the folder ``<dataName>.k1sweep`` beside it.
        load: ``load(path)`` reads the consolidated data.
        dump: ``dump(obj, f)`` writes it into a binary file.
        syncPoints: fsync each point file (and its folder) before going on. Off by default: a point
            file is replaced atomically either way, so killing the process never loses or damages a
            finished point; only a power cut can lose the points since the last consolidation (which
            always fsyncs), and those are computed again by ``missing_only``. Two fsyncs cost more than
            the rest of storing a point (3 ms each on a busy disk).
    """

    def __init__(
        self, dataName: str | os.PathLike[str], *, load: Loader, dump: Dumper, syncPoints: bool = False
    ) -> None:
        self.dataName = os.fspath(dataName)
        self.dir = Path(self.dataName + ".k1sweep")
        self.pointsDir = self.dir / "points"
        self.stagingDir = self.dir / "staging"
        self.corruptDir = self.dir / "corrupt"
        self.errorsPath = self.dir / "errors.pkl"
        self.metaPath = self.dir / "sweep.json"
        self._load, self._dump = load, dump
        self.syncPoints = syncPoints
        self.corrupt: list[tuple[str, str, str]] = []  # (file, where it was set aside, why)
        self._cache: dict[str, tuple[tuple[int, int, int], Record | None]] = {}
        self._consolidatedCache: tuple[tuple[int, int, int], Any] | None = None

    def __repr__(self) -> str:
        return f"PointStore({self.dataName!r})"

    # ------------------------------------------------------------------ files and locks
    def _ensure(self) -> None:
        for d in (self.pointsDir, self.stagingDir):
            d.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _lock(self, exclusive: bool) -> Iterator[None]:
        """Flock on ``lock``: shared for readers, exclusive for consolidation (POSIX; no-op elsewhere)."""
        if not self.dir.exists():
            if not exclusive:
                yield
                return
            self._ensure()
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no cross-process lock
            yield
            return
        fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _setAside(self, path: Path, why: str) -> None:
        """Moves an unreadable file to ``corrupt/`` and reports it (a warning and ``self.corrupt``)."""
        self.corruptDir.mkdir(parents=True, exist_ok=True)
        target = self.corruptDir / f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        try:
            os.replace(path, target)
        except FileNotFoundError:  # another reader set it aside first
            return
        self.corrupt.append((str(path), str(target), why))
        msg = (
            f"Set aside the unreadable file {path} ({why}); moved to {target}. Its point counts as missing: "
            f"run again with missing_only=True to compute it."
        )
        warnings.warn(msg, CorruptFileWarning, stacklevel=4)

    @staticmethod
    def _sig(st: os.stat_result) -> tuple[int, int, int]:
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _readRecord(self, path: Path, st: os.stat_result) -> Record | None:
        sig = self._sig(st)
        cached = self._cache.get(str(path))
        if cached is not None and cached[0] == sig:
            return cached[1]
        try:
            with open(path, "rb") as f:
                obj = pickle.load(f)
        except FileNotFoundError:
            return None  # consolidated or replaced meanwhile
        except Exception as e:
            self._setAside(path, f"{type(e).__name__}: {e}")
            return None
        if not _validRecord(obj):
            self._setAside(path, f"not a point record: {type(obj).__name__}")
            return None
        self._cache[str(path)] = (sig, obj)
        return obj  # type: ignore[no-any-return]

    def _readDir(self, folder: Path) -> tuple[dict[str, Record], list[Path]]:
        records: dict[str, Record] = {}
        paths: list[Path] = []
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return records, paths
        for entry in entries:
            if not entry.name.endswith(".pkl"):
                continue  # temporary files of writes in progress (or killed)
            path = Path(entry.path)
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            r = self._readRecord(path, st)
            if r is not None:
                paths.append(path)
                old = records.get(r["key"])
                if old is None or _better(r, old):
                    records[r["key"]] = r
        return records, paths

    def _readErrors(self) -> dict[str, Record]:
        try:
            with open(self.errorsPath, "rb") as f:
                errors = pickle.load(f)
        except FileNotFoundError:
            return {}
        except Exception as e:
            self._setAside(self.errorsPath, f"{type(e).__name__}: {e}")
            return {}
        if not isinstance(errors, dict):
            self._setAside(self.errorsPath, "not a dict of error records")
            return {}
        return errors

    def _readConsolidated(self) -> Any:
        try:
            st = os.stat(self.dataName)
        except FileNotFoundError:
            return None
        sig = self._sig(st)
        if self._consolidatedCache is not None and self._consolidatedCache[0] == sig:
            return self._consolidatedCache[1]
        try:
            obj = self._load(self.dataName)
        except Exception as e:
            self._setAside(Path(self.dataName), f"{type(e).__name__}: {e}")
            return None
        self._consolidatedCache = (sig, obj)
        return obj

    def _unlocked(self) -> tuple[Any, dict[str, Record], list[Path]]:
        points, _ = self._readDir(self.pointsDir)
        staged, stagedPaths = self._readDir(self.stagingDir)
        records = bestRecords(self._readErrors(), staged, points)
        return self._readConsolidated(), records, stagedPaths

    # ------------------------------------------------------------------ public
    def write(self, record: Record) -> None:
        """Writes one point's record atomically to ``points/<key>.pkl`` (replacing an older one)."""
        self._ensure()
        record = {**record, "written": time.time()}
        write = atomicWrite if self.syncPoints else atomicWriteNoSync
        write(self.pointsDir / f"{record['key']}.pkl", lambda f: pickle.dump(record, f, protocol=5))

    def snapshot(self) -> tuple[Any, dict[str, Record]]:
        """The consolidated data and the best record of each point not consolidated (error records too)."""
        with self._lock(exclusive=False):
            consolidated, records, _ = self._unlocked()
        return consolidated, records

    def pending(self) -> int:
        """How many point files wait for consolidation."""
        try:
            return sum(1 for e in os.scandir(self.pointsDir) if e.name.endswith(".pkl"))
        except FileNotFoundError:
            return 0

    def _writeConsolidated(self, obj: Any) -> None:
        atomicWrite(self.dataName, lambda f: self._dump(obj, f))

    def consolidate(self, merge: Merger, transform: Callable[[Any], Any] | None = None) -> Any:
        """Folds every finished point into the consolidated data, atomically; then applies ``transform``.

        Args:
            merge: ``merge(consolidated, okRecords) -> consolidated``; the records win over the old data.
            transform: an optional second step on the consolidated data (drop, expand, replace...),
                written atomically on its own, after the first step is complete.

        Returns:
            The new consolidated data.
        """
        with self._lock(exclusive=True):
            self._ensure()
            for entry in list(os.scandir(self.pointsDir)):
                if entry.name.endswith(".pkl"):
                    stem = entry.name[: -len(".pkl")]
                    with contextlib.suppress(FileNotFoundError):
                        os.rename(entry.path, self.stagingDir / f"{stem}.{uuid.uuid4().hex[:12]}.pkl")
                elif entry.name.endswith(".tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        if time.time() - entry.stat().st_mtime > _STALE_TMP:
                            os.unlink(entry.path)
            consolidated = self._readConsolidated()
            staged, stagedPaths = self._readDir(self.stagingDir)
            if staged:
                errors = bestRecords(self._readErrors(), staged)
                ok = [r for r in errors.values() if r["status"] == "ok"]
                consolidated = merge(consolidated, ok)
                self._writeConsolidated(consolidated)
                failed = {k: r for k, r in errors.items() if r["status"] == "error"}
                atomicWrite(self.errorsPath, lambda f: pickle.dump(failed, f, protocol=5))
                for path in stagedPaths:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
                    self._cache.pop(str(path), None)
            if transform is not None:
                consolidated = transform(consolidated)
                self._writeConsolidated(consolidated)
            return consolidated

    def replaceErrors(self, keep: Callable[[Record], bool]) -> None:
        """Keeps only the error records for which ``keep(record)`` is true (after a drop)."""
        with self._lock(exclusive=True):
            errors = self._readErrors()
            kept = {k: r for k, r in errors.items() if keep(r)}
            if len(kept) != len(errors):
                atomicWrite(self.errorsPath, lambda f: pickle.dump(kept, f, protocol=5))

    def readMeta(self) -> dict[str, Any]:
        """What the sweep is (variables, dimensions, grid); {} for a new store."""
        try:
            meta = json.loads(self.metaPath.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as e:
            self._setAside(self.metaPath, f"{type(e).__name__}: {e}")
            return {}
        return meta if isinstance(meta, dict) else {}

    def writeMeta(self, meta: dict[str, Any]) -> None:
        """Replaces the sweep's description (atomically; JSON, values it cannot encode as their repr)."""
        self._ensure()
        text = json.dumps(meta, indent=1, default=_jsonDefault).encode()
        with contextlib.suppress(FileNotFoundError):
            if self.metaPath.read_bytes() == text:
                return  # unchanged: no write (a harvest rewrites it only when the grid grows)
        atomicWrite(self.metaPath, lambda f: f.write(text))

    def delete(self, backup: bool = False) -> None:
        """Deletes the consolidated file and the store, or with ``backup`` renames both ``*.BAK-<time>``."""
        import shutil

        stamp = time.strftime("%Y%m%d-%H%M%S")
        with self._lock(exclusive=True):
            if os.path.exists(self.dataName):
                if backup:
                    os.replace(self.dataName, f"{self.dataName}.BAK-{stamp}")
                else:
                    os.unlink(self.dataName)
        if self.dir.exists():
            if backup:
                os.replace(self.dir, f"{self.dir}.BAK-{stamp}")
            else:
                shutil.rmtree(self.dir)
        self._cache.clear()
        self._consolidatedCache = None


def _jsonDefault(obj: Any) -> Any:
    tolist = getattr(obj, "tolist", None)
    if tolist is not None:
        return tolist()
    if isinstance(obj, range | tuple | set | frozenset):
        return list(obj)
    return repr(obj)
