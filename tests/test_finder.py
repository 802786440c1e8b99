"""ParamFinder: exact restore (next fit bit-identical), no files, NaN handling, the plot, "use"."""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pytest
import torch
from conftest import makeLearner

from k1widgets import Callback
from k1widgets.callbacks import FinderPlot, ParamFinder
from k1widgets.callbacks.finder import suggest
from k1widgets.data import Data


@pytest.fixture(autouse=True, scope="module")
def oneThread():
    """One torch thread: on a shared, loaded CPU, OpenMP regions of the batched passes stall (25x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def weights(l):
    return {k: v.detach().clone() for k, v in l.model.state_dict().items()}


def shuffled(l):
    """The learner's data, reshuffled every epoch (so the run consumes torch's RNG)."""
    x = torch.cat([xb for xb, _ in l.data.train])
    return Data.fromDataset(torch.utils.data.TensorDataset(x, torch.exp(x)), batchSize=64, shuffle=True)


@pytest.mark.parametrize("pretrain", [False, True])
def test_next_fit_is_bit_identical_to_a_fit_without_the_finder(pretrain):
    def fit(useFinder):
        l = makeLearner()
        l.data = shuffled(l)  # so the runs draw from torch's RNG
        if pretrain:
            l.run(1)  # Adam moments and step counts exist
        torch.manual_seed(123)
        np.random.seed(5)
        random.seed(7)
        if useFinder:
            lr, groups = l.opt.param_groups[0]["lr"], l.opt.state_dict()["param_groups"]
            l.ParamFinder.run(samples=200, quiet=True)
            assert l.ParamFinder.tried > 20  # it really trained
            assert l.opt.param_groups[0]["lr"] == lr  # k1lib left the last lr tried here
            assert l.opt.state_dict()["param_groups"] == groups
        rngs = (np.random.rand(), random.random())
        l.run(2)
        return weights(l), l.opt.state_dict()["state"], rngs

    (wa, sa, ra), (wb, sb, rb) = fit(True), fit(False)
    assert ra == rb  # numpy's and Python's RNGs were restored too
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    assert all(torch.equal(sa[i]["step"], sb[i]["step"]) for i in sa)


def test_restores_torch_rng_state():
    l = makeLearner()
    l.data = shuffled(l)
    before = torch.get_rng_state()
    l.ParamFinder.run(samples=100, quiet=True)
    assert torch.equal(torch.get_rng_state(), before)


def test_writes_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    l = makeLearner()
    l.ParamFinder.plot(samples=100, quiet=True)
    assert list(tmp_path.rglob("*")) == []


def test_nan_loss_stops_cleanly_with_a_suggestion_from_the_good_part(capsys):
    l = makeLearner()
    mse = l.lossF

    def lossF(y, yb):  # a loss that turns NaN once the learning rate passes 1e-3
        loss = mse(y, yb)
        return loss * math.nan if l.opt.param_groups[0]["lr"] > 1e-3 else loss

    l.lossF = lossF
    w0 = weights(l)
    s = l.ParamFinder.run(samples=300)
    f = l.ParamFinder
    assert "became nan" in f.stopReason
    assert np.isfinite(f.losses).all() and f.values[-1] <= 1e-3
    assert s is not None and math.isfinite(s) and s <= 1e-3
    out = capsys.readouterr().out
    assert "stopped: the training loss became nan" in out
    w1 = weights(l)
    assert all(torch.equal(w0[k], w1[k]) for k in w0)  # the NaN weights were rolled back
    assert l.opt.param_groups[0]["lr"] == 1e-2


def test_one_noisy_measurement_does_not_stop_the_sweep():
    l = makeLearner()
    mse, evals = l.lossF, []

    def lossF(y, yb):  # the 5th fixed-batch measurement (eval mode) comes out a million times too high
        loss = mse(y, yb)
        if not l.model.training:
            evals.append(1)
            if len(evals) == 5:
                return loss * 1e6
        return loss

    l.lossF = lossF
    l.ParamFinder.run(samples=200, quiet=True)
    assert len(evals) > 50 and l.ParamFinder.tried > 50
    assert l.ParamFinder.losses.max() > 1e6 * l.ParamFinder.losses[0] / 10  # it was recorded, and ignored


def test_suggestion_lies_in_the_valley_and_ignores_lone_outliers():
    values = 10 ** np.linspace(-6, 0, 21)
    plateau, fall, spike, bottom, rise = (
        [9.0] * 6,
        [8, 6, 4, 2.5, 1.8, 1.5],
        [100],
        [1.2, 1.1, 1.0, 1.05, 1.1],
        [5, 30, 90],
    )
    losses = np.array(plateau + fall + spike + bottom + rise, dtype=float)
    s, m = suggest(values, losses)
    assert 13 <= m <= 17  # in the bottom: the lone spike at index 12 does not become (or hide) the minimum
    steepest = [np.sqrt(values[k] * values[m] / 2) for k in range(5, 10)]
    assert any(s == pytest.approx(x) for x in steepest)  # the fall is steepest somewhere in 5..9
    assert values[5] < s < values[m]
    assert suggest(values[:2], np.array([3.0, 1.0])) == (values[1] / 2, 1)
    assert math.isnan(suggest(values[:0], values[:0])[0])


def test_seed_cell_prints_and_plots_in_unit_coordinates(capsys):
    l = makeLearner()
    p = l.ParamFinder.plot(samples=300)[:0.99]
    out = capsys.readouterr().out
    assert "Suggested param: " in out
    assert isinstance(p, FinderPlot)
    assert "Reminder: slice range here is actually [0, 1]" in repr(p)
    n = len(l.ParamFinder.losses)
    lines = p.data()[0]
    assert len(lines[0].y) == round(0.99 * n)
    assert lines[1].name == "suggested" and set(lines[1].x) == {l.ParamFinder.suggestion}
    half = p[:0.5].data()[0][0]  # slices compose: half of the 99 %
    assert len(half.y) == round(round(0.99 * n) / 2)
    assert p.panelOptions(0)["xscale"] == "log" and p.panelOptions(0)["yscale"] == "log"
    assert p.svg().startswith("<svg")


def test_plot_reuses_the_last_sweep_without_arguments(capsys):
    l = makeLearner()
    l.ParamFinder.run(samples=100, quiet=True)
    tried = l.ParamFinder.tried
    values = l.ParamFinder.values
    l.ParamFinder.plot()
    assert l.ParamFinder.values is values and l.ParamFinder.tried == tried


def test_only_batch_preparing_callbacks_run_during_the_sweep():
    l = makeLearner()
    l.run(1)
    losses = len(l.Loss.train)
    l.cbs.withCancelOnLowLoss(1e9)  # would cancel at once if it ran
    calls = []

    class Prep(Callback):
        order = 13

        def startBatch(self):
            calls.append(1)

    l.cbs.append(Prep())
    l.ParamFinder.run(samples=100, quiet=True)
    assert len(l.Loss.train) == losses  # Loss was suspended
    # the batch-preparing callback ran at every step, and on the 4 batches that make the fixed batch
    assert len(calls) == l.ParamFinder.steps + 4 and l.ParamFinder.steps >= 20
    assert not any(cb.suspended for cb in l.cbs)
    assert "_paramFinderSweep" not in l.cbs


def test_costs_nothing_until_used():
    l = makeLearner()
    checkpoints = ("startBatch", "endLoss", "endBatch", "startRun", "endRun")
    for name in ("ParamFinder", "LossLandscape"):
        cb = l.cbs[name]
        assert not any(getattr(type(cb), c, None) for c in checkpoints)
    names = [cb.name for cb in l.cbs]
    assert names.index("LossLandscape") < names.index("Loss") < names.index("ParamFinder") == len(names) - 1


def test_use_sets_the_value_through_the_learner():
    l = makeLearner()
    with pytest.raises(ValueError, match="no suggestion"):
        l.ParamFinder.use()
    s = l.ParamFinder.run(samples=100, quiet=True)
    assert l.ParamFinder.use() == s
    assert l.opt.param_groups[0]["lr"] == s
    l.ParamFinder.use(3e-3)
    assert l.opt.param_groups[0]["lr"] == 3e-3


def test_set_param_during_a_run_applies_at_the_next_batch():
    l = makeLearner()
    seen = []

    class Click(Callback):  # what the view's button does, from inside the loop
        def startStep(self):
            seen.append(self.learner.opt.param_groups[0]["lr"])
            if self.learner.batch == 2:
                self.learner.setParam("lr", 5e-4)
                seen.append(self.learner.opt.param_groups[0]["lr"])

    l.cbs.append(Click())
    l.run(1)
    assert seen[:5] == [1e-2, 1e-2, 1e-2, 1e-2, 5e-4]  # queued at batch 2, applied before batch 3
    with pytest.raises(ValueError, match=r"no hyper-parameter 'lrr'.*Did you mean 'lr'"):
        l.setParam("lrr", 1.0)


def test_stops_when_every_value_was_tried(capsys):
    l = makeLearner()
    l.cbs.remove("ParamFinder")
    l.cbs.withParamFinder(1e12, flatStride=1)  # never "loss increases significantly"; one value per step
    l.ParamFinder.run(samples=30, high=1e-3)
    f = l.ParamFinder
    assert f.tried == f.steps == 30 and f.stopReason == "all values tried" and len(f.trainLosses) == 30
    assert len(f.values) == 30 and f.values[-1] == pytest.approx(1e-3)  # samples < 800: measured every step
    out = capsys.readouterr().out
    assert "30 steps over 30 of 30 values (1e-06 … 1.00e-03); stopped: all values tried." in out


def test_flat_start_is_covered_faster():
    l = makeLearner()
    l.ParamFinder.run(samples=1000, quiet=True)
    f = l.ParamFinder
    assert f.steps < f.tried * 0.7  # the flat start went 8 values a step
    gaps = np.diff(np.log10(f.trainValues))
    assert gaps[0] == pytest.approx(8 * 8 / 999) and gaps[-1] == pytest.approx(8 / 999)
    flat = f.losses[f.values < 1e-5]
    assert len(flat) and np.all(np.abs(flat / f.losses[0] - 1) <= 0.01 + 1e-9)
    l.ParamFinder.run(samples=400, quiet=True)  # the same log step at a lower density: 3 values a step
    assert np.diff(np.log10(l.ParamFinder.trainValues))[0] == pytest.approx(3 * 8 / 399)


def test_bad_arguments():
    l = makeLearner()
    with pytest.raises(ValueError, match="no hyper-parameter 'momentum' to sweep"):
        l.ParamFinder.run("momentum", samples=10)
    with pytest.raises(ValueError, match="whole number >= 2"):
        l.ParamFinder.run(samples=1)
    with pytest.raises(ValueError, match="0 < low < high"):
        l.ParamFinder.run(low=1.0, high=0.5)
    with pytest.raises(ValueError, match="factor > 1"):
        ParamFinder(tolerance=0.5)


def test_finder_view_button_sets_the_lr():
    from k1widgets.widgets.finder import FinderView

    l = makeLearner()
    p = l.ParamFinder.plot(samples=200, quiet=True)
    v = p.widget()
    assert isinstance(v, FinderView)
    assert v.button.description == "Use this lr"
    s = l.ParamFinder.suggestion
    assert v.value.value == pytest.approx(s, rel=0.03) and list(v.suggested.x) == [s, s]
    v.value.value = 10 ** round(np.log10(s), 2)  # what the front end sends back: the slider's step
    v.button.click()
    assert l.opt.param_groups[0]["lr"] == s  # the exact suggestion, not the rounded slider
    v.value.value = 2e-3
    assert v.chosen.x[0] == pytest.approx(2e-3)
    v.button.click()
    assert l.opt.param_groups[0]["lr"] == 2e-3
    assert "Set lr = 0.002 on 1 param group, now." in v.status.value
    v.window.value = [-5.0, -3.0]
    assert (v.xs.min, v.xs.max) == pytest.approx((1e-5, 1e-3))
    assert v.fig.title.startswith("ParamFinder: lr, suggested")


def test_seed_readme_cell_runs_verbatim(capsys):
    from test_readme_tour import runReadme

    ns = runReadme()
    capsys.readouterr()
    exec("l = newL(); p = l.ParamFinder.plot(samples=1000)[:0.99]", ns)  # the seed's cell, verbatim
    out = capsys.readouterr().out
    assert re.search(r"Suggested param: 0\.00\d+", out)  # the README net's suggestion is a few 1e-3
    assert repr(ns["p"]).startswith("Sliceable plot. Can...")
    assert ns["l"].ParamFinder.tried < 1000  # stopped once the loss blew up
