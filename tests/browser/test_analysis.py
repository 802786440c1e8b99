"""The analysis views in real JupyterLab (Chromium): ParamFinder's "Use this lr", the loss landscape
(render, scale slider, hover values, 3-D toggle) and a ParamScheduler view during a background run.

One server and one page for the three views; screenshots go to ``tests/browser/artifacts/test_analysis``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import append_and_run, lab_command, output, runPython, wait_kernel_idle

pytestmark = pytest.mark.browser

SETUP = """\
import time, torch
from torch import nn
import k1widgets as k1lib
from k1widgets import Callback, schedule
from k1widgets.data import Data, FunctionDataset
torch.set_num_threads(1)  # a shared, loaded CPU: OpenMP regions would stall

class Slow(Callback):
    def endBatch(self):
        time.sleep(0.01)  # ~1.6 s per epoch: slow enough to watch

def makeLearner(slow=False):
    torch.manual_seed(0)
    l = k1lib.Learner()
    l.model = nn.Sequential(nn.Linear(1, 10), nn.LeakyReLU(), nn.Linear(10, 10), nn.LeakyReLU(), nn.Linear(10, 1))
    l.data = Data.fromDataset(FunctionDataset.exp, batchSize=64)
    l.opt = torch.optim.Adam(l.model.parameters(), lr=1e-2)
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean()
    l.cbs.withModifyBatch(lambda x, y: (x[:, None].float(), y.float()))
    if slow:
        l.cbs.append(Slow())
    return l

print("SETUP_OK")
"""
NOTEBOOK_CELLS = [SETUP]
T = 90_000  # ms


@pytest.fixture(scope="module")
def ready(page):
    lab_command(page, "notebook:run-all-cells")
    expect(output(page, 0)).to_contain_text("SETUP_OK", timeout=T)
    wait_kernel_idle(page)
    return page


def test_finder_use_this_lr_sets_the_optimizer(ready, artifacts):
    pg = ready
    idx = append_and_run(pg, "lf = makeLearner(); pf = lf.ParamFinder.plot(samples=400, quiet=True); pf")
    view = output(pg, idx).locator(".k1w-finder").first
    expect(view).to_be_visible(timeout=T)
    expect(view.locator(".k1w-finder-figure path.line").first).to_be_attached(timeout=T)
    wait_kernel_idle(pg)
    view.screenshot(path=str(artifacts / "finder_view.png"))
    title = view.locator(".k1w-finder-figure text.mainheading").first.text_content()
    assert "suggested" in title and "chosen" in title
    view.locator(".k1w-finder-use button, button.k1w-finder-use").first.click()
    expect(view.locator(".k1w-finder-status")).to_contain_text("Set lr = ", timeout=T)
    view.screenshot(path=str(artifacts / "finder_used.png"))
    out = runPython(
        pg,
        "s = lf.ParamFinder.suggestion; lr = lf.opt.param_groups[0]['lr']\nprint('LR', lr != 1e-2, lr == s)",
        "LR",
    )
    assert "LR True True" in out  # exactly the suggestion (the slider only shows it rounded)


def test_landscape_renders_slider_redraws_hover_shows_values(ready, artifacts):
    pg = ready
    idx = append_and_run(
        pg, "lt = makeLearner(); lt.run(1, batches=60); lv = lt.LossLandscape.plot(quiet=True).widget(); lv"
    )
    view = output(pg, idx).locator(".k1w-landscape").first
    expect(view).to_be_visible(timeout=T)
    wait_kernel_idle(pg)
    canvas = view.locator(".k1w-landscape-canvas")
    expect(view.locator(".k1w-landscape-range")).to_contain_text("scale 0.251", timeout=T)
    view.screenshot(path=str(artifacts / "landscape_heatmap.png"))
    before = canvas.evaluate("c => c.toDataURL()")
    # hover over the centre cell: alpha = beta = 0 and the model's own loss
    box = canvas.bounding_box()
    pg.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = view.locator(".k1w-landscape-tip")
    expect(tip).to_be_visible(timeout=5_000)
    expect(tip).to_have_text(re.compile(r"^α = 0, β = 0, loss = [0-9.e+-]+$"))
    view.screenshot(path=str(artifacts / "landscape_hover.png"))
    centre = tip.text_content().rsplit("= ", 1)[1]
    pg.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)  # bottom-left corner: -scale, -scale
    expect(tip).to_contain_text("α = -0.251, β = -0.251")
    # the scale slider redraws in the browser and tells Python
    slider = view.locator(".k1w-landscape-slider").bounding_box()  # 8 scales: 0 … 7
    pg.mouse.click(slider["x"] + slider["width"] * 5 / 7, slider["y"] + slider["height"] / 2)
    expect(view.locator(".k1w-landscape-range")).to_contain_text("scale 0.562", timeout=5_000)
    after = canvas.evaluate("c => c.toDataURL()")
    assert after != before
    view.screenshot(path=str(artifacts / "landscape_scale_0.562.png"))
    out = runPython(pg, "print('SCALE', lv.scale, f'{lv.centre:.4g}')", "SCALE")
    assert "SCALE 5" in out
    assert float(out.split()[-1]) == pytest.approx(float(centre), rel=2e-3)
    view.locator(".k1w-landscape-mode").click()
    expect(view).to_have_attribute("data-mode", "3d")
    pg.mouse.move(box["x"] + 10, box["y"] + 10)
    assert canvas.evaluate("c => c.toDataURL()") != after
    view.screenshot(path=str(artifacts / "landscape_3d.png"))
    out = runPython(pg, "print('MODE', lv.view3d)", "MODE")
    assert "MODE True" in out


def test_param_scheduler_view_advances_during_a_background_run(ready, artifacts):
    pg = ready
    wait_kernel_idle(pg)
    idx = append_and_run(
        pg,
        "lb = makeLearner(slow=True)\n"
        "lb.cbs.withParamScheduler('*', schedule.hump(1e-4, 1e-2, 'lr'), schedule.linear(0.0, 1e-3, 'weight_decay'))\n"
        "display(lb.ParamScheduler.widget())\n"
        "h = lb.run(3, background=True)",
    )
    view = output(pg, idx).locator(".k1w-scheduler").first
    expect(view).to_be_visible(timeout=T)
    progress = view.locator(".k1w-scheduler-progress")
    expect(progress).to_be_attached(timeout=T)
    seen = [float(progress.text_content())]
    for _ in range(60):
        pg.wait_for_timeout(200)
        v = float(progress.text_content())
        if v != seen[-1]:
            seen.append(v)
        if len([x for x in seen if x < 1.0]) >= 3:
            break
    view.screenshot(path=str(artifacts / "scheduler_running.png"))
    assert seen == sorted(seen) and len([x for x in seen if x < 1.0]) >= 3, seen  # it moved while running
    runPython(pg, "h.wait(); print('WAITED')", "WAITED", timeout=T)
    expect(progress).to_have_text("1.000", timeout=T)
    view.screenshot(path=str(artifacts / "scheduler_done.png"))
    markers = view.locator(".k1w-schedule-figure .dot")
    assert markers.count() == 2
