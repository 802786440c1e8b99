"""fixedBatch: a fixed evaluation batch from the training data, prepared the way the loop prepares batches.

`ParamFinder` and `LossLandscape` measure the loss on one fixed batch, so that the curve or the
surface shows the effect of the learning rate or of the weights, not which mini-batch happened to
come next (k1lib's landscape used a different batch per grid point: its surfaces were batch noise).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["fixedBatch"]


def fixedBatch(l: Any, samples: int) -> tuple[Any, Any]:
    """The first ``samples`` training samples as one batch ``(xb, yb)``, after the learner's batch callbacks.

    Training batches are taken in order from ``l.data.train`` and passed through the callbacks that
    prepare batches (``ModifyBatch``, ``DType``, ``Cuda``...: everything that runs at ``startBatch``
    and ``startPass`` outside ``suspendInEval``), exactly as ``l(xb)`` does, then concatenated.
    Batches that are not tensors (tuples, dicts) cannot be concatenated: the first batch is used alone.

    Args:
        l: the learner.
        samples: how many samples to gather (at least one batch is always used).

    Raises:
        ValueError: ``l.data.train`` yields no batch.
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        msg = f"samples must be a whole number >= 1, got {samples!r}."
        raise ValueError(msg)
    xbs: list[Any] = []
    ybs: list[Any] = []
    n = 0
    saved = (l.xb, l.yb, l.y, l.metab)
    try:
        with torch.no_grad(), l.cbs.suspendEval():
            for item in l.data.train:
                l.xb, l.yb, l.metab = item[0], item[1], tuple(item[2:])
                l.cbs("startBatch", "startPass")
                xb, yb = l.xb, l.yb
                xbs.append(xb)
                ybs.append(yb)
                if not (isinstance(xb, torch.Tensor) and isinstance(yb, torch.Tensor)):
                    break
                n += len(xb)
                if n >= samples:
                    break
    finally:
        l.xb, l.yb, l.y, l.metab = saved
    if not xbs:
        msg = "l.data.train yields no batch, so there is nothing to measure the loss on."
        raise ValueError(msg)
    if len(xbs) == 1 or not all(isinstance(t, torch.Tensor) for t in (*xbs, *ybs)):
        return xbs[0], ybs[0]
    return torch.cat(xbs)[:samples], torch.cat(ybs)[:samples]
