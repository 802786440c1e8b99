"""Live data: growable numeric series, a throttled change feed, and a thread-safe command queue.

Core objects record into `Series` and announce "something changed" on a `Feed`. Views subscribe to
the feed; the feed calls them at most ``settings.live.hz`` times a second (coalescing everything that
happened in between), and always once more on `Feed.flush`, so the final state is exact. Views send
things back through a `CommandQueue` that the training loop drains at batch boundaries, so widget
callbacks never touch training state from another thread.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["CommandQueue", "Feed", "Series", "Subscription", "useDefaultRate"]

_defaultRate: list[Callable[[], float]] = [lambda: 10.0]


def useDefaultRate(fn: Callable[[], float]) -> None:
    """Sets where feeds created without ``hz`` read their rate (`k1widgets.settings` registers ``settings.live.hz``)."""
    _defaultRate[0] = fn


class Series:
    """A growable 1-d float64 buffer: amortised O(1) appends, zero-copy reads of the filled part.

    Example:
        >>> s = Series(); s.extend([1.0, 2.0]); s.append(3.0); s.values
        array([1., 2., 3.])
    """

    def __init__(self, capacity: int = 256) -> None:
        self._buf = np.empty(max(int(capacity), 1), dtype=np.float64)
        self._n = 0
        self._lock = threading.Lock()

    def _reserve(self, n: int) -> None:
        if n > len(self._buf):
            new = np.empty(max(n, 2 * len(self._buf)), dtype=np.float64)
            new[: self._n] = self._buf[: self._n]
            self._buf = new

    def append(self, value: float) -> None:
        """Adds one value."""
        with self._lock:
            self._reserve(self._n + 1)
            self._buf[self._n] = value
            self._n += 1

    def extend(self, values: Iterable[float]) -> None:
        """Adds many values at once."""
        if not isinstance(values, np.ndarray | list | tuple):
            values = list(values)
        arr = np.asarray(values, dtype=np.float64)
        with self._lock:
            self._reserve(self._n + len(arr))
            self._buf[self._n : self._n + len(arr)] = arr
            self._n += len(arr)

    def clear(self) -> None:
        """Forgets every value (keeps the memory)."""
        with self._lock:
            self._n = 0

    @property
    def values(self) -> np.ndarray:
        """A read-only view of the values recorded so far."""
        v = self._buf[: self._n]
        v.flags.writeable = False
        return v

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, idx: Any) -> Any:
        return self.values[idx]

    def __iter__(self) -> Any:
        return iter(self.values.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Series):
            return bool(np.array_equal(self.values, other.values, equal_nan=True))
        if isinstance(other, list | tuple | np.ndarray):
            return bool(np.array_equal(self.values, np.asarray(other, dtype=np.float64), equal_nan=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        return {"values": self.values.copy()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        values = state["values"]
        self.__init__(len(values))  # type: ignore[misc]
        self.extend(values)

    def tolist(self) -> list[float]:
        """The values as a Python list."""
        values: list[float] = self.values.tolist()
        return values

    def __repr__(self) -> str:
        return f"Series({self.values!r})"


class Subscription:
    """Handle returned by `Feed.subscribe`; `remove()` (or leaving a ``with`` block) unsubscribes."""

    def __init__(self, feed: Feed, fn: Callable[[], None]) -> None:
        self._feed, self.fn = feed, fn

    def remove(self) -> None:
        """Stops calls to the subscriber. Safe to call twice."""
        self._feed._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Feed:
    """A time-throttled, coalescing change notification.

    Producers call `changed()` as often as they like (a clock read when nobody listens or the
    interval has not passed). Subscribers are called with no arguments at most ``hz`` times a
    second and read whatever state they need; `flush()` calls them unconditionally, which the
    producers do at the end of every epoch and run so that views always end on the exact state.

    Args:
        hz: most notifications per second; None follows ``settings.live.hz`` (see `useDefaultRate`).
    """

    def __init__(self, hz: float | None = None) -> None:
        self._hz = hz
        self._subs: list[Subscription] = []
        self._last = 0.0
        self._pending: object | None = None  # token of the scheduled trailing notification
        self._lock = threading.Lock()
        self._timing = threading.Lock()
        self.sent = 0  # notifications delivered so far (for tests and diagnostics)

    @property
    def hz(self) -> float | None:
        """Most notifications per second; None follows the default rate (``settings.live.hz``). Settable."""
        return self._hz

    @hz.setter
    def hz(self, hz: float | None) -> None:
        self._hz = hz

    @property
    def interval(self) -> float:
        """Seconds between two notifications."""
        hz = self._hz if self._hz is not None else _defaultRate[0]()
        return 1.0 / hz if hz and hz > 0 else 0.0

    @property
    def active(self) -> bool:
        """Whether anybody is subscribed."""
        return bool(self._subs)

    def subscribe(self, fn: Callable[[], None]) -> Subscription:
        """Calls ``fn()`` whenever the feed fires; returns a handle to unsubscribe."""
        sub = Subscription(self, fn)
        with self._lock:
            self._subs = [*self._subs, sub]
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs = [s for s in self._subs if s is not sub]

    def changed(self) -> None:
        """Marks the state as changed; notifies subscribers now, or once the throttle interval has passed.

        A change inside the interval is never lost: a timer delivers it at the interval's end (the
        trailing edge), unless a later notification or `flush` covers it first.
        """
        if not self._subs:
            return
        with self._timing:
            now = time.perf_counter()
            wait = self.interval - (now - self._last)
            if wait <= 0:
                self._last, self._pending = now, None
            elif self._pending is None:
                # the token ties the timer to this change: a stale timer never fires for a later one
                self._pending = token = object()
                timer = threading.Timer(wait, self._trailing, args=(token,))
                timer.daemon = True
                timer.start()
                return
            else:
                return
        self._notify()

    def _trailing(self, token: object) -> None:
        with self._timing:
            if self._pending is not token:
                return  # a notification or a flush came first
            self._last, self._pending = time.perf_counter(), None
        self._notify()

    def flush(self) -> None:
        """Notifies subscribers now, whatever the throttle says (final states)."""
        with self._timing:
            self._last, self._pending = time.perf_counter(), None
        self._notify()

    def __repr__(self) -> str:
        n = len(self._subs)
        interval = self.interval
        rate = f"at most {1 / interval:g} notifications a second" if interval else "unthrottled"
        source = "" if self._hz is not None else " (settings.live.hz)"
        return f"""Feed: {n} subscriber{"" if n == 1 else "s"}, {rate}{source}, {self.sent} sent so far. Use...
- feed.subscribe(fn): to call fn() after changes (returns a handle: .remove() unsubscribes)
- feed.changed(): to announce a change (throttled, the last one is never lost)
- feed.flush(): to notify subscribers now"""

    def _notify(self) -> None:
        for sub in self._subs:  # the list is replaced, never mutated, so iterating is thread-safe
            sub.fn()
        if self._subs:
            self.sent += 1


class CommandQueue:
    """A thread-safe queue of commands that the training loop applies at batch boundaries.

    Widget callbacks may run on any thread (a subshell, the kernel's main thread while a background
    run trains); they only `put` here, never touch the model or the optimizer themselves.
    """

    def __init__(self) -> None:
        self._q: collections.deque[tuple[str, Any]] = collections.deque()

    def put(self, command: str, arg: Any = None) -> None:
        """Enqueues ``(command, arg)``; deque appends are atomic."""
        self._q.append((command, arg))

    def __bool__(self) -> bool:
        return bool(self._q)

    def drain(self) -> list[tuple[str, Any]]:
        """Removes and returns everything queued so far, oldest first."""
        out = []
        while self._q:
            try:
                out.append(self._q.popleft())
            except IndexError:  # emptied by another drainer
                break
        return out
