from __future__ import annotations

import threading

import bqplot
import ipywidgets
import numpy as np
import pytest

from k1widgets.live import Feed, Series
from k1widgets.plot import Panel, SliceablePlot
from k1widgets.widgets.plot import PlotView, RangeControl, followWindow, mapWindow


@pytest.fixture
def sent(monkeypatch):
    """Every comm message the widgets send: (widget, msg, buffers)."""
    out = []
    orig = ipywidgets.Widget._send

    def record(self, msg, buffers=None):
        out.append((self, msg, buffers or []))
        return orig(self, msg, buffers)

    monkeypatch.setattr(ipywidgets.Widget, "_send", record)
    return out


def frontEnd(widget, **state):
    """Simulates the browser setting traits (as a slider drag or a click does)."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []})


def series(values) -> Series:
    s = Series()
    s.extend(np.asarray(values, dtype=float))
    return s


def two_panel(n=5000, m=1200, feed=None):
    rng = np.random.default_rng(0)
    train, valid = series(rng.random(n) + 1), series(rng.random(m) + 1)
    p = SliceablePlot([Panel({"train": train}, title="Train loss"), Panel({"valid": valid})], feed=feed)
    return p, train, valid


def test_loss_plot_widget(learner):
    learner.run(2)
    view = learner.Loss.plot().widget()
    assert isinstance(view, PlotView) and "k1w-plot" in view._dom_classes
    figs = view.children[0].children
    assert [f.title for f in figs] == ["Train loss", "Valid loss"]
    assert all(isinstance(f, bqplot.Figure) for f in figs)
    (train,), _ = (pv.marks for pv in view.panels)
    np.testing.assert_allclose(train.y, learner.Loss.train.values)
    assert train.labels == ["train"] and train.display_legend
    assert isinstance(view.control, RangeControl)
    assert view.control.extents == [[0.0, 15.0], [0.0, 3.0]] and view.control.value == [0.0, 15.0]
    assert view.feed is learner.feed
    # each axis has a label and the figure a tooltip-bearing mark
    assert figs[0].axes[0].label == "batch" and train.tooltip is not None


def test_budget_and_message_size_for_a_million_points(sent):
    y = series(np.random.default_rng(1).standard_normal(1_000_000).cumsum())
    view = SliceablePlot({"y": y}).widget()
    mark = view.panels[0].marks[0]
    assert len(mark.x) <= 2000 and len(mark.y) <= 2000
    assert mark.y.max() == y.values.max() and mark.y.min() == y.values.min()
    sent.clear()
    view.refresh()
    y.extend(np.zeros(10))
    view.refresh()
    sizes = [sum(len(memoryview(b).cast("B")) for b in bufs) for _, _, bufs in sent]
    assert sizes and max(sizes) <= 64 * 1024


def test_front_end_zoom_redecimates_every_panel():
    p, *_ = two_panel()
    view = p.widget()
    frontEnd(view.control, value=[1000.0, 2000.0])
    tx = view.panels[0].marks[0].x
    vx = view.panels[1].marks[0].x
    # the window (plus one neighbour each side) is sent in full: 1,000 points fit the budget
    inside = tx[(tx >= 1000) & (tx <= 2000)]
    assert len(inside) == 1001
    # the valid panel shows the same fractions of its own data: [240, 480] of 1,200
    lo, hi = mapWindow([1000, 2000], [0, 4999], [0, 1199])
    assert len(vx[(vx >= lo) & (vx <= hi)]) >= int(hi - lo)
    assert view.window == (1000.0, 2000.0)
    # context outside the window keeps a browser-side zoom-out from being empty
    assert (tx < 1000).any() and (tx > 2000).any()


def test_log_toggle_swaps_whole_axes():
    p, *_ = two_panel()
    view = p.widget()
    old_axis = view.panels[0].fig.axes[1]
    frontEnd(view.control, log=True)
    for pv in view.panels:
        y_axis = pv.fig.axes[1]
        assert y_axis is not old_axis and isinstance(y_axis.scale, bqplot.LogScale)
        assert isinstance(pv.marks[0].scales["y"], bqplot.LogScale)
        assert pv.fig.axes[0] is pv.xAxis  # x axis kept
    frontEnd(view.control, log=False)
    assert isinstance(view.panels[0].fig.axes[1].scale, bqplot.LinearScale)


def test_yscale_log_option_starts_logarithmic():
    p, *_ = two_panel()
    view = p.yscale("log").widget()
    assert view.control.log and isinstance(view.panels[1].ys, bqplot.LogScale)


def test_log_hides_non_positive_values():
    view = SliceablePlot({"a": [-1.0, 0.0, 1.0, 10.0]}).yscale("log").widget()
    y = view.panels[0].marks[0].y
    assert np.isnan(y[:2]).all() and list(y[2:]) == [1.0, 10.0]


def test_live_growth_with_follow():
    feed = Feed(hz=0)
    p, train, _ = two_panel(1000, 200, feed)
    view = p.widget()
    assert view.control.value == [0.0, 999.0]
    train.extend(np.ones(500))
    feed.changed()
    assert view.control.extents[0] == [0.0, 1499.0]
    assert view.control.value == [0.0, 1499.0]  # showing everything keeps showing everything
    assert view.panels[0].marks[0].x.max() == 1499
    frontEnd(view.control, value=[1000.0, 1499.0])  # the user zooms on the end; follow stays on
    train.extend(np.ones(100))
    feed.changed()
    assert view.control.value == [1100.0, 1599.0]  # same width, pinned to the newest point


def test_live_growth_without_follow_keeps_the_window():
    feed = Feed(hz=0)
    p, train, _ = two_panel(1000, 200, feed)
    view = p.widget()
    frontEnd(view.control, value=[100.0, 200.0], followLatest=False)
    train.extend(np.ones(500))
    feed.changed()
    assert view.control.value == [100.0, 200.0]
    assert view.control.extents[0] == [0.0, 1499.0]
    frontEnd(view.control, followLatest=True)
    assert view.control.value == [1399.0, 1499.0]


def test_zoom_api_and_close():
    feed = Feed(hz=0)
    p, *_ = two_panel(feed=feed)
    view = p.widget()
    view.zoom(10, 20)
    assert view.control.value == [10.0, 20.0] and not view.control.followLatest and view.control.zoomSeq == 1
    assert feed.active
    view.close()
    assert not feed.active
    feed.flush()  # no error after close


def test_refresh_from_a_training_thread_while_the_front_end_zooms():
    feed = Feed(hz=0)
    p, train, _ = two_panel(10_000, 100, feed)
    view = p.widget()
    stop = threading.Event()
    errors = []

    def train_loop():
        try:
            while not stop.is_set():
                train.extend(np.ones(100))
                feed.changed()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=train_loop)
    t.start()
    try:
        for i in range(20):
            frontEnd(view.control, value=[float(i), float(i + 500)], followLatest=False)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert len(view.panels[0].marks[0].x) <= view.points


def test_points_setting_is_respected():
    view = SliceablePlot({"a": np.arange(100_000.0)}).widget()
    assert len(view.panels[0].marks[0].x) <= view.points
    small = PlotView(SliceablePlot({"a": np.arange(100_000.0)}), points=100)
    assert len(small.panels[0].marks[0].x) <= 100


def test_window_helpers_match_the_front_end_rules():
    assert mapWindow([25, 50], [0, 100], [0, 20]) == (5, 10)
    assert mapWindow([1, 2], [0, 0], [3, 4]) == (3, 4)
    assert followWindow([0, 10], [0, 10], [0, 20]) == [0, 20]
    assert followWindow([5, 8], [0, 10], [0, 20]) == [17, 20]
    assert followWindow([], None, [0, 5]) == [0, 5]


def custom(widget, content):
    """Simulates a custom message from the front end (anywidget ``model.send``)."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def test_hidden_views_skip_live_redraws_until_shown_again():
    feed = Feed(hz=0)
    p, train, _ = two_panel(1000, 200, feed)
    view = p.widget()
    custom(view.control, {"event": "rendered"})
    train.extend(np.ones(10))
    feed.changed()
    n = view.updates
    custom(view.control, {"event": "removed"})  # output cleared
    train.extend(np.ones(10))
    feed.changed()
    assert view.updates == n  # no work while nothing shows it
    custom(view.control, {"event": "rendered"})  # shown again (e.g. page reload)
    assert view.updates == n + 1 and view.control.extents[0] == [0.0, 1019.0]


def test_chained_options_reach_the_view():
    p, *_ = two_panel()
    view = p.title("loss").xlabel("step").ylabel("mse").grid().legend(False).ylim(0, 5).xlim(100, 200).widget()
    for pv in view.panels:
        assert pv.fig.title == "loss" and pv.xAxis.label == "step" and pv.yAxis.label == "mse"
        assert pv.xAxis.grid_lines == "solid" and not pv.marks[0].display_legend
        assert (pv.ys.min, pv.ys.max) == (0, 5)
    assert view.control.value == [100.0, 200.0] and not view.control.followLatest
    assert view.panels[0].xs.min == 100.0
    logx = SliceablePlot({"a": (np.logspace(-3, 0, 50), np.arange(50.0))}).xscale("log").widget()
    assert isinstance(logx.panels[0].xs, bqplot.LogScale)
