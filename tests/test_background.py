"""Background runs: the handle's truthfulness, Ctrl-C in wait(), and what other threads may do meanwhile."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import torch
from conftest import makeLearner

import k1widgets as k1lib
from k1widgets import display
from k1widgets.callbacks import Callback

TESTS = os.path.dirname(__file__)


def quiet(l):
    l.cbs.ProgressBar.stream = io.StringIO()
    return l


class Spy(Callback):
    """What every real batch of the run looked like (endBatch never fires for l(xb))."""

    order = 0

    def __init__(self):
        super().__init__()
        self.batches = []

    def endBatch(self):
        l = self.learner
        self.batches.append((l.epoch, l.batch, tuple(l.xb.shape), l.model.training, torch.is_grad_enabled()))


class Slow(Callback):
    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def endBatch(self):
        time.sleep(self.seconds)


def checkBatches(spy, epochs, nTrain, nValid):
    """Every batch of the run came once, full size, training ones in train mode with grad, valid ones not."""
    expected = [(e, b) for e in range(epochs) for b in range(nTrain + nValid)]
    assert [(e, b) for e, b, *_ in spy.batches] == expected
    for _, b, shape, training, grad in spy.batches:
        assert shape == (64, 1)
        assert (training, grad) == ((True, True) if b < nTrain else (False, False))


# ---------------------------------------------------------------- l(xb) during a run
def test_inference_during_a_background_run_runs_between_batches():
    l = quiet(makeLearner(n=64 * 50))  # 40 training + 10 validation batches per epoch
    spy = Spy()
    l.cbs.append(spy)
    h = l.run(3, background=True)
    answers = 0
    while not h.done:
        y = l(torch.zeros(7))
        assert y.shape == (7, 1) and not y.requires_grad
        y, loss = l(torch.zeros(7), torch.ones(7))
        assert isinstance(loss, float)
        answers += 1
    assert h.wait(30) is l and l.status == "done"
    assert answers > 0
    checkBatches(spy, 3, 40, 10)
    assert (len(l.Loss.train), len(l.Loss.valid)) == (3 * 40, 3 * 10)
    assert l.model.training


def test_inference_errors_reach_the_caller_and_the_run_goes_on():
    l = quiet(makeLearner(n=64 * 50))
    l.cbs.append(Slow(0.002))
    h = l.run(2, background=True)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        l(torch.zeros(7, 3))  # a (7, 1, 3) input into Linear(1, ...): the model refuses it
    assert not h.done
    assert h.wait(60) is l and l.status == "done"
    assert len(l.Loss.train) == 2 * 40


def test_inference_while_paused_is_answered_and_the_run_stays_paused():
    l = quiet(makeLearner(n=64 * 50))
    l.cbs.append(Slow(0.002))
    h = l.run(5, background=True)
    h.pause()
    deadline = time.monotonic() + 10
    while l.status != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.005)
    n = len(l.cbs.Slow.learner.Loss.train)
    assert l(torch.zeros(7)).shape == (7, 1)
    assert l.status == "paused" and repr(h).startswith("RunHandle(paused, epoch ")
    time.sleep(0.1)
    assert len(l.Loss.train) == n
    h.cancel()
    h.wait(30)
    assert l.status == "cancelled"


def test_a_callback_may_call_the_learner_during_its_own_run():
    l = quiet(makeLearner())
    seen = []
    l.cbs.append(Callback().withCheckpoint("endEpoch", lambda cb: seen.append(cb.learner(torch.zeros(3)).shape)))
    l.run(2)
    assert seen == [(3, 1), (3, 1)]
    assert len(l.Loss.train) == 16, "inference records no loss"


def test_record_during_a_run_is_refused_without_touching_the_run():
    l = quiet(makeLearner(n=64 * 50))
    l.cbs.append(Slow(0.002))
    spy = Spy()
    l.cbs.append(spy)
    h = l.run(2, background=True)
    with pytest.raises(RuntimeError, match="already running"):
        l.record(1, 2)
    h.wait(60)
    checkBatches(spy, 2, 40, 10)
    assert "_dontTrain" not in l.cbs and not any(cb.suspended for cb in l.cbs)


# ---------------------------------------------------------------- the four ingredients during a run
@pytest.mark.parametrize("attr", ["model", "opt", "lossF", "data"])
def test_replacing_an_ingredient_during_a_run_is_refused(attr):
    l = quiet(makeLearner(n=64 * 50))
    l.cbs.append(Slow(0.002))
    before = getattr(l, attr)
    other = makeLearner(seed=1)
    h = l.run(3, background=True)
    with pytest.raises(RuntimeError, match=rf"l\.{attr} cannot be replaced while the learner runs"):
        setattr(l, attr, getattr(other, attr))
    assert getattr(l, attr) is before
    h.cancel()
    h.wait(30)
    setattr(l, attr, getattr(other, attr))  # after the run it is allowed again
    assert getattr(l, attr) is getattr(other, attr)


# ---------------------------------------------------------------- Ctrl-C in h.wait()
CTRL_C = textwrap.dedent(
    """
    import io, json, signal, sys, threading, time
    # Ctrl-C raises KeyboardInterrupt, as in a terminal or a kernel, even when the test suite itself runs
    # as a background job of a non-interactive shell (which starts it with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {tests!r})
    from conftest import makeLearner

    l = makeLearner(n=64000)
    l.cbs.ProgressBar.stream = io.StringIO()
    h = l.run(100, background=True)
    main = threading.main_thread().ident
    threading.Timer(0.5, lambda: signal.pthread_kill(main, signal.SIGINT)).start()
    out = {{}}
    try:
        h.wait(60)
    except KeyboardInterrupt:
        out["interrupted"] = True
    out.update(done=h.done, status=l.status, running=l._running, error=repr(h.error), repr=repr(h))
    n = len(l.Loss.train)
    time.sleep(0.3)
    l.Loss._flush()
    out["trainedAfter"] = len(l.Loss.train) - n
    l.run(1, batches=2)
    out["again"] = l.status
    print(json.dumps(out))
    """
)


def test_ctrl_c_in_wait_cancels_the_run_and_the_handle_stays_truthful():
    code = CTRL_C.format(tests=TESTS)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {
        "interrupted": True,
        "done": True,
        "status": "cancelled",
        "running": False,
        "error": "None",
        "repr": "RunHandle(cancelled, epoch 1/100)",
        "trainedAfter": 0,
        "again": "done",
    }
    assert "Run cancelled: interrupted (Ctrl-C in h.wait())." in proc.stdout


def test_handle_repr_says_paused_and_counts_epochs_from_one():
    l = quiet(makeLearner())
    h = l.run(0, background=True)
    h.wait(30)
    assert repr(h) == "RunHandle(done, epoch 0/0)"
    h = l.run(2, background=True)
    h.wait(30)
    assert repr(h) == "RunHandle(done, epoch 2/2)"


# ---------------------------------------------------------------- stress
def test_stress_inference_reads_views_and_1000_pause_toggles_during_a_background_run():
    l = quiet(makeLearner(n=64 * 40))  # 32 training + 8 validation batches per epoch
    spy = Spy()
    l.cbs.append(spy)
    l.cbs.append(Slow(0.001))
    epochs = 25
    errors = []
    answers = []

    def poke():
        try:
            x = torch.linspace(-1, 1, 7)
            for i in range(1000):
                l.pause()
                if i % 10 == 0:
                    answers.append(l(x).shape)
                    l.Loss.train.values.sum()
                    l.Loss.last  # noqa: B018
                    repr(l), repr(h), repr(l.feed)
                if i % 100 == 0:
                    l.cbs.ProgressBar.widget().close()
                    l.Loss.plot().widget().close()
                    display.mimebundle(l.moduleSelector)
                    display.mimebundle(l.Loss.plot())
                l.resume()
                time.sleep(0.001)
        except BaseException as e:
            errors.append(e)

    h = l.run(epochs, background=True)
    poker = threading.Thread(target=poke)
    poker.start()
    poker.join(300)
    assert not poker.is_alive()
    assert h.wait(300) is l
    assert errors == [] and h.error is None
    assert l.status == "done"
    assert answers == [(7, 1)] * 100
    checkBatches(spy, epochs, 32, 8)
    assert (len(l.Loss.train), len(l.Loss.valid)) == (epochs * 32, epochs * 8)
    assert (len(l.Loss.epoch.train), len(l.Loss.epoch.valid)) == (epochs, epochs)


def test_the_learner_runs_again_after_the_stress():
    l = quiet(makeLearner())
    h = l.run(1, background=True)
    for _ in range(50):
        l.pause()
        l.resume()
    h.wait(30)
    l.run(1)
    assert l.status == "done" and len(l.Loss.epoch.train) == 2
    assert isinstance(h, k1lib.RunHandle)
