"""Canonical parameter values and the key of a point.

A point of a sweep is a mapping from parameter names to values. Floats are canonicalised to 12
significant digits, so ``0.1 * 3`` and ``0.3`` are one point (xyzpy 1.3.5 makes them two coordinates).
The key of a point is a readable slug plus a typed content hash: ``1``, ``1.0``, ``True`` and ``'1'``
are four different points, and the same parameters always give the same key, in any process.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical", "canonicalParams", "pointKey"]

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


def canonical(value: Any) -> Any:
    """The canonical form of one parameter value.

    Floats (Python and numpy) are rounded to 12 significant digits, numpy integers and booleans become
    Python ones, numpy 0-d arrays their item, sequences tuples of canonical values. Anything else is
    returned unchanged.

    Example:
        >>> canonical(0.1 * 3) == canonical(0.3)
        True
    """
    if isinstance(value, bool | str | None):
        return value
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", None) == 0:  # numpy scalars, 0-d arrays
        value = item()
        if isinstance(value, bool | str):
            return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return value
        return float(f"{value:.12g}")
    if isinstance(value, list | tuple):
        return tuple(canonical(v) for v in value)
    return value


def canonicalParams(params: Mapping[str, Any]) -> dict[str, Any]:
    """Every value of ``params`` in canonical form (same order)."""
    return {k: canonical(v) for k, v in params.items()}


def _typed(value: Any) -> Any:
    """A JSON-able form of a canonical value that keeps its type (``1``, ``1.0``, ``True``, ``'1'`` differ)."""
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, tuple):
        return ["t", [_typed(v) for v in value]]
    return ["r", type(value).__qualname__, repr(value)]


def _slugPart(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def pointKey(params: Mapping[str, Any]) -> str:
    """The file-name-safe key of a point: ``lr=0.01,hidden=8-<hash>`` (at most ~100 characters).

    ``params`` must already be canonical (see `canonicalParams`). Slug and hash take the names in
    sorted order, so the order in which parameters are given does not matter; the hash covers every
    name, value and type.
    """
    typed = json.dumps([[k, _typed(params[k])] for k in sorted(params)], separators=(",", ":"))
    digest = hashlib.blake2b(typed.encode(), digest_size=10).hexdigest()
    slug = _SLUG_UNSAFE.sub("_", ",".join(f"{k}={_slugPart(params[k])}" for k in sorted(params)))[:80].strip("._")
    return f"{slug}-{digest}" if slug else digest
