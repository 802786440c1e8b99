"""Labelled datasets from point records, and xyzpy's merge rules.

`buildDataset` turns records (one per point) into an `xarray.Dataset` whose dimensions are the
parameters (then each variable's internal dimensions); `mergeDatasets` applies xyzpy's
``overwrite=None/True/False`` rules; `presentMask` says which points of a dataset hold data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from k1widgets.farming.keys import canonical

__all__ = ["buildDataset", "canonicalCoords", "mergeDatasets", "presentMask", "sortedValues"]


def sortedValues(values: Iterable[Any]) -> list[Any]:
    """Unique values in sorted order (insertion order when they cannot be compared)."""
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique)
    except TypeError:
        return unique


def _missing(dtype: np.dtype[Any]) -> tuple[np.dtype[Any], Any]:
    """The dtype that can hold a gap, and the gap's value (NaN; NaT for times; None for objects)."""
    if dtype.kind in "biuf":
        return np.dtype(np.float64), np.nan
    if dtype.kind == "c":
        return dtype, complex(np.nan, np.nan)
    if dtype.kind in "mM":
        return dtype, np.datetime64("NaT") if dtype.kind == "M" else np.timedelta64("NaT")
    return np.dtype(object), np.nan


def buildDataset(
    records: Sequence[Mapping[str, Any]],
    *,
    dims: Sequence[str] | None = None,
    coords: Mapping[str, Sequence[Any]] | None = None,
    varNames: Sequence[str] | None = None,
    varDims: Mapping[str, Sequence[str]] | None = None,
    varCoords: Mapping[str, Any] | None = None,
    constants: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """The dataset of successful point records.

    Args:
        records: records with ``params`` and ``result`` (see `k1widgets.farming.work`).
        dims: the parameter dimensions, in order; default: the first record's parameters.
        coords: the values of each parameter dimension, in order; default: the sorted values present.
        varNames: the variables, in order; default: every result name, in order of appearance.
        varDims: each variable's internal dimensions (``{"curve": ["epoch"]}``).
        varCoords: values of internal dimensions (``{"epoch": range(5)}``).
        constants: constants of the run: those used as internal dimensions become coordinates, the
            others attributes (xyzpy's rule).
        attrs: more attributes.
        defaults: values for parameters a record lacks (dimensions added later by ``expand_dims``).

    Raises:
        ValueError: a record lacks a parameter dimension (and no default exists for it).
    """
    varDims = {k: tuple([v] if isinstance(v, str) else v) for k, v in (varDims or {}).items()}
    varCoords = dict(varCoords or {})
    constants = dict(constants or {})
    defaults = dict(defaults or {})
    if dims is None:
        dims = list(records[0]["params"]) if records else []
    dims = list(dims)
    params = []
    for r in records:
        p = r["params"]
        if len(p) != len(dims) or any(d not in p for d in dims):
            p = {**defaults, **p}
            missing = [d for d in dims if d not in p]
            if missing:
                msg = (
                    f"The point {dict(r['params'])} has no value for {missing} (the dataset's parameters are "
                    f"{dims}). Points of one store must share their parameters: use Harvester.expand_dims "
                    f"to add a parameter to the earlier points."
                )
                raise ValueError(msg)
        params.append(p)
    coordValues = {d: list((coords or {}).get(d) or sortedValues(p[d] for p in params)) for d in dims}
    index = {d: {v: i for i, v in enumerate(coordValues[d])} for d in dims}
    shape = tuple(len(coordValues[d]) for d in dims)
    positions = [tuple(index[d][p[d]] for d in dims) for p in params]
    if varNames is None:
        varNames = list(dict.fromkeys(k for r in records for k in r["result"]))
    dataVars: dict[str, Any] = {}
    extraCoords: dict[str, Any] = {}
    full = len(set(positions)) == math.prod(shape)
    for var in varNames:
        values = [(pos, r["result"][var]) for pos, r in zip(positions, records, strict=True) if var in r["result"]]
        first = np.asarray(values[0][1]) if values else np.asarray(np.nan)
        inner = first.shape
        innerDims = varDims.get(var) or tuple(f"{var}_dim_{i}" for i in range(len(inner)))
        if len(innerDims) != len(inner):
            msg = (
                f"Variable {var!r} has shape {inner} but var_dims gives it the dimensions {innerDims}. "
                f"Declare one dimension per axis of the value."
            )
            raise ValueError(msg)
        dtype = np.result_type(*(np.asarray(v).dtype for _, v in values)) if values else np.dtype(np.float64)
        fill: Any = None
        if not (full and len(values) == len(positions)):
            dtype, fill = _missing(dtype)
        if dtype.kind in "USO":
            dtype = np.dtype(object)
        arr = np.empty(shape + inner, dtype=dtype) if fill is None else np.full(shape + inner, fill, dtype=dtype)
        for pos, v in values:
            arr[pos] = v
        dataVars[var] = ((*dims, *innerDims), arr)
        for d, n in zip(innerDims, inner, strict=True):
            if d in extraCoords:
                continue
            if d in varCoords:
                extraCoords[d] = np.asarray(list(varCoords[d]))
            elif d in constants:
                extraCoords[d] = np.asarray(list(constants[d]))
            else:
                extraCoords[d] = np.arange(n)
    allCoords = {d: _coordArray(coordValues[d]) for d in dims}
    allCoords.update(extraCoords)
    dsAttrs = {k: v for k, v in constants.items() if k not in extraCoords}
    dsAttrs.update(attrs or {})
    return xr.Dataset(dataVars, coords=allCoords, attrs=dsAttrs)


def _coordArray(values: Sequence[Any]) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:  # tuples as coordinate values
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
    return arr


def canonicalCoords(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with float coordinates canonicalised (12 significant digits), like point parameters."""
    changes = {}
    for name, coord in ds.coords.items():
        if coord.ndim == 1 and coord.dtype.kind == "f":
            values = np.array([canonical(v) for v in coord.values.tolist()], dtype=coord.dtype)
            if not np.array_equal(values, coord.values, equal_nan=True):
                changes[name] = values
    return ds.assign_coords(changes) if changes else ds


def mergeDatasets(old: xr.Dataset | None, new: xr.Dataset | None, overwrite: bool | None = None) -> xr.Dataset:
    """Merges ``new`` into ``old`` with xyzpy's rules.

    Args:
        old: the current data (or None).
        new: the new data (or None).
        overwrite: None: merge and raise `xarray.MergeError` if values conflict; True: new values win;
            False: existing values win (conflicting new values are dropped).
    """
    if old is None or (not old.data_vars and not old.sizes):
        return new if new is not None else xr.Dataset()
    if new is None:
        return old
    if overwrite is None:
        return xr.merge([old, new], compat="no_conflicts", join="outer", combine_attrs="override")
    merged = new.combine_first(old) if overwrite else old.combine_first(new)
    merged.attrs = {**old.attrs, **new.attrs} if overwrite else {**new.attrs, **old.attrs}
    return merged


def presentMask(ds: xr.Dataset, dims: Sequence[str]) -> xr.DataArray | None:
    """Over the parameter ``dims``: True where any variable holds a value (xyzpy's "already present")."""
    if not ds.data_vars or any(d not in ds.dims for d in dims):
        return None
    mask: xr.DataArray | None = None
    for var in ds.data_vars.values():
        inner = [d for d in var.dims if d not in dims]
        present = var.notnull()
        if inner:
            present = present.any(inner)
        mask = present if mask is None else (mask | present)
    if mask is None:
        return None
    for d in dims:
        if d not in mask.dims:
            mask = mask.expand_dims({d: ds[d].values})
    return mask.transpose(*dims)
