"""Persistence costs: a @checkpoint cache hit for a 1 MB result, and Autosave at the end of a run.

1. Cache hit: a ``@checkpoint`` function whose result pickles to 1 MB (a float32 numpy array, and a
   list of 1 MB of small floats for an unpickling-heavy case). Its unpickler is ``pickle.load`` with a
   timer around it, so each call splits into unpickling and the kernel-side cost of ``@checkpoint``
   (argument binding, the key, its confinement check, the sidecar read, opening the file). Target
   (issue 14): <= 2 ms, unpickling excluded.
2. Autosave: one epoch of the seed README's network (157 batches of 64, Adam), ``l.run(1)`` with the
   default callbacks, with Autosave on and suspended in interleaved rounds; and the time of Autosave's
   ``endRun`` alone (rotation + save of the learner and its weights).

One process, one torch thread, medians over rounds (wall time; the machine may be shared). Run:
``./run bench bench/persist.py`` or ``python bench/persist.py``. Not a test: it prints figures.
"""

from __future__ import annotations

import gc
import io
import os
import pickle
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from readme_net import Network

import k1widgets
from k1widgets import checkpoint
from k1widgets.data import Data, DataLoader

torch.set_num_threads(1)


def ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1e3:8.3f} ms"


def benchHit(folder: str, rounds: int = 300) -> None:
    print(f"\n@checkpoint cache hit, 1 MB result (medians of {rounds} calls)")
    print("  unpickling is timed inside each call (the unpickler is pickle.load, wrapped in a timer);")
    print("  @checkpoint = the call minus its unpickling: binding, key, confinement, sidecar, open")
    print(f"  {'result':<34} {'cached call':>12} {'unpickling':>12} {'@checkpoint':>12} {'file':>9}")
    results = {
        "numpy float32 array (262,144)": lambda: np.arange(262_144, dtype=np.float32),
        "list of 1 MB of floats (~110,000)": lambda: [float(i) / 7 for i in range(110_000)],
    }
    inner: list[float] = []

    def timedLoad(f: io.BufferedReader) -> object:
        t0 = time.perf_counter()
        value = pickle.load(f)
        inner.append(time.perf_counter() - t0)
        return value

    @checkpoint(work_dir=os.path.join(folder, "cache"), pickler=pickle.dump, unpickler=timedLoad)
    def compute(kind: str, seed: int = 0) -> object:
        return results[kind]()

    for name in results:
        compute(name)  # computed and written once
        path = compute.path(name)
        for _ in range(10):  # warm the page cache and the imports
            compute(name)
        total: list[float] = []
        inner.clear()
        for _ in range(rounds):
            gc.collect()
            t0 = time.perf_counter()
            value = compute(name)
            total.append(time.perf_counter() - t0)
            del value
        overhead = [a - b for a, b in zip(total, inner, strict=True)]
        size = os.path.getsize(path) / 2**20
        print(f"  {name:<34} {ms(total):>12} {ms(inner):>12} {ms(overhead):>12} {size:6.2f} MB")


def readmeLearner() -> k1widgets.Learner:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.arange(-5, 5, 1e-3)[torch.randperm(10_000, generator=g)]
    y = torch.exp(x)
    split = 126 * 64
    l = k1widgets.Learner()
    l.model = Network(10)
    l.opt = torch.optim.Adam(l.model.parameters(), lr=1e-3)
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean()
    l.data = Data(DataLoader((x[:split, None], y[:split]), 64), DataLoader((x[split:, None], y[split:]), 64))
    l.cbs.ProgressBar.stream = io.StringIO()
    return l


def benchAutosave(folder: str, rounds: int = 30) -> None:
    l = readmeLearner()
    out = io.StringIO()
    with k1widgets.settings.context(autosave={"folder": os.path.join(folder, "autosave")}):
        sys.stdout, saved = out, sys.stdout
        try:
            for _ in range(3):  # warm-up, and three autosaves on disk so the rotation moves real files
                l.run(1)
            on, off, alone = [], [], []
            for r in range(rounds):
                for autosave in (True, False) if r % 2 == 0 else (False, True):
                    gc.collect()
                    t0 = time.perf_counter()
                    if autosave:
                        l.run(1)
                    else:
                        with l.cbs.suspend(["Autosave"]):
                            l.run(1)
                    (on if autosave else off).append(time.perf_counter() - t0)
                gc.collect()
                t0 = time.perf_counter()
                l.Autosave.endRun()
                alone.append(time.perf_counter() - t0)
        finally:
            sys.stdout = saved
        files = sorted(os.listdir(os.path.join(folder, "autosave")))
        sizes = {f: os.path.getsize(os.path.join(folder, "autosave", f)) for f in files}
    ratio = statistics.median(a / b for a, b in zip(on, off, strict=True))
    params = sum(p.numel() for p in l.model.parameters())
    print(f"\nAutosave at the end of a run: README network, hidden 10 ({params:,} parameters), Adam, 157 batches")
    print(f"  l.run(1), Autosave suspended     {ms(off)}")
    print(f"  l.run(1), with Autosave          {ms(on)}   ({ratio:.3f}x, median of per-round ratios)")
    print(f"  Autosave.endRun alone            {ms(alone)}   (rotate 3 sets + save .pth and .model.pth)")
    print(f"  files: {', '.join(f'{f} {n / 1024:.1f} KB' for f, n in sizes.items() if f.startswith('autosave-2'))}")
    print(f"  printed: {out.getvalue().splitlines()[-1]!r}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="k1w-bench-persist-") as folder:
        benchHit(folder)
        benchAutosave(folder)


if __name__ == "__main__":
    main()
