"""The loss surface around a model's weights: random directions and batched evaluation of a grid.

``W(α, β) = W + α·d1 + β·d2`` for two random directions ``d1, d2`` (Li et al. 2018, "Visualizing the
Loss Landscape of Neural Nets": Gaussian, **filter-normalized**: each filter, i.e. each slice along a
weight's first dimension, is scaled to the norm of the same filter of ``W``). One-dimensional parameters
(biases, norm scales) get a zero direction unless ``biases=True``, which scales them as one filter.

`evaluate` computes ``lossF(model_W(α,β)(xb), yb)`` for many (α, β) at once with
``torch.func.functional_call`` under ``torch.func.vmap``: a chunk of points is one batched forward pass.
The chunk size comes from the model's activation memory on this batch (measured once with forward
hooks that are removed at once): ``budget // activation bytes per point``, 1 … 256. Where vmap cannot
run the model (a module that calls ``.item()``, data-dependent control flow...), it falls back to a
loop over points with ``functional_call``; if the loop fails too, that error is raised (never
swallowed). The model is never modified: its parameters, ``requires_grad`` flags and train/eval
flags are the same afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["activationBytes", "chunkSize", "directions", "evaluate"]

_CPU_BUDGET = 16 * 2**20  # bytes of activations per chunk; larger chunks got slower from memory traffic


def directions(
    model: nn.Module, seed: int = 0, *, biases: bool = False
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Two filter-normalized Gaussian directions ``(d1, d2)``: parameter name -> tensor shaped like it.

    Parameters whose direction is zero (1-d ones when ``biases=False``) are left out. Drawn from a CPU
    generator seeded with ``seed`` (the global RNG is not touched), so they do not depend on the device.
    """
    gen = torch.Generator().manual_seed(int(seed))
    out: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] = ({}, {})
    with torch.no_grad():
        for name, w in model.named_parameters():
            for d in out:
                r = torch.randn(w.shape, generator=gen, dtype=torch.float32)
                if w.dim() <= 1 and not biases:
                    continue
                wf = w.detach().float().cpu()
                if w.dim() <= 1:
                    r = r * (wf.norm() / (r.norm() + 1e-10))
                else:
                    rf, ww = r.reshape(len(r), -1), wf.reshape(len(wf), -1)
                    r = (rf * (ww.norm(dim=1, keepdim=True) / (rf.norm(dim=1, keepdim=True) + 1e-10))).reshape(w.shape)
                d[name] = r.to(device=w.device, dtype=w.dtype)
    return out


def activationBytes(model: nn.Module, xb: Any) -> int:
    """Bytes of every module's tensor outputs in one forward pass of ``xb`` (no grad, hooks removed after)."""
    total = [0]

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        for t in _tensors(output):
            total[0] += t.numel() * t.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(xb)
    finally:
        for h in handles:
            h.remove()
    return max(total[0], 1)


def _tensors(x: Any) -> Iterator[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, list | tuple):
        for v in x:
            yield from _tensors(v)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _tensors(v)


def chunkSize(bytesPerPoint: int, device: torch.device) -> int:
    """How many grid points to evaluate in one vmap call: the activation budget over the bytes per point."""
    budget = _CPU_BUDGET
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = max(_CPU_BUDGET, min(free // 8, 2**31))
    return int(min(max(budget // max(bytesPerPoint, 1), 1), 256))


def evaluate(
    model: nn.Module,
    lossF: Callable[[Any, Any], torch.Tensor],
    batch: tuple[Any, Any],
    dirs: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]],
    alphas: np.ndarray,
    betas: np.ndarray,
    *,
    chunk: int | None = None,
    mode: str = "auto",
) -> tuple[np.ndarray, dict[str, Any]]:
    """The loss at each ``(alphas[k], betas[k])``.

    Args:
        model: the model, in the train/eval mode to evaluate in (the caller sets it).
        lossF: ``lossF(y, yb) -> scalar tensor``.
        batch: the fixed batch ``(xb, yb)``.
        dirs: the directions from `directions`.
        alphas: coefficients of ``d1``, one per point.
        betas: coefficients of ``d2``, one per point.
        chunk: points per vmap call (None: from the activation memory).
        mode: ``"auto"`` (vmap, else the loop), ``"vmap"`` (raise if vmap fails) or ``"loop"``.

    Returns:
        ``(losses, info)``: float64 losses, and ``{"mode", "chunk", "fallback"}`` (``fallback`` is the
        vmap error that made ``auto`` use the loop, else "").
    """
    if mode not in ("auto", "vmap", "loop"):
        msg = f"mode must be 'auto', 'vmap' or 'loop', got {mode!r}."
        raise ValueError(msg)
    xb, yb = batch
    d1, d2 = dirs
    names = [n for n in d1 if n in d2]
    params = dict(model.named_parameters())
    base = {n: params[n].detach() for n in names}
    device = next(iter(base.values())).device if base else torch.device("cpu")
    if chunk is None:
        chunk = chunkSize(activationBytes(model, xb), device)
    info: dict[str, Any] = {"mode": mode, "chunk": int(chunk), "fallback": ""}
    a = torch.as_tensor(np.asarray(alphas, dtype=np.float64))
    b = torch.as_tensor(np.asarray(betas, dtype=np.float64))
    out = np.empty(len(a), dtype=np.float64)

    def stacked(lo: int, hi: int) -> dict[str, torch.Tensor]:
        res = {}
        for n in names:
            w = base[n]
            shape = (hi - lo,) + (1,) * w.dim()
            ca = a[lo:hi].to(device=w.device, dtype=w.dtype).reshape(shape)
            cb = b[lo:hi].to(device=w.device, dtype=w.dtype).reshape(shape)
            res[n] = w + ca * d1[n] + cb * d2[n]
        return res

    def one(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return lossF(torch.func.functional_call(model, p, (xb,)), yb)

    def loop(lo: int, hi: int) -> None:
        for k in range(lo, hi):
            p = {n: base[n] + float(a[k]) * d1[n] + float(b[k]) * d2[n] for n in names}
            out[k] = float(one(p))

    with torch.no_grad():
        if mode == "loop" or (mode == "auto" and chunk <= 1):
            info["mode"] = "loop"
            loop(0, len(a))
            return out, info
        batched = torch.func.vmap(one)
        start = 0
        if mode == "auto" and len(a):
            hi = min(chunk, len(a))
            try:
                out[:hi] = batched(stacked(0, hi)).double().cpu().numpy()
                info["mode"] = "vmap"
            except Exception as e:
                try:  # vmap's problem, or the model's? The plain loop decides.
                    loop(0, hi)
                except Exception as loopError:
                    loopError.add_note(f"(vmap failed on the same points first: {type(e).__name__}: {e})")
                    raise loopError from None
                info["mode"], info["fallback"] = "loop", f"{type(e).__name__}: {e}"
                loop(hi, len(a))
                return out, info
            start = hi
        for lo in range(start, len(a), chunk):
            hi = min(lo + chunk, len(a))
            out[lo:hi] = batched(stacked(lo, hi)).double().cpu().numpy()
        info["mode"] = "vmap"
    return out, info
