"""k1widgets: a PyTorch training toolkit in the k1lib tradition where every object is a live widget.

Importing it runs nothing but imports. The full catalogues live in subpackages:
`k1widgets.callbacks`, `k1widgets.data`, `k1widgets.widgets`.
"""

from __future__ import annotations

from k1widgets import callbacks, data
from k1widgets.callbacks import Callback, Callbacks
from k1widgets.cancel import CancelBatchException, CancelEpochException, CancelRunException
from k1widgets.learner import Learner, RunHandle
from k1widgets.settings import Settings, settings

__version__ = "0.1.0"

__all__ = [
    "Callback",
    "Callbacks",
    "CancelBatchException",
    "CancelEpochException",
    "CancelRunException",
    "Learner",
    "RunHandle",
    "Settings",
    "__version__",
    "callbacks",
    "data",
    "settings",
]
