"""LossLandscape: vmap values vs a per-point loop, exact centre, untouched model, errors surface, fallback."""

from __future__ import annotations

import base64
import re
import zlib

import numpy as np
import pytest
import torch
from conftest import makeLearner
from torch import nn

from k1widgets.callbacks import Landscape
from k1widgets.callbacks.landscape import DEFAULT_SCALES
from k1widgets.callbacks.surface import activationBytes, chunkSize, directions, evaluate
from k1widgets.plot.heatmap import colorize, contourSegments, png


@pytest.fixture(autouse=True, scope="module")
def oneThread():
    """One torch thread: on a shared, loaded CPU, OpenMP regions of the batched passes stall (25x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def trained():
    l = makeLearner()
    l.run(2)
    return l


def test_seed_cell_prints_progress_and_returns_a_landscape(capsys):
    l = trained()
    ls = l.LossLandscape.plot()
    out = capsys.readouterr().out
    assert "LossLandscape: 0/8 scales, computing [-0.01, 0.01] range" in out
    assert out.rstrip().endswith("s)") and "8/8 scales, finished [-2.82, 2.82] range (3,528 points" in out
    assert isinstance(ls, Landscape) and l.LossLandscape.last is ls
    assert ls.losses.shape == (8, 21, 21) and np.isfinite(ls.losses).all()
    assert tuple(ls.scales) == DEFAULT_SCALES == (0.01, 0.022, 0.05, 0.112, 0.251, 0.562, 1.259, 2.818)
    assert "Loss landscape: 8 scales (0.01 … 2.818) × 21×21 points around the trained weights" in repr(ls)


def test_vmap_values_match_a_per_point_loop():
    l = trained()
    kw = {"scales": [0.05, 1.0], "points": 9, "quiet": True}
    fast = l.LossLandscape.plot(**kw)
    slow = l.LossLandscape.plot(mode="loop", **kw)
    assert fast.info["mode"] == "vmap" and slow.info["mode"] == "loop"
    np.testing.assert_allclose(fast.losses, slow.losses, rtol=1e-5)
    odd = l.LossLandscape.plot(chunk=7, **kw)  # chunks that do not divide the grid
    np.testing.assert_allclose(odd.losses, slow.losses, rtol=1e-5)


def test_centre_is_exactly_the_trained_weights():
    l = trained()
    ls = l.LossLandscape.plot(points=5, scales=[0.1, 1.0], samples=200, quiet=True)
    assert ls.coords[2] == 0.0 and list(ls.coords) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    xb = torch.cat([xb for xb, _ in l.data.train])[:200, None]
    yb = torch.cat([yb for _, yb in l.data.train])[:200]
    l.model.eval()
    with torch.no_grad():
        own = float(l.lossF(l.model(xb), yb))
    l.model.train()
    assert ls.centre == own
    assert (ls.losses[:, 2, 2] == own).all()
    # and the batched pass at alpha = beta = 0 agrees with it (W + 0 * d is W)
    dirs = directions(l.model, 0)
    v, _ = evaluate(l.model.eval(), l.lossF, (xb, yb), dirs, np.zeros(3), np.zeros(3), chunk=3, mode="vmap")
    np.testing.assert_allclose(v, own, rtol=1e-6)


def test_model_and_rng_untouched():
    l = trained()
    l.model.bulk[0].weight.requires_grad_(False)
    l.model.train()
    before = {k: v.clone() for k, v in l.model.state_dict().items()}
    flags = [p.requires_grad for p in l.model.parameters()]
    rng = torch.get_rng_state()
    l.LossLandscape.plot(points=5, scales=[0.5], quiet=True, biases=True)
    after = l.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [p.requires_grad for p in l.model.parameters()] == flags
    assert all(m.training for m in l.model.modules())
    assert torch.equal(torch.get_rng_state(), rng)


class Fragile(nn.Module):
    """Raises once the weights are perturbed far enough (data-dependent: vmap cannot run it either)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1, 1)

    def forward(self, x):
        if self.lin.weight.abs().max() > 3:
            msg = "weights too large for this model"
            raise ValueError(msg)
        return self.lin(x)


def test_an_error_inside_the_model_surfaces():
    l = makeLearner()
    l.model = Fragile()
    l.opt = torch.optim.SGD(l.model.parameters(), lr=1e-2)
    with pytest.raises(ValueError, match="weights too large") as info:
        l.LossLandscape.plot(points=5, scales=[100.0], quiet=True)
    assert any("vmap failed on the same points first" in n for n in info.value.__notes__)
    assert all(m.training for m in l.model.modules())  # flags restored after the error too


class ItemModel(nn.Module):
    """Calls .item(): fine in a loop, impossible under vmap."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        h = self.lin(x)
        scale = 1.0 + 0.0 * h.mean().item()
        return self.out(torch.relu(h) * scale)


def test_falls_back_to_a_loop_where_vmap_cannot_run():
    l = makeLearner()
    l.model = ItemModel()
    ls = l.LossLandscape.plot(points=5, scales=[0.1, 1.0], quiet=True)
    assert ls.info["mode"] == "loop" and ls.info["fallback"]
    loop = l.LossLandscape.plot(points=5, scales=[0.1, 1.0], quiet=True, mode="loop")
    np.testing.assert_array_equal(ls.losses, loop.losses)
    assert "a per-point loop (vmap could not run the model:" in repr(ls)
    with pytest.raises(RuntimeError):
        l.LossLandscape.plot(points=5, scales=[0.1], quiet=True, mode="vmap")


def test_directions_are_filter_normalized_and_seeded():
    model = makeLearner().model
    d1, _ = directions(model, 3)
    names = [n for n, p in model.named_parameters() if p.dim() > 1]
    assert sorted(d1) == sorted(names)  # biases are left out unless asked for
    params = dict(model.named_parameters())
    for n in names:
        w, d = params[n].detach(), d1[n]
        assert torch.allclose(d.norm(dim=1), w.norm(dim=1), rtol=1e-4)
    again = directions(model, 3)[0]
    assert all(torch.equal(d1[n], again[n]) for n in names)
    other = directions(model, 4)[0]
    assert not torch.equal(d1[names[0]], other[names[0]])
    withBiases = directions(model, 3, biases=True)[0]
    assert torch.allclose(withBiases["bulk.0.bias"].norm(), params["bulk.0.bias"].detach().norm(), rtol=1e-4)


def test_chunk_size_follows_activation_memory():
    model = makeLearner().model
    small = activationBytes(model, torch.zeros(64, 1))
    big = activationBytes(model, torch.zeros(10_000, 1))
    assert big == small * 10_000 // 64
    assert chunkSize(small, torch.device("cpu")) > 100
    assert chunkSize(big, torch.device("cpu")) == 1  # one point is already the whole budget: plain loop


def test_even_points_and_bad_scales_are_refused():
    l = makeLearner()
    with pytest.raises(ValueError, match=r"odd whole number >= 3.*Use 41"):
        l.LossLandscape.plot(points=40)
    with pytest.raises(ValueError, match="positive numbers"):
        l.LossLandscape.plot(scales=[0.1, -1])


def test_static_svg_has_a_panel_per_scale_and_the_centre():
    l = trained()
    ls = l.LossLandscape.plot(points=7, scales=[0.1, 0.5, 2.0], quiet=True)
    svg = ls.svg()
    assert svg.count('class="k1w-centre"') == 3 and svg.count("<image") == 3
    assert "scale 0.5" in svg and "(log colours)" in svg
    uri = re.search(r'href="data:image/png;base64,([^"]+)"', svg).group(1)
    assert base64.b64decode(uri).startswith(b"\x89PNG")
    assert ls._repr_mimebundle_()["text/html"].startswith('<div class="k1w-landscape-static"><svg')


def test_png_round_trip():
    rgb = colorize(np.array([[0.0, 0.5], [1.0, np.nan]]))
    data = png(rgb)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    assert raw == b"\x00" + rgb[0].tobytes() + b"\x00" + rgb[1].tobytes()
    assert tuple(rgb[1, 1]) == (220, 220, 220)


def test_contours_of_a_cone_are_circles():
    y, x = np.mgrid[-10:11, -10:11].astype(float)
    z = np.hypot(x, y)
    segs = contourSegments(z, 5.0)
    assert len(segs) > 20
    r = np.hypot(segs[:, [0, 2]] - 10, segs[:, [1, 3]] - 10)
    np.testing.assert_allclose(r, 5.0, atol=0.3)
    saddle = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert len(contourSegments(saddle, 0.5)) == 2  # both lines of a saddle cell
    assert len(contourSegments(np.full((3, 3), np.nan), 0.5)) == 0


def test_landscape_view_state():
    from k1widgets.widgets.landscape import LandscapeView

    l = trained()
    ls = l.LossLandscape.plot(points=7, scales=[0.1, 0.5, 2.0], quiet=True)
    v = ls.widget()
    assert isinstance(v, LandscapeView)
    assert v.shape == [3, 7] and v.scale == 1 and v.logColor
    assert np.frombuffer(v.losses, dtype=np.float32).reshape(3, 7, 7) == pytest.approx(ls.losses, rel=1e-6)
    segs = np.frombuffer(v.contours, dtype=np.float32).reshape(-1, 4)
    assert len(segs) == v.contourOffsets[-1] > 0 and v.contourOffsets == sorted(v.contourOffsets)
    assert v.coords[3] == 0.0 and v.centre == ls.centre
    v.close()


def test_seed_readme_cell_runs_verbatim(capsys):
    from test_readme_tour import runReadme

    ns = runReadme()  # ends with l = newL(); l.run(10)
    capsys.readouterr()
    exec("ls = l.LossLandscape.plot()", ns)  # the seed's cell (its value is what the notebook shows)
    out = capsys.readouterr().out
    assert "8/8 scales, finished [-2.82, 2.82] range" in out
    ls = ns["ls"]
    assert ls.losses.shape == (8, 21, 21) and ls.losses[-1].max() > 100 * ls.centre  # a basin around the weights
