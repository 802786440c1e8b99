"""Training-loop overhead: a bare PyTorch loop vs k1widgets' Learner vs k1lib 1.8.1's Learner.

One process, one torch thread, interleaved rounds with a rotating order, medians of per-epoch CPU
time (``time.process_time``, robust to other tenants) with wall time alongside. One sample is one
epoch of the seed README's network on y = exp(x): 157 batches of 64 (126 train + 31 valid), Adam,
validation under ``no_grad``. Every variant gets its own copy of the same initial model.

Run: ``./run bench`` (builds bench/.venv with k1lib 1.8.1), or ``python bench/overhead.py`` (rows for
k1lib are skipped when it is not installed). Not a test: it prints figures.

The dashboard row displays the learner's dashboard with every tab opened (the Loss tab on screen) and
counts the comm messages the kernel would send: ``comm.create_comm`` (the hook the comm package
provides for kernels) is replaced by a factory of comms that count ``publish_msg`` calls instead of
sending them, so the kernel side's full cost is measured.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from readme_net import Network

import k1widgets
from k1widgets.data import Data, DataLoader

torch.set_num_threads(1)

BS, N = 64, 10_000


def mse(y: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    return ((y.squeeze() - yb) ** 2).mean()


def makeData() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.arange(-5, 5, 1e-3)[torch.randperm(N, generator=g)]
    y = torch.exp(x)
    split = 126 * BS
    return x[:split, None], y[:split], x[split:, None], y[split:]


class Variant:
    name = ""

    def __init__(self, model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.data = data

    def epoch(self) -> int:
        """Runs one epoch; returns the number of batches run."""
        raise NotImplementedError


class Bare(Variant):
    name = "bare PyTorch loop"

    def __init__(self, model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
        super().__init__(model, data)
        xt, yt, xv, yv = data
        self.train = list(zip(xt.split(BS), yt.split(BS), strict=True))
        self.valid = list(zip(xv.split(BS), yv.split(BS), strict=True))

    def epoch(self) -> int:
        model, opt = self.model, self.opt
        model.train()
        for xb, yb in self.train:
            loss = mse(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            loss.item()
        model.eval()
        with torch.no_grad():
            for xb, yb in self.valid:
                mse(model(xb), yb).item()
        model.train()
        return len(self.train) + len(self.valid)


class Ours(Variant):
    name = "k1widgets Learner, default callbacks"

    def __init__(self, model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
        super().__init__(model, data)
        xt, yt, xv, yv = data
        l = self.l = k1widgets.Learner()
        l.model, l.opt, l.lossF = model, self.opt, mse
        l.data = Data(DataLoader((xt, yt), BS), DataLoader((xv, yv), BS))
        l.cbs.ProgressBar.stream = io.StringIO()
        # Autosave costs once per run, not per batch (bench/persist.py measures it); k1lib 1.8.1 has none
        l.cbs.remove("Autosave")
        self.attach()

    def attach(self) -> None:
        pass

    def epoch(self) -> int:
        n = len(self.l.Loss.train) + len(self.l.Loss.valid)
        self.l.run(1)
        self.l.cbs.ProgressBar.stream.seek(0)
        self.l.cbs.ProgressBar.stream.truncate()
        return len(self.l.Loss.train) + len(self.l.Loss.valid) - n


class OursWithView(Ours):
    name = "k1widgets Learner + live progress view attached"

    def attach(self) -> None:
        from k1widgets.widgets.progress import ProgressView

        self.view = ProgressView(self.l.ProgressBar)  # sends through a dummy comm: the kernel side's full cost


class CountingComm:
    """Counts every comm message the widgets publish (installed as ``comm.create_comm``'s comms)."""

    messages = 0

    @classmethod
    def install(cls) -> None:
        import comm
        from comm.base_comm import BaseComm

        class Counting(BaseComm):
            def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
                cls.messages += 1  # and nothing else: the count must not add cost of its own

        comm.create_comm = Counting


class OursWithDashboard(Ours):
    name = "k1widgets Learner + dashboard, every tab opened"

    def attach(self) -> None:
        from k1widgets.widgets.dashboard import TABS, DashboardView

        self.view = DashboardView(self.l)
        for tab in TABS:
            self.view.select(tab)
        self.view.select("Loss")
        self.rates: list[float] = []

    def epoch(self) -> int:
        m0, t0 = CountingComm.messages, time.perf_counter()
        n = super().epoch()
        seconds = time.perf_counter() - t0
        self.rates.append((CountingComm.messages - m0) / seconds)
        return n


class K1lib(Variant):
    name = "k1lib 1.8.1 Learner, default callbacks"

    def __init__(self, model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
        import k1lib

        super().__init__(model, data)
        xt, yt, xv, yv = data
        l = self.l = k1lib.Learner()
        l.model, l.opt = model, self.opt
        train = list(zip(xt.split(BS), yt.split(BS), strict=True))
        l.data = [train, list(zip(xv.split(BS), yv.split(BS), strict=True))]
        l.lossF = mse

    def epoch(self) -> int:
        counter = []
        with contextlib.redirect_stdout(io.StringIO()):
            self.l.cbs.add(k1libCounter(counter))
            self.l.run(1)
            self.l.cbs.remove("_count")
        return len(counter)


def k1libCounter(out: list[int]) -> object:
    import k1lib

    cb = k1lib.Callback()
    cb.name = "_count"
    return cb.withCheckpoint("endBatch", lambda _: out.append(1))


def available() -> list[type[Variant]]:
    variants: list[type[Variant]] = [Bare, Ours]
    try:
        import k1widgets.widgets.progress  # noqa: F401

        CountingComm.install()
        variants.extend([OursWithView, OursWithDashboard])
    except ImportError as e:
        print(f"(no view rows: {e})")
    try:
        import k1lib  # noqa: F401

        variants.append(K1lib)
    except ImportError:
        print("(k1lib not installed here: its row is skipped; ./run bench installs it in bench/.venv)")
    return variants


def interleave(vs: list[Variant], rounds: int, batches: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Two warm-up epochs each, then ``rounds`` rounds of one epoch per variant in a rotating order.

    Returns the CPU and wall seconds of each variant's epochs, by name, in round order (so ratios can be
    taken per round).
    """
    for v in vs:
        for _ in range(2):
            v.epoch()
    cpu: dict[str, list[float]] = {v.name: [] for v in vs}
    wall: dict[str, list[float]] = {v.name: [] for v in vs}
    for r in range(rounds):
        order = vs[r % len(vs) :] + vs[: r % len(vs)]
        for v in order:
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            n = v.epoch()
            c1, t1 = time.process_time(), time.perf_counter()
            if n != batches:
                print(f"  warning: {v.name} ran {n} batches, not {batches}")
            cpu[v.name].append(c1 - c0)
            wall[v.name].append(t1 - t0)
    return cpu, wall


def measure(hidden: int, rounds: int, variants: list[type[Variant]]) -> None:
    torch.manual_seed(0)
    base = Network(hidden)
    data = makeData()
    vs = [cls(copy.deepcopy(base), data) for cls in variants]
    cpu, wall = interleave(vs, rounds, 157)
    bareCpu = statistics.median(cpu[Bare.name])
    params = sum(p.numel() for p in base.parameters())
    print(f"\nREADME network, hidden {hidden} ({params:,} parameters), 157 batches/epoch, {rounds} rounds")
    print("  x bare = median over rounds of (variant / bare loop of the same round), CPU and wall time")
    print(f"  {'variant':<48} {'CPU ms/epoch':>12} {'x bare (CPU)':>12} {'x bare (wall)':>13} {'+us/batch':>10}")
    for v in vs:
        c = statistics.median(cpu[v.name])
        rc = statistics.median(a / b for a, b in zip(cpu[v.name], cpu[Bare.name], strict=True))
        rw = statistics.median(a / b for a, b in zip(wall[v.name], wall[Bare.name], strict=True))
        extra = (c - bareCpu) / 157 * 1e6
        print(f"  {v.name:<48} {c * 1e3:12.1f} {rc:12.3f} {rw:13.3f} {extra:10.1f}")
    dash = next((v for v in vs if isinstance(v, OursWithDashboard)), None)
    plain = next((v for v in vs if type(v) is Ours), None)
    if dash is not None and plain is not None:
        rc = statistics.median(a / b for a, b in zip(cpu[dash.name], cpu[plain.name], strict=True))
        rw = statistics.median(a / b for a, b in zip(wall[dash.name], wall[plain.name], strict=True))
        rates = dash.rates[2:]  # the two warm-up epochs are not rounds
        print(f"  dashboard vs the same learner without any view: {rc:.3f}x CPU, {rw:.3f}x wall (median per round)")
        print(
            f"  dashboard comm messages: median {statistics.median(rates):.0f}/s, max {max(rates):.0f}/s "
            f"over {len(rates)} one-epoch runs"
        )


def main(argv: list[str]) -> None:
    variants = available()
    quick = "--quick" in argv
    print(f"torch {torch.__version__}, 1 thread, k1widgets {k1widgets.__version__}, CPU time medians")
    measure(10, 5 if quick else 21, variants)
    measure(256, 3 if quick else 9, variants)


if __name__ == "__main__":
    main(sys.argv[1:])
