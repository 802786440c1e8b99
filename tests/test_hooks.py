"""HookModule and HookParam: statistics against a naive reference, selection, memory bounds, hooks' life cycle."""

from __future__ import annotations

import copy
import io
import math
import warnings

import numpy as np
import pytest
import torch
from conftest import Network, makeLearner, mse
from torch import nn
from torch.nn.modules import module as torch_module

import k1widgets
import k1widgets as k1lib
from k1widgets.callbacks import HookParam
from k1widgets.callbacks.hooks import History, HookPlot, UnknownFieldError
from k1widgets.callbacks.hooks.history import capacityFor
from k1widgets.callbacks.hooks.param import UPDATE_EXACT_BYTES, UPDATE_EXACT_NUMEL, _exactOnes
from k1widgets.callbacks.hooks.stats import SUBSET, headStats, rawStats, subset
from k1widgets.settings import settings


def quiet(l):
    l.cbs.ProgressBar.stream = io.StringIO()
    return l


def oneBatchLearner(model, xb, yb, lr=0.1):
    """A learner whose data is exactly one training batch (and no validation), trained with SGD."""
    l = k1lib.Learner()
    l.model = model
    l.data = [[(xb, yb)], []]
    l.opt = torch.optim.SGD(model.parameters(), lr=lr)
    l.lossF = mse
    l.HookModule.every = l.HookParam.every = 1
    return quiet(l)


def reference(model, xb, yb, lr=0.1):
    """Each module's output and output gradient, each parameter's gradient, before/after one SGD step."""
    outs, grads = {}, {}
    handles = []
    for name, m in model.named_modules():

        def hook(mod, inp, out, name=name):
            if name not in outs:
                outs[name] = out.detach().clone()
                if out.requires_grad:
                    out.register_hook(lambda g, name=name: grads.setdefault(name, g.detach().clone()))

        handles.append(m.register_forward_hook(hook))
    loss = mse(model(xb), yb)
    loss.backward()
    for h in handles:
        h.remove()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    pgrads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    after = {n: p.detach().clone() for n, p in model.named_parameters()}
    return outs, grads, before, pgrads, after


def naive(t):
    t = t.double().reshape(-1)
    std = t.std().item() if t.numel() > 1 else math.nan
    return t.mean().item(), std, t.min().item(), t.max().item()


# 300: outputs above HOT_NUMEL are reduced in their hooks, weights above FLAT_NUMEL one by one;
# hot=0 sends every output of the small network through the in-hook path too
@pytest.mark.parametrize(("hidden", "hot"), [(10, None), (300, None), (10, 0)])
def test_statistics_equal_a_naive_reference_on_a_fixed_batch(hidden, hot):
    torch.manual_seed(3)
    model = Network(hidden)
    ref = copy.deepcopy(model)
    xb, yb = torch.randn(64, 1), torch.randn(64)
    l = oneBatchLearner(model, xb, yb)
    if hot is not None:
        l.HookModule.hotNumel = hot
    l.run(1)
    outs, grads, before, pgrads, after = reference(ref, xb, yb)
    hm = l.HookModule
    assert hm.samples == 1 and len(hm) == 29
    for j, path in enumerate(hm.paths):
        name = "" if path == "(root)" else path
        for direction, store in (("forward", outs), ("backward", grads)):
            got = [hm.values(f"{direction}.{s}")[0, j] for s in ("mean", "std", "min", "max")]
            np.testing.assert_allclose(got, naive(store[name]), rtol=2e-4, atol=1e-6, err_msg=f"{direction} {path}")
        t = outs[name]
        rms = t.pow(2).mean().sqrt()
        zero = (t.abs() <= settings.hooks.zeroTol * rms).double().mean().item()
        subset = t.numel() > SUBSET  # near-zero counts and histograms from an even subset, scaled
        assert hm.values("zero")[0, j] == pytest.approx(zero, abs=0.03 if subset else 1e-6)
        # the histogram: fractions over the output's [min, max], as numpy bins them
        _, fr, lo, hi = hm.histogram(j)
        v = t.double().reshape(-1).numpy()
        counts, _ = np.histogram(v, bins=settings.hooks.bins, range=(v.min(), v.max()))
        assert lo[0] == pytest.approx(v.min(), rel=1e-5) and hi[0] == pytest.approx(v.max(), rel=1e-5)
        assert fr[0].sum() == pytest.approx(1.0, abs=2e-3)
        if subset:
            assert np.abs(fr[0] - counts / len(v)).sum() <= 0.1
        else:
            assert np.abs(fr[0] * len(v) - counts).sum() <= 2  # float32 vs float64 edges may move a value
    hp = l.HookParam
    assert hp.paths == [n for n, _ in ref.named_parameters()]
    for j, name in enumerate(hp.paths):
        got = [hp.values(s)[0, j] for s in ("mean", "std", "min", "max")]
        np.testing.assert_allclose(got, naive(after[name]), rtol=2e-4, atol=1e-6, err_msg=name)
        assert hp.values("grad")[0, j] == pytest.approx(pgrads[name].norm().item(), rel=1e-4)
        ratio = (after[name] - before[name]).norm().item() / after[name].norm().item()
        assert hp.values("update")[0, j] == pytest.approx(ratio, rel=1e-3)  # exact up to UPDATE_EXACT_NUMEL values


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_update_ratio_of_a_very_large_parameter_is_estimated_from_a_subset(seed):
    # above UPDATE_EXACT_NUMEL values the step is measured on an even subset and scaled to the whole
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1100, 1000), nn.Tanh(), nn.Linear(1000, 1))
    assert model[0].weight.numel() > UPDATE_EXACT_NUMEL
    xb, yb = torch.randn(32, 1100), torch.randn(32, 1)
    l = oneBatchLearner(model, xb, yb)
    l.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = model[0].weight.detach().clone()
    l.run(1)
    after = model[0].weight.detach()
    ratio = (after - before).norm().item() / after.norm().item()
    assert l.HookParam.paths[0] == "0.weight"
    assert l.HookParam.values("update")[0, 0] == pytest.approx(ratio, rel=0.05)


def test_whole_copies_for_the_update_ratio_stay_within_their_budget():
    # the smallest parameters are copied whole until UPDATE_EXACT_BYTES; the rest use subsets
    sizes = [UPDATE_EXACT_NUMEL * 2, *([UPDATE_EXACT_NUMEL] * 17), 20_000]
    params = [torch.empty(n, device="meta") for n in sizes]
    exact = _exactOnes(params)
    assert exact[0] is False and exact[-1] is True  # too large alone / the smallest, first
    fitting = (UPDATE_EXACT_BYTES - 4 * 20_000) // (4 * UPDATE_EXACT_NUMEL)
    assert sum(exact[1:-1]) == fitting < 17


def test_one_element_parameters_give_nan_std_without_warnings():
    l = quiet(makeLearner())
    l.HookParam.every = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l.run(1)
        std = l.HookParam.values("std")
    assert l.HookParam.paths[-1] == "bulk.5.bias"
    assert np.isnan(std[:, -1]).all() and np.isfinite(std[:, 0]).all()


def test_sampling_cadence_and_x_positions():
    l = quiet(makeLearner(n=64 * 50))  # 40 training batches per epoch
    l.HookModule.every = 7
    l.run(2)
    assert l.HookModule.x.tolist() == list(range(0, 80, 7))
    assert settings.hooks.every == 15 and l.HookParam.every is None
    assert l.HookParam.x.tolist() == list(range(0, 80, 15))
    with settings.context(hooks={"every": 4}):
        l.run(1)
    assert l.HookParam.x.tolist()[-10:] == list(range(80, 120, 4))


def test_selection_follows_css_at_every_run_start():
    l = quiet(makeLearner())
    l.HookModule.every = l.HookParam.every = 1
    l.css = "SkipBlock #0: HookParam\nSkipBlock: HookModule"  # the seed README's selection
    l.run(1)
    assert l.HookModule.paths == ["bulk.2", "bulk.3", "bulk.4"]
    assert l.HookParam.paths == [f"bulk.{i}.seq.0.{p}" for i in (2, 3, 4) for p in ("weight", "bias")]
    n = l.HookModule.samples
    l.run(1)  # same selection: the history continues
    assert l.HookModule.samples == 2 * n
    l.css = "Linear: HookModule"
    l.run(1)  # a new selection: a new history
    assert l.HookModule.paths == [p for p, m in l.model.named_modules() if isinstance(m, nn.Linear)]
    assert l.HookModule.samples == n and l.HookParam.paths == []
    assert l.HookModule.values("mean").shape == (n, 11)


def test_shared_submodules_are_hooked_once():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(nn.Linear(1, 4), shared, nn.ReLU(), shared, nn.Linear(4, 1))
    l = quiet(k1lib.Learner())
    l.model = model
    x = torch.randn(256, 1)
    l.data = k1lib.data.Data.fromDataset(torch.utils.data.TensorDataset(x, x[:, 0] * 2), batchSize=32)
    l.opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    l.lossF = mse
    l.HookModule.every = l.HookParam.every = 1
    l.run(1)
    hm, hp = l.HookModule, l.HookParam
    assert hm.paths == ["(root)", "0", "1", "2", "4"]  # "3" is the same module as "1"
    assert hp.paths == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]
    assert np.isfinite(hm.values("forward.mean")).all() and np.isfinite(hm.values("backward.mean")).all()


def test_in_place_ops_after_a_module_do_not_change_its_statistics():
    model = nn.Sequential(nn.Linear(1, 8), nn.ReLU(inplace=True), nn.Linear(8, 1))
    ref = copy.deepcopy(model)
    torch.manual_seed(0)
    xb, yb = torch.randn(32, 1), torch.randn(32)
    l = oneBatchLearner(model, xb, yb)
    l.data = [[(xb, yb)] * 3, []]
    l.run(1)
    pre = ref[0](xb).detach()
    means = l.HookModule.values("forward.min")[:, l.HookModule.paths.index("0")]
    # the Linear's output has negative values; ReLU(inplace=True) zeroes them right after its hook
    assert (means[0] < 0) and means[0] == pytest.approx(pre.min().item(), rel=1e-5)


def test_views_index_slice_and_select_lines():
    l = quiet(makeLearner())
    l.css = "SkipBlock #0: HookParam\nSkipBlock: HookModule"
    l.HookParam.every = 1
    l.run(2)
    hp = l.HookParam
    sub = hp[::2]
    assert isinstance(sub, HookParam) and sub.paths == hp.paths[::2]
    np.testing.assert_array_equal(sub.values("mean"), hp.values("mean")[:, ::2])
    one = hp[1]
    assert one.path == "bulk.2.seq.0.bias" and one.obj is l.model.bulk[2].seq[0].bias
    np.testing.assert_array_equal(one.mean, hp.values("mean")[:, 1])
    assert len(hp[[0, 5]]) == 2
    # by path, as the repr lists them, in the callback and in its views
    assert hp["bulk.2.seq.0.bias"].obj is one.obj and sub["bulk.3.seq.0.weight"].path == "bulk.3.seq.0.weight"
    np.testing.assert_array_equal(hp["bulk.2.seq.0.bias"].std, one.std)
    with pytest.raises(KeyError, match=r"no param 'bulk\.2\.seq\.0\.bais'\. Did you mean 'bulk\.2\.seq\.0\.bias'"):
        hp["bulk.2.seq.0.bais"]
    with pytest.raises(KeyError, match=r"no param 'bulk\.2\.seq\.0\.bias'.*a path of: bulk\.2\.seq\.0\.weight, "):
        sub["bulk.2.seq.0.bias"]  # in the callback, not in this view of every other parameter
    picked = l.HookModule.css("#3")
    assert picked.paths == ["bulk.3"]
    with pytest.raises(IndexError, match="has 6 params"):
        hp[6]
    with pytest.raises(UnknownFieldError, match=r"Fields: mean, std, min, max, grad, update\. Did you mean 'mean'\?"):
        hp.plot("meen")
    with pytest.raises(UnknownFieldError, match="Did you mean 'zero'"):
        l.HookModule.plot("zer")
    # gradients have no near-zero fraction: asking for one says so, in plot and values alike
    for ask in (l.HookModule.plot, l.HookModule.values, lambda f: l.HookModule[0][f]):
        with pytest.raises(UnknownFieldError, match=r"activations only.*'backward\.zero' is not recorded; 'zero'"):
            ask("backward.zero")
    assert "backward.zero" not in l.HookModule.allFields and "backward.std" in l.HookModule.allFields
    for bad in (0, -3, 2.5, "3", True):  # set on the object, as the README does, and checked there
        with pytest.raises(ValueError, match=rf"HookModule's `every` must be a whole number >= 1 or None.*got {bad!r}"):
            l.HookModule.every = bad
    assert l.HookModule.every is None  # unchanged by the refused values
    n = len(l.HookModule)
    with pytest.raises(IndexError, match=rf"module index \(0\.\.{n - 1}\), got {n}"):
        l.HookModule.histogram(n)
    assert l.HookModule.histogram(-1)[1].shape[1] == settings.hooks.bins


def test_plots_slice_by_training_batch():
    l = quiet(makeLearner(n=64 * 50))
    l.HookParam.every = 3
    l.run(2)  # 80 training batches: samples at 0, 3, ..., 78
    p = l.HookParam.plot()
    assert isinstance(p, HookPlot) and [q.title for q in p.panels] == ["Means", "Stds", "Mins", "Maxs"]
    line = p[50:].data()[0][0]
    assert line.x[0] == 51 and line.x[-1] == 78
    assert p[50:][:60].data()[0][0].x.tolist() == [51, 54, 57]
    assert len(p[0.5:].data()[0][0]) == 13
    assert isinstance(p[::2], HookPlot) and len(p[::2].data()[0][0]) == 14
    assert "<svg" in p[50:].svg()
    m = l.HookModule.plot()
    titles = [q.title for q in m.panels]
    assert titles[:4] == ["Forward mean", "Backward mean", "Forward std", "Backward std"] and len(titles) == 8


@pytest.mark.parametrize("hot", [None, 0])  # 0: every output takes the in-hook path of large ones
def test_custom_hooks_run_on_sampled_batches(hot):
    l = quiet(makeLearner())
    l.css = "SkipBlock: HookModule"
    hm = l.HookModule
    if hot is not None:
        hm.hotNumel = hot
    hm.every = 4
    hm.withForwardHook(lambda data, m, inp, out: data.max.append(float(out.detach().max())))
    hm.withBackwardHook(lambda data, m, inp, grad: data.norm.append(float(grad.norm())))
    l.run(1)  # 8 training batches: samples at 0 and 4
    assert len(hm.data["forward.0"].max) == 2 and len(hm.data["backward.2"].norm) == 2
    assert hm.data["forward.1"].max[0] == pytest.approx(hm.values("max")[0, 1], rel=1e-5)
    hm.clearHooks()
    l.run(1)
    assert len(hm.data["forward.0"].max) == 2


def test_suspend_removes_the_hooks_and_restore_brings_them_back():
    l = quiet(makeLearner(n=64 * 30))  # 24 training batches
    l.HookModule.every = 1
    seen = []

    class Toggle(k1lib.Callback):
        order = 11  # right after the hooks registered theirs at startBatch

        def startPass(self):
            b = self.learner.batch
            if b == 5:
                self.cbs.suspend(["HookModule"])
            if b == 15:
                self.cbs.restore()
            seen.append(len(torch_module._global_forward_hooks))

    l.cbs.append(Toggle())
    l.run(1)
    # batch 15's startBatch came before the restore: sampling resumes at batch 16
    assert l.HookModule.x.tolist() == [0, 1, 2, 3, 4, *range(16, 24)]
    assert seen[:5] == [1] * 5 and seen[5:16] == [0] * 11 and seen[16:24] == [1] * 8
    assert len(torch_module._global_forward_hooks) == 0  # nothing left after the run


def test_inference_and_recording_leave_the_hooks_alone():
    l = quiet(makeLearner())
    l.HookModule.every = l.HookParam.every = 1
    l.run(1)
    n = l.HookModule.samples
    l(torch.randn(5, 1))
    l.record(1, 2)
    assert l.HookModule.samples == n and l.HookParam.samples == n


def test_reprs():
    l = quiet(makeLearner())
    l.css = "SkipBlock #0: HookParam\nSkipBlock: HookModule"
    l.run(1)
    text = repr(l.HookParam)
    assert text.startswith(
        "Callback `HookParam`: 6 params, 1 means and stds each:\n"
        "  0. bulk.2.seq.0.weight\n  1. bulk.2.seq.0.bias\n  2. bulk.3.seq.0.weight\n"
    )
    assert "\n\nUse...\n- cb.plot(): to quickly look at everything\n- cb[i]: to view a single param\n" in text
    assert text.endswith("- cb.detach(): to remove itself from its parent Callbacks")
    text = repr(l.HookModule)
    assert text.startswith("Callback `HookModule`: 3 modules, 1 forward and backward samples each")
    assert "  1. bulk.3 (SkipBlock)" in text and "- cb.plot(): to quickly look at everything" in text


def test_rawstats_groups_mixed_shapes_and_dtypes():
    # 1,300,000 values: reduced chunk by chunk (the last chunk shorter)
    big = torch.randn(1300, 1000) * 3 + 1
    ts = [torch.randn(3, 4), torch.randn(12), torch.randn(3, 4).double(), torch.randn(70000), torch.ones(1), big]
    rows, order = rawStats(ts, bins=8)
    assert sorted(order) == list(range(6))
    for r, i in zip(rows, order, strict=True):
        t = ts[i].double().reshape(-1)
        assert r[0].item() == pytest.approx(t.sum().item(), rel=1e-4, abs=1e-2)
        assert r[1].item() == pytest.approx(t.norm().item(), rel=1e-5)
        assert r[2].item() == pytest.approx(t.min().item(), rel=1e-6)
        assert r[3].item() == pytest.approx(t.max().item(), rel=1e-6)
        assert r[7:].sum().item() == pytest.approx(t.numel(), rel=1e-4)  # every value in some bin
    withNan = big.clone()
    withNan[700, 3] = math.nan
    assert torch.isnan(rawStats([withNan])[0][0, :4]).all()  # a NaN shows, whichever chunk holds it


def test_samples_reduced_together_equal_samples_reduced_one_by_one():
    # small outputs and parameters are staged and reduced many samples at once; stageBytes = 0 reduces
    # each sample by itself: the two must record the same numbers
    runs = []
    for stageBytes in (None, 0):
        l = quiet(makeLearner(n=64 * 30, seed=5))  # 24 training batches
        l.opt = torch.optim.SGD(l.model.parameters(), lr=1e-2)
        hm, hp = l.HookModule, l.HookParam
        hm.every = hp.every = 1
        if stageBytes is not None:
            hm.stageBytes = hp.stageBytes = stageBytes
        l.run(2)
        assert hm.samples == hp.samples == 48
        runs.append({f: cb.values(f) for cb in (hm, hp) for f in cb.fields} | {"hist": hm.histogram(3)[1]})
    for f, v in runs[0].items():
        np.testing.assert_allclose(v, runs[1][f], rtol=1e-5, atol=1e-7, err_msg=f)


def test_a_frozen_parameter_has_no_gradient_norm_and_no_step():
    l = quiet(makeLearner())
    l.model.bulk[0].weight.requires_grad_(False)  # no .grad: staged as NaN, so its gradient norm is NaN
    l.HookParam.every = 1
    l.run(1)
    hp = l.HookParam
    frozen = hp.paths.index("bulk.0.weight")
    grad, update = hp.values("grad"), hp.values("update")
    assert np.isnan(grad[:, frozen]).all() and (update[:, frozen] == 0).all()
    others = [j for j in range(len(hp.paths)) if j != frozen]
    assert np.isfinite(grad[:, others]).all() and (update[:, others] > 0).all()
    assert np.isfinite(hp.values("mean")).all()


class CancelSome(k1lib.Callback):
    """Cancels every 3rd training batch after its backward pass, so a sample is cut between its two halves."""

    order = 50

    def startStep(self):
        if self.learner.trainBatch % 3 == 1:
            raise k1lib.CancelBatchException("cut", silent=True)


def test_batches_cancelled_mid_sample_leave_no_half_samples():
    l = quiet(makeLearner(n=64 * 30))  # 24 training batches
    l.HookModule.every = l.HookParam.every = 1
    l.cbs.append(CancelSome(), "cut")
    l.run(1)
    kept = [b for b in range(24) if b % 3 != 1]
    for cb in (l.HookModule, l.HookParam):
        assert cb.x.tolist() == kept
        assert np.isfinite(cb.values("mean")).all() and np.isfinite(cb.values("max")).all()
    assert np.isfinite(l.HookParam.values("update")).all() and np.isfinite(l.HookModule.values("backward.std")).all()


def test_subset_takes_the_same_blocks_of_contiguous_and_strided_rows():
    x = torch.randn(3, 20_000)
    a, b = subset(x), subset(x.t().contiguous().t())  # the second one is not contiguous
    assert torch.equal(a, b) and a.shape[0] == 3 and SUBSET // 2 <= a.shape[1] <= SUBSET + 64
    assert torch.equal(a[:, :16], x[:, :16])  # whole blocks of 16 neighbours, the first one first
    assert subset(x[:0]).shape == (0, a.shape[1])  # no rows: still a [0, m] matrix


def test_headstats_of_one_tensor_and_its_subset():
    big = torch.randn(300_000) * 2 - 1  # min and max from one aminmax pass (WHOLE_NUMEL)
    for t in (torch.randn(70, 73), big, big[:5000].to(torch.bfloat16), torch.arange(10.0)):
        head, sub = headStats(t, withSubset=True)
        v = t.double().reshape(-1)
        assert head.dtype == torch.float32 and head.shape == (4,)
        np.testing.assert_allclose(head.tolist(), [v.sum(), v.norm(), v.min(), v.max()], rtol=1e-4, atol=1e-2)
        assert (sub.numel() == t.numel()) == (t.numel() <= SUBSET) and sub.numel() <= SUBSET + 64
        before = sub.clone()
        t.add_(1)  # an in-place op after the hook must not change the subset taken in it
        assert torch.equal(sub, before)
    withNan = big.clone()
    withNan[123_456] = math.nan
    assert torch.isnan(headStats(withNan, withSubset=False)[0]).all()


def test_history_is_bounded_and_keeps_extremes():
    # the default budget for a 1,000-module model: the memory is taken once, whatever the run's length
    cap = capacityFor(1000, 12, 32, budget=settings.hooks.memory * 2**20, maxRows=settings.hooks.rows)
    big = History(1000, tuple(f"f{i}" for i in range(12)), 32, capacity=cap)
    params = History(
        2000, tuple(f"f{i}" for i in range(6)), 0, capacity=capacityFor(2000, 6, 0, budget=32 * 2**20, maxRows=8192)
    )
    assert big.nbytes <= 32 * 2**20 and params.nbytes <= 32 * 2**20
    assert big.nbytes + params.nbytes <= 64 * 2**20
    # a simulated long run: 100,000 samples of 20 lines, appended 20 at a time as the callbacks do
    h = History(20, ("a", "b"), 4, capacity=512)
    size = h.nbytes
    rng = np.random.default_rng(0)
    total = 100_000
    trend = np.linspace(0, 10, total)
    spikes = {12_345: 1e3, 77_777: -1e3}
    for start in range(0, total, 20):
        x = np.arange(start, start + 20, dtype=np.float64)
        v = (trend[start : start + 20, None, None] + rng.standard_normal((20, 20, 2))).astype(np.float32)
        for s, val in spikes.items():
            if start <= s < start + 20:
                v[s - start, 3, 0] = val
        hist = np.full((20, 20, 4), 0.25, dtype=np.float16)
        h.append(x, v, hist)
    assert h.nbytes == size and len(h) <= 512 and h.samples == total
    x, v, hist = h.view()
    assert x[0] == 0 and x[-1] == total - 1 and np.all(np.diff(x) >= 0)
    assert v[:, 3, 0].max() == 1e3 and v[:, 3, 0].min() == -1e3  # extremes survive any age
    assert np.allclose(hist[:, :, :].astype(np.float32), 0.25, atol=1e-3)
    # the newest half is at full resolution
    assert np.array_equal(x[-256:], np.arange(total - 256, total))
    # the old part is at one resolution: bucket edges evenly spaced
    old = x[: h.nOld : 2]
    assert len(old) > 10 and np.ptp(np.diff(old[:-1])) == 0
    # the trend is still there: early means are low, late ones high
    mean = v[:, 0, 1]
    assert mean[: h.nOld // 4].mean() < 3 and mean[-50:].mean() > 9


@pytest.mark.parametrize("how", ["save and load", "deepcopy"])
def test_hooks_survive_save_and_load(tmp_path, how):
    l = quiet(makeLearner())
    l.css = "*"
    l.run(1)
    n = l.HookParam.samples
    assert n and l.HookModule.samples == n
    if how == "deepcopy":
        l2 = copy.deepcopy(l)
    else:
        l.save(str(tmp_path / "run"))
        l2 = k1lib.Learner.load(str(tmp_path / "run"))
    assert l2.HookParam.samples == l2.HookModule.samples == n
    # views find their lines (they are looked up by the modules and parameters of this copy)
    for cb, ref in ((l2.HookModule, l.HookModule), (l2.HookParam, l.HookParam)):
        assert len(cb[::2]) == len(ref[::2]) > 1
        np.testing.assert_array_equal(cb[::2].values("mean"), ref[::2].values("mean"))
    l2.data = l.data
    quiet(l2)
    l2.run(1)
    # both keep recording (HookModule found no module of the copy: it recorded nothing more)
    assert l2.HookParam.samples == l2.HookModule.samples == 2 * n
    assert np.isfinite(l2.HookModule.values("mean")[n:]).all()
    assert len(l2.HookModule.css("Linear")) == len(l.HookModule.css("Linear")) > 0


def test_a_diverging_run_with_nan_activations_keeps_recording():
    l = makeLearner()
    l.css = "*"
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean() * float("nan")
    l.cbs.remove("CancelOnExplosion")
    with k1widgets.settings.context(hooks={"every": 1}):
        l.run(1, batches=3)
    assert l.status == "done"
    assert l.HookModule.samples == 3 and l.HookParam.samples == 3


@pytest.mark.parametrize("how", ["torch.compile", "module.compile", "a compiled block", "compiled and run before"])
def test_a_compiled_model_is_recorded_without_recompiles_or_warnings(how):
    """Sampled forward passes of compiled code run eagerly; the other batches keep the compiled code.

    Before, the hooks that come and go made the compiler trace the model again at every sampled batch
    (after 8 it gives up and runs eagerly for good), and each call of the compiled model warned.
    """
    torch.compiler.reset()
    l = quiet(makeLearner(n=64 * 12))
    eager = copy.deepcopy(l.model)
    net = l.model
    if how == "torch.compile":
        l.model = torch.compile(net, backend="eager")
    elif how == "module.compile":
        net.compile(backend="eager")
    elif how == "a compiled block":
        net.bulk[3] = torch.compile(net.bulk[3], backend="eager")
    else:  # compiled code traced before any hook existed: it never calls them
        l.model = torch.compile(net, backend="eager")
        mse(l.model(torch.randn(64, 1)), torch.randn(64)).backward()
        net.zero_grad()
    l.HookModule.every = l.HookParam.every = 3
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # the compiler's own, tracing a block whose input is another module's output (hooks or not)
            warnings.filterwarnings("ignore", "The .grad attribute of a Tensor that is not a leaf")
            l.run(1)  # compiles the training and the validation code
            with torch.compiler.set_stance("fail_on_recompile"):  # raises if anything is compiled again
                l.run(2)
    finally:
        torch.compiler.reset()
    hm = l.HookModule
    assert hm.samples == l.HookParam.samples == len(range(0, l.trainBatch, 3)) > 6
    inner = [i for i, m in enumerate(hm.targets) if isinstance(m, nn.Linear)]
    assert len(inner) == 11
    for field in ("mean", "std", "backward.mean"):
        assert np.isfinite(hm.values(field)[:, inner]).all(), field
    # the same statistics as the same model, not compiled, on the same batches
    l2 = quiet(makeLearner(n=64 * 12))
    l2.model, l2.opt = eager, torch.optim.Adam(eager.parameters(), lr=1e-2)
    l2.HookModule.every = 3
    l2.run(3)
    ref = l2.HookModule.values("mean")[:, [i for i, m in enumerate(l2.HookModule.targets) if isinstance(m, nn.Linear)]]
    np.testing.assert_allclose(hm.values("mean")[:, inner], ref, rtol=1e-4, atol=1e-6)


def test_compiled_models_training_in_two_threads_share_the_eager_stance():
    """Sampled passes of two learners overlap: each stays eager until it ends, and the stance comes back."""
    import threading

    torch.compiler.reset()
    learners = []
    for seed in (0, 1):
        l = quiet(makeLearner(n=64 * 40, seed=seed))
        l.cbs.remove("Autosave")  # two learners' autosaves at once: tests/test_autosave.py
        l.model = torch.compile(l.model, backend="eager")
        l.HookModule.every = 1
        learners.append(l)
    errors = []

    def train(l):
        try:
            l.run(3)
        except Exception as e:  # reported below: an exception in a thread would not fail the test
            errors.append(e)

    try:
        threads = [threading.Thread(target=train, args=(l,)) for l in learners]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        for l in learners:  # every sample saw every module (a pass ended early by the other thread would not)
            inner = [i for i, m in enumerate(l.HookModule.targets) if isinstance(m, nn.Linear)]
            assert l.HookModule.samples == l.trainBatch
            assert np.isfinite(l.HookModule.values("mean")[:, inner]).all()
        # and the compiler compiles again afterwards (a stance left at force_eager would run this eagerly)
        compiled = []

        def backend(gm, inputs):
            compiled.append(gm)
            return gm.forward

        f = torch.compile(lambda x: x * 2 + 1, backend=backend)
        assert f(torch.ones(3)).tolist() == [3.0, 3.0, 3.0]
        assert len(compiled) == 1
    finally:
        torch.compiler.reset()
