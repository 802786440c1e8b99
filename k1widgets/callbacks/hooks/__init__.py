"""Live hooks: `HookModule` (module outputs and their gradients) and `HookParam` (parameters).

Both record the modules or parameters that ``l.css`` selects, on sampled training batches, with
statistics computed on the device and copied to the host in batches (`stats`), into a bounded
history (`history`); both are default callbacks and display as live views. `base` holds what they
share, `plot` their `SliceablePlot`.
"""

from __future__ import annotations

from k1widgets.callbacks.hooks.base import HookCallback, Line, UnknownFieldError
from k1widgets.callbacks.hooks.history import History
from k1widgets.callbacks.hooks.module import HookData, HookModule
from k1widgets.callbacks.hooks.param import HookParam
from k1widgets.callbacks.hooks.plot import HookPlot

__all__ = ["History", "HookCallback", "HookData", "HookModule", "HookParam", "HookPlot", "Line", "UnknownFieldError"]
