"""Learner: the loop, cancel semantics, inference, errors, background runs, save/load."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from conftest import makeLearner

import k1widgets as k1lib
from k1widgets.callbacks import CHECKPOINTS, Callback
from k1widgets.learner import LearnerLoadError, LearnerNotReadyError
from k1widgets.persist.saves import writeSave


class Events(Callback):
    """Records every checkpoint with the epoch and batch it happened at."""

    order = 0

    def __init__(self):
        super().__init__()
        self.log = []


def _recorder(checkpoint):
    def f(self):
        self.log.append((checkpoint, self.learner.epoch, self.learner.batch))

    return f


for _cp in CHECKPOINTS:
    setattr(Events, _cp, _recorder(_cp))


def names(log, *keep):
    return [e[0] for e in log if not keep or e[0] in keep]


def test_checkpoint_order_of_one_batch(learner):
    ev = Events()
    learner.cbs.append(ev)
    learner.run(1)
    first = names(ev.log)[:13]
    assert first == [
        "startRun", "startEpoch", "startBatch", "startPass", "endPass", "startLoss", "endLoss",
        "startBackward", "startStep", "startZeroGrad", "endBatch", "startBatch", "startPass",
    ]  # fmt: skip
    # validation: no backward / step / zero_grad, and its batches continue the numbering
    valid = [e for e in ev.log if e[2] >= 8]
    assert "startBackward" not in names(valid)
    assert names(ev.log)[-2:] == ["endEpoch", "endRun"]
    assert names(ev.log).count("startValidBatches") == 1


def test_validation_runs_in_eval_mode_without_grad(learner):
    seen = []

    class Spy(Callback):
        def endPass(self):
            seen.append((self.learner.model.training, torch.is_grad_enabled()))

    learner.cbs.append(Spy())
    learner.run(1)
    assert seen[:8] == [(True, True)] * 8
    assert seen[8:] == [(False, False)] * 2
    assert learner.model.training, "the model goes back to train mode after validation"


def test_truthy_start_hooks_skip_steps(learner):
    before = [p.clone() for p in learner.model.parameters()]
    learner.cbs.append(Callback().withCheckpoint("startStep", lambda cb: True))
    learner.run(1)
    assert all(torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))


def test_start_valid_batches_truthy_skips_validation(learner):
    ev = Events()
    learner.cbs.append(ev)
    learner.cbs.append(Callback().withCheckpoint("startValidBatches", lambda cb: True))
    learner.run(1)
    assert max(e[2] for e in ev.log) == 7
    assert learner.Loss.epoch.valid.tolist() != learner.Loss.epoch.valid.tolist()  # NaN: no valid batches


def raiser(exc, at_batch):
    def f(cb):
        if cb.learner.batch == at_batch and cb.learner.epoch == 0:
            raise exc("stop here")

    return f


def test_cancel_batch_skips_the_rest_of_that_batch_only(learner, capsys):
    ev = Events()
    learner.cbs.append(ev)
    learner.cbs.append(Callback().withCheckpoint("endPass", raiser(k1lib.CancelBatchException, 2)))
    learner.run(1)
    b2 = names([e for e in ev.log if e[2] == 2])
    assert b2 == ["startBatch", "startPass", "endPass", "cancelBatch", "endBatch"]
    assert "Batch cancelled: stop here.\n" in capsys.readouterr().out
    assert names(ev.log).count("startBatch") == 10


def test_cancel_epoch_cleans_up_at_batch_and_epoch_level(learner, capsys):
    ev = Events()
    learner.cbs.append(ev)
    learner.cbs.append(Callback().withCheckpoint("endLoss", raiser(k1lib.CancelEpochException, 3)))
    learner.run(2)
    log = names(ev.log)
    i = log.index("cancelBatch")
    assert log[i : i + 4] == ["cancelBatch", "endBatch", "cancelEpoch", "endEpoch"]
    assert log[i + 4] == "startEpoch", "the next epoch runs"
    assert [e[1] for e in ev.log if e[0] == "startEpoch"] == [0, 1]
    assert "Epoch cancelled: stop here." in capsys.readouterr().out


def test_cancel_run_cleans_up_at_every_level(learner, capsys):
    ev = Events()
    learner.cbs.append(ev)
    learner.cbs.append(Callback().withCheckpoint("endLoss", raiser(k1lib.CancelRunException, 3)))
    assert learner.run(5) is learner
    assert names(ev.log)[-6:] == ["cancelBatch", "endBatch", "cancelEpoch", "endEpoch", "cancelRun", "endRun"]
    assert "Run cancelled: stop here.\n" in capsys.readouterr().out
    assert learner.status == "cancelled"


def test_cancel_run_newline_setting(learner, capsys):
    learner.cbs.append(
        Callback().withCheckpoint("startRun", lambda cb: (_ for _ in ()).throw(k1lib.CancelRunException("x")))
    )
    with_newline = k1lib.settings.cancelRun_newLine
    try:
        k1lib.settings.cancelRun_newLine = False
        with learner.cbs.suspend(["Autosave"]):  # it would print "Saved to ..." after the message
            learner.run(1)
        assert capsys.readouterr().out.endswith("Run cancelled: x.")
    finally:
        k1lib.settings.cancelRun_newLine = with_newline


def test_callbacks_added_during_a_run_with_batches_are_removed(learner):
    learner.run(2, batches=3)
    assert learner.Loss.train.tolist() and len(learner.Loss.train) == 6
    assert "_batchLimit" not in learner.cbs


def test_run_without_ingredients_names_everything_missing():
    l = k1lib.Learner()
    with pytest.raises(LearnerNotReadyError, match=r"no model, data, opt, lossF\. Set l\.model = \.\.\., l\.data"):
        l.run(1)
    l.model = torch.nn.Linear(1, 1)
    with pytest.raises(LearnerNotReadyError, match=r"it has no data, opt, lossF\."):
        l.run(1)


@pytest.mark.parametrize(
    ("attr", "value", "match"),
    [
        ("model", "resnet", r"l\.model must be a torch\.nn\.Module, got str: 'resnet'"),
        ("data", 5, r"l\.data must be a k1widgets\.data\.Data or a \[train, valid\] pair"),
        ("opt", object(), r"l\.opt must be an optimizer with step\(\) and zero_grad\(\)"),
        ("lossF", 3, r"l\.lossF must be callable as lossF\(y, yb\), got int: 3"),
    ],
)
def test_setters_reject_bad_values(attr, value, match):
    with pytest.raises(TypeError, match=match):
        setattr(k1lib.Learner(), attr, value)


@pytest.mark.parametrize(("epochs", "batches"), [(-1, None), (1.5, None), (1, 0), (True, None)])
def test_run_rejects_bad_counts(learner, epochs, batches):
    with pytest.raises(ValueError, match="must be a whole number"):
        learner.run(epochs, batches)


def test_callback_lookup_and_suggestions(learner):
    assert learner.Loss is learner.cbs["Loss"] is learner.cbs.Loss
    with pytest.raises(AttributeError, match=r"'Learner' has no attribute or callback 'Los'.*Did you mean 'Loss'\?"):
        learner.Los  # noqa: B018
    assert not hasattr(learner, "nothingLikeThis")


def test_property_errors_are_not_hidden():
    l = k1lib.Learner()
    with pytest.raises(LearnerNotReadyError, match="needs a model"):
        l.moduleSelector  # noqa: B018


def test_call_returns_y_or_y_and_loss_in_eval_mode_silently(learner, capsys):
    learner.run(1)
    capsys.readouterr()
    modes = []
    learner.cbs.append(Callback().withCheckpoint("endPass", lambda cb: modes.append(cb.learner.model.training)))
    x = torch.tensor([0.0, 1.0])
    y = learner(x)
    assert y.shape == (2, 1) and not y.requires_grad
    y2, loss = learner(x, torch.exp(x))
    assert torch.equal(y, y2)
    assert isinstance(loss, float) and loss == pytest.approx(float(((y.squeeze() - torch.exp(x)) ** 2).mean()))
    assert modes == [False, False]
    assert learner.model.training
    assert capsys.readouterr().out == ""
    assert len(learner.Loss.train) == 8, "inference records no loss"


def test_sample_learner_trains():
    l = k1lib.Learner.sample()
    l.cbs.ProgressBar.stream = io.StringIO()
    l.run(2)
    assert l.Loss.epoch.train[1] < l.Loss.epoch.train[0]


def test_repr_lists_what_is_missing():
    text = repr(k1lib.Learner())
    assert text.startswith("l.model is not set\nl.data is not set\nl.opt is not set\nl.lossF is not set\nl.cbs:")


# ---------------------------------------------------------------- background runs and controls
def test_background_run_returns_a_handle_and_finishes(capsys):
    l = makeLearner(n=6400)
    h = l.run(3, background=True)
    assert isinstance(h, k1lib.RunHandle)
    assert h.wait(60) is l
    assert h.done and l.status == "done"
    assert len(l.Loss.epoch.train) == 3


def test_background_run_cancel_and_pause():
    l = makeLearner(n=64000)
    l.cbs.ProgressBar.stream = io.StringIO()
    h = l.run(50, background=True)
    time.sleep(0.3)
    h.pause()
    deadline = time.time() + 10
    while l.status != "paused" and time.time() < deadline:
        time.sleep(0.01)
    assert l.status == "paused"
    n = len(l.Loss.train) + len(l.Loss.valid)
    time.sleep(0.3)
    assert len(l.Loss.train) + len(l.Loss.valid) == n, "no batches while paused"
    h.resume()
    time.sleep(0.2)
    h.cancel()
    h.wait(30)
    assert l.status == "cancelled"
    assert "Run cancelled: cancelled by the user." in l.cbs.ProgressBar.stream.getvalue() or l.epoch < 49
    with pytest.raises(ValueError, match="cancel scope must be one of batch, epoch, run, got 'all'"):
        l.cancel("all")


def test_background_run_reraises_errors_in_wait(learner):
    learner.lossF = lambda y, yb: 1 / 0
    h = learner.run(1, background=True)
    with pytest.raises(ZeroDivisionError) as info:
        h.wait(30)
    assert "(raised in callback" not in str(info.value)
    assert learner.status == "error"
    assert not learner._running


def test_a_second_run_while_running_is_refused():
    l = makeLearner(n=64000)
    h = l.run(20, background=True)
    with pytest.raises(RuntimeError, match="already running"):
        l.run(1)
    h.cancel()
    h.wait(30)


def test_errors_still_clean_up_and_keep_recorded_losses(learner):
    calls = []
    learner.cbs.append(Callback().withCheckpoint("endRun", lambda cb: calls.append("endRun")))

    def bad(cb):
        if cb.learner.batch == 5:
            raise ValueError("boom")

    learner.cbs.append(Callback().withCheckpoint("endBatch", bad), "Bad")
    with pytest.raises(ValueError, match="boom") as info:
        learner.run(1)
    assert any("callback 'Bad' at checkpoint 'endBatch'" in n for n in info.value.__notes__)
    assert calls == ["endRun"]
    assert len(learner.Loss.train) == 6, "losses of finished batches are flushed, not lost"


# ---------------------------------------------------------------- save and load
def test_save_load_round_trip_keeps_everything_but_data(tmp_path, capsys):
    l = makeLearner()
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean()  # a lambda, as the README uses
    l.run(2)
    name = str(tmp_path / "run1")
    l.save(name)
    assert capsys.readouterr().out.endswith(f"Saved to {name}.pth\n")
    assert os.path.exists(name + ".pth") and os.path.exists(name + ".model.pth")
    l2 = k1lib.Learner.load(name)
    assert l2.data is None
    for a, b in zip(l.model.parameters(), l2.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert l2.opt.state_dict()["state"].keys() == l.opt.state_dict()["state"].keys()
    assert [cb.name for cb in l2.cbs] == [cb.name for cb in l.cbs]
    assert l2.Loss.train.tolist() == l.Loss.train.tolist()
    assert l2.Loss.learner is l2
    l2.data = l.data
    l2.run(1)  # the loaded lambda, optimizer and callbacks work
    assert len(l2.Loss.epoch.train) == 3
    # model-only weights load without unpickling code
    l3 = makeLearner(seed=1)
    l3.loadWeights(name)
    assert all(torch.equal(a, b) for a, b in zip(l.model.parameters(), l3.model.parameters(), strict=True))


def test_save_twice_with_pth_suffix_does_not_double_it(tmp_path, learner, capsys):
    learner.save(tmp_path / "a.pth")
    assert sorted(os.listdir(tmp_path)) == ["a.model.pth", "a.pth"]


class Unpicklable(Callback):
    def __reduce__(self):
        raise RuntimeError("cannot pickle me")


def test_failed_save_leaves_the_previous_file_intact(tmp_path, learner, capsys):
    name = str(tmp_path / "run")
    learner.save(name)
    good = open(name + ".pth", "rb").read()
    learner.cbs.append(Unpicklable())
    with pytest.raises(RuntimeError, match="cannot pickle me"):
        learner.save(name)
    assert open(name + ".pth", "rb").read() == good
    assert sorted(os.listdir(tmp_path)) == ["run.model.pth", "run.pth"], "no temp files left behind"
    assert isinstance(k1lib.Learner.load(name), k1lib.Learner)


SLOW_SAVE = textwrap.dedent(
    """
    import sys, time
    import torch
    sys.path.insert(0, {tests!r})
    from conftest import makeLearner

    def slowSave(obj, f, *a, **k):  # the save is writing its temporary file for a minute
        print("WRITING", flush=True)
        f.write(b"partial")
        f.flush()
        time.sleep(60)

    torch.save = slowSave
    l = makeLearner()
    l.save({name!r})
    """
)


def test_kill_9_mid_save_leaves_the_previous_file_intact(tmp_path, learner, capsys):
    name = str(tmp_path / "run")
    learner.save(name)
    good = open(name + ".pth", "rb").read()
    code = SLOW_SAVE.format(tests=os.path.dirname(__file__), name=name)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "WRITING"
        assert any(f.endswith(".tmp") for f in os.listdir(tmp_path)), "the save writes to a temp file"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert open(name + ".pth", "rb").read() == good
    assert isinstance(k1lib.Learner.load(name), k1lib.Learner)
    learner.save(name)  # the next save removes the temporary file the killed one left
    assert sorted(os.listdir(tmp_path)) == ["run.model.pth", "run.pth"]


def test_load_errors_say_what_is_wrong(tmp_path, learner, capsys):
    with pytest.raises(FileNotFoundError, match=r"No saved learner at .*nope\.pth.*Saved learners in .*: \(none\)"):
        k1lib.Learner.load(tmp_path / "nope")
    (tmp_path / "bad.pth").write_bytes(b"not a pickle")
    with pytest.raises(LearnerLoadError, match=r"bad\.pth' is not a readable k1widgets save .*left as it is"):
        k1lib.Learner.load(tmp_path / "bad")
    torch.save([1, 2], tmp_path / "other.pth")
    with pytest.raises(LearnerLoadError, match="holds a list, not a k1widgets save"):
        k1lib.Learner.load(tmp_path / "other")
    writeSave(str(tmp_path / "notLearner"), [1, 2], None)
    with pytest.raises(LearnerLoadError, match="holds a list, not a Learner"):
        k1lib.Learner.load(tmp_path / "notLearner")
    with pytest.raises(ValueError, match="needs a file name"):
        learner.save("")
    # the seed's signatures default the name to None (k1lib then wrote "None.pth" or prompted): here, the fix
    with pytest.raises(ValueError, match=r"l.save\(\) needs a file name, e.g. l.save\('run1'\)"):
        learner.save()
    with pytest.raises(ValueError, match=r"Learner.load\(\) needs a file name"):
        k1lib.Learner.load()


def test_ctrl_c_cleans_up_and_the_learner_runs_again(learner):
    def interrupt(cb):
        if cb.learner.batch == 3:
            raise KeyboardInterrupt

    cb = Callback().withCheckpoint("endBatch", interrupt)
    learner.cbs.append(cb, "CtrlC")
    with pytest.raises(KeyboardInterrupt):
        learner.run(2)
    assert learner.status == "cancelled" and not learner._running
    assert len(learner.Loss.train) == 4, "the batches before Ctrl-C are kept"
    cb.detach()
    learner.run(1)
    assert learner.status == "done" and len(learner.Loss.epoch.train) == 1


def test_tracebacks_show_one_suggestion_not_two(learner):
    import traceback

    for get in (lambda: learner.Los, lambda: learner.cbs.Los, lambda: k1lib.settings.displayCutof):
        with pytest.raises(AttributeError) as info:
            get()
        shown = "".join(traceback.format_exception(info.value))
        assert shown.count("Did you mean") == 1, shown


def test_an_end_run_that_raises_is_not_run_twice(learner):
    calls = []

    def bad(cb):
        calls.append("endRun")
        raise ValueError("endRun broke")

    learner.cbs.append(Callback().withCheckpoint("endRun", bad), "Bad")
    with pytest.raises(ValueError, match="endRun broke"):
        learner.run(1)
    assert calls == ["endRun"]
    assert learner.status == "error"


# ---------------------------------------------------------------- reliability (issue 10)
def test_backward_uses_the_loss_as_end_loss_callbacks_left_it(learner):
    learner.opt = torch.optim.SGD(learner.model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in learner.model.parameters()]

    def zero(cb):
        cb.learner.lossG = cb.learner.lossG * 0.0  # e.g. loss scaling; an L2 term works the same way

    learner.cbs.append(Callback().withCheckpoint("endLoss", zero))
    learner.run(1)
    assert all(torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))
    assert learner.Loss.train[0] > 0, "the recorded loss is the loss function's, before the callbacks"


@pytest.mark.parametrize("exc", [ValueError, KeyboardInterrupt])
def test_model_goes_back_to_train_mode_after_an_error_during_validation(learner, exc):
    def bad(cb):
        if not cb.learner.model.training:
            raise exc("during validation")

    learner.cbs.append(Callback().withCheckpoint("endPass", bad))
    with pytest.raises(exc):
        learner.run(1)
    assert learner.model.training
    assert torch.is_grad_enabled()


@pytest.mark.parametrize(
    ("attr", "value", "match"),
    [
        ("opt", torch.optim.Adam, r"got the class torch\.optim\.Adam\. Did you mean l\.opt = torch\.optim\.Adam\("),
        ("lossF", torch.nn.CrossEntropyLoss, r"class nn\.CrossEntropyLoss\. Did you mean nn\.CrossEntropyLoss\(\)\?"),
        ("model", torch.nn.Linear, r"got the class nn\.Linear\. Did you mean l\.model = nn\.Linear\(\.\.\.\)\?"),
        ("data", (torch.zeros(10, 3), torch.zeros(10)), r"Data\.fromDataset\(TensorDataset\(X, Y\), batchSize=64\)"),
        ("data", [torch.zeros(10, 3), torch.zeros(10)], r"a pair of tensors \(\(10, 3\), \(10,\)\)"),
    ],
)
def test_setters_refuse_classes_and_raw_tensors_with_the_fix(attr, value, match):
    l = k1lib.Learner()
    with pytest.raises(TypeError, match=match):
        setattr(l, attr, value)
    assert getattr(l, attr) is None


def test_dict_batches_get_a_clear_error_at_the_first_batch_and_whole_batch_modify_fixes_them():
    from k1widgets.data import Data

    x = torch.linspace(-2, 2, 256)
    batches = [{"x": x[i : i + 64, None], "label": torch.exp(x[i : i + 64])} for i in range(0, 256, 64)]
    l = makeLearner()
    l.cbs.remove("ModifyBatch")
    l.cbs.ProgressBar.stream = io.StringIO()
    l.data = Data(batches[:3], batches[3:])
    with pytest.raises(TypeError, match=r"not an \(xb, yb\) pair: a dict with keys \['x', 'label'\]") as info:
        l.run(1)
    assert "l.cbs.withModifyBatch(lambda b: (b['x'], b['label']))" in str(info.value)
    assert l.status == "error" and l.Loss.train.tolist() == []
    l.cbs.withModifyBatch(lambda b: (b["x"], b["label"]))
    l.run(2)
    assert l.status == "done" and len(l.Loss.train) == 6
    assert l({"x": torch.zeros(5, 1), "label": torch.zeros(5)}).shape == (5, 1), "l(b) takes a whole batch too"


def test_bare_tensor_batches_name_their_shape():
    from k1widgets.data import Data

    l = makeLearner()
    l.cbs.ProgressBar.stream = io.StringIO()
    l.data = Data([torch.zeros(64, 2)], [])
    with pytest.raises(TypeError, match=r"a Tensor of shape \(64, 2\).*withModifyBatch\(lambda b: \(b\[:, :-1\]"):
        l.run(1)
    l.cbs.remove("ModifyBatch")
    l.cbs.withModifyBatch(lambda b: (b[:, :1], b[:, 1]))
    l.run(1)
    assert len(l.Loss.train) == 1


def test_lists_and_longer_tuples_still_unpack(learner):
    from k1widgets.data import Data

    x = torch.linspace(-1, 1, 64)
    learner.data = Data([[x, torch.exp(x)]], [(x, torch.exp(x), torch.arange(64))])
    metabs = []
    learner.cbs.append(Callback().withCheckpoint("endBatch", lambda cb: metabs.append(len(cb.learner.metab))))
    learner.cbs.ProgressBar.stream = io.StringIO()
    learner.run(1)
    assert metabs == [0, 1]


def test_repr_shows_the_optimizers_learning_rate():
    l = makeLearner(lr=3e-3)
    text = repr(l)
    opt = text.split("l.opt:\n")[1].splitlines()
    assert opt[:6] == [
        "    Adam (",
        "    Parameter Group 0",
        "        lr: 0.003",
        "        betas: (0.9, 0.999)",
        "        eps: 1e-08",
        "        weight_decay: 0",
    ]
