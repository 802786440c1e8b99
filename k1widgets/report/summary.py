"""Plain-data summaries of what a learner holds: model, optimizer, data, batches, functions.

Views (the dashboard's header, the data view) and the static HTML fallbacks show these dicts; they
are JSON-ready (numbers, strings, lists) and computed without widgets, so tests read them directly.
Nothing here trains, moves or copies a model: a data sample is taken only from loaders that can be
iterated again (a one-shot iterator is never consumed).
"""

from __future__ import annotations

import ast
import inspect
import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

__all__ = [
    "EDITABLE_HYPERS",
    "batchInfo",
    "dataSummary",
    "functionName",
    "jsonValue",
    "loaderSummary",
    "modelSummary",
    "nthBatch",
    "optimizerSummary",
    "sampleTable",
    "takeSample",
]

EDITABLE_HYPERS = ("lr", "weight_decay", "momentum", "betas")
"""Hyper-parameters the dashboard offers to edit, where the optimizer's param groups have them."""

_SAMPLE_ROWS = 6


def jsonValue(v: Any) -> Any:
    """``v`` as JSON can carry it: NaN/inf become None, tuples lists, tensors numbers, others their repr."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return jsonValue(v.item())
    if isinstance(v, list | tuple):
        return [jsonValue(x) for x in v]
    return repr(v)


def modelSummary(model: nn.Module | None) -> dict[str, Any]:
    """Class, parameter counts, device, dtype and module count of ``model`` (``{}`` for None)."""
    if model is None:
        return {}
    total = trainable = 0
    devices: list[str] = []
    dtypes: list[str] = []
    for p in model.parameters():
        n = p.numel()
        total += n
        if p.requires_grad:
            trainable += n
        d, t = str(p.device), str(p.dtype).removeprefix("torch.")
        if d not in devices:
            devices.append(d)
        if t not in dtypes:
            dtypes.append(t)
    return {
        "class": type(model).__name__,
        "parameters": total,
        "trainable": trainable,
        "device": ", ".join(devices) or "-",
        "dtype": ", ".join(dtypes) or "-",
        "modules": sum(1 for _ in model.modules()),
    }


def optimizerSummary(opt: Any) -> dict[str, Any]:
    """The optimizer's class and every hyper-parameter of each param group (``{}`` for None).

    Returns:
        ``{"class": "Adam", "groups": [{"params": 12, "values": {"lr": 0.01, "betas": [0.9, 0.999], ...}}]}``
    """
    if opt is None:
        return {}
    groups = []
    for g in getattr(opt, "param_groups", []):
        values = {k: jsonValue(v) for k, v in g.items() if k != "params"}
        groups.append({"params": len(g.get("params", [])), "values": values})
    return {"class": type(opt).__name__, "groups": groups}


def functionName(f: Any) -> str:
    """A short readable name of a callable: its name, a lambda's source text, a module's class."""
    if f is None:
        return "-"
    if isinstance(f, nn.Module):
        return type(f).__name__
    func = getattr(f, "func", None)  # functools.partial
    if func is not None and hasattr(f, "args"):
        return f"partial({functionName(func)})"
    name = getattr(f, "__name__", None)
    if name == "<lambda>":
        try:
            src = inspect.getsource(f).strip()
        except (OSError, TypeError):
            return "lambda"
        src = _lambdaText(" ".join(src.split()))
        return src if len(src) <= 80 else src[:79] + "…"
    if name:
        return str(name)
    return type(f).__name__


def _lambdaText(line: str) -> str:
    """The lambda expression in a line of source: the longest text from ``lambda`` that parses as one."""
    start = line.find("lambda")
    if start < 0:
        return line
    text = line[start:]
    for end in range(len(text), 6, -1):
        try:
            tree = ast.parse(text[:end], mode="eval")
        except SyntaxError:
            continue
        if isinstance(tree.body, ast.Lambda):
            return text[:end].strip()
    return text


def _isReiterable(source: Any) -> bool:
    """Whether iterating ``source`` again starts over (a list, a loader), so a sample costs nothing."""
    inner = getattr(source, "_iterable", None)  # k1widgets.data.DataLoader over an iterable
    if inner is not None:
        return _isReiterable(inner)
    if isinstance(source, list | tuple):
        return True
    try:
        return iter(source) is not source
    except TypeError:
        return False


def takeSample(loader: Any) -> Any:
    """The first batch of ``loader``, or None when taking it would consume a one-shot iterator."""
    if loader is None or not _isReiterable(loader):
        return None
    try:
        return next(iter(loader))
    except StopIteration:
        return None


def _shape(t: torch.Tensor) -> list[int]:
    return [int(s) for s in t.shape]


def batchInfo(batch: Any) -> list[dict[str, Any]]:
    """One entry per item of a batch: ``{"name": "xb", "shape": [64, 1], "dtype": "float32", "device": "cpu"}``."""
    if batch is None:
        return []
    items = list(batch) if isinstance(batch, list | tuple) else [batch]
    names = ["xb", "yb"] + [f"item{i}" for i in range(2, len(items))]
    out = []
    for name, item in zip(names, items, strict=False):
        if isinstance(item, torch.Tensor):
            dtype = str(item.dtype).removeprefix("torch.")
            out.append({"name": name, "shape": _shape(item), "dtype": dtype, "device": str(item.device)})
        else:
            size = len(item) if hasattr(item, "__len__") else None
            out.append({"name": name, "shape": [size] if size is not None else [], "dtype": type(item).__name__})
    return out


def _cell(t: Any, i: int) -> str:
    if isinstance(t, torch.Tensor):
        if t.dim() == 0:
            return _num(t.item())
        row = t[i]
        if row.dim() == 0:
            return _num(row.item())
        flat = row.flatten()
        shown = ", ".join(_num(x) for x in flat[:4].tolist())
        return f"[{shown}{', …' if flat.numel() > 4 else ''}]"
    try:
        return repr(t[i])[:40]
    except Exception:
        return "?"


def _num(x: Any) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def sampleTable(batch: Any, rows: int = _SAMPLE_ROWS) -> dict[str, Any]:
    """The first ``rows`` samples of a batch as a table: ``{"columns": ["xb", "yb"], "rows": [[...], ...]}``."""
    if batch is None:
        return {"columns": [], "rows": [], "total": 0}
    items = list(batch) if isinstance(batch, list | tuple) else [batch]
    columns = [b["name"] for b in batchInfo(items)]
    n = 0
    for item in items:
        if isinstance(item, torch.Tensor) and item.dim() > 0:
            n = max(n, int(item.shape[0]))
        elif hasattr(item, "__len__") and not isinstance(item, torch.Tensor):
            n = max(n, len(item))
    table = [[_cell(item, i) if _has(item, i) else "" for item in items] for i in range(min(rows, n))]
    return {"columns": columns, "rows": table, "total": n}


def _has(item: Any, i: int) -> bool:
    if isinstance(item, torch.Tensor):
        return item.dim() == 0 or i < item.shape[0]
    return hasattr(item, "__len__") and i < len(item)


def loaderSummary(loader: Any, *, batch: Any = None) -> dict[str, Any]:
    """Batch count, batch size, sample count, a batch's shapes and dtypes, and a sample table.

    Args:
        loader: a `k1widgets.data.DataLoader`, a list of batches, or any iterable of batches.
        batch: the batch to describe; by default the first one (`takeSample`).
    """
    if loader is None:
        return {}
    try:
        batches: int | None = len(loader)
    except TypeError:
        batches = None
    sample = takeSample(loader) if batch is None else batch
    out: dict[str, Any] = {
        "class": type(loader).__name__,
        "batches": batches,
        "batchSize": getattr(loader, "batchSize", None),
        "samples": getattr(loader, "nSamples", None),
        "batch": batchInfo(sample),
        "sample": sampleTable(sample),
    }
    if sample is None:
        out["note"] = "no sample taken: this loader is a one-shot iterator" if batches is None else "no batches"
    return out


def dataSummary(data: Any) -> dict[str, Any]:
    """`loaderSummary` of ``data.train`` and ``data.valid`` (``{}`` for None)."""
    if data is None:
        return {}
    return {"train": loaderSummary(getattr(data, "train", None)), "valid": loaderSummary(getattr(data, "valid", None))}


def nthBatch(loader: Any, index: int) -> Any:
    """Batch number ``index`` of a re-iterable loader (None past the end or for one-shot iterators)."""
    if not _isReiterable(loader) or index < 0:
        return None
    it: Iterable[Any] = iter(loader)
    for i, b in enumerate(it):
        if i == index:
            return b
    return None
