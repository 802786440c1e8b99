"""Callback and Callbacks: membership, dispatch, suspension, timings, and every bundled callback."""

from __future__ import annotations

import inspect
import io
import math
import time

import pytest
import torch
from conftest import makeLearner

import k1widgets as k1lib
from k1widgets.callbacks import (
    BatchLimit,
    Callback,
    Callbacks,
    CancelOnExplosion,
    CancelOnLowLoss,
    Cpu,
    Cuda,
    DType,
    EpochLimit,
    Loss,
    ModifyBatch,
    ProgressBar,
    Recorder,
    TimeLimit,
    UnknownCallbackError,
)


class Counter(Callback):
    def __init__(self, ret=None):
        super().__init__()
        self.n, self.ret = 0, ret

    def startBatch(self):
        self.n += 1
        return self.ret


def test_append_gives_unique_names_and_sorts_by_order():
    cbs = Callbacks()
    late, early = Counter(), Counter()
    early.order = 5
    cbs.append(late).append(early, "Early").append(Counter())
    assert [cb.name for cb in cbs] == ["Early", "Counter", "Counter0"]
    assert cbs.Counter0 is cbs["Counter0"] is cbs[2]
    assert "Early" in cbs and len(cbs) == 3


def test_dispatch_calls_every_callback_and_ors_results():
    cbs = Callbacks()
    a, b, c = Counter(), Counter(ret=True), Counter()
    cbs.append(a).append(b).append(c)
    assert cbs("startBatch") is True
    assert (a.n, b.n, c.n) == (1, 1, 1), "no short-circuit"
    assert cbs("endBatch") is False
    assert cbs.timings["startBatch"] > 0 and cbs.timings.endBatch == 0


def test_with_checkpoint_and_detach():
    cbs = Callbacks()
    seen = []
    cb = Callback().withCheckpoint("startEpoch", lambda c: seen.append(c.name))
    cbs.append(cb, "Mine")
    cbs("startEpoch")
    assert seen == ["Mine"]
    cb.detach()
    cbs("startEpoch")
    assert seen == ["Mine"] and "Mine" not in cbs
    with pytest.raises(ValueError, match=r"Unknown checkpoint 'startbatch'\. Did you mean 'startBatch'\?"):
        Callback().withCheckpoint("startbatch", print)


def test_unknown_names_list_what_exists():
    cbs = Callbacks().withLoss().withProgressBar()
    with pytest.raises(UnknownCallbackError) as info:
        cbs["Los"]
    assert str(info.value) == "Unknown callback 'Los'. Available: ProgressBar, Loss. Did you mean 'Loss'?"
    assert isinstance(info.value, KeyError)
    with pytest.raises(AttributeError, match=r"no attribute or callback 'ProgresBar'.*Did you mean 'ProgressBar'"):
        cbs.ProgresBar  # noqa: B018
    with pytest.raises(TypeError, match=r"takes a Callback instance, got builtin_function_or_method"):
        cbs.append(print)


def test_callback_attribute_falls_back_to_the_learner(learner):
    cb = Callback()
    learner.cbs.append(cb)
    learner.epoch = 7
    assert cb.epoch == 7
    with pytest.raises(AttributeError, match=r"'Callback' callback has no attribute 'epohc'.*Did you mean 'epoch'"):
        cb.epohc  # noqa: B018
    with pytest.raises(AttributeError, match="none attached yet"):
        Callback().epoch  # noqa: B018


def test_suspend_restore_stack_and_context_manager():
    cbs = Callbacks()
    a, b = Counter(), Counter()
    cbs.append(a, "A").append(b, "B")
    cbs.suspend(["A"])
    cbs.suspend(["A", "B"])
    cbs("startBatch")
    assert (a.n, b.n) == (0, 0)
    cbs.restore()
    cbs("startBatch")
    assert (a.n, b.n) == (0, 1), "the first suspension of A is still in effect"
    cbs.restore()
    with cbs.suspend(["B"]):
        cbs("startBatch")
    cbs("startBatch")
    assert (a.n, b.n) == (2, 2)
    with pytest.raises(RuntimeError, match="no suspension in effect"):
        cbs.restore()
    assert "(suspended)" not in repr(cbs)


def test_context_removes_what_was_added_inside():
    cbs = Callbacks().withLoss()
    with cbs.context():
        cbs.withBatchLimit(3)
        assert "BatchLimit" in cbs
    assert [cb.name for cb in cbs] == ["Loss"]


def test_every_with_shortcut_adds_its_callback():
    cbs = Callbacks()
    cbs.withProgressBar().withDontTrainValid().withDontTrain().withModifyBatch(lambda x, y: (x, y))
    cbs.withDType(torch.float64).withCpu().withLoss().withRecorder().withCancelOnLowLoss(1)
    cbs.withCancelOnExplosion().withBatchLimit(2).withEpochLimit(2).withTimeLimit(5)
    names = {type(cb).__name__ for cb in cbs}
    assert names == {
        "ProgressBar", "DontTrainValid", "DontTrain", "ModifyBatch", "DType", "Cpu", "Loss", "Recorder",
        "CancelOnLowLoss", "CancelOnExplosion", "BatchLimit", "EpochLimit", "TimeLimit",
    }  # fmt: skip
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="needs a CUDA device"):
            cbs.withCuda()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ModifyBatch(3), "ModifyBatch takes a function"),
        (lambda: DType("float32"), "DType takes a torch.dtype"),
        (lambda: CancelOnLowLoss("1"), "needs a number"),
        (lambda: CancelOnExplosion(every=0), "whole number >= 1"),
        (lambda: BatchLimit(0), "whole number >= 1"),
        (lambda: EpochLimit(-1), "whole number >= 1"),
        (lambda: TimeLimit(0), "positive number of seconds"),
    ],
)
def test_bad_callback_arguments(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_modify_batch_must_return_a_pair(learner):
    learner.cbs.withModifyBatch(lambda x, y: x)
    with pytest.raises(TypeError, match="must return a pair") as info:
        learner.run(1)
    assert any("ModifyBatch0" in n and "startBatch" in n for n in info.value.__notes__)


def test_dtype_converts_model_and_batches(learner):
    learner.cbs.withDType(torch.float64)
    seen = []
    learner.cbs.append(Callback().withCheckpoint("endPass", lambda cb: seen.append(cb.learner.xb.dtype)))
    learner.run(1)
    assert set(seen) == {torch.float64}
    assert next(learner.model.parameters()).dtype == torch.float64


def test_cpu_moves_model(learner):
    learner.cbs.append(Cpu())
    learner.run(1)
    assert next(learner.model.parameters()).device.type == "cpu"


# ---------------------------------------------------------------- Loss
def test_loss_records_every_batch_and_epoch_averages(learner):
    learner.run(3)
    loss = learner.Loss
    assert len(loss.train) == 24 and len(loss.valid) == 6
    assert loss.epoch.train[0] == pytest.approx(loss.train.values[:8].mean())
    assert loss.epoch.valid[2] == pytest.approx(loss.valid.values[4:].mean())


def test_epochs_without_validation_get_nan_not_zero(learner):
    learner.run(2, batches=3)
    assert all(math.isnan(v) for v in learner.Loss.epoch.valid)
    assert 0.0 not in learner.Loss.epoch.valid.tolist()


# ---------------------------------------------------------------- guards
def test_cancel_on_low_loss_epoch_mode_never_fires_without_validation(learner, capsys):
    learner.cbs.withCancelOnLowLoss(1e9, epochMode=True)
    learner.run(3, batches=4)
    assert "Low loss" not in capsys.readouterr().out
    assert len(learner.Loss.epoch.train) == 3


def test_cancel_on_low_loss_batch_mode_reads_the_current_epoch(learner, capsys):
    seen = []
    learner.cbs.withCancelOnLowLoss(1e9)  # any validation loss is below this
    learner.cbs.append(Callback().withCheckpoint("cancelRun", lambda cb: seen.append((cb.epoch, cb.batch))))
    learner.run(3)
    assert seen == [(0, 8)], "fires at the first validation batch of the first epoch, not an epoch later"
    assert "Run cancelled: Low loss 1e+09 achieved!." in capsys.readouterr().out


def test_cancel_on_low_loss_epoch_mode_needs_loss():
    l = makeLearner()
    l.cbs.remove("Loss")
    l.cbs.withCancelOnLowLoss(1, epochMode=True)
    with pytest.raises(RuntimeError, match=r"add one: l\.cbs\.withLoss\(\)"):
        l.run(1)


def test_cancel_on_explosion_catches_nan_and_huge_parameters(capsys):
    l = makeLearner()
    l.cbs.CancelOnExplosion.every = 2

    def poison(cb):
        if cb.batch == 3:
            with torch.no_grad():
                next(cb.learner.model.parameters())[0, 0] = float("nan")

    l.cbs.append(Callback().withCheckpoint("endBatch", poison))
    l.run(3)
    assert "Run cancelled: Explosion detected!." in capsys.readouterr().out
    assert l.epoch == 0
    l2 = makeLearner()
    l2.cbs.CancelOnExplosion.limit = 1e-3
    l2.cbs.CancelOnExplosion.every = 4
    l2.run(3)
    assert "Explosion detected!" in capsys.readouterr().out and l2.epoch == 0
    assert len(l2.Loss.train) == 4, "checked every 4 training batches"


def test_limits(learner, capsys):
    learner.cbs.withEpochLimit(2)
    learner.run(5)
    assert len(learner.Loss.epoch.train) == 2
    assert "Run cancelled: Epoch limit (2) reached." in capsys.readouterr().out
    l = makeLearner(n=64000)
    l.cbs.withTimeLimit(0.3)
    t0 = time.perf_counter()
    l.run(100)
    assert time.perf_counter() - t0 < 5
    assert "Run cancelled: Takes more than 0.3 seconds!." in capsys.readouterr().out


# ---------------------------------------------------------------- Recorder and ProgressBar
def test_record_has_exactly_the_batches_asked_for_and_trains_nothing(learner):
    before = [p.clone() for p in learner.model.parameters()]
    xbs, _ybs, _ys = learner.record(2)
    assert len(xbs) == 20
    assert all(torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))
    assert len(learner.Loss.train) == 0, "recording is not training"
    learner.cbs.append(Recorder())
    assert len(learner.Recorder.record(1, 4)[0]) == 4


def test_progress_bar_writes_at_most_ten_times_a_second():
    l = makeLearner(n=64000 * 2, batchSize=64)  # 2000 batches
    stream = io.StringIO()
    l.cbs.ProgressBar.stream = stream
    t0 = time.perf_counter()
    l.run(1)
    elapsed = time.perf_counter() - t0
    writes = stream.getvalue().count("\r")
    assert writes <= 10 * elapsed + 3, (writes, elapsed)
    assert stream.getvalue().endswith("\n")
    assert "Progress: 100%, epoch: 1/1, batch: 2000/2000" in stream.getvalue()
    assert l.progress == 1.0


def test_progress_state_snapshot(learner):
    learner.run(2)
    s = learner.ProgressBar.state()
    assert s["epoch"] == 1 and s["epochs"] == 2 and s["batches"] == 10 and s["status"] == "done"
    assert s["progress"] == 1.0 and s["trainLoss"] == learner.Loss.train[-1]
    assert "cb.state()" in repr(learner.ProgressBar)


def test_loss_and_progress_are_the_defaults():
    l = k1lib.Learner()
    assert [type(cb) for cb in l.cbs][:2] == [ProgressBar, type(l.cbs.DontTrainValid)]
    assert isinstance(l.Loss, Loss) and isinstance(l.CancelOnExplosion, CancelOnExplosion)


def test_cuda_class_exists_for_gpu_machines():
    assert issubclass(Cuda, Callback)


def test_loss_clear_forgets_and_keeps_recording(learner):
    learner.run(1)
    learner.Loss.clear()
    assert len(learner.Loss.train) == 0 and len(learner.Loss.epoch.train) == 0
    learner.run(1)
    assert len(learner.Loss.train) == 8 and len(learner.Loss.epoch.valid) == 1


def test_shortcuts_come_from_the_registry_and_explain_themselves():
    cbs = Callbacks()
    names = dir(cbs)
    for shortcut in ("withLoss", "withModifyBatch", "withCancelOnLowLoss", "withTimeLimit"):
        assert shortcut in names
    assert "CancelOnLowLoss" in cbs.withCancelOnLowLoss.__doc__
    assert "epochMode" in str(inspect.signature(cbs.withCancelOnLowLoss))
    cbs.withCancelOnLowLoss(0.5, epochMode=True, name="low")
    assert cbs["low"].loss == 0.5 and cbs["low"].epochMode
    with pytest.raises(AttributeError, match="Did you mean 'withLoss'"):
        cbs.withLos  # noqa: B018


def test_user_callback_classes_do_not_get_shortcuts():
    class Mine(Callback):
        pass

    with pytest.raises(AttributeError, match="withMine"):
        Callbacks().withMine  # noqa: B018


# ---------------------------------------------------------------- NaN losses and explosions (issue 10)
def nanLearner():
    """A learner whose loss is NaN from the first batch: 8 training batches, fewer than CancelOnExplosion's 50."""
    l = makeLearner()
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean() * float("nan")
    l.cbs.ProgressBar.stream = io.StringIO()
    return l


def test_a_short_run_with_nan_weights_is_cancelled_at_the_end_of_its_epoch(capsys):
    l = nanLearner()
    l.run(3)
    assert l.status == "cancelled"
    assert "Run cancelled: Explosion detected!" in capsys.readouterr().out
    assert len(l.Loss.epoch.train) == 1, "stopped after the first epoch"


def test_nan_losses_are_shown_as_nan_in_the_progress_line():
    l = nanLearner()
    l.cbs.remove("CancelOnExplosion")
    l.run(1)
    assert l.status == "done"
    assert l.ProgressBar.line().endswith("loss: nan")
    assert math.isnan(l.ProgressBar.state()["trainLoss"])
    assert "loss: nan" in l.ProgressBar.stream.getvalue()


def test_the_progress_line_never_shows_the_previous_runs_loss(learner):
    learner.run(1)
    seen = []
    learner.cbs.append(Callback().withCheckpoint("startRun", lambda cb: seen.append(cb.learner.ProgressBar.line())))
    learner.cbs.ProgressBar.stream = io.StringIO()
    learner.run(1)
    assert "loss" not in seen[0]
    assert learner.ProgressBar.state()["trainLoss"] == learner.Loss.train[-1]


@pytest.mark.parametrize("limit", [-1, 0, float("nan"), "big", True])
def test_explosion_limit_must_be_positive(limit):
    with pytest.raises(ValueError, match="CancelOnExplosion's limit must be a number > 0"):
        CancelOnExplosion(limit)


def test_modify_batch_tells_whole_batch_functions_from_pair_functions():
    from k1widgets.callbacks import ModifyBatch

    def pair(xb, yb=None):
        return xb, yb

    def whole(b):
        return b[0], b[1]

    assert ModifyBatch(whole).wholeBatch and ModifyBatch(lambda b: b).order == 8
    assert not ModifyBatch(pair).wholeBatch and not ModifyBatch(lambda x, y: (x, y)).wholeBatch
    assert not ModifyBatch(lambda *a: a).wholeBatch and ModifyBatch(pair).order == 13
