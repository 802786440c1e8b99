"""Callbacks that change what goes through the loop: batches, dtypes, devices, whether to train."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import torch

from k1widgets.callbacks.callback import Callback
from k1widgets.userframe import userStacklevel

__all__ = ["Cpu", "Cuda", "DType", "DontTrain", "DontTrainValid", "ModifyBatch"]


class _NotAPair:
    """``l.yb`` while a batch that is not an ``(xb, yb)`` pair (a dict, a tensor) waits for a `ModifyBatch`."""

    def __repr__(self) -> str:
        return "<not a pair: split the batch with l.cbs.withModifyBatch(lambda b: (xb, yb))>"


_NOT_A_PAIR = _NotAPair()


def _takesOneArgument(f: Callable[..., Any]) -> bool:
    """Whether ``f`` takes exactly one positional argument (``lambda b: ...``); ``f(xb, yb=None)`` takes two."""
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature: assume the seeds' f(xb, yb)
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varArgs = any(p.kind is p.VAR_POSITIONAL for p in params)
    return len(positional) == 1 and positional[0].default is positional[0].empty and not varArgs


class DontTrainValid(Callback):
    """Skips the backward pass and the optimizer step whenever the model is in eval mode.

    The learner validates in ``eval()`` under ``torch.no_grad()`` and never steps there; this guard
    also covers callbacks that put the model in eval mode during training batches.
    """

    def startBackward(self) -> bool:
        """Skips backward in eval mode."""
        return not self.learner._model.training  # type: ignore[union-attr]

    def startStep(self) -> bool:
        """Skips the optimizer step in eval mode."""
        return not self.learner._model.training  # type: ignore[union-attr]


class DontTrain(Callback):
    """Skips every backward pass and optimizer step (used by `Recorder`)."""

    def startBackward(self) -> bool:
        """Always skips backward."""
        return True

    def startStep(self) -> bool:
        """Always skips the step."""
        return True

    def startZeroGrad(self) -> bool:
        """Nothing to zero."""
        return True


class ModifyBatch(Callback):
    """Transforms every batch before the forward pass: ``l.xb, l.yb = f(l.xb, l.yb)``.

    A function of one argument gets the whole batch as the data yielded it (a dict, a tensor, a
    tuple) and returns the ``(xb, yb)`` pair; such a ModifyBatch runs first (order 8), before the
    device and dtype callbacks, so what it returns is moved and converted as usual. For inference,
    ``l(b)`` hands it ``b`` the same way.

    Example:
        >>> cb = ModifyBatch(lambda b: (b["x"], b["y"]))  # for dict batches, as Hugging Face datasets yield
        >>> cb.wholeBatch, cb.order
        (True, 8)
    """

    order = 13

    def __init__(self, f: Callable[..., tuple[Any, Any]]) -> None:
        super().__init__()
        if not callable(f):
            msg = f"ModifyBatch takes a function f(xb, yb) -> (xb, yb), got {type(f).__name__}: {f!r:.80}."
            raise TypeError(msg)
        self.f = f
        self.wholeBatch = _takesOneArgument(f)
        if self.wholeBatch:
            self.order = 8

    def startBatch(self) -> None:
        """Applies ``f`` to the batch."""
        l: Any = self.learner
        if self.wholeBatch:
            # a batch that is not a pair, or l(b) (inference: no yb), is handed over as it is
            batch = l.xb if l.yb is _NOT_A_PAIR or l.yb is None else (l.xb, l.yb, *l.metab)
            result = self.f(batch)
        else:
            result = self.f(l.xb, l.yb)
        if not (isinstance(result, tuple | list) and len(result) == 2):
            msg = f"ModifyBatch's function must return a pair (xb, yb), got {_what(result)}."
            raise TypeError(msg)
        l.xb, l.yb = result
        if self.wholeBatch:
            l.metab = ()

    def _reprUse(self) -> str:
        return "- cb.f: the function applied to every (xb, yb)"


def _what(x: Any) -> str:
    if isinstance(x, tuple | list):
        return f"a {type(x).__name__} of {len(x)} items"
    return type(x).__name__


class DType(Callback):
    """Converts the model (at the start of a run) and every floating-point batch to ``dtype``.

    The optimizer's state (Adam's moments...) is converted with the model, so ``withDType`` may be
    added after a run. Pure ``torch.float16`` training needs care (small updates and Adam's state
    underflow: NaN within a few batches); it warns once and points at `Autocast`
    (``l.cbs.withAutocast(dtype=torch.float16)``), which keeps float32 weights.
    """

    listOrder = 13  # listed with ModifyBatch, as the seed does

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        if not isinstance(dtype, torch.dtype):
            msg = f"DType takes a torch.dtype such as torch.float32, got {type(dtype).__name__}: {dtype!r}."
            raise TypeError(msg)
        self.dtype = dtype
        if dtype is torch.float16 and not _warned.get("float16"):
            _warned["float16"] = True
            msg = (
                "DType(torch.float16) trains in pure float16: small updates and optimizer state underflow "
                "(Adam gives NaN within a few batches). For mixed precision, which keeps float32 weights, use "
                "l.cbs.withAutocast(dtype=torch.float16) (with a GradScaler), or torch.bfloat16."
            )
            warnings.warn(msg, UserWarning, stacklevel=userStacklevel())

    def startRun(self) -> None:
        """Converts the model's parameters and the optimizer's state."""
        l: Any = self.learner
        l.model.to(self.dtype)
        _matchOptimizerState(l.opt)

    def startBatch(self) -> None:
        """Converts the batch."""
        l: Any = self.learner
        dtype = self.dtype
        if isinstance(l.xb, torch.Tensor) and l.xb.dtype != dtype and l.xb.is_floating_point():
            l.xb = l.xb.to(dtype)
        if isinstance(l.yb, torch.Tensor) and l.yb.dtype != dtype and l.yb.is_floating_point():
            l.yb = l.yb.to(dtype)


_warned: dict[str, bool] = {}  # warnings given once per process


def _matchOptimizerState(opt: Any) -> None:
    """Moves the optimizer's state tensors to the device and dtype of their parameter (the model was moved).

    What ``Optimizer.load_state_dict`` does: floating-point state follows its parameter's dtype and
    device, other tensors its device; the ``step`` counters stay as they are.
    """
    state = getattr(opt, "state", None)
    if not state:
        return
    for param, values in state.items():
        if not isinstance(param, torch.Tensor) or not isinstance(values, dict):
            continue
        for key, value in list(values.items()):
            if key == "step" or not isinstance(value, torch.Tensor):
                continue
            if value.is_floating_point() and param.is_floating_point():
                if value.dtype != param.dtype or value.device != param.device:
                    values[key] = value.to(device=param.device, dtype=param.dtype)
            elif value.device != param.device:
                values[key] = value.to(device=param.device)


class _Device(Callback):
    order = 9  # before DType and ModifyBatch, so they work on the device already

    def __init__(self, device: str | torch.device) -> None:
        super().__init__()
        self.device = torch.device(device)

    def startRun(self) -> None:
        """Moves the model and the optimizer's state."""
        l: Any = self.learner
        l.model.to(self.device)
        _matchOptimizerState(l.opt)

    def startBatch(self) -> None:
        """Moves the batch (non-blocking where the source is pinned)."""
        l, device = self.learner, self.device
        if isinstance(l.xb, torch.Tensor):
            l.xb = l.xb.to(device, non_blocking=True)
        if isinstance(l.yb, torch.Tensor):
            l.yb = l.yb.to(device, non_blocking=True)


class Cuda(_Device):
    """Moves the model and every batch to a CUDA device."""

    def __init__(self, device: str | torch.device = "cuda") -> None:
        if not torch.cuda.is_available():
            msg = "Cuda() needs a CUDA device, and torch.cuda.is_available() is False here. Use Cpu() instead."
            raise RuntimeError(msg)
        super().__init__(device)


class Cpu(_Device):
    """Moves the model and every batch to the CPU."""

    def __init__(self) -> None:
        super().__init__("cpu")
