"""What runs on a worker: call the function for one point and return a record (never raise for it).

A record is a plain dict, the unit the store writes (one file per point):
``{"key", "params", "status": "ok" | "error", "result": {var: value} | None, "error", "traceback",
"started", "finished", "duration", "host", "pid"}``. Exceptions raised by the function become records
with ``status="error"`` and the traceback, so one failing point never stops or discards the others.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["errorRecord", "labelResult", "runPoint", "runPointPickled", "toPlain"]

_FNS: dict[str, Callable[..., Any]] = {}  # a worker unpickles each function once


def toPlain(value: Any) -> Any:
    """A result value as numpy data: tensors and DataArrays become arrays, 0-d arrays Python scalars."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    elif hasattr(value, "dims") and hasattr(value, "values"):  # an xarray DataArray
        value = value.values
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple) and value and all(isinstance(v, int | float | np.number) for v in value):
        return np.asarray(value)
    return value


def labelResult(result: Any, varNames: Sequence[str] | None) -> dict[str, Any]:
    """Names the outputs of one call: ``{var: value}``.

    Args:
        result: what the function returned: a tuple with one item per variable, a single value when
            there is one variable, or (``varNames=None``) a dict or an xarray Dataset.
        varNames: the runner's ``var_names``.

    Raises:
        ValueError: the number of outputs does not match ``var_names``.
        TypeError: ``var_names`` is None and the result is neither a dict nor a Dataset.
    """
    if varNames is None:
        if hasattr(result, "data_vars"):
            return {str(k): toPlain(v) for k, v in result.data_vars.items()}
        if isinstance(result, Mapping):
            return {str(k): toPlain(v) for k, v in result.items()}
        msg = (
            f"With var_names=None the function must return a dict or an xarray Dataset, got "
            f"{type(result).__name__}. Return a dict, or name the outputs with label(var_names=[...])."
        )
        raise TypeError(msg)
    if len(varNames) == 1:
        return {varNames[0]: toPlain(result)}
    if not isinstance(result, tuple | list) or len(result) != len(varNames):
        got = f"{len(result)} values" if isinstance(result, tuple | list) else f"one {type(result).__name__}"
        msg = (
            f"The function returned {got}, but var_names has {len(varNames)}: {tuple(varNames)}. "
            f"Return a tuple with one value per name, or change var_names."
        )
        raise ValueError(msg)
    return {name: toPlain(v) for name, v in zip(varNames, result, strict=True)}


def errorRecord(key: str, params: Mapping[str, Any], error: str, tb: str = "") -> dict[str, Any]:
    """A record for a point that failed outside the function (e.g. its worker process died)."""
    now = time.time()
    return {
        "key": key,
        "params": dict(params),
        "status": "error",
        "result": None,
        "error": error,
        "traceback": tb,
        "started": now,
        "finished": now,
        "duration": 0.0,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def runPoint(
    fn: Callable[..., Any],
    key: str,
    params: Mapping[str, Any],
    constants: Mapping[str, Any],
    varNames: Sequence[str] | None,
) -> dict[str, Any]:
    """Calls ``fn(**params, **constants)`` and returns its record (status ``"error"`` if it raised)."""
    started = time.time()
    t0 = time.perf_counter()
    record: dict[str, Any] = {"key": key, "params": dict(params), "started": started}
    try:
        result = labelResult(fn(**params, **constants), varNames)
    except Exception as e:
        tb = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next if e.__traceback__ else None))
        record.update(status="error", result=None, error=f"{type(e).__name__}: {e}", traceback=tb)
    else:
        record.update(status="ok", result=result, error=None, traceback=None)
    record.update(finished=time.time(), duration=time.perf_counter() - t0, host=socket.gethostname(), pid=os.getpid())
    return record


def runPointPickled(
    fnBytes: bytes,
    key: str,
    params: Mapping[str, Any],
    constants: Mapping[str, Any],
    varNames: Sequence[str] | None,
) -> dict[str, Any]:
    """`runPoint` for a function sent as cloudpickle bytes (process pools: works for notebook functions)."""
    digest = hashlib.blake2b(fnBytes, digest_size=16).hexdigest()
    fn = _FNS.get(digest)
    if fn is None:
        import cloudpickle

        fn = _FNS[digest] = cloudpickle.loads(fnBytes)
    return runPoint(fn, key, params, constants, varNames)
