"""Live hooks: what HookModule + HookParam cost, against a bare PyTorch loop and k1lib 1.8.1.

One process, one torch thread, interleaved rounds with a rotating order; each figure is the median
over rounds of (variant's CPU time / the bare loop's in the same round). Models (see
the project's performance notes): the seed README's network at hidden 10 and 256 (157 batches of 64:
126 train + 31 valid) and a small CNN (3 conv blocks, 40 training batches of 128 images 3×32×32).

Variants: the bare loop; the Learner with its default callbacks but without the hooks (for scale);
the Learner with the default callbacks and ``l.css = "*"`` (every module and parameter hooked) at the
default cadence (``settings.hooks.every``); the same recording every batch; k1lib 1.8.1's default
Learner (``css = "*"``, hooks every 3rd batch with ``.item()`` syncs); and the reference technique
that the issue's targets came from (`_Reference`: four statistics and nothing else, at the default
cadence and every batch), measured in the same run. Then the kernel-side cost of one
live update of a HookModule view of 50 modules over 10,000 samples (time and bytes sent).

Run: ``./run bench bench/hooks.py`` (bench/.venv has k1lib 1.8.1), or ``python bench/hooks.py [--quick]``.
"""

from __future__ import annotations

import copy
import io
import os
import statistics
import sys
import time
from typing import Any

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from overhead import Bare, K1lib, Ours, Variant, interleave, makeData, mse

import k1widgets
from k1widgets.data import Data, DataLoader
from k1widgets.settings import settings

torch.set_num_threads(1)


class NoHooks(Ours):
    name = "k1widgets, default callbacks without the hooks"

    def attach(self) -> None:
        self.l.cbs.remove("HookModule", "HookParam")


class Hooks(Ours):
    name = "k1widgets, default callbacks, css='*', default cadence"

    def attach(self) -> None:
        self.l.css = "*"


class HooksEvery(Ours):
    name = "k1widgets, default callbacks, css='*', every batch"

    def attach(self) -> None:
        self.l.css = "*"
        self.l.HookModule.every = self.l.HookParam.every = 1


# ---------------------------------------------------------------------- the reference technique
class _Reference:
    """The reference technique of the performance notes, around a bare loop: the anchor of the issue's targets.

    On a sampled training batch: a forward hook per module (container outputs de-duplicated by id) and a
    tensor hook on each output; sum, dot and aminmax of outputs, output gradients and parameters into a
    preallocated buffer, copied to the host every 20 samples; hooks registered for sampled batches only.
    It records mean, std, min and max and nothing else: no histogram, near-zero fraction, gradient
    norm or update ratio, no history, no views.
    """

    def __init__(self, model: nn.Module, every: int) -> None:
        self.model, self.every = model, every
        self.mods = list(model.modules())
        self.buf = torch.zeros(20, len(self.mods), 2, 4)
        self.pbuf = torch.zeros(20, len(list(model.parameters())), 4)
        self.row = self.i = 0
        self.handles: list[Any] = []
        self.seen: set[int] = set()

    @staticmethod
    def stats(t: torch.Tensor, out: torch.Tensor) -> None:
        f = t.reshape(-1)
        mn, mx = torch.aminmax(f)
        torch.stack((f.sum(), torch.dot(f, f), mn, mx), out=out)

    def forward(self, i: int, out: torch.Tensor) -> None:
        if id(out) in self.seen:
            return
        self.seen.add(id(out))
        self.stats(out.detach(), self.buf[self.row, i, 0])
        if out.requires_grad:
            out.register_hook(lambda g, i=i: self.stats(g, self.buf[self.row, i, 1]))

    def before(self) -> bool:
        """At the start of a training batch: registers the hooks if it is sampled."""
        sampled = self.i % self.every == 0
        self.i += 1
        if sampled:
            self.seen = set()
            for i, m in enumerate(self.mods):
                self.handles.append(m.register_forward_hook(lambda m, inp, out, i=i: self.forward(i, out)))
        return sampled

    def after(self) -> None:
        """After the step of a sampled batch: parameter statistics, then the hooks go."""
        with torch.no_grad():
            for j, p in enumerate(self.model.parameters()):
                self.stats(p, self.pbuf[self.row, j])
        for h in self.handles:
            h.remove()
        self.handles = []
        self.row += 1
        if self.row == 20:
            self.buf.cpu().numpy().copy()
            self.pbuf.cpu().numpy().copy()
            self.row = 0


def reference(base: type[Variant], every: int, lossF: Any) -> type[Variant]:
    """``base``'s bare loop (README network or CNN) with `_Reference` hooks every ``every``-th training batch."""

    class Reference(base):  # type: ignore[valid-type, misc]
        name = f"reference technique (4 stats only), {'every batch' if every == 1 else f'every {every}th'}"

        def __init__(self, model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
            super().__init__(model, data)
            self.ref = _Reference(model, every)

        def epoch(self) -> int:
            model, opt, ref = self.model, self.opt, self.ref
            model.train()
            for xb, yb in self.train:
                sampled = ref.before()
                loss = lossF(model(xb), yb)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                loss.item()
                if sampled:
                    ref.after()
            valid = getattr(self, "valid", [])
            if valid:
                model.eval()
                with torch.no_grad():
                    for xb, yb in valid:
                        lossF(model(xb), yb).item()
                model.train()
            return len(self.train) + len(valid)

    return Reference


# ---------------------------------------------------------------------- the small CNN
def makeCnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def cnnData() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40 * 128, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (40 * 128,), generator=g)
    return x, y, x[:0], y[:0]


ce = nn.CrossEntropyLoss()


class CnnBare(Variant):
    name = Bare.name

    def __init__(self, model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
        super().__init__(model, data)
        x, y = data[0], data[1]
        self.train = list(zip(x.split(128), y.split(128), strict=True))

    def epoch(self) -> int:
        model, opt = self.model, self.opt
        model.train()
        for xb, yb in self.train:
            loss = ce(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            loss.item()
        return len(self.train)


def cnnOurs(base: type[Ours]) -> type[Variant]:
    class CnnOurs(base):  # type: ignore[valid-type, misc]
        name = base.name

        def __init__(self, model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
            Variant.__init__(self, model, data)
            x, y = data[0], data[1]
            l = self.l = k1widgets.Learner()
            l.model, l.opt, l.lossF = model, self.opt, ce
            l.data = Data(DataLoader((x, y), 128), [])
            l.cbs.ProgressBar.stream = io.StringIO()
            l.cbs.remove("Autosave")  # as in overhead.py: it costs once per run (bench/persist.py measures it)
            self.attach()

        def epoch(self) -> int:
            n = len(self.l.Loss.train)
            self.l.run(1)
            self.l.cbs.ProgressBar.stream.seek(0)
            self.l.cbs.ProgressBar.stream.truncate()
            return len(self.l.Loss.train) - n

    return CnnOurs


def cnnK1lib() -> type[Variant]:
    class CnnK1lib(K1lib):
        def __init__(self, model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
            import k1lib

            Variant.__init__(self, model, data)
            l = self.l = k1lib.Learner()
            l.model, l.opt = model, self.opt
            x, y = data[0], data[1]
            l.data = [list(zip(x.split(128), y.split(128), strict=True)), []]
            l.lossF = ce

    return CnnK1lib


# ---------------------------------------------------------------------- measuring
def measure(title: str, base: nn.Module, data: Any, variants: list[type[Variant]], rounds: int, batches: int) -> None:
    vs = [cls(copy.deepcopy(base), data) for cls in variants]
    cpu, wall = interleave(vs, rounds, batches)
    bare = vs[0].name
    print(f"\n{title}, {batches} batches/epoch, {rounds} rounds (x bare: median of per-round ratios)")
    print(f"  {'variant':<56} {'CPU ms/epoch':>12} {'x bare (CPU)':>12} {'x bare (wall)':>13} {'samples/epoch':>13}")
    for v in vs:
        c = statistics.median(cpu[v.name])
        rc = statistics.median(a / b for a, b in zip(cpu[v.name], cpu[bare], strict=True))
        rw = statistics.median(a / b for a, b in zip(wall[v.name], wall[bare], strict=True))
        samples = ""
        l = getattr(v, "l", None)
        if isinstance(l, k1widgets.Learner) and "HookParam" in l.cbs:
            samples = f"{l.HookParam.samples / (2 + rounds):.1f}"
        print(f"  {v.name:<56} {c * 1e3:12.1f} {rc:12.3f} {rw:13.3f} {samples:>13}")


def viewUpdate(modules: int = 50, samples: int = 10_000, updates: int = 30) -> None:
    """Kernel-side cost of one live update of a HookModule view: decimate, set the traits, serialise."""
    import ipywidgets

    from k1widgets.callbacks import HookModule
    from k1widgets.callbacks.hooks.history import History
    from k1widgets.callbacks.hooks.module import FIELDS
    from k1widgets.widgets.hooks import HookView

    sent = [0]
    original = ipywidgets.Widget._send

    def counting(self: Any, msg: Any, buffers: Any = None) -> None:  # bench-only instrumentation
        sent[0] += len(str(msg)) + sum(memoryview(b).nbytes for b in (buffers or []))
        original(self, msg, buffers)

    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(modules)])
    cb = HookModule()
    cb.paths = [str(i) for i in range(modules)]
    cb.targets = list(model)
    cb._index = {id(m): i for i, m in enumerate(cb.targets)}
    cb._bins = settings.hooks.bins
    cb.history = History(modules, FIELDS, cb._bins, capacity=16384)
    rng = np.random.default_rng(0)

    def grow(k: int) -> None:
        start = cb.history.samples
        x = np.arange(start, start + k, dtype=np.float64)
        v = rng.standard_normal((k, modules, len(FIELDS))).astype(np.float32)
        hist = np.full((k, modules, cb._bins), 1 / cb._bins, dtype=np.float16)
        cb.history.append(x, v, hist)

    grow(samples)
    for label, obj in (("HookModule view (9 panels + heatmap)", cb), ("cb.plot() view (8 panels)", cb.plot())):
        view = HookView(obj)
        times, sizes = [], []
        try:
            for i in range(2 * updates):  # alternate: timed updates, then updates whose bytes are counted
                grow(20)
                if i % 2:
                    sent[0] = 0
                    ipywidgets.Widget._send = counting  # type: ignore[method-assign]
                    try:
                        view.refresh()
                    finally:
                        ipywidgets.Widget._send = original  # type: ignore[method-assign]
                    sizes.append(sent[0])
                else:
                    t0 = time.perf_counter()
                    view.refresh()
                    times.append(time.perf_counter() - t0)
        finally:
            view.close()
        print(
            f"  {label}: {modules} modules x {samples:,} samples: {statistics.median(times) * 1e3:.2f} ms "
            f"(max {max(times) * 1e3:.2f}), {statistics.median(sizes) / 1024:.1f} KB per update "
            f"(max {max(sizes) / 1024:.1f} KB)"
        )


def available(extra: list[type[Variant]]) -> list[type[Variant]]:
    try:
        import k1lib  # noqa: F401

        return extra
    except ImportError:
        print("(k1lib not installed here: its rows are skipped; ./run bench installs it in bench/.venv)")
        return []


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    print(f"torch {torch.__version__}, 1 thread, k1widgets {k1widgets.__version__}, CPU time medians")
    print(f"settings.hooks.every = {settings.hooks.every} (default cadence), k1lib 1.8.1 records every 3rd batch")
    from readme_net import Network

    every = int(settings.hooks.every)
    ours = [Bare, NoHooks, Hooks, HooksEvery, reference(Bare, every, mse), reference(Bare, 1, mse)]
    for hidden, rounds in ((10, 5 if quick else 15), (256, 3 if quick else 7)):
        torch.manual_seed(0)
        measure(
            f"README network, hidden {hidden}",
            Network(hidden),
            makeData(),
            ours + available([K1lib]),
            rounds,
            157,
        )
    torch.manual_seed(0)
    cnn = [
        CnnBare,
        *(cnnOurs(v) for v in (NoHooks, Hooks, HooksEvery)),
        reference(CnnBare, every, ce),
        reference(CnnBare, 1, ce),
    ]
    measure(
        "small CNN (3 conv blocks), 128 images 3x32x32 per batch",
        makeCnn(),
        cnnData(),
        cnn + available([cnnK1lib()]),
        3 if quick else 5,
        40,
    )
    print("\nOne live update of a hook view (kernel side: decimation, trait sets, serialisation):")
    viewUpdate()


if __name__ == "__main__":
    main(sys.argv[1:])
