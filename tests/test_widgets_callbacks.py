"""The Callbacks view and the timings chart without a browser: simulated clicks, live rows, timing bars."""

from __future__ import annotations

import gc
import io
import time
import weakref

import pytest
from conftest import makeLearner

from k1widgets.callbacks import Callback, Callbacks
from k1widgets.widgets.callbacks import CallbacksTable, CallbacksView, TimingsView


def quiet(l):
    l.ProgressBar.stream = io.StringIO()
    return l


def click(view, **content):
    """What the browser sends for a button or a checkbox of the view (``model.send(content)``)."""
    view._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def frontEnd(widget, **state):
    """Simulates the browser setting traits (a row click sets ``selected``)."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []})


def waitFor(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


class Slow(Callback):
    def endBatch(self):
        time.sleep(0.003)


def names(table):
    return [r["name"] for r in table.rows]


def test_rows_in_dispatch_order_with_their_checkpoints():
    l = makeLearner()
    view = l.cbs.widget()
    assert isinstance(view, CallbacksView)
    rows = view.table.rows
    assert names(view.table) == [cb.name for cb in l.cbs]
    loss = next(r for r in rows if r["name"] == "Loss")
    assert loss["cls"] == "Loss" and loss["order"] == 20 and not loss["suspended"] and loss["pending"] == ""
    assert loss["checkpoints"] == ["startRun", "startEpoch", "endLoss", "startValidBatches", "endEpoch", "endRun"]


def test_suspend_toggle_goes_through_the_seed_api_and_the_repr_agrees():
    l = makeLearner()
    table = CallbacksTable(l.cbs)
    click(table, action="suspend", name="Loss", on=True)
    assert l.Loss.suspended and "- Loss (suspended)" in repr(l.cbs)
    assert next(r for r in table.rows if r["name"] == "Loss")["suspended"]
    assert len(l.cbs._suspensions) == 1  # a real cbs.suspend(["Loss"])
    click(table, action="suspend", name="ProgressBar", on=True)
    click(table, action="suspend", name="Loss", on=False)  # not the latest suspension: unsuspend keeps ProgressBar's
    assert not l.Loss.suspended and l.ProgressBar.suspended
    assert "- Loss\n" in repr(l.cbs) and "- ProgressBar (suspended)" in repr(l.cbs)


def test_suspend_during_a_run_is_pending_until_the_next_batch_and_stops_recording():
    l = quiet(makeLearner())
    l.cbs.append(Slow())
    table = CallbacksTable(l.cbs)
    h = l.run(300, background=True)
    waitFor(lambda: len(l.Loss.train) > 10)
    click(table, action="suspend", name="Loss", on=True)
    waitFor(lambda: l.Loss.suspended)
    waitFor(lambda: next(r for r in table.rows if r["name"] == "Loss")["suspended"])
    assert next(r for r in table.rows if r["name"] == "Loss")["pending"] == ""
    l.Loss._flush()
    n = len(l.Loss.train) + len(l.Loss._pending)
    time.sleep(0.3)
    assert len(l.Loss.train) + len(l.Loss._pending) == n, "a suspended Loss records nothing"
    click(table, action="suspend", name="Loss", on=False)
    waitFor(lambda: len(l.Loss.train) + len(l.Loss._pending) > n)
    l.cancel()
    h.wait(10)


def test_detach_and_append_from_python_show_live():
    l = makeLearner()
    table = CallbacksTable(l.cbs)
    click(table, action="detach", name="DontTrainValid")
    assert "DontTrainValid" not in l.cbs and "DontTrainValid" not in names(table)

    class Extra(Callback):
        def endEpoch(self):
            pass

    l.cbs.append(Extra())
    waitFor(lambda: "Extra" in names(table))  # through the feed (throttled; its trailing edge delivers)
    assert next(r for r in table.rows if r["name"] == "Extra")["checkpoints"] == ["endEpoch"]
    l.Extra.detach()
    waitFor(lambda: "Extra" not in names(table))


def test_a_row_click_shows_the_callbacks_text():
    l = makeLearner()
    table = CallbacksTable(l.cbs)
    frontEnd(table, selected="Loss")
    assert table.details["name"] == "Loss"
    assert table.details["text"].startswith("Callback `Loss`, use...") and "cb.detach()" in table.details["text"]
    frontEnd(table, selected="")
    assert table.details == {}


def test_bad_edits_show_an_error_and_change_nothing():
    l = makeLearner()
    table = CallbacksTable(l.cbs)
    click(table, action="suspend", name="Los", on=True)
    assert "Unknown callback 'Los'" in table.error and "Did you mean 'Loss'?" in table.error
    click(table, action="explode", name="Loss")
    click(table, action="detach")
    assert not any(cb.suspended for cb in l.cbs) and "Loss" in l.cbs
    click(table, action="suspend", name="Loss", on=True)
    assert table.error == ""


def test_callbacks_without_a_learner_are_live_too():
    cbs = Callbacks()
    table = CallbacksTable(cbs)
    cbs.append(Callback(), "solo")
    waitFor(lambda: names(table) == ["solo"])
    click(table, action="suspend", name="solo", on=True)
    assert cbs["solo"].suspended


def test_timings_bars_follow_the_run():
    l = quiet(makeLearner())
    view = TimingsView(l.cbs.timings)
    assert view.bars.x.tolist() == ["-"] and "nothing timed yet" in view.fig.title
    l.run(2)
    timed = dict(l.cbs.timings.items())
    assert set(view.bars.x.tolist()) == set(timed)
    assert view.bars.x.tolist()[-1] == l.cbs.timings.checkpoints[0]  # slowest at the top
    y = dict(zip(view.bars.x.tolist(), view.bars.y.tolist(), strict=True))
    assert y == pytest.approx(timed)
    assert view.fig.title.startswith("Time per checkpoint (total ")
    view.close()
    assert not l.feed.active


def test_closed_views_unsubscribe_and_are_collected():
    l = quiet(makeLearner())
    view = CallbacksView(l.cbs)
    assert len(l.feed._subs) == 2  # the table and the chart
    view.close()
    assert not l.feed.active
    l.run(1)
    ref = weakref.ref(view)
    del view
    gc.collect()
    assert ref() is None


def test_callbacks_view_needs_callbacks():
    with pytest.raises(TypeError, match="CallbacksView shows a k1widgets Callbacks"):
        CallbacksView([])
