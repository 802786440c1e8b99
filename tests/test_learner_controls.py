"""Thread-safe controls behind the dashboard: l.setParam, l.atBatchBoundary, cbs.unsuspend, cbs.feed, Loss.runs."""

from __future__ import annotations

import io
import pickle
import threading
import time

import pytest
import torch
from conftest import makeLearner

from k1widgets import display
from k1widgets.callbacks import Callback, Callbacks
from k1widgets.learner import LearnerNotReadyError


def quiet(l):
    l.ProgressBar.stream = io.StringIO()
    return l


def waitFor(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


class LrPerBatch(Callback):
    """Records the lr seen at the start and at the end of every training batch."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def startBatch(self):
        self._start = self.learner.opt.param_groups[0]["lr"]
        time.sleep(0.002)

    def endBatch(self):
        self.seen.append((self._start, self.learner.opt.param_groups[0]["lr"]))


def test_set_hyper_when_idle_applies_at_once():
    l = makeLearner()
    l.setParam("lr", "3e-3")
    assert l.opt.param_groups[0]["lr"] == 0.003
    l.setParam("betas", "0.8, 0.99")
    assert l.opt.param_groups[0]["betas"] == (0.8, 0.99)
    l.setParam("weight_decay", 0.1)
    assert l.opt.param_groups[0]["weight_decay"] == 0.1


def test_set_hyper_during_a_run_applies_between_batches():
    l = quiet(makeLearner())
    rec = LrPerBatch()
    l.cbs.append(rec)
    h = l.run(200, background=True)
    waitFor(lambda: len(rec.seen) > 5)
    l.setParam("lr", 1e-4)
    waitFor(lambda: rec.seen[-1][1] == 1e-4)
    l.cancel()
    h.wait(10)
    assert all(a == b for a, b in rec.seen), "the lr changed in the middle of a batch"
    lrs = [a for a, _ in rec.seen]
    switch = lrs.index(1e-4)
    assert set(lrs[:switch]) == {0.01} and set(lrs[switch:]) == {1e-4}


def test_set_hyper_errors_say_what_is_valid():
    l = makeLearner()
    with pytest.raises(ValueError, match=r"Adam has no hyper-parameter 'lrr'\. It has: .*lr.*Did you mean 'lr'\?"):
        l.setParam("lrr", 1)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0, got -1"):
        l.setParam("lr", -1)
    with pytest.raises(ValueError, match="lr must be a number, got 'fast'"):
        l.setParam("lr", "fast")
    with pytest.raises(ValueError, match=r"betas takes 2 numbers, like \(0\.9, 0\.999\)"):
        l.setParam("betas", 0.9)
    with pytest.raises(ValueError, match=r"betas must each be in \[0, 1\)"):
        l.setParam("betas", (0.9, 1.5))
    with pytest.raises(ValueError, match=r"group must be None \(every group\) or 0\.\.0"):
        l.setParam("lr", 1e-3, group=3)
    with pytest.raises(ValueError, match="has no hyper-parameter 'params'"):
        l.setParam("params", [])
    assert l.opt.param_groups[0]["lr"] == 0.01  # nothing changed
    l.opt = None
    with pytest.raises(LearnerNotReadyError, match="needs an optimizer"):
        l.setParam("lr", 1e-3)


def test_set_hyper_targets_one_group_and_keeps_tensor_lrs_tensors():
    l = makeLearner()
    params = list(l.model.parameters())
    l.opt = torch.optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": torch.tensor(0.5)}], lr=0.1)
    l.setParam("lr", 0.2, group=1)
    assert l.opt.param_groups[0]["lr"] == 0.1
    assert isinstance(l.opt.param_groups[1]["lr"], torch.Tensor) and float(
        l.opt.param_groups[1]["lr"]
    ) == pytest.approx(0.2)
    l.setParam("momentum", 0.5)
    assert [g["momentum"] for g in l.opt.param_groups] == [0.5, 0.5]


def test_at_batch_boundary_runs_on_the_training_thread_between_batches():
    l = quiet(makeLearner())
    inBatch = []

    class Watch(Callback):
        def startBatch(self):
            inBatch.append(True)

        def endBatch(self):
            inBatch.append(False)

    l.cbs.append(Watch())
    where = []
    h = l.run(200, background=True)
    waitFor(lambda: len(inBatch) > 4)
    l.atBatchBoundary(lambda: where.append((threading.current_thread().name, inBatch[-1])))
    waitFor(lambda: where)
    l.cancel()
    h.wait(10)
    assert where == [("k1widgets-run", False)]
    # idle: at once, on the caller's thread
    l.atBatchBoundary(lambda: where.append(threading.current_thread().name))
    assert where[-1] == threading.current_thread().name


def test_calls_queued_at_the_edges_of_a_run_are_not_lost():
    l = quiet(makeLearner())
    done = []
    with l._control:  # as if the run had just been marked as running, before its first batch
        l._running = True
    l.atBatchBoundary(lambda: done.append("before start"))
    l._running = False
    l.run(1)
    assert done == ["before start"]  # applied at the start of the next run, not dropped with stale cancels
    l.cancel()  # a stale cancel from before a run is still dropped
    l.run(1)
    assert l.status == "done"
    with l._control:
        l._running = True
    l.atBatchBoundary(lambda: done.append("after the last batch"))
    l._stopRunning()
    assert done[-1] == "after the last batch"


def test_unsuspend_keeps_every_other_suspension():
    l = makeLearner()
    cbs = l.cbs
    cbs.suspend(["Loss"])
    cbs.suspend(["ProgressBar", "DontTrainValid"])
    cbs.suspend(["ModifyBatch"])
    cbs.unsuspend("ProgressBar")
    assert [cb.name for cb in cbs if cb.suspended] == ["DontTrainValid", "ModifyBatch", "Loss"]
    assert "- ProgressBar\n" in repr(cbs) and "- Loss (suspended)" in repr(cbs)
    assert len(cbs._suspensions) == 3  # a `with cbs.suspend(...)` block still restores its own
    cbs.restore()
    cbs.restore()
    cbs.restore()
    assert not any(cb.suspended for cb in cbs)
    cbs.unsuspend("Loss")  # not suspended: nothing to do
    assert cbs._suspensions == []


def test_callbacks_feed_fires_on_structural_changes():
    cbs = Callbacks()
    seen = []
    cbs.feed.subscribe(lambda: seen.append(1))
    time.sleep(0.12)
    cbs.append(Callback(), "a")
    assert seen
    l = makeLearner()
    assert l.cbs.feed is l.feed  # attached: the learner's feed, so views follow runs too
    n = l.feed.sent
    l.feed.subscribe(lambda: None)
    time.sleep(0.12)
    l.cbs.suspend(["Loss"])
    assert l.feed.sent > n


def test_a_learner_with_a_subscribed_callbacks_feed_still_saves(tmp_path):
    l = quiet(makeLearner())
    standalone = Callbacks()
    standalone.feed.subscribe(lambda: None)
    pickle.dumps(standalone)  # the feed (locks, subscribers) is not saved
    l.run(1)
    l.save(tmp_path / "run", quiet=True)
    assert (tmp_path / "run.pth").exists() and (tmp_path / "run.model.pth").exists()


def test_loss_keeps_each_run_labelled_and_bounded():
    l = quiet(makeLearner())
    l.run(2)
    l.setParam("lr", 1e-3)
    l.run(1)
    runs = l.Loss.runs
    assert [r.number for r in runs] == [1, 2]
    assert [len(r.epochs) for r in runs] == [2, 1]
    assert runs[0].label.startswith("run 1, ") and "lr 0.01" in runs[0].label
    assert "lr 0.001" in runs[1].label
    assert runs[1].train[1].tolist() == l.Loss.train.values[16:].tolist()
    assert runs[1].train[0].tolist() == list(range(8))  # x: the batch within the run
    p = l.Loss.plotRuns()
    assert [line.name for line in p.data()[0]] == [runs[0].shortLabel, runs[1].shortLabel]
    assert runs[1].shortLabel.startswith("run 2 ") and runs[1].shortLabel.endswith(" lr 0.001")
    l.Loss.maxRuns = 3
    for _ in range(4):
        l.run(1, batches=1)
    assert len(l.Loss.runs) == 3 and l.Loss.runs[-1].number == 6
    l.Loss.clear()
    assert len(l.Loss.runs) == 0
    with pytest.raises(ValueError, match="maxRuns must be a whole number >= 0, got -1"):
        l.Loss.maxRuns = -1


def test_long_runs_are_kept_decimated():
    from k1widgets.callbacks.loss import _keep

    x, y = _keep(torch.linspace(0, 1, 100_000).double().numpy())
    assert len(x) <= 1000 and x[0] == 0 and x[-1] == 99_999 and y[-1] == 1.0


def test_the_run_in_progress_is_a_live_line():
    l = quiet(makeLearner())
    l.run(1)
    seen = []

    class Peek(Callback):
        def endEpoch(self):
            p = self.learner.Loss.plotRuns()
            seen.append([(line.name, len(line)) for line in p.data()[0]])

    l.cbs.append(Peek())
    l.run(1)
    (earlier, n0), (now, n1) = seen[0]
    assert earlier.startswith("run 1 ") and earlier.endswith("lr 0.01") and n0 == 8
    assert now == "run 2 (now) lr 0.01" and n1 == 8


def test_progress_bar_keeps_the_error_message():
    l = quiet(makeLearner())

    class Boom(Callback):
        def endLoss(self):
            raise ValueError("bad batch")

    l.cbs.append(Boom())
    with pytest.raises(ValueError, match="bad batch"):
        l.run(1)
    assert l.status == "error"
    assert l.ProgressBar.message == "ValueError: bad batch"
    assert l.summary()["message"] == "ValueError: bad batch"


def test_a_suppressed_run_prints_nothing(capsys):
    l = makeLearner()
    l.cbs.withCancelOnLowLoss(1e9)  # cancels at once
    with display.suppressed():
        l.run(3)
    assert l.status == "cancelled"
    assert capsys.readouterr().out == ""
    assert l.ProgressBar.message.startswith("Run cancelled: Low loss")
    l.run(1)
    assert "Run cancelled" in capsys.readouterr().out  # outside the block, as before


def test_display_hooks_never_fall_through_to_the_learner():
    l = makeLearner()
    plain = Callback()
    l.cbs.append(plain)
    assert not hasattr(plain, "_repr_html_")  # else a plain callback would show as the learner
    assert "k1w-loss-static" in l.Loss._repr_html_()
    assert plain._repr_mimebundle_().keys() == {"text/plain"}
    assert plain.epoch == l.epoch  # ordinary attributes still fall through


def test_commands_queued_together_are_all_applied_and_the_widest_cancel_wins():
    l = quiet(makeLearner())
    l.cbs.append(LrPerBatch())
    done = []
    h = l.run(500, background=True)
    waitFor(lambda: l.batch > 2 or l.epoch > 0)
    l.pause()
    waitFor(lambda: l.status == "paused")
    l.cancel("batch")  # three commands applied at the same boundary (the loop is paused)
    l.cancel("run")
    l.atBatchBoundary(lambda: done.append(True))
    h.wait(10)
    assert done == [True] and l.status == "cancelled" and l.epoch < 499
