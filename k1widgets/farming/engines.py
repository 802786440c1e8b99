"""The consolidated file's engines, and which points of a dataset already hold data."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np
import xarray as xr

from k1widgets.farming.dataset import presentMask
from k1widgets.farming.keys import canonical

__all__ = ["dumper", "loader", "presentKeys", "sameValue"]


def loader(engine: str) -> Callable[[str], Any]:
    """Reads the consolidated file: a pickled Dataset, or netCDF through xarray with ``engine``."""

    def load(path: str) -> Any:
        if engine == "pickle":
            with open(path, "rb") as f:
                obj = pickle.load(f)
            if not isinstance(obj, xr.Dataset):
                msg = f"expected a pickled xarray Dataset, found {type(obj).__name__}"
                raise TypeError(msg)
            return obj
        return xr.load_dataset(path, engine=engine)

    return load


def dumper(engine: str) -> Callable[[Any, IO[bytes]], None]:
    """Writes the consolidated file into a binary file object (the store makes the write atomic)."""

    def dump(ds: Any, f: IO[bytes]) -> None:
        if engine == "pickle":
            pickle.dump(ds, f, protocol=5)
        else:
            f.write(bytes(ds.to_netcdf(engine=engine)))

    return dump


def sameValue(a: Any, b: Any) -> bool:
    """Whether two results are equal (arrays element-wise, NaN equal to NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    try:
        return bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:
        return bool(np.array_equal(a, b))


def presentKeys(ds: xr.Dataset | None, params: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Keys of the points that hold data in ``ds`` (xyzpy's "already present")."""
    if ds is None or not params:
        return set()
    dims = list(next(iter(params.values())))
    mask = presentMask(ds, dims)
    if mask is None:
        return set()
    index = {d: {canonical(v): i for i, v in enumerate(mask[d].values.tolist())} for d in dims}
    values = mask.values
    out = set()
    for key, p in params.items():
        try:
            pos = tuple(index[d][p[d]] for d in dims)
        except KeyError:
            continue
        if values[pos]:
            out.add(key)
    return out
