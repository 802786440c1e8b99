"""TrainingSnapshot: everything a trial run can change, copied in memory and put back exactly.

`ParamFinder` trains for a few hundred batches at growing learning rates and must leave no trace:
the next ``l.run()`` has to produce bit-identical weights to a run without the finder. That needs
more than the weights (k1lib restored only those; fastai and torch-lr-finder leave the RNG consumed):

- model parameters and buffers (BatchNorm statistics), their ``.grad``, and every module's
  ``training`` flag;
- the optimizer's per-parameter state (Adam moments, step counts) and its param groups: which
  parameters each group holds and every hyper-parameter (lr, betas, weight decay...);
- the random number generators: torch's CPU generator, every initialised CUDA device's, numpy's
  global one and Python's ``random``.

Nothing is written to disk. Values are restored in place (``copy_``), so the parameter tensors the
optimizer and the user hold stay the same objects.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["RngState", "TrainingSnapshot"]


def _clone(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    return copy.deepcopy(v)


class RngState:
    """The states of torch's CPU generator, every initialised CUDA device's, numpy's and Python's; `restore` them."""

    def __init__(self) -> None:
        self.torch = torch.get_rng_state()
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()  # type: ignore[no-untyped-call]
        self.cuda = torch.cuda.get_rng_state_all() if cuda else None
        self.numpy = np.random.get_state()
        self.random = random.getstate()

    def restore(self) -> None:
        """Puts every generator back (may be called more than once)."""
        torch.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)
        np.random.set_state(self.numpy)
        random.setstate(self.random)


class TrainingSnapshot:
    """A copy of a model's and an optimizer's state and of the RNGs; `restore` puts it all back.

    Args:
        model: the module whose parameters, buffers, gradients and train/eval flags to keep.
        opt: the optimizer whose state and param groups to keep (None: only the model and RNGs).

    Example:
        >>> import torch
        >>> from k1widgets import Learner
        >>> l = Learner.sample()
        >>> before = [p.clone() for p in l.model.parameters()]
        >>> snap = TrainingSnapshot(l.model, l.opt)
        >>> _ = l.run(1)  # anything at all  # doctest: +NORMALIZE_WHITESPACE
        Progress: ...
        >>> snap.restore()      # as if it never ran
        >>> all(torch.equal(a, b) for a, b in zip(before, l.model.parameters()))
        True
    """

    def __init__(self, model: nn.Module, opt: torch.optim.Optimizer | None = None) -> None:
        with torch.no_grad():
            self.tensors = [(t, t.detach().clone()) for t in _uniqueTensors(model)]
            self.grads = [(p, None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()]
        self.modes = [(m, m.training) for m in model.modules()]
        self.opt = opt
        if opt is not None:
            self.groups = [
                (g, {k: (list(v) if k == "params" else _clone(v)) for k, v in g.items()}) for g in opt.param_groups
            ]
            self.groupList = list(opt.param_groups)
            self.state = {p: {k: _clone(v) for k, v in s.items()} for p, s in opt.state.items()}
        self.rng = RngState()

    def restore(self) -> None:
        """Puts the model, the optimizer and the RNGs back to the snapshot (may be called more than once)."""
        with torch.no_grad():
            for t, saved in self.tensors:
                t.copy_(saved)
            for p, g in self.grads:
                p.grad = None if g is None else g.clone()
        for m, training in self.modes:
            m.training = training
        opt = self.opt
        if opt is not None:
            for group, hypers in self.groups:
                group.clear()
                group.update({k: (list(v) if k == "params" else _clone(v)) for k, v in hypers.items()})
            opt.param_groups[:] = self.groupList
            opt.state.clear()
            for param, s in self.state.items():
                opt.state[param] = {k: _clone(v) for k, v in s.items()}
        self.rng.restore()


def _uniqueTensors(model: nn.Module) -> list[torch.Tensor]:
    seen: set[int] = set()
    out = []
    for t in (*model.parameters(), *model.buffers()):
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out
