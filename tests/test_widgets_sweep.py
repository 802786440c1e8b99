"""The sweep view without a browser: state, live updates, clicks, Cancel, the static fallback."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from k1widgets import display
from k1widgets.farming import Harvester, Sampler, label
from k1widgets.farming.state import sweepState
from k1widgets.widgets.sweep import SweepView


def click(widget, **content):
    """What the browser sends for a click (``model.send(content)``)."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def waitFor(condition, timeout=20.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


@label(var_names=["loss", "curve"], var_dims={"curve": ["epoch"]})
def train(lr, hidden, seed=0):
    if lr == 1.0 and hidden == 16:
        raise FloatingPointError("loss exploded to nan at epoch 2")
    return lr / hidden, np.array([1.0, 0.5, lr / hidden])


@pytest.fixture
def harvester(tmp_path):
    h = Harvester(train, data_name=str(tmp_path / "s.pkl"))
    h.harvest_combos({"lr": [0.1, 1.0], "hidden": [8, 16, 32], "seed": [0, 1]}, raise_errors=False)
    return h


def test_state_has_counts_heatmap_failed_and_missing_cells(harvester):
    harvester.drop_sel(hidden=32)  # a grid value asked for earlier and now without data: missing
    s = sweepState(harvester, choice={"x": "hidden", "y": "lr", "var": "loss"})
    assert s["counts"] == {"done": 6, "failed": 2, "running": 0, "pending": 0, "total": 8}
    assert (s["x"], s["y"], s["var"], s["fixed"]) == ("hidden", "lr", "loss", {"seed": 0})
    assert s["xLabels"] == ["8", "16"] and s["yLabels"] == ["0.1", "1"]
    assert s["status"] == ["oo", "of"]
    assert s["values"][0] == [pytest.approx(0.1 / 8), pytest.approx(0.1 / 16)]
    assert "FloatingPointError: loss exploded" in s["errors"]["1,1"]
    assert s["vars"] == ["loss", "curve"]  # a curve is shown by its last value


def test_view_click_shows_values_error_and_curve(harvester):
    v = SweepView(harvester, choice={"x": "hidden", "y": "lr"})
    assert v.panel.state["counts"]["failed"] == 2
    click(v.panel, action="select", row=0, col=2)
    d = v.panel.detail
    assert d["params"] == {"seed": "0", "hidden": "32", "lr": "0.1"}
    assert d["values"]["loss"] == pytest.approx(0.1 / 32)
    assert v.figure.layout.display is None  # the curve figure shows
    assert np.atleast_2d(v.lines.y).tolist() == [[1.0, 0.5, pytest.approx(0.1 / 32)]]
    click(v.panel, action="select", row=1, col=1)
    assert "loss exploded" in v.panel.detail["error"] and "Traceback" in v.panel.detail["traceback"]
    assert v.figure.layout.display == "none"
    v.panel.choice = {"x": "hidden", "y": "lr", "fixed": {"seed": 1}}  # what the seed picker sends
    assert v.panel.state["fixed"] == {"seed": 1}
    v.close()


def test_view_fills_in_live_and_cancel_stops_the_sweep(tmp_path):
    gate = threading.Event()

    @label(var_names="y")
    def slow(a, b):
        if a > 0:
            gate.wait(20)
        return a * 10 + b

    h = Harvester(slow, data_name=str(tmp_path / "live.pkl"))
    v = SweepView(h)
    sweep = h.harvest_combos({"a": [0, 1, 2], "b": [0, 1]}, background=True)
    waitFor(lambda: v.panel.state["counts"]["done"] == 2 and v.panel.state["counts"]["running"] == 1)
    assert v.panel.state["live"] and "r" in "".join(v.panel.state["status"])
    click(v.panel, action="cancel")
    gate.set()
    sweep.wait(20)
    waitFor(lambda: not v.panel.state["live"])
    assert sweep.cancelled
    assert v.panel.state["cancelled"] and v.panel.state["counts"]["done"] == 3
    assert v.panel.state["counts"]["pending"] == 3
    v.close()


def test_a_new_view_of_the_store_shows_the_same_picture(harvester):
    fresh = Harvester(None, data_name=harvester.data_name)
    choice = {"x": "lr", "y": "hidden"}
    a, b = sweepState(harvester, choice=choice), sweepState(fresh, choice=choice)
    a.pop("title"), b.pop("title")
    assert a == b


def test_static_fallback_and_registry(harvester):
    html = harvester._repr_html_()
    assert "<svg" in html and "10 done · 2 failed · 0 running · 0 pending of 12" in html
    assert "loss exploded" in html  # the failed cell's tooltip
    bundle = display.mimebundle(harvester)
    assert "text/html" in bundle and "k1widgets.Harvester" in bundle["text/plain"]
    assert display.viewClass(harvester) is SweepView
    assert display.viewClass(harvester.sweep) is SweepView


def test_sampler_view_averages_over_the_other_arguments(tmp_path):
    @label(var_names="loss")
    def f(lr, hidden, seed):
        return lr * hidden + seed

    s = Sampler(f, data_name=str(tmp_path / "samples.pkl"))
    s.sample_combos(30, {"lr": [0.1, 1.0], "hidden": [1, 2], "seed": [0, 1]}, seed=0)
    st = sweepState(s, choice={"x": "lr", "y": "hidden"})
    assert st["kind"] == "table" and st["aggregate"]
    assert st["counts"]["done"] == 30
    assert st["xLabels"] == ["0.1", "1"] and st["yLabels"] == ["1", "2"]
    df = s.full_df
    assert st["values"][1][1] == pytest.approx(df[(df.lr == 1.0) & (df.hidden == 2)]["loss"].mean())
    assert SweepView(s).panel.state["kind"] == "table"
