from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k1widgets.live import Feed, Series
from k1widgets.plot import LeafIndex, LineData, Panel, SliceablePlot, decimateWindow, minmaxIndices, pointBudget

SEED_HELP = """Sliceable plot. Can...
- p[a:b]: to focus on a specific range of the plot
- p.yscale("log"): to perform operation as if you're using plt"""


def series(values) -> Series:
    s = Series()
    s.extend(np.asarray(values, dtype=float))
    return s


@pytest.fixture
def loss_plot():
    """Train 250 batches, valid 60 (the seed's Loss example)."""
    train = series(np.linspace(3, 1, 250))
    valid = series(np.linspace(3.2, 1.1, 60))
    return SliceablePlot([Panel({"train": train}, title="Train loss"), Panel({"valid": valid})], docs="Reminder: x")


def extents(p):
    return [[(line.name, len(line), line.extent()) for line in panel] for panel in p.data()]


# ---------------------------------------------------------------- repr and construction
def test_repr_is_the_seed_text(loss_plot):
    assert repr(loss_plot) == SEED_HELP + "\n\nReminder: x"
    assert repr(SliceablePlot({"a": [1, 2]})) == SEED_HELP


def test_loss_plot_from_a_real_run(learner):
    learner.run(2)
    p = learner.Loss.plot()
    assert isinstance(p, SliceablePlot)
    assert "Reminder: the actual slice you put in is for the training plot" in repr(p)
    (train,), (valid,) = p.data()
    np.testing.assert_array_equal(train.y, learner.Loss.train.values)
    np.testing.assert_array_equal(valid.y, learner.Loss.valid.values)
    assert (len(train), len(valid)) == (16, 4)
    assert p.feed is learner.feed
    epochs = learner.Loss.plot(epoch=True)
    ((t, v),) = epochs.data()
    assert len(t) == len(v) == 2
    assert len(learner.Loss.epoch.plot().data()[0][0]) == 2


def test_loss_plot_is_live(learner):
    p = learner.Loss.plot()
    assert [len(line) for panel in p.data() for line in panel] == [0, 0]
    learner.run(1)
    assert [len(line) for panel in p.data() for line in panel] == [8, 2]
    learner.run(1)
    assert [len(line) for panel in p.data() for line in panel] == [16, 4]


# ---------------------------------------------------------------- slicing
def test_int_slice_is_proportional(loss_plot):
    # seed: train [0, 250] sliced [120:] -> valid follows from the same time (~[29:])
    assert extents(loss_plot[120:]) == [[("train", 130, (120.0, 249.0))], [("valid", 32, (28.0, 59.0))]]
    assert extents(loss_plot[:125]) == [[("train", 125, (0.0, 124.0))], [("valid", 30, (0.0, 29.0))]]
    assert extents(loss_plot[-50:]) == [[("train", 50, (200.0, 249.0))], [("valid", 12, (48.0, 59.0))]]


def test_float_slices_are_fractions(loss_plot):
    assert extents(loss_plot[0.5:]) == extents(loss_plot[125:])
    assert extents(loss_plot[0.2:0.6]) == extents(loss_plot[50:150])
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        loss_plot[1.5:]


def test_step_is_a_stride_scaled_per_series(loss_plot):
    (t,), (v,) = loss_plot[::10].data()
    assert len(t) == 25 and t.dx == 10 and t.extent() == (0, 240)
    assert v.dx == 2  # 10 * 60 / 250 rounded
    np.testing.assert_array_equal(t.y, np.linspace(3, 1, 250)[::10])


def test_slices_compose(loss_plot):
    assert extents(loss_plot[100:][:50]) == extents(loss_plot[100:150])
    assert extents(loss_plot[100:][0.5:]) == extents(loss_plot[175:])


def test_slicing_returns_a_new_plot(loss_plot):
    q = loss_plot[10:]
    assert q is not loss_plot and loss_plot.slices == () and q.slices == (slice(10, None),)
    assert q.docs == loss_plot.docs


def test_unit_slice_plots():
    p = SliceablePlot({"loss": np.arange(1000.0)}, unitSlice=True)
    ((line,),) = p[:0.99].data()
    assert len(line) == 990
    ((line,),) = p[0:1].data()
    assert len(line) == 1000
    with pytest.raises(ValueError, match="slices in"):
        p[:5]


def test_slice_errors(loss_plot):
    with pytest.raises(TypeError, match="one slice"):
        loss_plot[5]
    with pytest.raises(TypeError, match="bounds must be"):
        loss_plot["a":]
    with pytest.raises(ValueError, match="stride"):
        loss_plot[::-1]
    with pytest.raises(ValueError, match="stride"):
        loss_plot[::0.5]


def test_live_slice_grows():
    s = series(range(100))
    p = SliceablePlot({"a": s})[50:]
    assert len(p.data()[0][0]) == 50
    s.extend(range(100))
    assert len(p.data()[0][0]) == 150


def test_explicit_x_and_several_lines():
    x = np.logspace(-4, 0, 200)
    p = SliceablePlot([Panel({"loss": (x, np.sin(x)), "other": (x, np.cos(x))})])
    (a, b), *_ = p[100:].data()
    assert a.extent() == (pytest.approx(x[100]), pytest.approx(x[-1]))
    assert len(b) == 100


def test_x_and_y_of_different_lengths_use_the_common_part():
    ((line,),) = SliceablePlot({"a": (np.arange(5.0), np.arange(3.0))}).data()
    assert len(line) == 3 and len(line.x) == 3


def test_sources_may_be_lists_tensors_callables():
    import torch

    p = SliceablePlot({"list": [1, 2, 3], "tensor": torch.tensor([1.0, 2.0]), "fn": lambda: np.ones(4)})
    assert [len(line) for line in p.data()[0]] == [3, 2, 4]


# ---------------------------------------------------------------- pass-through options
def test_chaining_applies_to_every_panel(loss_plot):
    q = loss_plot[120:].yscale("log").title("loss").ylim(0.5, 4).grid().xlabel("batch")
    assert isinstance(q, SliceablePlot) and q.slices == (slice(120, None),)
    for i in (0, 1):
        o = q.panelOptions(i)
        assert (o["yscale"], o["title"], o["ylim"], o["grid"], o["xlabel"]) == (
            "log",
            "loss",
            (0.5, 4.0),
            True,
            "batch",
        )
    assert loss_plot.options == {}  # the original is untouched
    assert q[10:].options == q.options  # options survive slicing
    assert loss_plot.ylim((1, 2)).options["ylim"] == (1.0, 2.0)


def test_unknown_passthrough_lists_supported(loss_plot):
    with pytest.raises(AttributeError, match="Supported pass-through operations: grid, legend, title") as e:
        loss_plot.yscal("log")
    assert "Did you mean 'yscale'?" in str(e.value)
    assert not hasattr(loss_plot, "savefig")
    with pytest.raises(ValueError, match="'linear', 'log'"):
        loss_plot.yscale("symlog")


# ---------------------------------------------------------------- static fallback
def test_svg_snapshot(loss_plot):
    svg = loss_plot.yscale("log").title("a <b>").svg()
    assert svg.startswith("<svg") and svg.count("<path") == 2
    assert "a &lt;b&gt;" in svg and "train" in svg and "valid" in svg
    bundle = loss_plot._repr_mimebundle_()
    assert bundle["text/plain"] == repr(loss_plot)
    assert bundle["image/svg+xml"].startswith("<svg")
    assert "k1w-plot-static" in bundle["text/html"]


def test_svg_handles_empty_nan_and_constant():
    svg = SliceablePlot({"a": [], "b": [1.0, np.nan, 1.0, 1.0]}).svg()
    assert "<svg" in svg and "nan" not in svg.lower().replace("class", "")


def test_core_does_not_import_widgets():
    code = (
        "import sys, numpy as np; from k1widgets.plot import SliceablePlot; from k1widgets.plot.ranges import Range; "
        "SliceablePlot({'a': np.arange(5.0)})[1:].svg(); "
        "bad = [m for m in ('ipywidgets', 'anywidget', 'bqplot') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- decimation
def test_point_budget_setting(monkeypatch):
    from k1widgets.settings import Settings, settings

    assert pointBudget() == (getattr(getattr(settings, "plot", None), "points", 2000))
    monkeypatch.setattr(settings, "plot", Settings(points=500), raising=False)
    assert pointBudget() == 500


def test_minmax_small_inputs_pass_through():
    np.testing.assert_array_equal(minmaxIndices(np.arange(5.0), 10), np.arange(5))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 20_000),
    st.integers(4, 3000),
    st.integers(0, 2**31 - 1),
    st.floats(0, 1),
    st.floats(0, 1),
    st.booleans(),
)
def test_decimation_keeps_window_extremes_within_budget(n, budget, seed, f0, f1, withNan):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n).cumsum()
    if withNan:
        y[rng.integers(0, n, size=max(1, n // 50))] = np.nan
    line = LineData("a", y, key="k")
    lo, hi = sorted((f0 * (n - 1), f1 * (n - 1)))
    for index in (None, LeafIndex(leaf=16)):
        x, yy = decimateWindow(line, lo, hi, budget, index)
        assert len(x) <= budget
        assert np.all(np.diff(x) >= 0)  # in x order
        i0, i1 = line.indexRange(lo, hi)  # [lo, hi] plus one neighbour each side
        assert i0 <= max(0, np.floor(lo)) and i1 >= min(n, np.ceil(hi) + 1)
        win = y[i0:i1]
        inside = yy[(x >= i0) & (x < i1)]
        if np.isfinite(win).any():
            assert np.nanmin(inside) == np.nanmin(win)
            assert np.nanmax(inside) == np.nanmax(win)
        full = minmaxIndices(y, budget)
        assert len(full) <= budget
        if np.isfinite(y).any():
            assert np.nanmin(y[full]) == np.nanmin(y) and np.nanmax(y[full]) == np.nanmax(y)


def test_leaf_index_is_incremental_and_rebuilds_on_change():
    s = series(np.random.default_rng(0).standard_normal(10_000))
    index = LeafIndex(leaf=64)
    index.update(s.values, "k")
    assert index.nLeaves == 10_000 // 64
    s.extend(np.arange(1000.0))
    index.update(s.values, "k")
    assert index.nLeaves == 11_000 // 64
    idx = index.query(s.values, 0, len(s), 200)
    assert len(idx) <= 200 and s.values[idx].max() == 999.0
    other = np.zeros(20_000)
    index.update(other, "k")  # same key, different data: prefix check rebuilds
    assert index.query(other, 0, 20_000, 200).size <= 200
    assert float(other[index.query(other, 0, 20_000, 200)].max()) == 0.0


def test_feed_given_to_plot():
    f = Feed(hz=0)
    p = SliceablePlot({"a": [1.0]}).withFeed(f)
    assert p.feed is f and p[0:].feed is f


def test_reprs_have_no_numpy_noise(loss_plot):
    assert not re.search(r"np\.float", repr(loss_plot))
