"""The callback catalogue: `Callback`, `Callbacks`, and every bundled callback."""

from __future__ import annotations

from k1widgets.callbacks.autosave import Autosave, AutosaveWarning
from k1widgets.callbacks.callback import CHECKPOINTS, Callback, Callbacks, Timings, UnknownCallbackError
from k1widgets.callbacks.finder import FinderPlot, ParamFinder
from k1widgets.callbacks.guards import BatchLimit, CancelOnExplosion, CancelOnLowLoss, EpochLimit, TimeLimit
from k1widgets.callbacks.hooks import HookModule, HookParam
from k1widgets.callbacks.landscape import Landscape, LossLandscape
from k1widgets.callbacks.loss import Loss
from k1widgets.callbacks.modify import Cpu, Cuda, DontTrain, DontTrainValid, DType, ModifyBatch
from k1widgets.callbacks.precision import Autocast
from k1widgets.callbacks.progress import ProgressBar
from k1widgets.callbacks.recorder import Recorder
from k1widgets.callbacks.scheduler import ParamScheduler

__all__ = [
    "CHECKPOINTS",
    "Autocast",
    "Autosave",
    "AutosaveWarning",
    "BatchLimit",
    "Callback",
    "Callbacks",
    "CancelOnExplosion",
    "CancelOnLowLoss",
    "Cpu",
    "Cuda",
    "DType",
    "DontTrain",
    "DontTrainValid",
    "EpochLimit",
    "FinderPlot",
    "HookModule",
    "HookParam",
    "Landscape",
    "Loss",
    "LossLandscape",
    "ModifyBatch",
    "ParamFinder",
    "ParamScheduler",
    "ProgressBar",
    "Recorder",
    "TimeLimit",
    "Timings",
    "UnknownCallbackError",
]
