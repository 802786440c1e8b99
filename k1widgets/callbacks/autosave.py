"""Autosave: the learner saved at the end of every run, the last few kept, as the seed prints it.

At ``endRun`` the saves shift down (``autosave-1`` → ``autosave-0``, ``autosave-2`` → ``autosave-1``,
in Python, by atomic renames and hard links) and the learner is saved through `Learner.save`'s
format as ``autosave-2``, which prints ``Saved to autosave-2.pth``. The newest name is never empty
and no file set ever mixes two generations, whenever a crash strikes (`k1widgets.persist.saves`).
Learners autosaving into one folder, from threads or processes, take turns (a lock file in the
folder, ``.autosave.lock``).
"""

from __future__ import annotations

import os
import sys
import warnings

from filelock import FileLock

from k1widgets import display
from k1widgets.callbacks.callback import Callback
from k1widgets.persist.saves import rotateSaves
from k1widgets.settings import settings

__all__ = ["Autosave", "AutosaveWarning"]

LOCK = ".autosave.lock"
"""The lock file in an autosave folder (held while the saves rotate and the newest is written)."""

LOCK_TIMEOUT = 120.0
"""Seconds an autosave waits for another one in the same folder before it gives up (with a warning)."""


class AutosaveWarning(UserWarning):
    """An autosave failed; the run's result stands (save it by hand with ``l.save(...)``)."""


class Autosave(Callback):
    """Saves the learner at the end of every run as ``autosave-<count-1>``, keeping ``count`` saves.

    ``autosave-0`` is the oldest, ``autosave-<count-1>`` the newest: ``Learner.load("autosave-2")``
    loads the latest run (with the default count of 3). Runs that end with an error are not saved
    (the saves of earlier runs stay); cancelled runs are. Saving never fails a run: an error while
    saving is reported as an `AutosaveWarning`.

    Args:
        folder: where the saves go (created when missing); default ``settings.autosave.folder``.
        count: how many saves to keep; default ``settings.autosave.count``.

    ``settings.autosave.on = False`` turns every Autosave off.
    """

    listOrder = 10  # the seed lists it right after DontTrainValid
    order = 23  # after the recordings (Loss, 20): the save holds the run's final state
    suspendInEval = True

    def __init__(self, *, folder: str | os.PathLike[str] | None = None, count: int | None = None) -> None:
        super().__init__()
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            msg = f"Autosave(count=...) must be a whole number >= 1, got {count!r}."
            raise ValueError(msg)
        self.folder = folder
        self.count = count
        self.path: str | None = None
        """The ``.pth`` file of the latest autosave (None until one is written)."""

    def endRun(self) -> None:
        """Rotates the saves and saves the learner; reports (never raises) an error."""
        l = self.learner
        if l is None or not settings.autosave.on or l.status == "error":
            return
        folder = os.fspath(self.folder if self.folder is not None else settings.autosave.folder)
        count = self.count if self.count is not None else settings.autosave.count
        try:
            os.makedirs(folder, exist_ok=True)
            # learners autosaving into one folder (threads, or notebooks in one folder) take turns: two
            # rotations at once renamed each other's files away, and one of the saves failed
            with FileLock(os.path.join(folder, LOCK), timeout=LOCK_TIMEOUT):
                base = rotateSaves(folder, "autosave", count)
                path = l._saveTo(os.path.normpath(base))
        except Exception as e:
            msg = (
                f"Autosave could not save the learner to {folder!r} ({type(e).__name__}: {e}). The run's "
                "result stands; save it with l.save('name'), or change settings.autosave.folder."
            )
            warnings.warn(AutosaveWarning(msg), stacklevel=2)
            return
        self.path = path
        if not display.isSuppressed():  # a dashboard's run reports the save in its own view
            sys.stdout.write(f"Saved to {path}\n")
            sys.stdout.flush()

    def _reprUse(self) -> str:
        return '- Learner.load("autosave-2"): to load the newest autosave (settings.autosave: folder, count, on)'
