"""What the sweep view shows, as plain data: counts, ETA, a heatmap slice, a point's details.

`sweepState(source, sweep=..., choice=...)` reads a `Harvester` or `Sampler` (through its
``viewData()``) and the live `Sweep`, and returns a JSON-able dict that the view pushes to the
browser and the static SVG draws. A heatmap shows one result variable over two parameters (``x``,
``y``); the other parameters are fixed at chosen values (a harvester's grid) or averaged over (a
sampler's table). Cells are ``o`` (a value), ``m`` (missing or pending), ``r`` (running) or ``f``
(failed, with its error).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from k1widgets.farming.dataset import presentMask, sortedValues
from k1widgets.farming.keys import canonical

__all__ = ["fmtValue", "pointDetail", "sweepState"]

Record = dict[str, Any]
_ERROR_CHARS = 800
_BIN_ABOVE = 16  # a sampler's numeric parameter with more distinct values is shown in 10 bins


def fmtValue(v: Any) -> str:
    """A short label for a parameter value (4 significant digits for floats)."""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def errorText(r: Record) -> str:
    """The error of a failed point and the end of its traceback (what a hover shows)."""
    tb = (r.get("traceback") or "").rstrip().splitlines()
    text = str(r.get("error") or "failed")
    tail = [line for line in tb[-6:-1] if line.strip()]
    if tail:
        text += "\n" + "\n".join(tail)
    return text[:_ERROR_CHARS]


def _choose(choice: Mapping[str, Any], dims: Sequence[str], vars_: Sequence[str]) -> tuple[Any, Any, Any]:
    x = choice.get("x") if choice.get("x") in dims else (dims[0] if dims else None)
    y = choice.get("y") if choice.get("y") in dims and choice.get("y") != x else None
    if y is None:
        y = next((d for d in dims if d != x), None)
    var = choice.get("var") if choice.get("var") in vars_ else (vars_[0] if vars_ else None)
    return x, y, var


def _live(sweep: Any, dims: Sequence[str]) -> tuple[set[tuple[Any, ...]], int, int, float | None, bool, bool]:
    """Positions running now, running and pending counts, ETA, whether it runs, whether it was cancelled."""
    if sweep is None:
        return set(), 0, 0, None, False, False
    status = dict(sweep.status)
    running = {tuple(sweep.params[k].get(d) for d in dims) for k, s in status.items() if s == "running"}
    nRunning = sum(1 for s in status.values() if s == "running")
    nPending = 0 if sweep.cancelled else sum(1 for s in status.values() if s == "pending")
    live = not sweep.done
    return running, nRunning, nPending, sweep.eta if live else None, live, bool(sweep.cancelled)


def sweepState(source: Any, *, sweep: Any = None, choice: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The view's state of a harvester or sampler (and its running sweep), JSON-able.

    Args:
        source: a `Harvester` or `Sampler` (anything with ``viewData()``).
        sweep: the live `Sweep`; default: the source's latest one.
        choice: ``{"x": dim, "y": dim, "var": name, "fixed": {dim: index}}``; missing or invalid
            entries get defaults (the first two parameters, the first numeric variable, index 0).
    """
    data = source.viewData()
    sweep = sweep if sweep is not None else data.get("sweep")
    choice = dict(choice or {})
    if "df" in data:
        state = _tableState(data, sweep, choice)
    else:
        state = _gridState(data, sweep, choice)
    state["title"] = str(getattr(source, "data_name", None) or "in memory")
    fn = getattr(getattr(source, "runner", None), "__name__", None) or str(data.get("fn") or "").rsplit(".", 1)[-1]
    if fn:
        state["title"] = f"{fn} → {state['title']}"
    return state


def _scalar(da: Any, dims: Sequence[str]) -> Any:
    """A variable reduced to the parameter dimensions: the last value along internal ones (final loss)."""
    inner = [d for d in da.dims if d not in dims]
    return da.isel({d: -1 for d in inner}) if inner else da


def _gridState(data: Mapping[str, Any], sweep: Any, choice: Mapping[str, Any]) -> dict[str, Any]:
    ds, dims, grid, failed = data["ds"], list(data["dims"]), data["grid"], data["failed"]
    vars_ = [str(v) for v in ds.data_vars if ds[v].dtype.kind in "biuf"] if ds is not None else []
    x, y, var = _choose(choice, dims, vars_)
    fixedIdx = {}
    for d in dims:
        if d in (x, y):
            continue
        i = choice.get("fixed", {}).get(d, 0)
        fixedIdx[d] = min(max(int(i) if isinstance(i, int | float) else 0, 0), max(len(grid[d]) - 1, 0))
    fixed = {d: grid[d][i] for d, i in fixedIdx.items() if grid[d]}
    xs = grid[x] if x is not None else [None]
    ys = grid[y] if y is not None else [None]
    values = np.full((len(ys), len(xs)), np.nan)
    if ds is not None and var is not None:
        da = _scalar(ds[var], dims)
        sel = {d: v for d, v in fixed.items() if d in da.dims}
        try:
            da = da.sel(sel)
        except KeyError:
            da = None
        if da is not None:
            for d, vs in ((x, xs), (y, ys)):
                if d is not None and d in da.dims:
                    da = da.reindex({d: vs})
            order = [d for d in (y, x) if d is not None and d in da.dims]
            extra = [d for d in da.dims if d not in order]
            if extra:  # a parameter without a chosen value (should not happen): average it
                da = da.mean(extra)
            arr = np.asarray(da.transpose(*order).values, dtype=float)
            values[...] = arr.reshape((len(ys) if y in order else 1, len(xs) if x in order else 1))
    failedAt = {}
    for r in failed.values():
        if all(d in r["params"] for d in dims):
            failedAt[tuple(r["params"][d] for d in dims)] = r
    running, nRunning, _, eta, live, cancelled = _live(sweep, dims)
    status, errors = [], {}
    for i, yv in enumerate(ys):
        row = []
        for j, xv in enumerate(xs):
            p = {**fixed, **({x: xv} if x is not None else {}), **({y: yv} if y is not None else {})}
            pos = tuple(p.get(d) for d in dims)
            if pos in running:
                row.append("r")
            elif math.isfinite(values[i, j]):
                row.append("o")
            elif pos in failedAt:
                row.append("f")
                errors[f"{i},{j}"] = errorText(failedAt[pos])
            else:
                row.append("m")
        status.append("".join(row))
    done = 0
    if ds is not None and dims:
        mask = presentMask(ds, dims)
        if mask is not None:
            done = int(mask.reindex({d: grid[d] for d in dims}, fill_value=False).sum())
    total = math.prod(len(grid[d]) for d in dims) if dims else 0
    presentFailed = sum(1 for pos in failedAt if pos not in running)
    nFailed = max(0, min(presentFailed, total - done))
    finite = values[np.isfinite(values)]
    return {
        "kind": "grid",
        "counts": {
            "done": done,
            "failed": nFailed,
            "running": nRunning,
            "pending": max(total - done - nFailed - nRunning, 0),
            "total": total,
        },
        "eta": eta,
        "live": live,
        "cancelled": cancelled,
        "dims": [{"name": d, "values": [fmtValue(v) for v in grid[d]]} for d in dims],
        "vars": vars_,
        "x": x,
        "y": y,
        "var": var,
        "fixed": fixedIdx,
        "aggregate": False,
        "xLabels": [fmtValue(v) for v in xs] if x is not None else [""],
        "yLabels": [fmtValue(v) for v in ys] if y is not None else [""],
        "values": [[_num(v) for v in row] for row in values.tolist()],
        "status": status,
        "errors": errors,
        "range": [float(finite.min()), float(finite.max())] if finite.size else None,
    }


def _bins(values: Any) -> tuple[list[Any], Any]:
    """Distinct values of a sampler's column, or 10 bins (log-spaced for wide positive ranges)."""
    import pandas as pd

    unique = sortedValues(v for v in values.tolist() if v is not None)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in unique)
    if not numeric or len(unique) <= _BIN_ABOVE:
        return unique, values.map(canonical)
    lo, hi = float(min(unique)), float(max(unique))
    if lo > 0 and hi / lo > 100:
        edges = np.geomspace(lo, hi, 11)
        mids = np.sqrt(edges[:-1] * edges[1:])
    else:
        edges = np.linspace(lo, hi, 11)
        mids = (edges[:-1] + edges[1:]) / 2
    labels = [canonical(float(f"{m:.3g}")) for m in mids]
    codes = pd.cut(values.astype(float), edges, labels=False, include_lowest=True)
    return labels, codes.map(lambda c: labels[int(c)] if c == c else None)


def _tableState(data: Mapping[str, Any], sweep: Any, choice: Mapping[str, Any]) -> dict[str, Any]:
    df, dims, failed = data["df"], list(data["dims"]), data["failed"]
    vars_ = [v for v in data["vars"] if v in df.columns and df[v].dtype.kind in "biuf"]
    x, y, var = _choose(choice, dims, vars_)
    xs, xcol = _bins(df[x]) if x is not None and len(df) else ([], None)
    ys, ycol = _bins(df[y]) if y is not None and len(df) else ([], None)
    xs = xs or [None]
    ys = ys or [None]
    values = np.full((len(ys), len(xs)), np.nan)
    if var is not None and len(df):
        frame = df.assign(_x=xcol if xcol is not None else None, _y=ycol if ycol is not None else None)
        means = frame.groupby(["_y", "_x"], dropna=False)[var].mean()
        xi = {v: j for j, v in enumerate(xs)}
        yi = {v: i for i, v in enumerate(ys)}
        for (yv, xv), m in means.items():
            if yv in yi and xv in xi:
                values[yi[yv], xi[xv]] = m
    _, nRunning, nPending, eta, live, cancelled = _live(sweep, dims)
    status = ["".join("o" if math.isfinite(values[i, j]) else "m" for j in range(len(xs))) for i in range(len(ys))]
    finite = values[np.isfinite(values)]
    return {
        "kind": "table",
        "counts": {
            "done": len(df),
            "failed": len(failed),
            "running": nRunning,
            "pending": nPending,
            "total": len(df) + len(failed) + nRunning + nPending,
        },
        "eta": eta,
        "live": live,
        "cancelled": cancelled,
        "dims": [{"name": d, "values": []} for d in dims],
        "vars": vars_,
        "x": x,
        "y": y,
        "var": var,
        "fixed": {},
        "aggregate": True,
        "xLabels": [fmtValue(v) if v is not None else "" for v in xs],
        "yLabels": [fmtValue(v) if v is not None else "" for v in ys],
        "values": [[_num(v) for v in row] for row in values.tolist()],
        "status": status,
        "errors": {},
        "range": [float(finite.min()), float(finite.max())] if finite.size else None,
    }


def pointDetail(source: Any, choice: Mapping[str, Any], row: int, col: int) -> dict[str, Any]:
    """What a click on heatmap cell (``row``, ``col``) shows: the point's parameters, values, error, curves.

    Curves are the point's variables with one internal dimension (e.g. a loss history).
    """
    data = source.viewData()
    state = sweepState(source, choice=choice)
    if "df" in data:
        return {"params": {}, "status": "", "values": {}, "error": None, "curves": []}
    grid, ds = data["grid"], data["ds"]
    x, y = state["x"], state["y"]
    params = {d: grid[d][i] for d, i in state["fixed"].items() if grid[d]}
    if x is not None and 0 <= col < len(grid[x]):
        params[x] = grid[x][col]
    if y is not None and 0 <= row < len(grid[y]):
        params[y] = grid[y][row]
    out: dict[str, Any] = {
        "params": {k: fmtValue(v) for k, v in params.items()},
        "status": state["status"][row][col] if row < len(state["status"]) and col < len(state["status"][row]) else "m",
        "values": {},
        "error": None,
        "curves": [],
    }
    if ds is not None and all(d in ds.coords for d in params):
        try:
            point = ds.sel({d: v for d, v in params.items() if d in ds.dims})
        except KeyError:
            point = None
        if point is not None:
            for name, da in point.data_vars.items():
                if da.ndim == 0:
                    v = da.values.item()
                    out["values"][str(name)] = _num(v) if _num(v) is not None or v is None else str(v)
                elif da.ndim == 1 and da.dtype.kind in "biuf":
                    ys_ = [_num(v) for v in da.values.tolist()]
                    if any(v is not None for v in ys_):
                        xs_ = [_num(v) for v in da[da.dims[0]].values.tolist()]
                        out["curves"].append({"var": str(name), "dim": str(da.dims[0]), "x": xs_, "y": ys_})
                        last = next((v for v in reversed(ys_) if v is not None), None)
                        out["values"][str(name)] = last
    if out["status"] == "f":
        for r in data["failed"].values():
            if all(r["params"].get(d) == v for d, v in params.items()):
                out["error"] = r.get("error")
                out["traceback"] = (r.get("traceback") or "")[-3000:]
                break
    return out
