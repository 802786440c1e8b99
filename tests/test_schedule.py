"""Schedules: every example of the k1lib.schedule seed, combining, the shapes vs torch's schedulers."""

from __future__ import annotations

import math

import pytest
import torch

import k1widgets as k1lib
from k1widgets import schedule
from k1widgets.schedule import Fn, exp, hump, linear, smooth


# ---------------------------------------------------------------------- the seed's examples, verbatim
def test_seed_fn_example():
    s = schedule.Fn(lambda x: x**2)
    assert s(0.2) == pytest.approx(0.04)  # "returns 0.04"


def test_seed_decorator_example():
    @schedule.Fn
    def s(x):
        return x**2

    assert isinstance(s, Fn)
    assert s(0.2) == pytest.approx(0.04)


def test_seed_iter_example():
    s = schedule.Fn(lambda x: x + 2)
    assert list(s.iter(6)) == [2.0, 2.2, 2.4, 2.6, 2.8, 3.0]  # exactly, as the seed prints


def test_seed_modify_output_example():
    s = Fn(lambda x: x + 2)
    t = s.modifyOutput(lambda x: x**2)  # "now s's function is (x+2)**2"
    assert [t(x) for x in (0.0, 0.5, 1.0)] == [4.0, 6.25, 9.0]
    assert s(1.0) == 3.0  # the original is unchanged


def test_seed_param_and_value():
    s = schedule.Fn(lambda x: x + 2, param="lr")
    assert s.param == "lr"
    assert s.value is None  # no progress recorded yet
    s.progress = 0.5
    assert s.value == 2.5


def test_seed_shapes_and_their_docs():
    assert schedule.linear.__doc__.startswith("Sharply goes from low to high")
    assert schedule.smooth.__doc__.startswith("Smoothly goes from low to high")
    assert schedule.hump.__doc__.startswith("Smoothly rises up (30%), then down (70%)")
    assert schedule.exp.__doc__.startswith("Rises/drops quickly, then rate of change gets smaller and smaller")
    for f in (linear, smooth, exp):
        s = f(1.0, 3.0, "lr")
        assert s.param == "lr"
        assert s(0.0) == pytest.approx(1.0)
        assert s(1.0) == pytest.approx(3.0)
    assert schedule.ParamScheduler is k1lib.callbacks.ParamScheduler


def test_seed_exposed_as_k1lib_schedule():
    assert k1lib.schedule.linear(0, 1)(0.25) == 0.25  # the seed does k1lib.schedule.linear / schedule.Fn


# ---------------------------------------------------------------------- shapes
def test_linear_and_smooth_shapes():
    assert linear(0, 10)(0.3) == pytest.approx(3.0)
    s = smooth(0, 10)
    assert s(0.5) == pytest.approx(5.0)
    assert s(0.1) < 1.0 and s(0.9) > 9.0  # flat at both ends
    e = exp(10, 0)
    assert e(0.25) < 5  # drops quickly...
    assert e(0.5) - e(1.0) < e(0.0) - e(0.5)  # ...then slower and slower


def test_exp_is_k1libs_curve():
    low, high, x = 2.0, 7.0, 0.3
    k1 = (math.exp(-x * 4 + 1) - math.e**-3) / (math.e - math.e**-3) * (low - high) + high
    assert exp(low, high)(x) == pytest.approx(k1)


def test_hump_rises_for_30_percent_then_falls():
    h = hump(1.0, 10.0, "lr")
    xs = [i / 100 for i in range(101)]
    ys = [h(x) for x in xs]
    peak = max(range(101), key=ys.__getitem__)
    assert xs[peak] == pytest.approx(0.3, abs=0.011)
    assert ys[0] == pytest.approx(0.8 * 1.0 + 0.2 * 10.0)
    assert ys[-1] == pytest.approx(1.0)
    assert h.param == "lr"


# ---------------------------------------------------------------------- combining
def test_combined_schedule_splits_by_width():
    a, b = linear(0, 1), linear(10, 20)
    c = a + 3 * b  # a takes 25 %, b 75 %
    assert c(0.0) == 0 and c(0.125) == pytest.approx(0.5)
    assert c(0.25) == pytest.approx(10) and c(1.0) == pytest.approx(20)
    assert c(0.625) == pytest.approx(15)
    assert a.width == 1 and b.width == 1  # nothing scaled in place (k1lib's * mutates)


def test_sums_flatten_and_keep_shares():
    a, b, c = linear(0, 1), linear(1, 2), linear(2, 3)
    s = a + b + c
    assert len(s.parts) == 3
    assert s(1 / 3) == pytest.approx(1.0) and s(2 / 3) == pytest.approx(2.0)
    assert sum([a, b, c])(0.5) == pytest.approx(1.5)  # sum() starts from 0
    t = 3 * (a + b) + c  # a + b has width 2 (the sum); tripled, 6 of 7 for a and b together
    assert t(6 / 7) == pytest.approx(2.0) and t(3 / 7) == pytest.approx(1.0)
    assert (linear(0, 1) / 2 + linear(1, 2))(1 / 3) == pytest.approx(1.0)


def test_param_from_string_and_from_parts():
    s = linear(0, 1) + "lr"
    assert s.param == "lr"
    assert (linear(0, 1) + linear(1, 2, "momentum")).param == "momentum"
    with pytest.raises(TypeError, match="positive number"):
        linear(0, 1) * -1
    with pytest.raises(TypeError, match="hyper-parameter"):
        Fn(lambda x: x, param=3)
    with pytest.raises(TypeError, match="function of progress"):
        Fn(3)


def test_iter_validates_and_handles_one_step():
    assert list(linear(5, 6).iter(1)) == [5]
    with pytest.raises(ValueError, match="n >= 1"):
        list(linear(0, 1).iter(0))


# ---------------------------------------------------------------------- display
def test_repr_and_svg():
    s = linear(1e-3, 1e-2, "lr")
    text = repr(s)
    assert text.startswith("'lr' schedule: linear(0.001 → 0.01), 0.001 at 0 → 0.01 at 1")
    assert "- s.progress: to get last recorded progress" in text
    assert "k1w-progress" not in s.svg()  # no marker before a run
    s.progress = 0.5
    assert "Last applied: 0.0055 at progress 0.500" in repr(s)
    svg = s.svg()
    assert svg.startswith("<svg") and 'class="k1w-progress"' in svg
    assert s._repr_mimebundle_()["text/html"].startswith('<div class="k1w-schedule-static"><svg')


def test_view_shows_the_curve_and_the_marker():
    from k1widgets.widgets.schedule import ScheduleView

    s = hump(1e-4, 1e-2, "lr")
    v = s.widget()
    assert isinstance(v, ScheduleView)
    assert len(v.plot.curve.x) == 201 and v.plot.curve.y.max() == pytest.approx(1e-2, rel=1e-3)
    assert len(v.plot.marker.x) == 0
    s.progress = 0.3
    v.refresh()
    assert list(v.plot.marker.x) == [0.3]
    assert v.plot.marker.y[0] == pytest.approx(1e-2)
    v.close()


# ---------------------------------------------------------------------- against torch's schedulers
def _torchLrs(make, steps):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1e-2)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (linear(1e-2, 1e-3), lambda opt, n: torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.1, total_iters=n - 1)),
        (smooth(1e-2, 1e-4), lambda opt, n: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n - 1, eta_min=1e-4)),
    ],
)
def test_shapes_match_torch_schedulers(ours, theirs):
    n = 25
    expected = _torchLrs(lambda opt: theirs(opt, n), n)
    assert list(ours.iter(n)) == pytest.approx(expected, rel=1e-9, abs=1e-12)
