"""The Learner dashboard in real JupyterLab and Jupyter Notebook 7 (Chromium): Run, watch the progress and
loss tabs move, change lr mid-run, suspend and restore Loss from the Callbacks tab, open the Hooks tab,
Cancel, Save; and the smaller objects (l.cbs, l.data, l.Loss, l.Loss.epoch, l.cbs.timings) as widgets.

The README network is slowed to ~12 ms a batch by a callback so a 3-epoch run lasts ~6 s.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import append_and_run, cell, lab_command, output, runPython, wait_kernel_idle

pytestmark = pytest.mark.browser

SETUP = """\
import os, time, torch
from torch import nn
import k1widgets as k1lib

class SkipBlock(nn.Module):
    def __init__(self, hiddenDim=10):
        super().__init__()
        def gen(): return nn.Linear(hiddenDim, hiddenDim), nn.LeakyReLU()
        self.seq = nn.Sequential(*gen(), *gen(), *gen())
    def forward(self, x):
        return self.seq(x) + x

class Network(nn.Module):
    def __init__(self, hiddenDim=10, blocks=3, block=SkipBlock):
        super().__init__()
        layers = [nn.Linear(1, hiddenDim), nn.LeakyReLU()]
        layers += [block(hiddenDim) for _ in range(blocks)]
        layers += [nn.Linear(hiddenDim, 1)]
        self.bulk = nn.Sequential(*layers)
    def forward(self, x):
        return self.bulk(x)

class Slow(k1lib.Callback):
    def endBatch(self):
        time.sleep(0.012)

def newL():
    torch.manual_seed(0)
    l = k1lib.Learner()
    l.model = Network()
    l.data = k1lib.data.Data.fromDataset(k1lib.data.FunctionDataset.exp, batchSize=64)
    l.opt = torch.optim.Adam(l.model.parameters(), lr=1e-2)
    l.lossF = lambda x, y: ((x.squeeze() - y)**2).mean()
    l.cbs.withModifyBatch(lambda x, y: (x[:, None], y))
    l.cbs.withDType(torch.float32)
    l.cbs.append(Slow())
    return l

print("SETUP_OK", os.getcwd())
"""
NOTEBOOK_CELLS = [SETUP]
T = 60_000  # ms

_READY: set[int] = set()


def _setUp(pg) -> None:
    if id(pg) not in _READY:
        lab_command(pg, "notebook:run-all-cells")
        expect(output(pg, 0)).to_contain_text("SETUP_OK", timeout=T)
        _READY.add(id(pg))
    wait_kernel_idle(pg)


def _tab(dash, name):
    return dash.locator(".lm-TabBar-tab").filter(has_text=re.compile(f"^{name}$"))


def _trainBatches(dash) -> int:
    """The Loss view's "train batches" count, as the page shows it."""
    row = dash.locator(".k1w-stats tr").filter(has_text="train batches").first
    return int(row.locator("td").inner_text().replace(",", ""))


def test_dashboard_run_lr_suspend_hooks_cancel_save(page, artifacts, lab):
    pg = page
    _setUp(pg)
    idx = append_and_run(pg, "l = newL()\nl")
    dash = cell(pg, idx).locator(".k1w-dashboard")
    expect(dash).to_be_visible(timeout=T)
    header = dash.locator(".k1w-dashboard-header")
    expect(header.locator(".k1w-dash-model")).to_contain_text("Model: Network")
    expect(header.locator(".k1w-dash-model")).to_contain_text("1,021 parameters (1,021 trainable)")
    expect(header.locator(".k1w-dash-data")).to_contain_text("train: 126 batches; xb 64 bfloat16")
    expect(header.locator(".k1w-dash-opt")).to_contain_text("Optimizer: Adam")
    expect(header.locator(".k1w-dash-lossf")).to_have_text("loss: lambda x, y: ((x.squeeze() - y)**2).mean()")
    expect(header.locator(".k1w-dash-status")).to_have_text("idle")
    expect(dash.locator(".k1w-progress")).to_be_visible()  # the Progress tab is open
    wait_kernel_idle(pg)
    dash.screenshot(path=str(artifacts / "1_idle.png"))

    # Run 3 epochs: a background run, so the kernel stays free for the other controls
    header.locator(".k1w-dash-epochs").fill("3")
    header.locator(".k1w-dash-run-button").click()
    expect(header.locator(".k1w-dash-status")).to_have_text("running", timeout=T)
    progress = dash.locator(".k1w-progress")
    expect(progress.locator(".k1w-progress-status")).to_have_text("running", timeout=T)
    expect(progress.locator(".k1w-progress-percent")).not_to_have_text("0%", timeout=T)
    first = int(progress.locator(".k1w-progress-percent").inner_text().rstrip("%"))
    pg.wait_for_timeout(800)
    assert int(progress.locator(".k1w-progress-percent").inner_text().rstrip("%")) > first
    dash.screenshot(path=str(artifacts / "2_running_progress.png"))

    _tab(dash, "Loss").click()
    loss = dash.locator(".k1w-loss")
    expect(loss).to_be_visible(timeout=T)
    expect(loss.locator("svg path.line").first).to_be_attached(timeout=T)
    n0 = _trainBatches(dash)
    pg.wait_for_timeout(1000)
    assert _trainBatches(dash) > n0, "the loss tab does not move"
    dash.screenshot(path=str(artifacts / "3_running_loss.png"))

    # change lr mid-run: applied at the next batch, shown in the header and in l.opt
    lr = header.locator('input.k1w-dash-hyper[data-name="lr"]')
    lr.fill("0.002")
    lr.press("Enter")
    expect(header.locator(".k1w-dash-opt")).to_contain_text("lr 0.002", timeout=10_000)
    expect(lr).not_to_have_class(re.compile("pending"), timeout=10_000)
    out = runPython(pg, "print('LR', l.opt.param_groups[0]['lr'], l.status)", "LR")
    assert "LR 0.002 running" in out
    dash.screenshot(path=str(artifacts / "4_lr_changed.png"))
    expect(header.locator(".k1w-dash-status")).to_have_text("done", timeout=T)
    expect(header.locator(".k1w-dash-notice")).to_have_text("Run of 3 epochs ended: done.")

    # a longer run for the rest
    header.locator(".k1w-dash-epochs").fill("50")
    header.locator(".k1w-dash-run-button").click()
    expect(header.locator(".k1w-dash-status")).to_have_text("running", timeout=T)

    # suspend Loss from the Callbacks tab: repr(l.cbs) agrees and the loss stops growing
    _tab(dash, "Callbacks").click()
    table = dash.locator(".k1w-callbacks")
    expect(table).to_be_visible(timeout=T)
    row = table.locator('tr[data-name="Loss"]')
    row.locator(".k1w-callbacks-toggle").uncheck()
    expect(row).to_have_attribute("data-suspended", "true", timeout=10_000)
    out = runPython(pg, "print(repr(l.cbs).split('Use...')[0])", "Callbacks:")
    assert "- Loss (suspended)" in out
    expect(dash.locator(".k1w-timings svg .bargroup, .k1w-timings svg rect").first).to_be_attached()
    row.locator(".k1w-callbacks-name").click()  # details of a row
    expect(table.locator(".k1w-callbacks-details-text")).to_contain_text("Callback `Loss`, use...")
    dash.screenshot(path=str(artifacts / "5_loss_suspended.png"))
    _tab(dash, "Loss").click()
    pg.wait_for_timeout(600)
    held = _trainBatches(dash)
    pg.wait_for_timeout(1200)
    assert _trainBatches(dash) == held, "a suspended Loss still records"
    _tab(dash, "Callbacks").click()
    row.locator(".k1w-callbacks-toggle").check()
    expect(row).to_have_attribute("data-suspended", "false", timeout=10_000)
    _tab(dash, "Loss").click()
    pg.wait_for_timeout(1200)
    assert _trainBatches(dash) > held, "a restored Loss records again"

    # the Hooks tab during the run
    _tab(dash, "Hooks").click()
    hooks = dash.locator(".k1w-hooks:visible")
    expect(hooks).to_have_count(2, timeout=T)  # the HookModule and HookParam views, live
    expect(hooks.first.locator(".k1w-hooks-panel g.tick").first).to_be_attached(timeout=T)
    expect(hooks.first.locator(".k1w-hooks-name").first).to_be_visible(timeout=T)
    dash.screenshot(path=str(artifacts / "6_hooks_tab.png"))

    # Cancel run: the status says so
    header.locator(".k1w-dash-cancel-run").click()
    expect(header.locator(".k1w-dash-status")).to_have_text("cancelled", timeout=20_000)
    expect(header.locator(".k1w-dash-message")).to_have_text("Run cancelled: cancelled by the user.")
    expect(header.locator(".k1w-dash-run-button")).to_be_enabled()
    out = runPython(pg, "print('STATUS', l.status, l.epoch)", "STATUS")
    assert "STATUS cancelled" in out
    dash.screenshot(path=str(artifacts / "7_cancelled.png"))

    # Save: the notice says where; the files are there
    header.locator(".k1w-dash-filename").fill("dash-run")
    header.locator(".k1w-dash-save").click()
    notice = header.locator(".k1w-dash-notice")
    expect(notice).to_contain_text("Saved to ", timeout=20_000)
    expect(notice).to_contain_text("dash-run.pth and ")
    assert (lab.root / "dash-run.pth").exists() and (lab.root / "dash-run.model.pth").exists()
    out = runPython(pg, "print('FILES', sorted(f for f in os.listdir() if f.startswith('dash-run')))", "FILES")
    assert "['dash-run.model.pth', 'dash-run.pth']" in out
    dash.screenshot(path=str(artifacts / "8_saved.png"))

    # compare the runs in the Loss tab, and the other tabs render
    _tab(dash, "Loss").click()
    dash.locator(".k1w-dashboard-compare input").check()
    plot = dash.locator(".k1w-plot").first
    expect(plot).to_contain_text(re.compile(r"run 1 \d\d:\d\d:\d\d lr 0\.01"), timeout=T)  # the legends
    expect(plot).to_contain_text(re.compile(r"run 2 \d\d:\d\d:\d\d lr 0\.002"))
    dash.screenshot(path=str(artifacts / "9_compare_runs.png"))
    for name, selector in (("Model", ".k1w-tree"), ("Settings", ".k1w-settings"), ("Finder", ".k1w-dashboard-compute")):
        _tab(dash, name).click()
        expect(dash.locator(f"{selector}:visible").first).to_be_visible(timeout=T)
    _tab(dash, "Model").click()
    dash.screenshot(path=str(artifacts / "10_model_tab.png"))
    wait_kernel_idle(pg)


def test_a_blocking_run_moves_the_dashboard_and_the_small_objects_show_as_widgets(page, artifacts):
    pg = page
    _setUp(pg)
    idx = append_and_run(pg, "l = newL()\nl.widget(tab='Loss')")
    dash = cell(pg, idx).locator(".k1w-dashboard")
    expect(dash.locator(".k1w-loss")).to_be_visible(timeout=T)
    wait_kernel_idle(pg)
    run = append_and_run(pg, "l.run(2)\nprint('BLOCKING_DONE')", wait=False)
    expect(dash.locator(".k1w-dash-status")).to_have_text("running", timeout=T)  # updates from a busy kernel
    expect(output(pg, run)).to_contain_text("BLOCKING_DONE", timeout=T)
    expect(dash.locator(".k1w-dash-status")).to_have_text("done", timeout=T)
    expect(dash.locator(".k1w-dash-where")).to_have_text("100% · epoch 2/2 · batch 157/157")
    wait_kernel_idle(pg)
    for code, selector, text in (
        ("l.cbs", ".k1w-callbacks", "CancelOnExplosion"),
        ("l.data", ".k1w-data", "126 batches"),
        ("l.data.train", ".k1w-data", "batch size 64"),
        ("l.Loss", ".k1w-loss", "last train loss"),
        ("l.Loss.epoch", ".k1w-epoch-losses", "epoch"),
        ("l.cbs.timings", ".k1w-timings", "Time per checkpoint"),
    ):
        i = append_and_run(pg, code)
        expect(output(pg, i).locator(selector).first).to_contain_text(text, timeout=T)
        wait_kernel_idle(pg)
        output(pg, i).scroll_into_view_if_needed()
        output(pg, i).screenshot(path=str(artifacts / f"11_{code.replace('.', '_')}.png"))


def test_dashboard_runs_in_notebook7(nb7_page, artifacts):
    pg = nb7_page
    _setUp(pg)
    idx = append_and_run(pg, "l = newL()\nl")
    dash = cell(pg, idx).locator(".k1w-dashboard")
    expect(dash).to_be_visible(timeout=T)
    wait_kernel_idle(pg)
    header = dash.locator(".k1w-dashboard-header")
    header.locator(".k1w-dash-epochs").fill("1")
    header.locator(".k1w-dash-run-button").click()
    expect(header.locator(".k1w-dash-status")).to_have_text("running", timeout=T)
    _tab(dash, "Loss").click()
    expect(dash.locator(".k1w-loss svg path.line").first).to_be_attached(timeout=T)
    expect(header.locator(".k1w-dash-status")).to_have_text("done", timeout=T)
    expect(header.locator(".k1w-dash-notice")).to_have_text("Run of 1 epoch ended: done.")
    pg.screenshot(path=str(artifacts / "12_notebook7.png"))
