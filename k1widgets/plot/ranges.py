"""Range and Domain: intervals of real numbers, conversions between them, and sets of intervals.

A `Range` is two numbers, ``start`` and ``stop``, and converts values between itself, the unit
interval and other ranges (`Range.toUnit`, `Range.fromUnit`, `Range.toRange`). `Range.proportionalSlice`
slices two time-aligned series of different lengths "at the same time"; `SliceablePlot` uses it.

A `Domain` is a union of half-open intervals ``[start, stop)`` on the real line, kept sorted and
merged, with set algebra: union (``+``, ``|``), intersection (``&``), complement (``-d``) and set
difference (``d1 - d2``).

Unlike k1lib, ``Range / n`` divides both ends (k1lib returned ``1.0``) and ``Domain - Domain`` is the
set difference (k1lib returned the union with the complement).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

__all__ = ["Domain", "Range"]

_TOL = 1e-9


def _isNumber(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _num(x: Any) -> Any:
    """Plain Python number from numpy scalars, so reprs read ``3`` and not ``np.int64(3)``."""
    return x.item() if isinstance(x, np.generic) else x


class Range:
    """A range of numbers: just two numbers really, ``start`` and ``stop``.

    Convert values between ranges::

        Range(10, 20).toUnit(13)                   # 0.3
        Range(10, 20).fromUnit(0.3)                # 13.0
        Range(10, 20).toRange(Range(20, 10), 13)   # 17.0

    and do arithmetic on both ends at once::

        (Range(10, 20) * 2 + 3) == Range(23, 43)   # True
        Range(10, 20) == ~Range(20, 10)            # True
        Range(10, 20) / 2 == Range(5, 10)          # True

    Constructors:

    - ``Range(2, 11.1)``: [2, 11.1]
    - ``Range(15.2)``: [0, 15.2]
    - ``Range(Range(2, 3))``: [2, 3] (a copy)
    - ``Range(slice(2, 5, 2))`` or ``Range(range(2, 5))``: [2, 5] (the step is dropped)
    - ``Range(slice(2, -1), 10)``: ``range(10)[2:-1]``, so [2, 9]
    - ``Range([1, 2, 7, 5])``: [1, 5], the first and last elements (a tuple works too)

    Raises:
        TypeError: the arguments match none of the forms above.
    """

    __slots__ = ("start", "stop")
    start: float
    stop: float

    def __init__(self, start: Any = 0, stop: Any = None) -> None:
        if _isNumber(start) and _isNumber(stop):
            a, b = start, stop
        elif _isNumber(start) and stop is None:
            a, b = 0, start
        elif stop is None and isinstance(start, Range | range):
            a, b = start.start, start.stop
        elif stop is None and isinstance(start, slice):
            if start.stop is None:
                msg = (
                    f"Range({start!r}) has no stop; give the length too, as in Range({start!r}, n), "
                    "which means range(n)[slice]."
                )
                raise TypeError(msg)
            a, b = 0 if start.start is None else start.start, start.stop
        elif isinstance(start, slice) and _isNumber(stop):
            r = range(int(stop))[start]
            a, b = r.start, r.stop
        elif stop is None and isinstance(start, list | tuple | np.ndarray) and len(start) > 0:
            a, b = start[0], start[-1]
        else:
            msg = (
                f"Range does not understand start={start!r}, stop={stop!r}. Valid forms: Range(a, b), Range(b), "
                "Range(Range(a, b)), Range(slice(a, b)), Range(range(a, b)), Range(slice, n), Range([a, ..., b])."
            )
            raise TypeError(msg)
        if not (_isNumber(a) and _isNumber(b)):
            msg = f"Range ends must be real numbers, got start={a!r}, stop={b!r}."
            raise TypeError(msg)
        self.start, self.stop = _num(a), _num(b)

    # ------------------------------------------------------------------ basics
    @property
    def delta(self) -> Any:
        """``stop - start`` (negative for a reversed range)."""
        return self.stop - self.start

    def __getitem__(self, index: Any) -> Any:
        """``r[0]`` is start, ``r[1]`` is stop; ``r[a:b]`` is ``Range(range(start, stop)[a:b])``.

        Raises:
            TypeError: a slice of a range whose ends are not whole numbers.
            IndexError: an index other than 0 and 1.
        """
        if isinstance(index, slice):
            if not (float(self.start).is_integer() and float(self.stop).is_integer()):
                msg = f"Only a range with whole-number ends can be sliced (it stands for indices); this one is {self}."
                raise TypeError(msg)
            return Range(range(int(self.start), int(self.stop))[index])
        if index in (0, -2):
            return self.start
        if index in (1, -1):
            return self.stop
        msg = f"A Range has 2 items: 0 (start) and 1 (stop); got index {index!r}."
        raise IndexError(msg)

    def __len__(self) -> int:
        return 2

    def __iter__(self) -> Iterator[Any]:
        yield self.start
        yield self.stop

    def copy(self) -> Range:
        """A new Range with the same ends."""
        return Range(self.start, self.stop)

    def fixOrder(self) -> Range:
        """This range with start <= stop: itself if already so, else the swapped copy."""
        return self if self.start <= self.stop else Range(self.stop, self.start)

    def intIter(self, step: int = 1) -> Iterator[int]:
        """The integers ``i`` with ``start <= i < stop``, every ``step``-th one."""
        return iter(range(math.ceil(self.start), math.ceil(self.stop), step))

    @property
    def range_(self) -> range:
        """A `range` with start and stop rounded down (after adding 0.001, so 9.9999 counts as 10)."""
        return range(math.floor(self.start + 0.001), math.floor(self.stop + 0.001))

    @property
    def slice_(self) -> slice:
        """A `slice` with start and stop rounded like `range_`."""
        return slice(math.floor(self.start + 0.001), math.floor(self.stop + 0.001))

    def bound(self, rs: range | slice) -> range | slice:
        """Fills the missing start and stop of a slice with this range's (``0`` is kept, not replaced)."""
        if isinstance(rs, range):
            return rs
        if not isinstance(rs, slice):
            msg = f"Range.bound takes a slice or a range, got {type(rs).__name__}: {rs!r}."
            raise TypeError(msg)
        start = self.start if rs.start is None else rs.start
        stop = self.stop if rs.stop is None else rs.stop
        return slice(start, stop, rs.step)

    # ------------------------------------------------------------------ conversions
    def _common(self, x: Any, f: Any, lo: Any, hi: Any) -> Any:
        """Applies ``f`` to a number, elementwise to lists/tuples/arrays, to both ends of slices and ranges.

        A slice end that is None means the whole input range: ``lo`` for the start, ``hi`` for the stop.
        """
        if _isNumber(x):
            return _num(f(x))
        if isinstance(x, np.ndarray):
            return f(x.astype(np.float64, copy=False))
        if isinstance(x, list | tuple):
            return type(x)(self._common(e, f, lo, hi) for e in x)
        if isinstance(x, slice):
            a = lo if x.start is None else x.start
            b = hi if x.stop is None else x.stop
            return slice(_num(f(a)), _num(f(b)))
        if isinstance(x, Range | range):
            return Range(_num(f(x.start)), _num(f(x.stop)))
        msg = (
            f"Cannot convert {type(x).__name__} {x!r}: give a number, a list/tuple/numpy array of numbers, "
            "a slice, a range or a Range."
        )
        raise TypeError(msg)

    def _toUnitF(self, x: Any) -> Any:
        d = self.delta
        if d == 0:
            return x * math.nan if isinstance(x, np.ndarray) else math.nan
        return (x - self.start) / d

    def _fromUnitF(self, x: Any) -> Any:
        return x * self.delta + self.start

    def toUnit(self, x: Any) -> Any:
        """Converts ``x`` from this range to [0, 1].

        ``x`` may be a number, a list/tuple/array (elementwise) or a slice/range/Range (both ends;
        a None start or stop of a slice means this range's start or stop). A zero-width range gives NaN.

        Example:
            >>> Range(2, 10).toUnit(5)
            0.375
            >>> Range(0, 10).toUnit([5, 3, 6])
            [0.5, 0.3, 0.6]
            >>> Range(0, 10).toUnit(slice(5, 6))
            slice(0.5, 0.6, None)
        """
        return self._common(x, self._toUnitF, self.start, self.stop)

    def fromUnit(self, x: Any) -> Any:
        """Converts ``x`` from [0, 1] to this range (a None slice end means 0 or 1). See `toUnit`.

        Example:
            >>> Range(0, 10).fromUnit(0.3)
            3.0
        """
        return self._common(x, self._fromUnitF, 0, 1)

    def toRange(self, _range: Any, x: Any) -> Any:
        """Converts ``x`` from this range to ``_range`` (anything `Range` accepts). See `toUnit`.

        Example:
            >>> Range(0, 10).toRange(Range(0, 100), 6)
            60.0
        """
        other = Range(_range)
        return self._common(x, lambda v: other._fromUnitF(self._toUnitF(v)), self.start, self.stop)

    def fromRange(self, _range: Any, x: Any) -> Any:
        """Converts ``x`` from ``_range`` to this range: the reverse of `toRange`."""
        return Range(_range).toRange(self, x)

    @staticmethod
    def proportionalSlice(r1: Any, r2: Any, r1Slice: slice) -> tuple[Range, Range]:
        """Slices ``r1`` by index and ``r2`` at the same fractions.

        Two series recorded over the same time at different rates (34 and 20 samples, say) are
        aligned by slicing the first one ``range(len)[slice]`` and taking the same fraction of the other.

        Example:
            >>> r1, r2 = Range.proportionalSlice(Range(34), Range(20), slice(10, 17))
            >>> r1, round(r2.start, 2), r2.stop
            (Range(10, 17), 5.88, 10.0)
        """
        r1, r2 = Range(r1), Range(r2)
        a1 = r1[r1Slice]
        return a1, r1.toRange(r2, a1)

    # ------------------------------------------------------------------ arithmetic
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Range):
            o = other
        else:
            try:
                o = Range(other)
            except (TypeError, ValueError):
                return NotImplemented
        return _close(self.start, o.start) and _close(self.stop, o.stop)

    __hash__ = None  # type: ignore[assignment]

    def __contains__(self, x: Any) -> bool:
        return bool(self.start <= x < self.stop)

    def __neg__(self) -> Range:
        return Range(-self.start, -self.stop)

    def __invert__(self) -> Range:
        return Range(self.stop, self.start)

    def _checkNum(self, num: Any, op: str) -> None:
        if not _isNumber(num):
            msg = f"Range {op} needs a real number, got {type(num).__name__}: {num!r}."
            raise TypeError(msg)

    def __add__(self, num: Any) -> Range:
        self._checkNum(num, "+")
        return Range(self.start + num, self.stop + num)

    __radd__ = __add__

    def __sub__(self, num: Any) -> Range:
        self._checkNum(num, "-")
        return Range(self.start - num, self.stop - num)

    def __rsub__(self, num: Any) -> Range:
        self._checkNum(num, "-")
        return Range(num - self.start, num - self.stop)

    def __mul__(self, num: Any) -> Range:
        self._checkNum(num, "*")
        return Range(self.start * num, self.stop * num)

    __rmul__ = __mul__

    def __truediv__(self, num: Any) -> Range:
        self._checkNum(num, "/")
        return Range(self.start / num, self.stop / num)

    def __rtruediv__(self, num: Any) -> Range:
        msg = f"{num!r} / Range has no meaning (1/x does not map an interval to an interval); use Range / number."
        raise TypeError(msg)

    def __round__(self, ndigits: int | None = None) -> Range:
        return Range(round(self.start, ndigits), round(self.stop, ndigits))

    def __floor__(self) -> Range:
        return Range(math.floor(self.start), math.floor(self.stop))

    def __ceil__(self) -> Range:
        return Range(math.ceil(self.start), math.ceil(self.stop))

    # ------------------------------------------------------------------ display
    def __str__(self) -> str:
        return f"[{self.start}, {self.stop}]"

    def __repr__(self) -> str:
        return f"Range({self.start}, {self.stop})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        s, e = self.start, self.stop
        p.text(
            f"""A range of numbers: [{s}, {e}]. Can do:
- r.toUnit(x): will convert x from range [{s}, {e}] to [0, 1]
- r.fromUnit(x): will convert x from range [0, 1] to range [{s}, {e}]
- r.toRange([a, b], x): will convert x from range [{s}, {e}] to range [a, b]
- r[0], r[1], r.start, r.stop: get start and stop values of range

Note: for conversion methods, you can pass in a number, a list, a numpy array, a slice or a Range"""
        )


def _close(a: Any, b: Any) -> bool:
    return bool(a == b or abs(a - b) < _TOL)


class Domain:
    """A set of real numbers: a sorted union of disjoint half-open intervals ``[start, stop)``.

    Example:
        >>> inf = float("inf")
        >>> print(Domain([5, 7.5], [2, 3]))
        Domain: [2, 3) U [5, 7.5)
        >>> print(Domain([2, 3.2], [3, 8]))  # overlaps (and touching intervals) merge
        Domain: [2, 8)
        >>> print(-Domain([2, 3]))  # the complement in R
        Domain: [-inf, 2) U [3, inf)
        >>> print(-Domain([-inf, 3]))
        Domain: [3, inf)
        >>> print(Domain.fromInts(2, 3, 6))
        Domain: [2, 4) U [6, 7)
        >>> print(Domain([2, 3]) + Domain([4, 5]))  # union
        Domain: [2, 3) U [4, 5)
        >>> print(Domain([2, 3]) & Domain([2.5, 5]))  # intersection
        Domain: [2.5, 3)
        >>> print(Domain([0, 10]) - Domain([2, 3]))  # set difference
        Domain: [0, 2) U [3, 10)
        >>> 2 in Domain([2, 3]), 3 in Domain([2, 3])
        (True, False)

    Args:
        ranges: anything `Range` accepts, each one interval; reversed ones are fixed, empty ones dropped.
        dontCheck: the ranges are already `Range` objects, sorted, disjoint and non-empty (internal use).
    """

    __slots__ = ("ranges",)

    def __init__(self, *ranges: Any, dontCheck: bool = False) -> None:
        if dontCheck:
            self.ranges: list[Range] = list(ranges)
            return
        rs = sorted((Range(r).fixOrder() for r in ranges), key=lambda r: r.start)
        self.ranges = list(_merge(r for r in rs if r.start < r.stop))

    @staticmethod
    def fromInts(*ints: int) -> Domain:
        """The domain ``[i, i + 1)`` for every integer given."""
        return Domain(*(Range(i, i + 1) for i in ints))

    def copy(self) -> Domain:
        """A new Domain with copies of the ranges."""
        return Domain(*(r.copy() for r in self.ranges), dontCheck=True)

    def intIter(self, step: int = 1, start: int = 0) -> Iterator[int]:
        """Yields the integers of every interval, every ``step``-th from each interval's first integer.

        An interval starting at -inf starts at ``start`` instead; one ending at inf never ends.
        """
        for r in self.ranges:
            x = int(start) if r.start == -math.inf else math.ceil(r.start)
            while x < r.stop:
                yield x
                x += step

    # ------------------------------------------------------------------ set algebra
    def __neg__(self) -> Domain:
        return Domain(*_complement(self.ranges), dontCheck=True)

    def __add__(self, other: Any) -> Domain:
        o = _asDomain(other, "+")
        rs = sorted([*self.ranges, *o.ranges], key=lambda r: r.start)
        return Domain(*_merge(rs), dontCheck=True)

    __or__ = __add__

    def __and__(self, other: Any) -> Domain:
        o = _asDomain(other, "&")
        return Domain(*_intersect(self.ranges, o.ranges), dontCheck=True)

    def __sub__(self, other: Any) -> Domain:
        """Set difference: the numbers of this domain that are not in ``other``."""
        o = _asDomain(other, "-")
        return self & (-o)

    def __contains__(self, x: Any) -> bool:
        return any(x in r for r in self.ranges)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Domain):
            return NotImplemented
        return self.ranges == other.ranges

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __iter__(self) -> Iterator[Range]:
        return iter(self.ranges)

    def __len__(self) -> int:
        return len(self.ranges)

    def __str__(self) -> str:
        if not self.ranges:
            return "Domain: {}"
        return "Domain: " + " U ".join(f"[{r.start}, {r.stop})" for r in self.ranges)

    def __repr__(self) -> str:
        rs = "\n".join(f"- [{r.start}, {r.stop})" for r in self.ranges) or "- (empty)"
        return f"""Domain:
{rs}

Can:
- 3 in d: check whether a number is in this domain or not
- d1 + d2 (or d1 | d2): joins 2 domains
- -d: excludes the domain from R
- d1 - d2: the part of d1 that is not in d2
- d1 & d2: intersects 2 domains"""


def _asDomain(x: Any, op: str) -> Domain:
    if isinstance(x, Domain):
        return x
    msg = f"Domain {op} needs another Domain, got {type(x).__name__}: {x!r}. Wrap intervals: Domain([a, b], ...)."
    raise TypeError(msg)


def _merge(rs: Iterable[Range]) -> Iterator[Range]:
    """Merges sorted, non-empty ranges that overlap or touch."""
    cur: Range | None = None
    for r in rs:
        if cur is None:
            cur = r.copy()
        elif r.start <= cur.stop:
            if r.stop > cur.stop:
                cur = Range(cur.start, r.stop)
        else:
            yield cur
            cur = r.copy()
    if cur is not None:
        yield cur


def _intersect(r1s: list[Range], r2s: list[Range]) -> Iterator[Range]:
    i = j = 0
    while i < len(r1s) and j < len(r2s):
        a, b = r1s[i], r2s[j]
        lo, hi = max(a.start, b.start), min(a.stop, b.stop)
        if lo < hi:
            yield Range(lo, hi)
        if a.stop > b.stop:
            j += 1
        else:
            i += 1


def _complement(rs: list[Range]) -> Iterator[Range]:
    prev = -math.inf
    for r in rs:
        if prev < r.start:
            yield Range(prev, r.start)
        prev = r.stop
    if prev < math.inf:
        yield Range(prev, math.inf)
