"""Sweeps on executors: local processes (with a worker SIGKILLed), threads, cancel, and a real Dask cluster."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
from pathlib import Path

import pytest

from k1widgets.farming import Harvester, cultivate, label


def pointFiles(data_name):
    d = Path(str(data_name) + ".k1sweep") / "points"
    return sorted(p.name for p in d.glob("*.pkl")) if d.exists() else []


def test_num_workers_runs_on_local_processes_and_survives_a_killed_worker(tmp_path):
    marker = tmp_path / "died"

    @label(var_names=["y", "pid"])
    def work(x):  # defined in a test: travels to the spawned workers with cloudpickle
        import os
        import signal

        if x == 3 and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)  # the OOM killer, say
        return x + 100, os.getpid()

    h = Harvester(work, data_name=str(tmp_path / "p.pkl"))
    h.harvest_combos({"x": list(range(6))}, num_workers=2)
    ds = h.full_ds
    assert ds["y"].values.tolist() == [x + 100 for x in range(6)]
    assert marker.exists()
    assert os.getpid() not in ds["pid"].values.tolist()


def test_results_stream_into_the_store_as_each_future_completes(tmp_path):
    gate = threading.Event()

    @label(var_names="y")
    def f(x):
        if x == 0:
            assert gate.wait(60)
        return -x

    data = tmp_path / "t.pkl"
    h = Harvester(f, data_name=str(data))
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        sweep = h.harvest_combos({"x": [0, 1, 2, 3]}, executor=ex, background=True)
        deadline = time.time() + 30
        while len(pointFiles(data)) < 3:  # 1, 2, 3 are stored while 0 still runs
            assert time.time() < deadline
            time.sleep(0.01)
        assert sweep.counts == {"done": 3, "failed": 0, "running": 1, "pending": 0, "total": 4}
        assert not sweep.done
        gate.set()
        ds = sweep.wait(30)
    assert ds["y"].values.tolist() == [0, -1, -2, -3]


def test_cancel_stops_submitting_new_points_and_a_rerun_completes(tmp_path):
    calls = []

    @label(var_names="y")
    def slow(x):
        calls.append(x)
        time.sleep(0.1)
        return x

    data = tmp_path / "c.pkl"
    sweep = cultivate(slow, var_names="y", combos={"x": list(range(20))}, data_name=str(data), background=True)
    deadline = time.time() + 30
    while len(pointFiles(data)) < 2:
        assert time.time() < deadline
        time.sleep(0.01)
    sweep.cancel()
    sweep.wait(30)
    assert sweep.cancelled and 2 <= len(calls) < 20
    assert sweep.counts["pending"] == 20 - len(calls)
    assert "cancelled" in repr(sweep)
    done = len(calls)
    ds = cultivate(slow, var_names="y", combos={"x": list(range(20))}, data_name=str(data))
    assert len(calls) == 20 and sorted(calls[done:]) == sorted(set(range(20)) - set(calls[:done]))
    assert ds["y"].values.tolist() == list(range(20))


@pytest.mark.slow
def test_dask_local_cluster_with_a_worker_killed_mid_sweep(tmp_path):
    distributed = pytest.importorskip("distributed")
    marker = tmp_path / "killed"

    def train(x):
        import os
        import signal
        import time

        time.sleep(0.05)
        if x == 4 and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-sweep
        return x * x

    data = str(tmp_path / "dask.pkl")
    combos = {"x": list(range(10))}
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        ds = cultivate(train, var_names="sq", combos=combos, data_name=data, executor=client, raise_errors=False)
        if int(ds["sq"].notnull().sum()) < 10:  # Dask gave up on the point: the rerun computes only it
            ds = cultivate(train, var_names="sq", combos=combos, data_name=data, executor=client)
    assert marker.exists()
    assert ds["sq"].values.tolist() == [x * x for x in range(10)]
    assert Harvester(None, data_name=data).errors == {}


def test_ray_adapter_runs_a_sweep(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not a dependency; the adapter is tested where it is installed")
    from k1widgets.farming import RayExecutor

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1")
    try:
        ds = cultivate(lambda x: x + 1, var_names="y", combos={"x": [1, 2, 3]}, executor=RayExecutor(maxWorkers=2))
        assert ds["y"].values.tolist() == [2, 3, 4]
    finally:
        ray.shutdown()
