"""The training hot path makes no host-device sync per batch."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from conftest import makeLearner
from torch.overrides import TorchFunctionMode

SYNCS = {"item", "tolist", "cpu", "numpy", "__float__", "__bool__", "__int__"}


class CountSyncs(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in SYNCS:
            self.calls.append(name)
        return func(*args, **(kwargs or {}))


def test_counter_sees_syncs():
    with CountSyncs() as c:
        t = torch.ones(3)
        t.sum().item()
        t.tolist()
        float(t[0])
        t.numpy()
    assert sorted(c.calls) == ["__float__", "item", "numpy", "tolist"]


def sgdLearner(n=64 * 200, hidden=10):
    # torch's Adam reads its step counter with .item() on the CPU; SGD reads nothing, so every
    # sync counted below is ours
    l = makeLearner(n=n, hidden=hidden)  # 160 training + 40 validation batches per epoch by default
    l.opt = torch.optim.SGD(l.model.parameters(), lr=1e-3)
    return l


def test_default_callbacks_make_no_sync_per_batch():
    l = sgdLearner()
    l.cbs.ProgressBar.stream = io.StringIO()
    l.run(1)  # warm up
    with CountSyncs() as c:
        l.run(2)
    batches = 2 * 200
    # Loss copies its losses every 20 batches, CancelOnExplosion checks every 20 training batches:
    # about one read per 10 batches in all, none per batch.
    assert 0 < len(c.calls) <= batches / 10, (len(c.calls), sorted(set(c.calls)))
    assert len(l.Loss.train) == 3 * 160


def test_epoch_mode_guard_adds_no_sync():
    l = sgdLearner()
    l.cbs.ProgressBar.stream = io.StringIO()
    l.run(1)
    with CountSyncs() as base:
        l.run(1)
    l.cbs.withCancelOnLowLoss(-1.0, epochMode=True)
    with CountSyncs() as guarded:
        l.run(1)
    assert len(guarded.calls) == len(base.calls)


# hidden 10: small outputs and parameters, staged and reduced together; hidden 300: 64x300 outputs are
# reduced in their hooks, 300x300 weights one by one with a subset step
@pytest.mark.parametrize(("hidden", "batches", "epochs"), [(10, 160, 2), (300, 40, 1)])
def test_hooks_on_every_module_make_no_sync_per_batch(hidden, batches, epochs):
    # css "*" (the default) hooks every module and parameter; record every batch, the worst case
    l = sgdLearner(n=64 * batches * 5 // 4, hidden=hidden)  # `batches` training batches per epoch
    l.cbs.ProgressBar.stream = io.StringIO()
    l.HookModule.every = l.HookParam.every = 1
    l.run(1)  # warm up
    assert len(l.HookModule) == 29 and len(l.HookParam) == 22
    with CountSyncs() as hooked:
        l.run(epochs)
    l.cbs.suspend(["HookModule", "HookParam"])
    with CountSyncs() as bare:
        l.run(epochs)
    l.cbs.restore()
    sampled = epochs * batches
    assert l.HookModule.samples == l.HookParam.samples == sampled + batches
    assert np.isfinite(l.HookParam.values("update")).all()
    extra = len(hooked.calls) - len(bare.calls)
    # each hook callback copies its device buffer to the host once per 20 samples (cpu + numpy): 4 per 20
    assert 0 < extra <= sampled / 5, (extra, sorted(set(hooked.calls)))


def test_hooks_at_the_default_cadence_add_almost_nothing():
    l = sgdLearner()
    l.cbs.ProgressBar.stream = io.StringIO()
    l.run(1)
    with CountSyncs() as c:
        l.run(2)
    assert len(c.calls) <= 2 * 200 / 10
