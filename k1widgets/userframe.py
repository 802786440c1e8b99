"""Warnings that point at the user's code: the stack level of the first frame outside the package."""

from __future__ import annotations

import sys

__all__ = ["userStacklevel"]


def userStacklevel(package: str = "k1widgets") -> int:
    """The ``stacklevel`` of a `warnings.warn` made by the caller: the first frame outside ``package``.

    Example::

        warnings.warn("pure float16 training needs care", UserWarning, stacklevel=userStacklevel())
    """
    level, frame = 1, sys._getframe(1)
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).startswith(package):
        frame = frame.f_back
        level += 1
    return level
