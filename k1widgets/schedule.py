"""Schedules: functions over a run's progress [0, 1], and `ParamScheduler`, which applies them.

The k1lib.schedule seed's API::

    s = schedule.Fn(lambda x: x**2)     # any function of progress in [0, 1]
    s(0.2)                              # 0.04
    list(s.iter(6))                     # 6 values evenly spread over [0, 1]
    s.modifyOutput(lambda y: y + 1)     # a new schedule (x**2 + 1)
    linear(1e-3, 1e-2, "lr")            # built-in shapes: linear, smooth, hump, exp
    linear(1e-4, 1e-2) + 3 * smooth(1e-2, 1e-5)   # one schedule: 25% rising, then 75% falling
    l.cbs.withParamScheduler("SkipBlock", hump(1e-4, 1e-2, "lr"))

Combining: ``s1 + s2`` is one schedule over [0, 1] in which each part takes a share proportional to
its width (1 unless scaled: ``3 * s`` or ``s * 3`` triples it, ``s / 2`` halves it). Sums flatten, so
``a + b + c`` splits [0, 1] in thirds (k1lib nests them: halves, then quarters), and a sum's width is
the sum of its parts' (``3 * (a + b) + c`` gives a and b 3/7 each). ``s + "lr"`` returns
a copy scheduling ``"lr"``. Nothing mutates a schedule in place but the ``param`` and ``progress``
attributes.

Display: a schedule shows as a small plot (a live bqplot view in Jupyter, an SVG elsewhere) with a
marker at its last ``progress``.
"""

from __future__ import annotations

import bisect
import copy
import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any

from k1widgets import display
from k1widgets.callbacks.scheduler import ParamScheduler
from k1widgets.plot.curve import scheduleSvg

__all__ = ["CombinedSchedule", "Fn", "ParamScheduler", "exp", "hump", "linear", "scheduleSvg", "smooth"]

_E_MINUS_3 = math.exp(-3)


def _checkParam(param: Any) -> str | None:
    if param is not None and not isinstance(param, str):
        msg = f"A schedule's param is the name of an optimizer hyper-parameter such as 'lr', got {param!r}."
        raise TypeError(msg)
    return param


class Fn:
    """A schedule: a function of the run's progress ``x`` in [0, 1].

    Args:
        f: the function ``f(x) -> value``, for ``x`` in [0, 1].
        param: the optimizer hyper-parameter it schedules (``"lr"``, ``"momentum"``...) when used in a
            `ParamScheduler`.

    Attributes:
        progress: the last progress a `ParamScheduler` applied (None before any run).
        width: the share this schedule takes when added to others (1 unless scaled with ``*`` or ``/``).

    Example:
        >>> s = Fn(lambda x: x**2)
        >>> s(0.5)
        0.25
        >>> @Fn
        ... def s(x):
        ...     return x**2
    """

    def __init__(self, f: Callable[[float], Any], param: str | None = None) -> None:
        if not callable(f):
            msg = f"Fn takes a function of progress x in [0, 1], e.g. Fn(lambda x: 1e-3 * (1 - x)); got {f!r:.80}."
            raise TypeError(msg)
        self.f = f
        self.param = _checkParam(param)
        self.progress: float | None = None
        self.width = 1.0
        self.label = getattr(f, "__name__", "") if getattr(f, "__name__", "") != "<lambda>" else ""

    def __call__(self, x: float) -> Any:
        """The schedule's value at progress ``x``."""
        return self.f(x)

    @property
    def value(self) -> Any:
        """The value at the last recorded `progress` (None before any run)."""
        return None if self.progress is None else self(self.progress)

    def iter(self, n: int) -> Iterator[Any]:
        """The values at ``n`` evenly spread points of [0, 1], both ends included.

        Example:
            >>> list(Fn(lambda x: x + 2).iter(6))
            [2.0, 2.2, 2.4, 2.6, 2.8, 3.0]
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            msg = f"Fn.iter(n) takes a whole number of steps n >= 1, got {n!r}."
            raise ValueError(msg)
        if n == 1:
            yield self(0.0)
            return
        for i in range(n):
            yield self(i / (n - 1))

    def modifyOutput(self, f: Callable[[Any], Any]) -> Fn:
        """A new schedule whose values are ``f(self(x))`` (same param and width).

        Example:
            >>> s = Fn(lambda x: x + 2).modifyOutput(lambda y: y**2)   # (x + 2)**2
        """
        if not callable(f):
            msg = f"modifyOutput takes a function of the schedule's value, got {f!r:.80}."
            raise TypeError(msg)
        inner = self

        def modified(x: float) -> Any:
            return f(inner(x))

        new = Fn(modified, self.param)
        new.width = self.width
        new.label = f"{self.label} (modified)" if self.label else ""
        return new

    # ------------------------------------------------------------------ combining
    def _copy(self, **changes: Any) -> Fn:
        new = copy.copy(self)
        new.__dict__.update(changes)
        return new

    def _scaled(self, k: Any, op: str) -> Fn:
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or not math.isfinite(k) or k <= 0:
            msg = f"A schedule's width can only be scaled by a positive number (3 * s, s / 2), got {op} {k!r}."
            raise TypeError(msg)
        return self._copy(width=self.width * float(k) if op == "*" else self.width / float(k))

    def __mul__(self, k: Any) -> Fn:
        return self._scaled(k, "*")

    __rmul__ = __mul__

    def __truediv__(self, k: Any) -> Fn:
        return self._scaled(k, "/")

    def __add__(self, other: Any) -> Fn:
        if isinstance(other, Fn):
            return CombinedSchedule(self, other)
        if isinstance(other, str):
            return self._copy(param=other)
        return NotImplemented

    def __radd__(self, other: Any) -> Fn:
        if isinstance(other, int) and other == 0:  # sum([s1, s2, s3]) starts from 0
            return self
        if isinstance(other, str):
            return self._copy(param=other)
        return NotImplemented

    # ------------------------------------------------------------------ display
    def describe(self) -> str:
        """One line: what the schedule is, and its values at 0 and 1."""
        name = self.label or "custom"
        try:
            ends = f", {_fmt(self(0.0))} at 0 → {_fmt(self(1.0))} at 1"
        except Exception as e:  # a custom f that fails at an end: say so, but keep the repr usable
            ends = f", cannot evaluate the ends ({type(e).__name__}: {e})"
        return f"{name}{ends}"

    def __repr__(self) -> str:
        param = repr(self.param) if self.param is not None else "unassigned"
        now = "" if self.progress is None else f"\nLast applied: {_fmt(self.value)} at progress {self.progress:.3f}"
        return f"""{param} schedule: {self.describe()}{now}
Can...
- s.progress: to get last recorded progress
- s.value: to get last recorded hyper parameter's value
- s(0.3): to get value of schedule at 30% progress
- s.iter(n): to get n values evenly spread over [0, 1]
- s1 + s2, 3 * s, s + "lr": to combine, widen, or set the param"""

    def svg(self, *, width: int = 260, height: int = 150) -> str:
        """A static SVG plot of the schedule over [0, 1], with a marker at `progress`."""
        return scheduleSvg(self, width=width, height=height)

    def _repr_html_(self) -> str:
        return f'<div class="k1w-schedule-static">{self.svg()}</div>'

    def widget(self) -> Any:
        """A bqplot view of the schedule (a new one each call)."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)


class CombinedSchedule(Fn):
    """Several schedules one after the other over [0, 1], each taking a share proportional to its width.

    Built by ``s1 + s2``; a combined schedule added to another flattens (``a + b + c`` has three parts).
    Its param is the first part's param that is set.
    """

    def __init__(self, *parts: Fn) -> None:
        flat: list[Fn] = []
        for p in parts:
            if not isinstance(p, Fn):
                msg = f"Only schedules (Fn) can be combined, got {type(p).__name__}: {p!r:.80}."
                raise TypeError(msg)
            if isinstance(p, CombinedSchedule):  # flatten, keeping its share: 3 * (a + b) scales both parts
                k = p.width / p._total
                flat.extend(q._copy(width=q.width * k) for q in p.parts)
            else:
                flat.append(p)
        self.parts: list[Fn] = flat
        self._total: float = sum(p.width for p in flat)
        edges, acc = [0.0], 0.0
        for p in flat:
            acc += p.width
            edges.append(acc / self._total)
        edges[-1] = 1.0
        self.edges = edges
        super().__init__(self._evaluate, next((p.param for p in parts if p.param is not None), None))
        self.width = self._total
        self.label = " + ".join(f"{p.width / self._total:.0%} {p.label or 'custom'}" for p in flat)

    def _evaluate(self, x: float) -> Any:
        i = min(max(bisect.bisect_right(self.edges, x) - 1, 0), len(self.parts) - 1)
        a, b = self.edges[i], self.edges[i + 1]
        return self.parts[i].f((x - a) / (b - a) if b > a else 0.0)


def _shape(name: str, low: float, high: float, param: str | None, f: Callable[[float], float]) -> Fn:
    for what, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            msg = f"{name}(low, high) takes numbers, got {what}={v!r}."
            raise TypeError(msg)
    s = Fn(f, param)
    s.label = f"{name}({_fmt(low)} → {_fmt(high)})"
    return s


def linear(low: float, high: float, param: str | None = None) -> Fn:
    """Sharply goes from low to high: ``low + x * (high - low)``."""
    return _shape("linear", low, high, param, lambda x: low + x * (high - low))


def smooth(low: float, high: float, param: str | None = None) -> Fn:
    """Smoothly goes from low to high: half a cosine, flat at both ends (cosine annealing when high < low)."""
    return _shape("smooth", low, high, param, lambda x: low + (high - low) * (1 + math.cos(math.pi * (1 - x))) / 2)


def exp(low: float, high: float, param: str | None = None) -> Fn:
    """Rises/drops quickly, then rate of change gets smaller and smaller (k1lib's curve, exactly)."""

    def f(x: float) -> float:
        return (math.exp(-x * 4 + 1) - _E_MINUS_3) / (math.e - _E_MINUS_3) * (low - high) + high

    return _shape("exp", low, high, param, f)


def hump(low: float, high: float, param: str | None = None) -> Fn:
    """Smoothly rises up (30%), then down (70%): from ``0.8 * low + 0.2 * high`` up to high, then down to low."""
    s = 0.3 * smooth(0.8 * low + 0.2 * high, high) + 0.7 * smooth(high, low)
    s.param = _checkParam(param)
    s.label = f"hump({_fmt(low)} → {_fmt(high)} → {_fmt(low)})"
    return s


def _fmt(v: Any) -> str:
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return f"{float(v):.3g}"
    return repr(v)
