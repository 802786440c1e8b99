"""HookView without a browser: panels, legend, heatmap, decimation budget, live growth, zoom."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch
from conftest import makeLearner
from torch import nn

from k1widgets import display
from k1widgets.callbacks import HookModule
from k1widgets.callbacks.hooks.module import FIELDS
from k1widgets.plot import niceTicks
from k1widgets.widgets.hooks import HookView, envelope, regrid


@pytest.fixture
def trained():
    l = makeLearner(n=64 * 40)
    l.cbs.ProgressBar.stream = io.StringIO()
    l.HookModule.every = l.HookParam.every = 2
    l.run(2)
    return l


def test_hook_module_view_has_every_panel_the_legend_and_the_heatmap(trained):
    l = trained
    assert display.viewClass(l.HookModule) is HookView and display.viewClass(l.HookParam.plot()) is HookView
    v = l.HookModule.widget()
    try:
        titles = [p.title for p in v.panels]
        assert titles == [f"Forward {s}" for s in ("mean", "std", "min", "max", "zero")] + [
            f"Backward {s}" for s in ("mean", "std", "min", "max")
        ]
        assert v.legend.names == [f"{i}. {p}" for i, p in enumerate(l.HookModule.paths)]
        assert v.legend.details[4] == "4. bulk.2 (SkipBlock)"
        assert len(v.legend.marks) == 9 and v.plot.gridColumns == 5
        mark = v.panels[0].mark
        assert mark.y.shape[0] == 29 and mark.y.dtype == np.float32 and mark.x.shape[0] == mark.y.shape[1]
        # the heatmap shows the first module; a pick in the legend switches it
        assert v.heat is not None and v.heat["mark"].color.shape[0] == 32
        v.legend.picked = 6
        assert v.heat["module"] == 6 and "bulk.2.seq.0" in v.heat["fig"].title
        assert v.control.extents == [[0.0, 62.0]]
    finally:
        v.close()


def test_hook_param_view_and_plot_views(trained):
    l = trained
    v = l.HookParam.widget()
    try:
        assert [p.title for p in v.panels] == ["Means", "Stds", "Mins", "Maxs", "Gradient norms", "Update ratios"]
        assert v.heat is None and v.plot.gridColumns == 3
    finally:
        v.close()
    v = l.HookParam[::2].plot()[30:].widget()
    try:
        assert len(v.legend.names) == 11 and v.control.extents == [[30.0, 62.0]]
        assert v.panels[0].mark.x.min() >= 30
    finally:
        v.close()


def test_view_grows_with_training_and_zooms(trained):
    l = trained
    v = l.HookParam.widget()
    try:
        n0 = v.panels[0].mark.x.shape[0]
        l.run(1)  # the feed drives refresh() (at most settings.hooks.viewHz a second, the last one trailing)
        deadline = time.time() + 5
        while v.control.extents[0][1] != 94.0 and time.time() < deadline:
            time.sleep(0.05)
        assert v.control.extents[0][1] == 94.0 and v.panels[0].mark.x.shape[0] > n0
        v.zoom(10, 40)
        assert v.window == (10.0, 40.0) and v.control.followLatest is False
        x = v.panels[0].mark.x
        inside = x[(x >= 10) & (x <= 40)]
        assert len(inside) >= 15  # the window keeps its full resolution (every sample)
        v.control.log = True
        assert type(v.panels[0].ys).__name__ == "LogScale"
    finally:
        v.close()
    assert not l.feed.active or all(s.fn != v.refresh for s in l.feed._subs)


def test_panels_of_values_that_cannot_be_negative_keep_their_axis_at_or_above_zero(trained):
    v = trained.HookParam.widget()
    try:
        titles = [p.title for p in v.panels]
        for title in ("Gradient norms", "Update ratios", "Stds"):
            panel = v.panels[titles.index(title)]
            assert panel.ys.min >= 0 and panel.ys.max > panel.ys.min, title
            assert panel.ys.allow_padding is False  # the browser would widen the domain below zero again
        means = v.panels[titles.index("Means")]
        y = means.mark.y[np.isfinite(means.mark.y)]
        if y.min() < 0:  # a panel with negative values keeps its margin below them
            assert means.ys.min < y.min()
    finally:
        v.close()


def test_panel_ticks_are_round_numbers_within_the_axis_and_zero_is_exactly_zero(trained):
    v = trained.HookModule.widget()
    try:
        assert v.xs.allow_padding is False  # the x axes start at the first sampled batch, not at -2
        for p in v.panels:
            ticks = np.asarray(p.yAxis.tick_values, dtype=float)
            assert 2 <= len(ticks) <= 6, (p.title, ticks)
            assert p.ys.min <= ticks.min() and ticks.max() <= p.ys.max, (p.title, ticks, p.ys.min, p.ys.max)
            step = np.diff(ticks)[0]
            assert np.allclose(np.diff(ticks), step)
            mantissa = step / 10.0 ** np.floor(np.log10(step))
            assert any(np.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), (p.title, ticks)
            assert np.allclose(ticks / step, np.round(ticks / step))  # whole multiples of the step
            if p.ys.min < 0 < p.ys.max or 0.0 in (p.ys.min, p.ys.max):
                assert 0.0 in ticks.tolist(), (p.title, ticks)  # exactly 0, never 5.55e-17
        v.control.log = True  # log y: decades (or 1-2-3-5 steps) over the positive range
        for p in v.panels:
            if p.ys.min is not None:
                ticks = np.asarray(p.yAxis.tick_values, dtype=float)
                assert (ticks > 0).all() and p.ys.min <= ticks.min() and ticks.max() <= p.ys.max, (p.title, ticks)
    finally:
        v.close()


@pytest.mark.parametrize(
    ("lo", "hi"), [(-0.863, 0.0), (0.0821, 9.36), (-0.3, 0.3), (-5.91, 4.4e-16), (1e-9, 3e-9), (-1e6, -2.0), (7.0, 7.5)]
)
def test_nice_ticks_are_few_round_multiples_inside_the_range(lo, hi):
    ticks = niceTicks(lo, hi, 5)
    assert 2 <= len(ticks) <= 6
    assert lo <= ticks[0] and ticks[-1] <= hi
    step = ticks[1] - ticks[0]
    assert all(abs(t / step - round(t / step)) < 1e-9 for t in ticks)
    if lo <= 0 <= hi:
        assert 0.0 in ticks


def test_views_and_plots_follow_a_new_selection(trained):
    l = trained
    l.css = "*"
    l.run(1)
    v = l.HookModule.widget()
    sub = l.HookParam[::2].plot()  # a plot of a view over lines that the next selection drops
    try:
        assert len(v.legend.names) == len(l.HookModule) > 20
        l.css = "SkipBlock: HookModule"  # three modules, no parameter
        l.run(1)
        v.refresh()
        want = [f"{i}. {p}" for i, p in enumerate(l.HookModule.paths)]
        assert len(want) == 3 and v.legend.names == want and v.legend.hidden == []
        assert all(list(p.mark.labels) == want for p in v.panels)
        assert [o[0] for o in v.heat["pick"].options] == want
        assert sub.data() and all(panel == [] for panel in sub.data())  # its lines have no history left
        assert "<svg" in sub.svg()
    finally:
        v.close()


def test_samples_reach_the_host_early_only_while_a_hook_view_lives():
    import k1widgets as k1lib
    from k1widgets.settings import settings

    class Watch(k1lib.Callback):  # what a notebook reading l.HookParam during the run would see
        def __init__(self, seen):
            super().__init__()
            self.seen = seen

        def endBatch(self):
            if self.learner.model.training:
                self.seen.append(self.learner.HookParam.samples)

    l = makeLearner(n=64 * 12)
    l.cbs.ProgressBar.stream = io.StringIO()
    l.HookModule.every = l.HookParam.every = 1
    seen: list[int] = []
    l.cbs.append(Watch(seen))
    other = l.feed.subscribe(lambda: None)  # another live view (progress, loss): no early copies for it
    with settings.context(hooks={"viewHz": 1000.0}, live={"hz": 1000.0}):
        try:
            l.run(1)
            assert seen and max(seen) == 0  # 12 samples < flushEvery (20): all copied at the epoch's end
            assert l.HookParam.samples == len(seen)
            v = l.HookParam.widget()
            seen.clear()
            l.run(1)
            assert len(set(seen)) > 3  # the view's recorder copied while the run went on
            v.close()  # ... and stops when it is closed
            seen.clear()
            l.run(1)
            assert len(set(seen)) == 1
        finally:
            other.remove()


def test_a_big_view_stays_within_its_budget():
    # 50 modules x 10,000 samples: one update sends at most settings.hooks.viewPoints values (float32)
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(50)])
    cb = HookModule()
    from k1widgets.callbacks.hooks.history import History

    cb.paths = [str(i) for i in range(50)]
    cb.targets = list(model)
    cb._index = {id(m): i for i, m in enumerate(cb.targets)}
    cb._bins = 32
    cb.history = History(50, FIELDS, 32, capacity=16384)
    rng = np.random.default_rng(0)
    for start in range(0, 10_000, 1000):
        x = np.arange(start, start + 1000, dtype=np.float64)
        v = rng.standard_normal((1000, 50, len(FIELDS))).astype(np.float32)
        hist = np.full((1000, 50, 32), 1 / 32, dtype=np.float16)
        cb.history.append(x, v, hist)
    view = HookView(cb)
    try:
        assert view.bytesSent <= 256 * 1024
        assert view.panels[0].mark.y.shape[0] == 50 and view.panels[0].mark.y.shape[1] <= 100
        # extremes survive decimation
        col = FIELDS.index("forward.max")
        full = cb.history.values[: cb.history.n, :, col]
        assert view.panels[3].mark.y.max() == pytest.approx(float(full.max()))
    finally:
        view.close()


def test_envelope_keeps_every_lines_extremes():
    rng = np.random.default_rng(1)
    x = np.arange(10_000, dtype=np.float64)
    y = rng.standard_normal((10_000, 3))
    y[1234, 1] = 50
    y[9999, 2] = -50
    xd, yd = envelope(x, y, 200)
    assert len(xd) <= 202 and yd.shape[1] == 3
    assert yd[:, 1].max() == 50 and yd[:, 2].min() == -50
    assert np.all(np.diff(xd) >= 0)


def test_regrid_conserves_mass():
    fr = np.array([[0.5, 0.5, 0, 0], [0, 0, 0.25, 0.75]])
    lo, hi = np.array([0.0, 2.0]), np.array([4.0, 6.0])
    edges = np.linspace(0, 6, 7)
    g = regrid(fr, lo, hi, edges)
    assert g.shape == (2, 6) and np.allclose(g.sum(1), 1)
    assert np.allclose(g[0], [0.5, 0.5, 0, 0, 0, 0]) and np.allclose(g[1], [0, 0, 0, 0, 0.25, 0.75])


def test_mimebundle_falls_back_to_text_and_svg(trained):
    bundle = trained.HookParam.plot()._repr_mimebundle_()
    assert bundle["text/plain"].startswith("Sliceable plot. Can...") and "<svg" in bundle["image/svg+xml"]
    assert "Callback `HookParam`" in trained.HookParam._repr_mimebundle_()["text/plain"]
    assert torch.is_grad_enabled()


def test_tree_view_marks_the_hooked_modules():
    l = makeLearner()
    l.cbs.ProgressBar.stream = io.StringIO()
    l.css = "SkipBlock #0: HookParam\nSkipBlock: HookModule"
    tree = l.moduleSelector.widget()
    try:
        assert tree.hooked == {"module": [], "param": []}  # nothing recorded before a run selects
        l.run(1)
        assert tree.hooked == {"module": [4, 12, 20], "param": [6, 14, 22]}
        l.css = "Linear: HookModule"
        l.run(1)
        rec = tree.selector._s.rec
        assert tree.hooked["module"] == [j for j in range(rec.n) if rec.classes[j] == "Linear"]
        assert tree.hooked["param"] == []
    finally:
        tree.close()
