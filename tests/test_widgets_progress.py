"""The progress view without a browser: simulated front-end messages, recorded outgoing messages."""

from __future__ import annotations

import gc
import io
import math
import time
import weakref

import pytest
import torch
from conftest import makeLearner

import k1widgets as k1lib
from k1widgets import display
from k1widgets.callbacks import Callback
from k1widgets.widgets.progress import ProgressView, _jsonSafe


@pytest.fixture
def sent(monkeypatch):
    """Every comm message the widgets would send to the browser: (widget, msg)."""
    from ipywidgets import Widget

    log = []
    orig = Widget._send

    def record(self, msg, buffers=None):
        log.append((self, msg))
        return orig(self, msg, buffers)

    monkeypatch.setattr(Widget, "_send", record)
    return log


def states(sent, view):
    """The progress states ``view`` sent, in order."""
    return [m["state"]["state"] for w, m in sent if w is view and m.get("method") == "update" and "state" in m["state"]]


def click(view, **content):
    """What the browser sends when a button of the view is clicked (``model.send(content)``)."""
    view._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def quiet(l):
    l.ProgressBar.stream = io.StringIO()  # the text line is not what these tests look at
    return l


def waitFor(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


class Slow(Callback):
    def endBatch(self):
        time.sleep(0.002)


def test_5000_batch_run_sends_few_messages_and_the_exact_final_state(sent):
    l = quiet(makeLearner(n=5000, batchSize=2))  # 2 epochs x (2000 train + 500 valid batches)
    l.model = torch.nn.Linear(1, 1)  # a cheap model: this test is about messages, not training
    l.opt = torch.optim.SGD(l.model.parameters(), lr=1e-3)
    view = ProgressView(l.ProgressBar)
    sent.clear()
    t0 = time.perf_counter()
    l.run(2)
    seconds = time.perf_counter() - t0
    pushed = states(sent, view)
    print(f"{len(pushed)} progress messages for 5,000 batches in {seconds:.2f} s")
    # <= settings.live.hz (10) a second while running, plus the flushes at endEpoch/endRun
    assert 2 <= len(pushed) <= 10 * seconds + 5, (len(pushed), seconds)
    if seconds < 5.5:  # the usual case (about 2 s); a loaded machine runs longer and may send more
        assert len(pushed) <= 60, (len(pushed), seconds)
    final = pushed[-1]
    assert final == view.state == _jsonSafe(l.ProgressBar.state())
    summary = (final["status"], final["progress"], final["epoch"], final["epochs"], final["batch"], final["batches"])
    assert summary == ("done", 1.0, 1, 2, 2499, 2500)
    assert final["trainLoss"] == pytest.approx(l.Loss.last[0])
    assert final["validLoss"] == pytest.approx(l.Loss.last[1])
    assert final["remaining"] == 0
    # what the browser receives is JSON: no NaN anywhere
    assert all(v is None or not isinstance(v, float) or math.isfinite(v) for s in pushed for v in s.values())


def test_view_before_any_run_shows_an_idle_learner():
    l = makeLearner()
    view = l.ProgressBar.widget()
    assert isinstance(view, ProgressView) and not view.runOnly
    assert view.state["status"] == "idle"
    assert view.state["elapsed"] == 0 and view.state["remaining"] is None and view.state["trainLoss"] is None


def test_closed_view_receives_nothing_and_is_collected(sent):
    l = quiet(makeLearner())
    view = ProgressView(l.ProgressBar)
    assert l.feed.active
    view.close()
    assert not l.feed.active  # unsubscribed
    sent.clear()
    l.run(2)
    assert sent == []
    ref = weakref.ref(view)
    del view
    gc.collect()
    assert ref() is None  # nothing (feed, learner, anywidget) keeps a closed view alive


def test_run_views_stop_following_when_their_run_ends(sent):
    l = quiet(makeLearner())
    runView = ProgressView(l.ProgressBar, runOnly=True)  # what l.run() displays in a notebook cell
    liveView = ProgressView(l.ProgressBar)  # l.ProgressBar.widget(): follows every run
    l.run(1)
    assert runView.state["status"] == "done" and not runView._subs
    sent.clear()
    l.run(2)
    assert states(sent, runView) == []
    assert states(sent, liveView)[-1]["epochs"] == 2


def test_buttons_pause_resume_and_cancel_a_background_run(sent, capsys):
    l = quiet(makeLearner())
    l.cbs.append(Slow())
    view = ProgressView(l.ProgressBar)
    h = l.run(1000, background=True)
    waitFor(lambda: l.batch > 2 or l.epoch > 0)

    click(view, action="pause")
    waitFor(lambda: view.state["status"] == "paused")  # the loop flushes the feed when it pauses
    held = (l.epoch, l.batch)
    time.sleep(0.1)
    assert (l.epoch, l.batch) == held and not h.done

    click(view, action="resume")
    waitFor(lambda: (l.epoch, l.batch) != held)
    assert l.status == "running"

    click(view, action="cancel", scope="epoch")
    waitFor(lambda: "Epoch cancelled" in capsys.readouterr().out)
    assert not h.done

    click(view, action="cancel", scope="run")
    h.wait(10)
    assert l.status == "cancelled" and l.epoch < 999
    assert view.state["status"] == "cancelled"
    assert view.state["message"] == "Run cancelled: cancelled by the user."
    assert "Run cancelled: cancelled by the user." in capsys.readouterr().out
    assert states(sent, view)[-1] == view.state


def test_unknown_messages_are_ignored():
    l = makeLearner()
    view = ProgressView(l.ProgressBar)
    click(view, action="cancel", scope="everything")
    click(view, action="explode")
    view._handle_msg({"content": {"data": {"method": "custom", "content": "pause"}}, "buffers": []})
    assert not l._commands


def test_display_shows_no_widget_outside_a_kernel_only_the_static_picture():
    l = makeLearner()
    assert display.show(l.ProgressBar, runOnly=True) is None
    bundle = l.ProgressBar._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"} and "ProgressBar" in bundle["text/plain"]
    assert 'class="k1w-progress-static" data-status="idle"' in bundle["text/html"]


def test_static_picture_shows_the_final_state_of_a_run():
    l = quiet(makeLearner())
    l.run(2)
    html = l.ProgressBar._repr_html_()
    assert 'data-status="done"' in html and "<b>100%</b>" in html and "epoch 2/2" in html
    assert "remaining" not in html  # a finished run has nothing remaining
    train, valid = l.Loss.last
    assert f"loss {train:.4g} train, {valid:.4g} valid" in html


def test_static_picture_shows_the_cancel_message_escaped():
    class Stop(Callback):
        def endBatch(self):
            if self.batch == 2:
                raise k1lib.CancelRunException("loss < 1 & <done>")

    l = quiet(makeLearner())
    l.cbs.append(Stop())
    l.run(3)
    html = l.ProgressBar._repr_html_()
    assert 'data-status="cancelled"' in html
    assert "loss &lt; 1 &amp; &lt;done&gt;" in html and "<done>" not in html


def test_view_display_data_carries_the_static_picture_and_the_text_line():
    l = quiet(makeLearner())
    view = ProgressView(l.ProgressBar)
    l.run(1)
    data, _ = view._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == view.model_id
    assert data["text/html"] == l.ProgressBar._repr_html_() and 'data-status="done"' in data["text/html"]
    assert data["text/plain"].startswith("Progress: 100%, epoch: 1/1") and "object at 0x" not in data["text/plain"]
    view.close()


def test_view_needs_an_attached_progress_bar():
    from k1widgets.callbacks.progress import ProgressBar

    with pytest.raises(ValueError, match="attached to a learner"):
        ProgressView(ProgressBar())


def test_a_learner_with_a_view_still_saves(tmp_path):
    l = quiet(makeLearner())
    l.ProgressBar.view = ProgressView(l.ProgressBar)
    l.run(1)
    l.save(tmp_path / "run")
    loaded = k1lib.Learner.load(tmp_path / "run")
    assert loaded.ProgressBar.view is None
    torch.testing.assert_close(loaded.model.state_dict(), l.model.state_dict())


def test_a_nan_loss_reaches_the_view_as_nan():
    l = quiet(makeLearner())
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean() * float("nan")
    l.cbs.remove("CancelOnExplosion")
    view = ProgressView(l.ProgressBar)
    l.run(1)
    assert view.state["trainLoss"] == "NaN" and view.state["validLoss"] == "NaN"
    assert _jsonSafe({"trainLoss": math.inf, "remaining": math.nan}) == {"trainLoss": "Infinity", "remaining": None}
    view.close()
