"""Sweep: a set of points running through an executor, each result stored the moment it completes."""

from __future__ import annotations

import collections
import concurrent.futures
import queue
import random
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from k1widgets import display
from k1widgets.farming.executors import Submitter
from k1widgets.farming.work import errorRecord, runPoint
from k1widgets.live import Feed

__all__ = ["Sweep", "SweepError"]

Record = dict[str, Any]
_RETRIES = 1  # a point whose worker process died is retried this many times on a fresh pool


class SweepError(RuntimeError):
    """Some points failed. Every good point was stored first; ``errors`` maps key → error record."""

    def __init__(self, message: str, errors: Mapping[str, Record]) -> None:
        super().__init__(message)
        self.errors = dict(errors)


def sweepErrorMessage(errors: Mapping[str, Record], total: int) -> str:
    """The message of a `SweepError`: how many failed, and the first failure with its traceback."""
    first = next(iter(errors.values()))
    tb = (first.get("traceback") or "").rstrip()
    return (
        f"{len(errors)} of {total} points failed; every other point was saved. First failure, at "
        f"{first['params']}: {first['error']}\n{tb}\nRun again with missing_only=True to retry only the failed "
        f"and missing points, or pass raise_errors=False to collect errors without raising."
    )


class Sweep:
    """Points running through an executor; ``sink(record)`` stores each record as it completes.

    Counts (``counts``: done, failed, running, pending, total), ``eta`` and the ``feed`` make it live;
    ``cancel()`` stops submitting new points (points already running finish and are stored). A Dask
    cluster is handed more points than it has threads (they wait on its workers, see `Submitter`): the
    first ones handed over count as running, one per thread, the others as pending until one ends.
    A `Harvester`, `Sampler` or `cultivate` builds it; display it for the live sweep view.

    Args:
        fn: the function; called as ``fn(**params, **constants)``.
        points: ``(key, params)`` pairs.
        constants: extra keyword arguments of every call.
        varNames: names of the outputs (see `k1widgets.farming.work.labelResult`).
        sink: called on the sweep's thread with each record, in completion order.
        executor, numWorkers: see `Submitter`.
        shuffle: run the points in random order (load balancing); ``seed`` makes it repeatable.
        source: the harvester or sampler this sweep feeds (what its view shows).
        onEnd: called when all points are over; its return value is ``result`` (a callable is called by
            ``wait()``, so an expensive result is only built when asked for), its error ``error``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        points: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        constants: Mapping[str, Any] | None = None,
        varNames: Sequence[str] | None = None,
        sink: Callable[[Record], None],
        executor: Any = None,
        numWorkers: int | None = None,
        shuffle: bool = False,
        seed: int | None = None,
        source: Any = None,
        onEnd: Callable[[Sweep], Any] | None = None,
    ) -> None:
        self.fn = fn
        self.points = list(points)
        if shuffle:
            random.Random(seed).shuffle(self.points)
        self.params = {k: dict(p) for k, p in self.points}
        self.constants = dict(constants or {})
        self.varNames = varNames
        self.sink = sink
        self.executorArg, self.numWorkers = executor, numWorkers
        self.source = source
        self.onEnd = onEnd
        self.status: dict[str, str] = {k: "pending" for k, _ in self.points}
        self.records: dict[str, Record] = {}
        self.feed = Feed()
        self.cancelled = False
        self.error: BaseException | None = None
        self.result: Any = None
        self.workers = 1
        self.started: float | None = None
        self.finished: float | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._view: Any = None

    # ------------------------------------------------------------------ state
    @property
    def done(self) -> bool:
        """Whether every point is over (or the sweep was cancelled and its running points are over)."""
        return self._done.is_set()

    @property
    def counts(self) -> dict[str, int]:
        """``{"done", "failed", "running", "pending", "total"}``: points by state (done = good result)."""
        with self._lock:
            values = list(self.status.values())
        return {
            "done": values.count("ok"),
            "failed": values.count("error"),
            "running": values.count("running"),
            "pending": values.count("pending") + values.count("queued"),
            "total": len(values),
        }

    @property
    def eta(self) -> float | None:
        """Seconds until the last point is over (median duration × points left ÷ workers); None if unknown."""
        if self.done:
            return 0.0
        with self._lock:
            durations = [float(r.get("duration", 0.0)) for r in self.records.values()]
            left = sum(1 for s in self.status.values() if s in ("pending", "queued", "running"))
        if not durations:
            return None
        if self.cancelled:
            left = sum(1 for s in self.status.values() if s in ("running", "queued"))
        return statistics.median(durations) * left / max(self.workers, 1)

    @property
    def errors(self) -> dict[str, Record]:
        """Error records of the points that failed in this sweep."""
        with self._lock:
            return {k: r for k, r in self.records.items() if r["status"] == "error"}

    def _set(self, key: str, status: str) -> None:
        with self._lock:
            self.status[key] = status
        self.feed.changed()

    def _finish(self, record: Record) -> None:
        """Stores one finished point: the sink first (disk), then the live state."""
        self.sink(record)
        with self._lock:
            self.records[record["key"]] = record
            self.status[record["key"]] = record["status"]
        self.feed.changed()

    # ------------------------------------------------------------------ running
    def cancel(self) -> None:
        """Stops submitting new points; queued points are withdrawn, running ones finish and are stored.

        Thread-safe (the view's Cancel button calls it from the comm thread).
        """
        self.cancelled = True
        self.feed.changed()

    def run(self) -> Sweep:
        """Runs every point (blocking) and returns the sweep; raises what ``onEnd`` raises."""
        self._run()
        if self.error is not None:
            raise self.error
        return self

    def start(self) -> Sweep:
        """Runs in a background thread and returns at once (``wait()`` blocks and re-raises errors)."""
        self._thread = threading.Thread(target=self._run, name="k1widgets-sweep", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> Any:
        """Waits for the end; returns ``result`` (e.g. the full dataset) or re-raises the sweep's error.

        Raises:
            TimeoutError: still running after ``timeout`` seconds.
        """
        if not self._done.wait(timeout):
            msg = f"The sweep is still running after {timeout} s ({self.counts}); sweep.cancel() stops it."
            raise TimeoutError(msg)
        if self.error is not None:
            raise self.error
        return self.result() if callable(self.result) else self.result

    def _run(self) -> None:
        self.started = time.time()
        try:
            submitter = Submitter(self.executorArg, self.numWorkers)
            self.workers = submitter.workers
            try:
                if submitter.serial:
                    self._runSerial()
                else:
                    self._runPool(submitter)
            finally:
                submitter.close()
            if self.onEnd is not None:
                self.result = self.onEnd(self)
        except BaseException as e:
            self.error = e
        finally:
            self.finished = time.time()
            with self._lock:
                for k, s in self.status.items():
                    if s in ("running", "queued"):  # interrupted (KeyboardInterrupt): it did not finish
                        self.status[k] = "pending"
            self._done.set()
            self.feed.flush()

    def _runSerial(self) -> None:
        for key, params in self.points:
            if self.cancelled:
                break
            self._set(key, "running")
            self._finish(runPoint(self.fn, key, params, self.constants, self.varNames))

    def _runPool(self, submitter: Submitter) -> None:
        done: queue.Queue[tuple[str, Any]] = queue.Queue()
        todo = list(reversed(self.points))
        inFlight: dict[str, Any] = {}
        attempts: dict[str, int] = {}

        queued: collections.deque[str] = collections.deque()  # handed over, waiting for a worker

        def promote() -> None:
            """The oldest points handed over take the workers that are free (as Dask schedules them)."""
            with self._lock:
                running = sum(1 for s in self.status.values() if s == "running")
                while queued and running < submitter.workers:
                    k = queued.popleft()
                    if self.status.get(k) == "queued":
                        self.status[k] = "running"
                        running += 1

        def submit(key: str, params: Mapping[str, Any]) -> None:
            fut = submitter.submit(self.fn, key, params, self.constants, self.varNames)
            inFlight[key] = fut
            attempts[key] = attempts.get(key, 0) + 1
            queued.append(key)
            self._set(key, "queued")
            promote()
            if callable(getattr(fut, "add_done_callback", None)):
                fut.add_done_callback(lambda f, key=key: done.put((key, f)))
            else:  # pragma: no cover - futures without callbacks are polled
                threading.Thread(target=_poll, args=(fut, key, done), daemon=True).start()

        def recover(e: BaseException, keys: list[str]) -> bool:
            """A broken pool of ours: start a new one and send its points again (each at most twice)."""
            if not (isinstance(e, concurrent.futures.BrokenExecutor) and submitter.restart()):
                return False
            keys = list(dict.fromkeys([*keys, *inFlight]))
            inFlight.clear()
            for k in keys:
                if attempts.get(k, 0) > _RETRIES:
                    self._finish(errorRecord(k, self.params[k], _workerError(e)))
                else:
                    self._set(k, "pending")
                    todo.append((k, self.params[k]))
            return True

        while todo or inFlight:
            while todo and not self.cancelled and len(inFlight) < submitter.window:
                key, params = todo.pop()
                try:
                    submit(key, params)
                except concurrent.futures.BrokenExecutor as e:  # it broke before we saw a failed future
                    attempts[key] = attempts.get(key, 0) + 1
                    if not recover(e, [key]):
                        raise
            if self.cancelled:
                todo.clear()
                for key, fut in list(inFlight.items()):
                    if fut.cancel():
                        inFlight.pop(key)
                        self._set(key, "pending")
            if not inFlight:
                break
            try:
                key, future = done.get(timeout=0.2)
            except queue.Empty:
                continue
            if key not in inFlight or inFlight[key] is not future:
                continue  # a cancelled or replaced future
            inFlight.pop(key)
            try:
                record: Record = future.result()
            except concurrent.futures.CancelledError:
                self._set(key, "pending")
                continue
            except Exception as e:  # the worker died, the pool broke, the task could not be sent...
                if recover(e, [key]):  # every point in flight on the broken pool failed with it
                    continue
                record = errorRecord(key, self.params[key], _workerError(e))
            self._finish(record)
            promote()

    # ------------------------------------------------------------------ display
    def widget(self, **kwargs: Any) -> Any:
        """The live sweep view (counts, ETA, heatmap, Cancel)."""
        return display.view(self, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        source = self.source
        if source is not None and hasattr(source, "_repr_html_"):
            return source._repr_html_(sweep=self)  # type: ignore[no-any-return]
        return f"<pre>{self!r}</pre>"

    def __repr__(self) -> str:
        c = self.counts
        state = "cancelled" if self.cancelled and self.done else ("done" if self.done else "running")
        eta = self.eta
        etaText = f", ETA {eta:.0f}s" if eta is not None and not self.done else ""
        return (
            f"Sweep({state}: {c['done']} done, {c['failed']} failed, {c['running']} running, "
            f"{c['pending']} pending of {c['total']}{etaText})"
        )


def _workerError(e: BaseException) -> str:
    return f"{type(e).__name__}: {e} (the worker running this point died or the executor failed)"


def _poll(fut: Any, key: str, done: queue.Queue[tuple[str, Any]]) -> None:  # pragma: no cover
    while not fut.done():
        time.sleep(0.05)
    done.put((key, fut))
