"""The live progress view of ``l.run()`` in real JupyterLab and Jupyter Notebook 7 (Chromium).

A tiny README-like network is slowed to ~10 ms a batch by a callback so that a run lasts a few
seconds and the view can be watched while it advances.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import COMMS_MODE, append_and_run, cell, lab_command, output, wait_kernel_idle

pytestmark = pytest.mark.browser

SETUP = """\
import time, torch
from torch import nn
from k1widgets import Callback, Learner
from k1widgets.data import Data, FunctionDataset

class Slow(Callback):
    def endBatch(self):
        time.sleep(0.01)  # ~1.6 s per epoch of 157 batches: slow enough to watch

def makeLearner():
    torch.manual_seed(0)
    l = Learner()
    l.model = nn.Sequential(nn.Linear(1, 10), nn.LeakyReLU(), nn.Linear(10, 1))
    l.data = Data.fromDataset(FunctionDataset.exp, batchSize=64)
    l.opt = torch.optim.Adam(l.model.parameters(), lr=1e-2)
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean()
    l.cbs.withModifyBatch(lambda x, y: (x[:, None].float(), y.float()))
    l.cbs.append(Slow())
    return l

print("SETUP_OK")
"""
NOTEBOOK_CELLS = [SETUP]

T_RUN = 60_000  # ms


def _percent(view) -> int:
    return int(view.locator(".k1w-progress-percent").inner_text().rstrip("%"))


_READY: set[int] = set()  # pages whose SETUP cell has run (so each test can also run alone)


def _setUp(pg) -> None:
    if id(pg) not in _READY:
        lab_command(pg, "notebook:run-all-cells")
        expect(output(pg, 0)).to_contain_text("SETUP_OK", timeout=T_RUN)
        _READY.add(id(pg))
    wait_kernel_idle(pg)


def _watchAdvance(pg, view) -> None:
    """The view shows a run that is under way, then shows it further along."""
    expect(view.locator(".k1w-progress-status")).to_have_text("running", timeout=T_RUN)
    expect(view.locator(".k1w-progress-percent")).not_to_have_text("0%", timeout=T_RUN)
    first = _percent(view)
    assert first < 100
    pg.wait_for_timeout(1500)
    assert first < _percent(view) < 100


FINAL_CHECK = """\
from k1widgets.widgets.progress import _jsonSafe
v = l.ProgressBar.view
print("FINAL", l.status, v.state == _jsonSafe(l.ProgressBar.state()), v.state["epoch"], v.state["batch"])
"""


def test_view_advances_during_a_blocking_run_and_ends_exact(page, artifacts):
    pg = page
    _setUp(pg)
    idx = append_and_run(pg, "l = makeLearner()\nl.run(4)\nprint('RUN_DONE')", wait=False)
    view = cell(pg, idx).locator(".k1w-progress")
    expect(view).to_be_visible(timeout=T_RUN)
    _watchAdvance(pg, view)
    view.screenshot(path=str(artifacts / "blocking_running.png"))
    expect(output(pg, idx)).to_contain_text("RUN_DONE", timeout=T_RUN)
    expect(view.locator(".k1w-progress-status")).to_have_text("done")
    expect(view.locator(".k1w-progress-percent")).to_have_text("100%")
    expect(view.locator(".k1w-progress-epoch")).to_have_text("epoch 4/4")
    expect(view.locator(".k1w-progress-batch")).to_have_text("batch 157/157")
    expect(view.locator(".k1w-progress-loss")).to_have_text(re.compile(r"loss \d\S* train, \d\S* valid"))
    expect(view.locator(".k1w-progress-cancel-run")).to_be_disabled()
    wait_kernel_idle(pg)
    # the browser shows exactly the final state that Python holds
    idx2 = append_and_run(pg, FINAL_CHECK)
    expect(output(pg, idx2)).to_contain_text("FINAL done True 3 156", timeout=T_RUN)
    cell(pg, idx).screenshot(path=str(artifacts / "blocking_done.png"))


def test_buttons_pause_and_cancel_a_background_run(page, artifacts):
    pg = page
    _setUp(pg)
    idx = append_and_run(pg, "l = makeLearner()\nh = l.run(50, background=True)\nprint('STARTED')")
    expect(output(pg, idx)).to_contain_text("STARTED", timeout=T_RUN)
    view = cell(pg, idx).locator(".k1w-progress")
    expect(view).to_be_visible(timeout=T_RUN)
    wait_kernel_idle(pg)  # the cell is over; the run goes on in its thread
    _watchAdvance(pg, view)

    view.locator(".k1w-progress-pause").click()
    expect(view.locator(".k1w-progress-status")).to_have_text("paused", timeout=10_000)
    expect(view.locator(".k1w-progress-pause")).to_have_text("Resume")
    held = _percent(view)
    pg.wait_for_timeout(1000)
    assert _percent(view) == held
    view.locator(".k1w-progress-pause").click()
    expect(view.locator(".k1w-progress-status")).to_have_text("running", timeout=10_000)

    view.locator(".k1w-progress-cancel-run").click()
    status = view.locator(".k1w-progress-status")
    expect(status).to_have_text("Run cancelled: cancelled by the user.", timeout=10_000)
    expect(view.locator(".k1w-progress-cancel-run")).to_be_disabled()
    assert _percent(view) < 100
    view.screenshot(path=str(artifacts / "background_cancelled.png"))
    idx2 = append_and_run(pg, "h.wait(10)\nprint('AFTER', l.status, h.done, l.ProgressBar.view.state['status'])")
    expect(output(pg, idx2)).to_contain_text("AFTER cancelled True cancelled", timeout=T_RUN)


NAN_RUN = """\
l = makeLearner()
l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean() * float("nan")
l.run(3)
print("NAN_DONE", l.status)
"""


def test_a_nan_loss_shows_as_nan_and_the_run_is_cancelled(page, artifacts):
    pg = page
    _setUp(pg)
    idx = append_and_run(pg, NAN_RUN)
    expect(output(pg, idx)).to_contain_text("NAN_DONE cancelled", timeout=T_RUN)
    view = cell(pg, idx).locator(".k1w-progress")
    # cancelled at the 50th training batch, before any validation: NaN train, no valid loss yet
    expect(view.locator(".k1w-progress-loss")).to_have_text("loss NaN train, - valid")
    expect(view.locator(".k1w-progress-status")).to_have_text("Run cancelled: Explosion detected!.")
    expect(view.locator(".k1w-progress-epoch")).to_have_text("epoch 1/3")
    view.screenshot(path=str(artifacts / "nan_cancelled.png"))


@pytest.mark.skipif(COMMS_MODE == "disabled", reason="clicks wait for the cell to end without comms on subshells")
def test_cancel_button_stops_a_blocking_run(page, artifacts):
    # JupyterLab >= 4.4 with ipykernel >= 7 handles comm messages on a subshell thread during the cell
    pg = page
    _setUp(pg)
    idx = append_and_run(pg, "l = makeLearner()\nl.run(50)\nprint('AFTER', l.status)", wait=False)
    view = cell(pg, idx).locator(".k1w-progress")
    expect(view.locator(".k1w-progress-status")).to_have_text("running", timeout=T_RUN)
    view.locator(".k1w-progress-cancel-run").click()
    expect(output(pg, idx)).to_contain_text("AFTER cancelled", timeout=20_000)
    expect(output(pg, idx)).to_contain_text("Run cancelled: cancelled by the user.")
    expect(view.locator(".k1w-progress-status")).to_have_text("Run cancelled: cancelled by the user.")
    cell(pg, idx).screenshot(path=str(artifacts / "blocking_cancelled.png"))
    wait_kernel_idle(pg)


def test_view_renders_and_updates_in_notebook7(nb7_page, artifacts):
    pg = nb7_page
    _setUp(pg)
    t0 = time.time()
    idx = append_and_run(pg, "l = makeLearner()\nl.run(3)\nprint('RUN_DONE')", wait=False)
    view = cell(pg, idx).locator(".k1w-progress")
    expect(view).to_be_visible(timeout=T_RUN)
    _watchAdvance(pg, view)
    pg.screenshot(path=str(artifacts / "notebook7_running.png"))
    expect(output(pg, idx)).to_contain_text("RUN_DONE", timeout=T_RUN)
    expect(view.locator(".k1w-progress-status")).to_have_text("done")
    expect(view.locator(".k1w-progress-epoch")).to_have_text("epoch 3/3")
    expect(view.locator(".k1w-progress-percent")).to_have_text("100%")
    assert time.time() - t0 < 60
    pg.screenshot(path=str(artifacts / "notebook7_done.png"))
