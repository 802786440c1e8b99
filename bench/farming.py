"""Sweep store costs: per-point overhead (serial and on a 2-worker Dask cluster), harvesting into a big
store, loading it; with xyzpy 1.3.5 in the same run for scale (when it is installed in this venv).

Targets (issue 15): serial per-point overhead of the store <= 5 ms beyond the function's own time;
harvesting 10 new points into a store that holds 10,000 <= 0.5 s; loading ``full_ds`` of a
10,000-point store <= 1 s. The Dask figure is reported.

Run: ``python bench/farming.py`` (``./run bench bench/farming.py``). Not a test: it prints medians over
interleaved rounds (each round times every variant once, in a rotating order), wall time and, where
it helps on a shared machine, CPU time of this process.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from k1widgets.farming import Harvester, cultivate, label

try:
    import xyzpy
except Exception as e:  # xyzpy 1.3.5 needs matplotlib to import
    xyzpy = None
    XYZPY_WHY = f"{type(e).__name__}: {e}"
else:
    XYZPY_WHY = ""

warnings.filterwarnings("ignore")
N = 100  # points per serial sweep
WORK = 0.002  # seconds of work per point (a busy loop, so it is CPU like training)
ROUNDS = 7
TMP = Path(tempfile.mkdtemp(prefix="k1w-bench-farming-"))


def work(x):
    t = time.perf_counter()
    while time.perf_counter() - t < WORK:
        pass
    return x * 2


def fresh(name: str) -> str:
    d = Path(tempfile.mkdtemp(dir=TMP))
    return str(d / name)


def timed(f):
    c0, t0 = time.process_time(), time.perf_counter()
    f()
    return time.perf_counter() - t0, time.process_time() - c0


def med(xs):
    return statistics.median(xs)


def serial() -> None:
    runner = label(var_names="y")(work)
    variants = {
        "bare loop": lambda: [work(x) for x in range(N)],
        "k1widgets Harvester": lambda: Harvester(runner, fresh("s.pkl")).harvest_combos({"x": range(N)}, verbosity=0),
        "k1widgets Harvester(syncPoints=True)": lambda: Harvester(
            runner, fresh("s.pkl"), syncPoints=True
        ).harvest_combos({"x": range(N)}, verbosity=0),
    }
    if xyzpy is not None:
        xrunner = xyzpy.label(var_names=["y"])(work)
        variants["xyzpy 1.3.5 Harvester"] = lambda: xyzpy.Harvester(xrunner, fresh("s.h5")).harvest_combos(
            {"x": range(N)}, verbosity=0
        )
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(ROUNDS + 1):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t = timed(variants[name])
            if r:  # round 0 warms up imports and caches
                results[name].append(t)
    bare = results["bare loop"]
    print(f"\n## Serial sweep of {N} points, {WORK * 1e3:.0f} ms of work each ({ROUNDS} rounds)")
    print(f"{'variant':40s} {'wall s':>8s} {'overhead ms/point (wall)':>26s} {'(CPU)':>8s}")
    for name in names:
        wall = med([w for w, _ in results[name]])
        over = med([(w - bw) / N * 1e3 for (w, _), (bw, _) in zip(results[name], bare, strict=True)])
        cpu = med([(c - bc) / N * 1e3 for (_, c), (_, bc) in zip(results[name], bare, strict=True)])
        print(f"{name:40s} {wall:8.3f} {over:26.2f} {cpu:8.2f}")


def dask() -> None:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("\n## Dask: not installed (pip install k1widgets[dask])")
        return
    n, rounds = 100, 3
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        client.gather([client.submit(work, x, pure=False) for x in range(20)])  # warm the workers
        variants = {
            "bare client.submit + gather": lambda: client.gather(
                [client.submit(work, x, pure=False) for x in range(n)]
            ),
            "k1widgets cultivate(executor=client)": lambda: cultivate(
                work, var_names="y", combos={"x": range(n)}, data_name=fresh("d.pkl"), executor=client, verbosity=0
            ),
        }
        if xyzpy is not None:
            xrunner = xyzpy.label(var_names=["y"])(work)
            variants["xyzpy 1.3.5 harvest_combos(executor=client)"] = lambda: xyzpy.Harvester(
                xrunner, fresh("d.h5")
            ).harvest_combos({"x": range(n)}, executor=client, verbosity=0)
        names = list(variants)
        results: dict[str, list[float]] = {k: [] for k in names}
        for r in range(rounds + 1):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                w, _ = timed(variants[name])
                if r:
                    results[name].append(w)
    bare = results[names[0]]
    print(f"\n## 2-worker Dask LocalCluster (127.0.0.1), {n} points of {WORK * 1e3:.0f} ms ({rounds} rounds)")
    print(f"{'variant':46s} {'wall s':>8s} {'overhead ms/point vs bare Dask':>32s}")
    for name in names:
        over = med([(w - b) / n * 1e3 for w, b in zip(results[name], bare, strict=True)])
        print(f"{name:46s} {med(results[name]):8.3f} {over:32.2f}")


def bigStore() -> None:
    side = 100
    a, b = np.arange(side), np.arange(side)
    big = xr.Dataset({"y": (("a", "b"), (a[:, None] * b[None, :]).astype(float))}, coords={"a": a, "b": b})

    def ab(a, b):
        return float(a * b)

    runner = label(var_names="y")(ab)
    k1 = fresh("big.pkl")
    Harvester(runner, k1).save_full_ds(big)
    stores = {"k1widgets": k1}
    if xyzpy is not None:
        xh = fresh("big.h5")
        xrunner = xyzpy.label(var_names=["y"])(ab)
        xyzpy.Harvester(xrunner, xh).save_full_ds(big)
        stores["xyzpy 1.3.5"] = xh
    harvest: dict[str, list[float]] = {k: [] for k in stores}
    load: dict[str, list[float]] = {k: [] for k in stores}
    for r in range(5):
        new = {"a": [side + r], "b": list(range(10))}
        for name, path in stores.items():
            if name == "k1widgets":
                harvest[name].append(
                    timed(lambda p=path, c=new: Harvester(runner, p).harvest_combos(c, verbosity=0))[0]
                )
                load[name].append(timed(lambda p=path: Harvester(None, p).full_ds)[0])
            else:
                harvest[name].append(
                    timed(lambda p=path, c=new: xyzpy.Harvester(xrunner, p).harvest_combos(c, verbosity=0))[0]
                )
                load[name].append(timed(lambda p=path: xyzpy.Harvester(xrunner, p).full_ds.load())[0])
    # the worst case between consolidations: 10,000 consolidated + 500 point files waiting
    h = Harvester(runner, k1, consolidateAt=10**9)
    h.harvest_combos({"a": [1000 + i for i in range(50)], "b": list(range(10))}, verbosity=0)
    pending = h.store.pending()
    loadPending = [timed(lambda: Harvester(None, k1).full_ds)[0] for _ in range(5)]
    print(f"\n## A store of {side * side:,} points (5 rounds)")
    print(f"{'':14s} {'harvest 10 new points (s)':>26s} {'load full_ds (s)':>18s}")
    for name in stores:
        print(f"{name:14s} {med(harvest[name]):26.3f} {med(load[name]):18.3f}")
    print(f"k1widgets, with {pending} point files waiting for consolidation: load full_ds {med(loadPending):.3f} s")


if __name__ == "__main__":
    print(f"xyzpy: {xyzpy.__version__ if xyzpy else 'not available (' + XYZPY_WHY + ')'}")
    try:
        serial()
        bigStore()
        dask()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
