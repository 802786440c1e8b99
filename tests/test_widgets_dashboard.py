"""The Learner dashboard without a browser: simulated front-end messages for every control, lazy tabs,
one feed, the message budget, and a clean close (no subscriptions or threads left behind)."""

from __future__ import annotations

import gc
import io
import threading
import time
import weakref

import ipywidgets
import pytest
import torch
from conftest import makeLearner

from k1widgets import settings
from k1widgets.callbacks import Callback
from k1widgets.widgets.callbacks import CallbacksView
from k1widgets.widgets.dashboard import TABS, DashboardView
from k1widgets.widgets.dashtabs import ComputeTab, LossTab, adopt, countWidgets
from k1widgets.widgets.plot import PlotView
from k1widgets.widgets.progress import ProgressView
from k1widgets.widgets.tree import TreeView


@pytest.fixture
def sent(monkeypatch):
    """Every comm message the widgets send: (widget, msg)."""
    out = []
    orig = ipywidgets.Widget._send

    def record(self, msg, buffers=None):
        out.append((self, msg))
        return orig(self, msg, buffers)

    monkeypatch.setattr(ipywidgets.Widget, "_send", record)
    return out


def quiet(l):
    l.ProgressBar.stream = io.StringIO()
    return l


def click(view, **content):
    """What the browser sends when a control of the header is used (``model.send(content)``)."""
    view._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def frontEnd(widget, **state):
    """The browser setting traits (clicking a tab sets ``selected_index``)."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []})


def press(button):
    """A click on an ipywidgets Button."""
    button._handle_msg({"content": {"data": {"method": "custom", "content": {"event": "click"}}}, "buffers": []})


def waitFor(condition, timeout=15.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def jobDone(d, timeout=30):
    if d._job is not None:
        d._job.join(timeout)
        assert not d._job.is_alive()


class Slow(Callback):
    def endBatch(self):
        time.sleep(0.004)


def dashboard(**kwargs):
    l = quiet(makeLearner(**kwargs))
    return l, DashboardView(l)


def test_header_shows_model_data_optimizer_loss_and_status():
    l, d = dashboard()
    h = d.header.header
    assert h["model"] == {
        "class": "Network",
        "parameters": 1021,
        "trainable": 1021,
        "device": "cpu",
        "dtype": "float32",
        "modules": 29,
    }
    assert h["data"]["train"]["batches"] == 8 and h["data"]["valid"]["batches"] == 2
    assert h["data"]["train"]["batch"][0] == {"name": "xb", "shape": [64], "dtype": "float32", "device": "cpu"}
    assert h["opt"]["class"] == "Adam" and h["opt"]["groups"][0]["values"]["lr"] == 0.01
    assert h["lossF"] == "mse" and d.header.run["status"] == "idle" and h["missing"] == []
    assert d.header.hypers == {
        "keys": ["lr", "weight_decay", "betas"],
        "groups": [{"index": 0, "values": {"lr": 0.01, "weight_decay": 0, "betas": [0.9, 0.999]}}],
    }
    assert l.widget().__class__ is DashboardView
    assert l._repr_mimebundle_().keys() == {"text/plain", "text/html"}  # no kernel here: the static fallback


def test_tabs_are_built_when_first_opened_and_share_one_feed():
    l, d = dashboard()
    assert d.openedTabs == ["Progress"]
    assert len(l.feed._subs) == 1  # the dashboard; the progress view's own subscription was taken over
    assert isinstance(d._tabs["Progress"].box.children[0], ProgressView)
    frontEnd(d.tabs, selected_index=TABS.index("Callbacks"))  # a click on the tab
    assert d.openedTabs == ["Progress", "Callbacks"]
    assert isinstance(d._tabs["Callbacks"].box.children[0], CallbacksView)
    for name in TABS:
        d.select(name)
    assert d.openedTabs == list(TABS)
    assert isinstance(d._tabs["Model"].box.children[0], TreeView)
    assert len(l.feed._subs) == 1, "every view inside the dashboard follows the dashboard, not the feed"
    assert d.tabs.children[TABS.index("Loss")] is d._tabs["Loss"].box


def test_only_the_tab_on_screen_refreshes(sent):
    l, d = dashboard()
    d.select("Callbacks")
    d.select("Loss")
    callbacksWidgets = {id(w) for w in _all(d._tabs["Callbacks"].box)}
    lossWidgets = {id(w) for w in _all(d._tabs["Loss"].box)}
    sent.clear()
    l.run(2)
    time.sleep(0.5)  # trailing notifications
    assert not [m for w, m in sent if id(w) in callbacksWidgets], "a hidden tab sent messages"
    assert [m for w, m in sent if id(w) in lossWidgets], "the visible tab did not update"
    before = d._tabs["Callbacks"].box.children[0].table.rows
    d.select("Callbacks")  # shown again: catches up at once
    after = d._tabs["Callbacks"].box.children[0].table.rows
    assert after == before  # nothing structural changed, but the timings did:
    view = d._tabs["Callbacks"].box.children[0]
    assert set(view.timingsView.bars.x.tolist()) == set(dict(l.cbs.timings.items()))


def _all(w):
    from k1widgets.widgets.dashtabs import _walk

    return _walk(w)


def test_run_button_trains_in_the_background_and_reports():
    l, d = dashboard()
    click(d.header, action="run", epochs=2)
    assert d.header.busy == "run"
    jobDone(d)
    assert l.status == "done" and l.epoch == 1 and len(l.Loss.epoch.train) == 2
    assert d.header.run["status"] == "done" and d.header.busy == ""
    assert d.header.notice["kind"] == "ok" and d.header.notice["text"] == "Run of 2 epochs ended: done."
    assert l.ProgressBar.stream.getvalue() == ""  # the dashboard shows the run: no text line


def test_pause_resume_and_cancel_buttons_steer_the_run():
    l, d = dashboard()
    l.cbs.append(Slow())
    click(d.header, action="run", epochs=500)
    waitFor(lambda: l.status == "running" and l.batch > 2)
    click(d.header, action="pause")
    waitFor(lambda: d.header.run["status"] == "paused")
    held = (l.epoch, l.batch)
    time.sleep(0.1)
    assert (l.epoch, l.batch) == held
    click(d.header, action="resume")
    waitFor(lambda: (l.epoch, l.batch) != held)
    epoch = l.epoch
    click(d.header, action="cancel", scope="epoch")
    waitFor(lambda: l.epoch > epoch)
    click(d.header, action="cancel", scope="batch")
    click(d.header, action="cancel", scope="run")
    jobDone(d)
    assert l.status == "cancelled" and l.epoch < 499
    assert d.header.run["status"] == "cancelled"
    assert d.header.run["message"] == "Run cancelled: cancelled by the user."


def test_run_button_refuses_what_cannot_run():
    l, d = dashboard()
    click(d.header, action="run", epochs=0)
    assert d.header.notice["kind"] == "error" and "Epochs must be a whole number >= 1, got 0" in d.header.notice["text"]
    click(d.header, action="run", epochs="x")
    assert "got 'x'" in d.header.notice["text"]
    l.cbs.append(Slow())
    click(d.header, action="run", epochs=100)
    waitFor(lambda: l.status == "running")
    click(d.header, action="run", epochs=1)
    assert "already running" in d.header.notice["text"]
    click(d.header, action="save", fileName="x")
    assert d.header.notice["text"].startswith("Busy: wait for the run to finish.")
    l.cancel()
    jobDone(d)
    l.lossF = None
    click(d.header, action="run", epochs=1)
    assert "set l.lossF first" in d.header.notice["text"]


def test_a_run_that_fails_shows_error_and_message():
    l, d = dashboard()

    class Boom(Callback):
        def endLoss(self):
            raise ValueError("bad batch")

    l.cbs.append(Boom())
    click(d.header, action="run", epochs=1)
    jobDone(d)
    assert d.header.run["status"] == "error"
    assert d.header.run["message"] == "ValueError: bad batch"
    assert d.header.notice == {
        "seq": 1,
        "kind": "error",
        "text": "The run stopped with an error: ValueError: bad batch",
    }


def test_save_button_writes_the_files_and_says_where(tmp_path):
    l, d = dashboard()
    l.run(1)
    click(d.header, action="save", fileName=str(tmp_path / "run1"))
    jobDone(d)
    base = str(tmp_path / "run1")
    assert d.header.notice == {"seq": 1, "kind": "ok", "text": f"Saved to {base}.pth and {base}.model.pth"}
    loaded = type(l).load(base)
    assert all(torch.equal(a, b) for a, b in zip(loaded.model.parameters(), l.model.parameters(), strict=True))
    click(d.header, action="save", fileName=str(tmp_path / "missing" / "run2"))
    jobDone(d)
    assert d.header.notice["kind"] == "error" and d.header.notice["text"].startswith("Not saved: ")
    click(d.header, action="save", fileName="  ")
    assert "Type a file name" in d.header.notice["text"]


def test_hyper_parameter_edits_apply_at_a_batch_boundary_and_show_back():
    l, d = dashboard()
    l.cbs.append(Slow())
    seen = []
    l.cbs.append(Callback().withCheckpoint("endBatch", lambda cb: seen.append(cb.learner.opt.param_groups[0]["lr"])))
    h = l.run(300, background=True)
    waitFor(lambda: len(seen) > 3)
    click(d.header, action="hyper", group=0, name="lr", value="0.002")
    assert d.header.pending in ({"0.lr": 0.002}, {})  # pending until the loop applied it (it may be quick)
    waitFor(lambda: d.header.hypers["groups"][0]["values"]["lr"] == 0.002)
    waitFor(lambda: d.header.pending == {})
    assert d.header.header["opt"]["groups"][0]["values"]["lr"] == 0.002
    assert l.opt.param_groups[0]["lr"] == 0.002
    click(d.header, action="hyper", group=0, name="betas", value="0.8, 0.9")
    waitFor(lambda: d.header.hypers["groups"][0]["values"]["betas"] == [0.8, 0.9])
    click(d.header, action="hyper", group=0, name="lr", value="-1")
    assert d.header.notice["kind"] == "error" and "lr must be a finite number >= 0" in d.header.notice["text"]
    l.cancel()
    h.wait(10)
    assert seen[-1] == 0.002


def test_finder_and_landscape_tabs_compute_on_demand_in_a_worker_thread():
    l, d = dashboard()
    l.cbs.remove("ParamFinder", "LossLandscape")  # stand-ins below record which thread computes
    threads = []

    class ParamFinder(Callback):  # stands in for the seed's ParamFinder: run() trains, plot() draws
        def run(self):
            threads.append(threading.current_thread().name)
            self.learner.run(1)
            return 0.01

        def plot(self):
            return self.learner.Loss.plot()

    class LossLandscape(Callback):
        def plot(self):
            raise RuntimeError("no directions")

    d.select("Finder")
    finder = d._tabs["Finder"]
    assert isinstance(finder, ComputeTab) and finder.button.disabled  # no ParamFinder yet
    assert "no ParamFinder callback" in finder.box.children[1].value
    d.close()
    l.cbs.append(ParamFinder())
    l.cbs.append(LossLandscape())
    d = DashboardView(l, tab="Finder")
    finder = d._tabs["Finder"]
    press(finder.button)
    jobDone(d)
    assert threads == ["k1widgets-dashboard-finder"]
    assert finder.status.value == "done" and not finder.button.disabled
    assert isinstance(finder.box.children[1], PlotView)  # the view of what plot() returned
    land = d.select("Landscape")
    press(land.button)
    jobDone(d)
    assert land.status.value == "failed: RuntimeError: no directions"
    assert d.header.notice["text"] == "LossLandscape failed: RuntimeError: no directions"


def test_hooks_tab_shows_the_hook_callbacks_or_says_there_are_none():
    l, d = dashboard()
    hooks = d.select("Hooks")
    assert [type(v).__name__ for v in hooks.box.children] == ["HookView", "HookView"]  # the defaults' views
    d.close()
    l.cbs.remove("HookModule", "HookParam")
    d = DashboardView(l, tab="Hooks")
    assert "no HookModule or HookParam callback" in d._tabs["Hooks"].box.children[0].value

    class HookParam(Callback):
        def __repr__(self):
            return "Callback `HookParam`: 6 params"

    l.cbs.append(HookParam())
    d2 = DashboardView(l, tab="Hooks")
    assert "Callback `HookParam`: 6 params" in d2._tabs["Hooks"].box.children[0].value


def test_loss_tab_compares_runs():
    l, d = dashboard()
    l.run(1)
    l.setParam("lr", 1e-3)
    l.run(1)
    tab = d.select("Loss")
    assert isinstance(tab, LossTab)
    frontEnd(tab.compare, value=True)
    plot = tab.box.children[1]
    assert isinstance(plot, PlotView)
    labels = [m.labels[0] for m in plot.panels[0].marks]
    assert len(labels) == 2 and "lr 0.01" in labels[0] and "lr 0.001" in labels[1]
    l.run(1)
    tab.refresh()  # a run ended: the comparison gets its line
    assert len(tab.box.children[1].panels[0].marks) == 3
    frontEnd(tab.compare, value=False)
    assert tab.box.children[1].__class__.__name__ == "LossView"


def test_message_budget_with_every_tab_opened(sent):
    l, d = dashboard(n=6400)  # 80 + 20 batches an epoch
    l.cbs.append(Slow())
    for name in TABS:
        d.select(name)
    d.select("Loss")
    frontEnd(d._tabs["Loss"].compare, value=True)
    sent.clear()
    t0 = time.perf_counter()
    l.run(3)
    seconds = time.perf_counter() - t0
    time.sleep(0.5)
    rate = len(sent) / seconds
    print(f"{len(sent)} messages in {seconds:.2f} s: {rate:.0f}/s, Loss tab at {d._tabs['Loss'].hz:.1f} Hz")
    assert rate <= settings.live.messages
    assert d.header.run["status"] == "done" and d.header.run["epoch"] == 2  # the final state arrived


def test_tab_rates_fit_the_budget():
    _, d = dashboard()
    budget = settings.live.messages - settings.live.hz  # the header may take one message per feed tick
    for name in TABS:
        tab = d.select(name)
        assert tab.hz <= settings.live.hz
        assert tab.hz * countWidgets(tab.box) <= budget + 1e-9, name
    with settings.context(live={"messages": 30}):
        tab = d._tabs["Loss"]
        tab.setBody(list(tab.box.children))  # rates are chosen when a tab's views are (re)built
        assert tab.hz * countWidgets(tab.box) <= 20 + 1e-9


def test_adopt_takes_over_feed_subscriptions():
    l = quiet(makeLearner())
    view = l.Loss.widget()
    assert len(l.feed._subs) == 2  # the stats table and the plot
    fns = adopt(view, l.feed)
    assert len(fns) == 2 and not l.feed.active
    view.close()


def test_a_closed_dashboard_leaves_no_subscription_or_thread():
    l, d = dashboard()
    settingsSubs = len(settings.feed._subs)
    before = set(threading.enumerate())
    for name in TABS:
        d.select(name)
    click(d.header, action="run", epochs=1)
    jobDone(d)
    d.select("Loss")
    assert len(settings.feed._subs) == settingsSubs + 1  # the settings tab's panel
    tabFeeds = [t.feed for t in d._tabs.values()]
    d.close()
    assert not l.feed.active
    assert len(settings.feed._subs) == settingsSubs
    assert not any(f.active for f in tabFeeds)
    time.sleep(0.6)  # throttle timers end on their own
    assert set(threading.enumerate()) <= before
    l.run(1)  # nothing of the closed dashboard runs any more
    ref = weakref.ref(d)
    del d
    gc.collect()
    assert ref() is None


def test_dashboard_errors():
    l = makeLearner()
    with pytest.raises(ValueError, match="tab must be one of Progress, Loss"):
        DashboardView(l, tab="Losses")
    with pytest.raises(TypeError, match="DashboardView shows a k1widgets Learner"):
        DashboardView(object())
    d = DashboardView(l)
    with pytest.raises(ValueError, match="No tab 'x'"):
        d.select("x")


def test_a_learner_with_nothing_set_still_shows():
    l = type(makeLearner())()
    d = DashboardView(l)
    assert d.header.header["missing"] == ["model", "data", "opt", "lossF"]
    assert d.header.hypers == {"keys": [], "groups": []}
    assert "Set l.model" in d.select("Model").box.children[0].value
    d.select("Loss")
    click(d.header, action="run", epochs=1)
    assert "cannot run" in d.header.notice["text"]


def test_a_costly_tab_refreshes_less_often():
    from k1widgets.widgets.dashtabs import CPU_SHARE

    _, d = dashboard()
    tab = d.select("Callbacks")
    fast = tab.hz

    def burn():
        t0 = time.thread_time()
        while time.thread_time() - t0 < 0.03:
            pass

    tab._refreshers.append(burn)
    for _ in range(3):
        tab.refresh()
    assert tab.cost >= 0.015
    assert tab.hz <= max(1.0, CPU_SHARE / tab.cost) + 1e-9 < fast


def test_a_dashboard_no_front_end_shows_sends_nothing_until_shown_again(sent):
    l, d = dashboard()
    click(d.header, event="rendered")
    click(d.header, event="removed")  # its cell was re-run or cleared
    sent.clear()
    l.run(1)
    time.sleep(0.4)
    assert sent == []
    click(d.header, event="rendered")  # shown again: catches up at once
    assert d.header.run["status"] == "done" and d.header.run["epochs"] == 1


def test_compute_tabs_ask_for_quiet_computations(capsys):
    l, _ = dashboard()
    l.cbs.remove("LossLandscape")
    calls = []

    class LossLandscape(Callback):
        def plot(self, *, quiet=False):
            calls.append(quiet)
            if not quiet:
                print("progress line")
            return None

    l.cbs.append(LossLandscape())
    d = DashboardView(l, tab="Landscape")
    press(d._tabs["Landscape"].button)
    jobDone(d)
    assert calls == [True] and "progress line" not in capsys.readouterr().out
    assert d._tabs["Landscape"].status.value == "done"


def test_finder_and_landscape_tabs_run_the_real_callbacks():
    l, _ = dashboard()
    d = DashboardView(l, tab="Finder")
    before = [p.detach().clone() for p in l.model.parameters()]
    finder = d._tabs["Finder"]
    assert not finder.button.disabled
    press(finder.button)
    jobDone(d, timeout=120)
    assert finder.status.value == "done", finder.status.value
    assert l.ParamFinder.suggestion is not None and l.ParamFinder.suggestion > 0
    assert type(finder.box.children[1]).__name__ == "FinderView"
    land = d.select("Landscape")
    press(land.button)
    jobDone(d, timeout=120)
    assert land.status.value == "done", land.status.value
    assert type(land.box.children[1]).__name__ == "LandscapeView"
    assert all(torch.equal(a, b) for a, b in zip(before, l.model.parameters(), strict=True))  # both restore
    d.close()
