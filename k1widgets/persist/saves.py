"""The learner's save format: one file set per save, always of one generation, and its rotation.

A save named ``run1`` is the file set ``run1.pth`` + ``run1.model.pth``:

- ``run1.pth`` holds everything, as a torch file that ``torch.load(..., weights_only=True)`` reads
  without running any code: ``{"format": "k1widgets.learner", "version": 1, "generation": <hex>,
  "saved": <unix time>, "weights": <model state_dict>, "tensors": [...], "learner": <bytes>}``.
  ``learner`` is the pickled object (cloudpickle, so lambdas and local classes work) with every
  tensor it holds taken out into ``tensors`` (stored once, as torch stores tensors), so the weights
  are not stored twice. Unpickling ``learner`` runs code; reading ``weights`` does not.
- ``run1.model.pth`` is ``torch.save(model.state_dict())``, for tools outside k1widgets.

Loaders read ``run1.pth`` alone (the weights too), so they never pair files of different saves. On
disk a set never mixes generations either: a save writes the new ``.pth`` to a temporary file,
removes the old ``.model.pth``, renames the new ``.pth`` into place, then writes the new
``.model.pth``. A crash at any point leaves the old set, the old ``.pth`` alone, the new ``.pth``
alone, or the new set, plus at most one temporary file, which the next save removes.

Durability: file contents are fsynced before their rename, and the folder after each save and each
rotation. Changes in between are not fsynced one by one: journaling file systems replay metadata
changes in order, so a power loss keeps a prefix of them, and every prefix is one of the states above.
"""

from __future__ import annotations

import io
import os
import pickle
import secrets
import time
from collections.abc import Mapping
from typing import Any

from k1widgets.persist.atomic import atomicWrite, cleanTemps, fsyncFolder, linkDurably, replaceDurably

__all__ = ["FORMAT", "SaveFormatError", "readSave", "readWeights", "rotateSaves", "saveFiles", "writeSave"]

FORMAT = "k1widgets.learner"
VERSION = 1


class SaveFormatError(ValueError):
    """A file that is not a readable k1widgets save (or a newer version of one)."""


def saveFiles(base: str) -> tuple[str, str]:
    """The two files of the save ``base``: ``(base.pth, base.model.pth)``."""
    return base + ".pth", base + ".model.pth"


class _Pickler:
    """cloudpickle, with every plain tensor and parameter stored outside the pickle (by index)."""

    @staticmethod
    def dumps(obj: Any) -> tuple[bytes, list[Any]]:
        import cloudpickle
        import torch

        plain = (torch.Tensor, torch.nn.Parameter)
        tensors: list[Any] = []
        index: dict[int, int] = {}

        class Pickler(cloudpickle.Pickler):  # type: ignore[misc]
            def persistent_id(self, o: Any) -> Any:
                if type(o) in plain:
                    i = index.get(id(o))
                    if i is None:
                        i = index[id(o)] = len(tensors)
                        tensors.append(o)  # also keeps it alive, so its id is not reused
                    return ("tensor", i)
                return None

        buffer = io.BytesIO()
        Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
        return buffer.getvalue(), tensors

    @staticmethod
    def loads(blob: bytes, tensors: list[Any]) -> Any:
        class Unpickler(pickle.Unpickler):
            def persistent_load(self, pid: Any) -> Any:
                if isinstance(pid, tuple) and len(pid) == 2 and pid[0] == "tensor" and 0 <= pid[1] < len(tensors):
                    return tensors[pid[1]]
                msg = f"unknown persistent reference {pid!r}"
                raise pickle.UnpicklingError(msg)

        return Unpickler(io.BytesIO(blob)).load()


def _unlink(path: str) -> None:
    """Removes a file if present (durable with the next folder fsync, which follows in the same folder)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def writeSave(base: str, obj: Any, weights: Mapping[str, Any] | None) -> str:
    """Saves ``obj`` (and the model ``weights``) as the file set ``base``; returns the generation id.

    Pickling happens first, in memory: an object that cannot be pickled changes no file.

    Raises:
        Whatever pickling or writing raises; the previous set is then intact (see the module doc).
    """
    import torch

    pth, modelPth = saveFiles(base)
    blob, tensors = _Pickler.dumps(obj)
    generation = secrets.token_hex(8)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "generation": generation,
        "saved": time.time(),
        "weights": weights if weights is not None else {},  # a state_dict keeps its _metadata
        "tensors": tensors,
        "learner": blob,
    }
    for path in (pth, modelPth):  # at most one temporary file exists at any moment of a save
        cleanTemps(path)
    atomicWrite(pth, lambda f: torch.save(payload, f), beforeReplace=lambda: _unlink(modelPth))
    if weights is not None:
        atomicWrite(modelPth, lambda f: torch.save(weights, f))
    return generation


def _readPayload(path: str, *, mmap: bool = False) -> dict[str, Any]:
    """The save's top level, read with ``weights_only=True`` (no code runs)."""
    import torch

    try:
        payload = torch.load(path, weights_only=True, map_location="cpu" if mmap else None, mmap=mmap)
    except Exception as e:
        first = (str(e).splitlines() or [""])[0]
        msg = f"{path!r} is not a readable k1widgets save ({type(e).__name__}: {first:.200})."
        raise SaveFormatError(msg) from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        what = f"a {type(payload).__name__}" if not isinstance(payload, dict) else "a dict without k1widgets' format"
        msg = f"{path!r} holds {what}, not a k1widgets save (files written by Learner.save)."
        raise SaveFormatError(msg)
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION:
        msg = f"{path!r} is a k1widgets save of version {version!r}; this k1widgets reads versions up to {VERSION}."
        raise SaveFormatError(msg)
    return payload


def readSave(path: str) -> tuple[Any, dict[str, Any]]:
    """Reads a save's object (unpickling code: trusted files only) and its top level.

    Returns:
        ``(obj, info)`` where ``info`` has ``generation`` and ``saved`` (unix time).

    Raises:
        SaveFormatError: the file is not a k1widgets save, or its pickle cannot be read.
    """
    payload = _readPayload(path)
    try:
        obj = _Pickler.loads(payload["learner"], payload["tensors"])
    except Exception as e:
        msg = f"{path!r} holds a k1widgets save whose learner cannot be unpickled ({type(e).__name__}: {e})."
        raise SaveFormatError(msg) from e
    return obj, {"generation": payload.get("generation"), "saved": payload.get("saved")}


def readWeights(path: str) -> Mapping[str, Any]:
    """The model weights of a save, or of a plain state_dict file; no code is unpickled.

    Args:
        path: a ``.pth`` save (its ``weights``), or any file of ``torch.save(model.state_dict())``.
    """
    import torch

    try:
        weights: Mapping[str, Any] = _readPayload(path, mmap=True)["weights"]
        return weights
    except SaveFormatError as e:
        try:
            obj = torch.load(path, weights_only=True, map_location="cpu")
        except Exception:
            raise e from None
        if isinstance(obj, Mapping) and all(isinstance(k, str) for k in obj):
            return obj
        raise


# ---------------------------------------------------------------------- rotation
def _carry(src: str, dst: str, *, keepSource: bool) -> None:
    """Makes the set ``dst`` what the set ``src`` is (moved, or hard-linked when ``keepSource``).

    Every moment, each set holds files of one generation: ``dst``'s model file goes first, then its
    ``.pth`` is replaced (atomically), then the model file follows.
    """
    srcPth, srcModel = saveFiles(src)
    dstPth, dstModel = saveFiles(dst)
    if not os.path.exists(srcPth):
        if not keepSource:
            _unlink(srcModel)  # a model file whose .pth is gone belongs to no save
        return
    _unlink(dstModel)
    carry = linkDurably if keepSource else replaceDurably
    carry(srcPth, dstPth, sync=False)  # rotateSaves fsyncs the folder once, after the last change
    if os.path.exists(srcModel):
        carry(srcModel, dstModel, sync=False)


def rotateSaves(folder: str, prefix: str = "autosave", count: int = 3) -> str:
    """Shifts the saves ``<prefix>-0`` (oldest) … ``<prefix>-<count-1>`` (newest) down by one.

    ``<prefix>-1`` moves to ``<prefix>-0`` (dropping the oldest), and so on; the newest stays where it
    is and is also linked as the one before, so a crash never leaves the newest name empty. Saving
    the next set under the newest name then completes the rotation.

    Returns:
        The base path of the newest save, ``<folder>/<prefix>-<count-1>``, to save to.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        msg = f"count must be a whole number >= 1, got {count!r}."
        raise ValueError(msg)
    names = [os.path.join(folder, f"{prefix}-{i}") for i in range(count)]
    for name in names:
        for path in saveFiles(name):
            cleanTemps(path)
    for i in range(count - 1):
        _carry(names[i + 1], names[i], keepSource=i == count - 2)
    fsyncFolder(folder)
    return names[-1]
