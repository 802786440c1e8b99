"""ParamFinder and LossLandscape: time and stability against k1lib 1.8.1, in the same process.

- ParamFinder: ``l.ParamFinder.plot(samples=1000)`` on the seed README's network and learner (k1lib:
  ``l.ParamFinder.run(samples=1000)``, the same sweep without the drawing), interleaved rounds, medians
  of CPU time (``time.process_time``) with wall time alongside; 100 iterations (``samples=100`` over
  1e-6 … 1, tolerance high enough that all 100 run); a bare PyTorch loop of 500 steps for scale.
- Suggestion spread: max / min of the suggestion over seeds 0-4, on the fresh network and after one
  epoch of training, for both libraries.
- LossLandscape: a 41 × 41 plane on a 512-sample batch; the k1lib-sized job (8 scales × 21 × 21 on a
  64-sample batch; k1lib 1.8.1: 8 × 20 × 20 with a different batch per point, timed once); the whole
  10,000-sample dataset at 41 × 41 against a per-point loop. Grids are odd so the trained weights
  are a grid point.

Run: ``./run bench bench/analysis.py`` (bench/.venv has k1lib 1.8.1), or ``python bench/analysis.py``
(k1lib rows skipped when it is missing); ``--quick`` for fewer rounds. One torch thread. Not a test.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")

import torch
from torch import optim

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from readme_net import Network

import k1widgets as k1lib_ours
from k1widgets.callbacks import ParamFinder

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=UserWarning)  # k1lib's hooks warn on every run


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((x.squeeze() - y) ** 2).mean()


def newL(seed: int = 0) -> Any:
    """The seed README's newL(), with only the import changed (plus a seed)."""
    torch.manual_seed(seed)
    l = k1lib_ours.Learner()
    l.model = Network()
    l.data = k1lib_ours.data.Data.fromDataset(k1lib_ours.data.FunctionDataset.exp, batchSize=64)
    l.opt = optim.Adam(l.model.parameters(), lr=1e-2)
    l.lossF = mse
    l.cbs.withModifyBatch(lambda x, y: (x[:, None], y))
    l.cbs.withDType(torch.float32)
    l.cbs.withCancelOnLowLoss(1, epochMode=True)
    l.css = "SkipBlock #0: HookParam\nSkipBlock: HookModule"
    l.cbs.ProgressBar.stream = io.StringIO()
    return l


def k1libL(seed: int = 0) -> Any:
    """The same network, data (float32, 126 + 31 batches of 64) and optimizer in k1lib 1.8.1."""
    import k1lib

    torch.manual_seed(seed)
    ds = k1lib_ours.data.FunctionDataset.exp
    x, y = ds.x.float()[:, None], ds.y.float()
    split = 126 * 64
    l = k1lib.Learner()
    l.model = Network()
    l.data = [
        list(zip(x[:split].split(64), y[:split].split(64), strict=True)),
        list(zip(x[split:].split(64), y[split:].split(64), strict=True)),
    ]
    l.opt = optim.Adam(l.model.parameters(), lr=1e-2)
    l.lossF = mse
    return l


def k1libAvailable() -> bool:
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import k1lib  # noqa: F401
    except ImportError:
        print("(k1lib not installed here: its rows are skipped; ./run bench installs it in bench/.venv)")
        return False
    return True


def timed(f: Callable[[], Any]) -> tuple[float, float, Any]:
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        out = f()
    return time.process_time() - c0, time.perf_counter() - t0, out


def bare(steps: int) -> Callable[[], int]:
    def run() -> int:
        torch.manual_seed(0)
        model = Network()
        opt = optim.Adam(model.parameters(), lr=1e-3)
        ds = k1lib_ours.data.FunctionDataset.exp
        batches = list(zip(ds.x.float()[:, None].split(64), ds.y.float().split(64), strict=True))
        for i in range(steps):
            xb, yb = batches[i % 126]
            loss = mse(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            loss.item()
        return steps

    return run


def finderRounds(rounds: int, withK1lib: bool) -> None:
    """Each case builds a fresh learner and returns (what to time, the learner whose finder counts iterations)."""

    Case = tuple[Callable[[], Any], Callable[[], int | None]]

    def ours() -> Case:
        l = newL()
        return (lambda: l.ParamFinder.plot(samples=1000)), lambda: l.ParamFinder.steps

    def hundred() -> Case:
        l = newL()
        l.cbs.remove("ParamFinder")
        l.cbs.append(ParamFinder(tolerance=1e12, flatStride=1), "ParamFinder")
        return (lambda: l.ParamFinder.run(samples=100, high=1.0, quiet=True)), lambda: l.ParamFinder.steps

    def theirs() -> Case:
        l = k1libL()
        return (lambda: l.ParamFinder.run(samples=1000)), lambda: int(l.ParamFinder.idx)

    cases: dict[str, Callable[[], Case]] = {
        "k1widgets plot(samples=1000)": ours,
        "k1widgets run(samples=100), all 100 iterations": hundred,
        "bare PyTorch loop, 500 steps": lambda: (bare(500), lambda: 500),
    }
    if withK1lib:
        cases["k1lib 1.8.1 run(samples=1000)"] = theirs
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    wall: dict[str, list[float]] = {k: [] for k in cases}
    iters: dict[str, list[int]] = {k: [] for k in cases}
    names = list(cases)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            f, count = cases[name]()
            c, w, _ = timed(f)
            cpu[name].append(c)
            wall[name].append(w)
            n = count()
            if n is not None:
                iters[name].append(n)
    print(f"\nParamFinder on the README network ({rounds} interleaved rounds, medians)")
    print(f"  {'what':<48} {'CPU s':>7} {'wall s':>7} {'steps':>10}")
    for name in names:
        it = f"{statistics.median(iters[name]):.0f}" if iters[name] else "-"
        print(f"  {name:<48} {statistics.median(cpu[name]):7.3f} {statistics.median(wall[name]):7.3f} {it:>10}")
    if withK1lib:
        k = "k1lib 1.8.1 run(samples=1000)"
        ratio = statistics.median(a / b for a, b in zip(cpu[names[0]], cpu[k], strict=True))
        print(f"  k1widgets / k1lib (CPU, median of per-round ratios): {ratio:.3f}")


def spread(withK1lib: bool) -> None:
    print("\nSuggestion spread over seeds 0-4 (samples=1000): max / min")
    rows: list[tuple[str, Callable[[int], Any], Callable[[Any], float]]] = [
        ("k1widgets", newL, lambda l: l.ParamFinder.run(samples=1000, quiet=True))
    ]
    if withK1lib:
        rows.append(("k1lib 1.8.1", k1libL, lambda l: l.ParamFinder.run(samples=1000)))
    for name, make, find in rows:
        for trained in (False, True):
            values = []
            for seed in range(5):
                l = make(seed)
                with contextlib.redirect_stdout(io.StringIO()):
                    if trained:
                        l.run(1)
                    values.append(float(find(l)))
            text = " ".join(f"{v:.2e}" for v in values)
            when = "after 1 epoch" if trained else "fresh net    "
            print(f"  {name:<12} {when}  {max(values) / min(values):8.2f}x   ({text})")


def landscapes(rounds: int, withK1lib: bool) -> None:
    l = newL()
    with contextlib.redirect_stdout(io.StringIO()):
        l.run(1)
    lscb = l.LossLandscape
    ds = k1lib_ours.data.FunctionDataset.exp
    full = (ds.x.float()[:, None], ds.y.float())
    scales = [round(10 ** (i * 0.35 - 2), 3) for i in range(8)]
    jobs: dict[str, Callable[[], Any]] = {
        "41x41 plane, batch 512, auto (vmap)": lambda: lscb.plot(scales=[1.0], points=41, samples=512, quiet=True),
        "41x41 plane, batch 512, per-point loop": lambda: lscb.plot(
            scales=[1.0], points=41, samples=512, mode="loop", quiet=True
        ),
        "8 scales x 21x21, batch 64, auto": lambda: lscb.plot(scales=scales, points=21, samples=64, quiet=True),
        "8 scales x 21x21, batch 64, per-point loop": lambda: lscb.plot(
            scales=scales, points=21, samples=64, mode="loop", quiet=True
        ),
        "41x41, all 10,000 samples, auto": lambda: lscb.plot(scales=[1.0], points=41, batch=full, quiet=True),
        "41x41, all 10,000 samples, per-point loop": lambda: lscb.plot(
            scales=[1.0], points=41, batch=full, mode="loop", quiet=True
        ),
    }
    cpu: dict[str, list[float]] = {k: [] for k in jobs}
    wall: dict[str, list[float]] = {k: [] for k in jobs}
    how: dict[str, str] = {}
    names = list(jobs)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            c, w, ls = timed(jobs[name])
            cpu[name].append(c)
            wall[name].append(w)
            how[name] = f"{ls.info['mode']}, chunk {ls.info['chunk']}"
    print(f"\nLossLandscape ({rounds} interleaved rounds, medians)")
    print(f"  {'job':<48} {'CPU s':>7} {'wall s':>7}  how")
    for name in names:
        print(f"  {name:<48} {statistics.median(cpu[name]):7.3f} {statistics.median(wall[name]):7.3f}  {how[name]}")
    a, b = names[0], names[1]
    print(
        f"  vmap / loop, 512 batch (CPU): {statistics.median(x / y for x, y in zip(cpu[a], cpu[b], strict=True)):.3f}"
    )
    a, b = names[4], names[5]
    print(
        f"  auto / loop, full set (CPU):  {statistics.median(x / y for x, y in zip(cpu[a], cpu[b], strict=True)):.3f}"
    )
    if withK1lib:
        k = k1libL()
        with contextlib.redirect_stdout(io.StringIO()):
            k.run(1)
        c, w, _ = timed(lambda: k.Loss.Landscape.plot())
        print(f"  {'k1lib 1.8.1 Loss.Landscape.plot() (8 x 20x20), once':<48} {c:7.3f} {w:7.3f}")
        ours = statistics.median(cpu[names[2]])
        print(f"  k1widgets / k1lib, k1lib-sized job (CPU): {ours / c:.4f}")


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    withK1lib = k1libAvailable()
    print(f"torch {torch.__version__}, 1 thread, k1widgets {k1lib_ours.__version__}; CPU time (process_time)")
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finderRounds(3 if quick else 7, withK1lib)
    spread(withK1lib)
    landscapes(2 if quick else 5, withK1lib)


if __name__ == "__main__":
    main(sys.argv[1:])
