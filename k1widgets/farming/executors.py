"""Executors: serial by default, local processes, or anything with ``submit()`` (Dask, Ray, futures).

A sweep accepts ``executor=None`` (serial, in the calling thread), ``num_workers=N`` (a pool of N local
processes owned by the sweep), or any object with ``submit(fn, *args, **kwargs) -> future`` whose
futures have ``result()``: `concurrent.futures` executors, a ``dask.distributed.Client`` (submitted
with ``pure=False``, so identical calls are not merged), and Ray through `RayExecutor`.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from k1widgets.farming.work import runPoint, runPointPickled

__all__ = ["RayExecutor", "Submitter", "isDaskClient"]


def isDaskClient(executor: Any) -> bool:
    """Whether ``executor`` is a ``dask.distributed.Client`` (checked without importing dask)."""
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "nthreads")


class RayExecutor:
    """Runs tasks on Ray through the executor protocol (``submit`` returning a concurrent future).

    Ray is not a dependency: ``pip install ray`` and start it yourself (``ray.init(...)``), or let this
    adapter call ``ray.init(**initOpts)`` on first use.

    Args:
        remoteOpts: options for ``ray.remote`` of each task, e.g. ``{"num_gpus": 1, "num_cpus": 2}``.
        maxWorkers: how many points to keep in flight (default: the cluster's CPUs).
        initOpts: passed to ``ray.init`` when Ray is not initialised yet.

    Example (needs Ray installed and a cluster with GPUs, so it is not run as a doctest)::

        cultivate(train, combos=grid, data_name="runs.pkl", executor=RayExecutor(remoteOpts={"num_gpus": 1}))
    """

    def __init__(
        self,
        *,
        remoteOpts: Mapping[str, Any] | None = None,
        maxWorkers: int | None = None,
        initOpts: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            import ray  # type: ignore[import-not-found, unused-ignore]
        except ImportError as e:
            msg = "RayExecutor needs Ray: pip install ray (it is not a dependency of k1widgets)."
            raise ImportError(msg) from e
        if not ray.is_initialized():
            ray.init(**dict(initOpts or {}))
        self._ray = ray
        self._remote = ray.remote(**dict(remoteOpts or {}))(_call) if remoteOpts else ray.remote(_call)
        self._max_workers = maxWorkers or int(ray.cluster_resources().get("CPU", 1))

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Runs ``fn(*args, **kwargs)`` as a Ray task; returns a `concurrent.futures.Future`."""
        return self._remote.remote(fn, args, kwargs).future()  # type: ignore[no-any-return]


def _call(fn: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    return fn(*args, **kwargs)


class Submitter:
    """How one sweep hands a point to its executor, and how many points it keeps in flight.

    Args:
        executor: None (serial), or anything with ``submit``.
        numWorkers: with no executor, a number > 1 starts a pool of local processes (``forkserver``; the
            function travels with cloudpickle, so functions defined in a notebook work).
    """

    def __init__(self, executor: Any = None, numWorkers: int | None = None) -> None:
        self.owned = False
        if executor is None and numWorkers is not None and numWorkers > 1:
            executor = self._newPool(numWorkers)
            self.owned = True
        elif executor is not None and not callable(getattr(executor, "submit", None)):
            msg = (
                f"executor must have a submit(fn, *args, **kwargs) method returning a future, got "
                f"{type(executor).__name__}. Use a concurrent.futures executor, a dask.distributed.Client, "
                f"k1widgets.farming.RayExecutor(), or num_workers=N for local processes."
            )
            raise TypeError(msg)
        self.executor = executor
        self.numWorkers = numWorkers
        self.workers = self._countWorkers()
        # points handed over at once: one per worker, but a Dask cluster gets points queued on its workers,
        # so the scheduler's round trip (10 ms, far more on a busy machine) never idles them
        self.window = max(8 * self.workers, 32) if isDaskClient(self.executor) else self.workers
        self._fnBytes: bytes | None = None

    @staticmethod
    def _newPool(n: int) -> concurrent.futures.ProcessPoolExecutor:
        """N fresh worker processes, never forked from this (threaded) process.

        ``forkserver`` where available: one clean server process imports the worker side once and each
        worker forks from it, so starting (or replacing a killed) worker does not import torch again.
        Elsewhere ``spawn``. Both need the ``if __name__ == "__main__":`` guard in scripts (not notebooks).
        """
        ctx: multiprocessing.context.BaseContext
        if "forkserver" in multiprocessing.get_all_start_methods():
            server = multiprocessing.get_context("forkserver")
            server.set_forkserver_preload(["k1widgets.farming.work"])  # ignored if the server already runs
            ctx = server
        else:  # pragma: no cover - Windows, macOS without forkserver
            ctx = multiprocessing.get_context("spawn")
        return concurrent.futures.ProcessPoolExecutor(n, mp_context=ctx)

    def _countWorkers(self) -> int:
        ex = self.executor
        if ex is None:
            return 1
        if isDaskClient(ex):
            try:
                return max(1, int(sum(ex.nthreads().values())))
            except Exception:
                return 2
        n = getattr(ex, "_max_workers", None)
        return int(n) if isinstance(n, int) and n > 0 else (os.cpu_count() or 2)

    @property
    def serial(self) -> bool:
        """Whether points run one by one in the calling thread."""
        return self.executor is None

    def submit(
        self, fn: Callable[..., Any], key: str, params: Mapping[str, Any], constants: Mapping[str, Any], varNames: Any
    ) -> Any:
        """Submits one point; returns the executor's future (its result is the point's record)."""
        ex = self.executor
        if isDaskClient(ex):
            return ex.submit(runPoint, fn, key, dict(params), dict(constants), varNames, pure=False)
        if isinstance(ex, concurrent.futures.ThreadPoolExecutor):
            return ex.submit(runPoint, fn, key, dict(params), dict(constants), varNames)
        if self._fnBytes is None:
            import cloudpickle

            self._fnBytes = cloudpickle.dumps(fn)
        return ex.submit(runPointPickled, self._fnBytes, key, dict(params), dict(constants), varNames)

    def restart(self) -> bool:
        """Replaces a broken pool that this submitter owns; False when it does not own one."""
        if not self.owned or self.numWorkers is None:
            return False
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._newPool(self.numWorkers)
        return True

    def close(self) -> None:
        """Shuts down the pool this submitter started (never an executor it was given)."""
        if self.owned and self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
