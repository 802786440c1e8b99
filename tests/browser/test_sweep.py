"""The sweep view in real JupyterLab (Chromium): it fills in live during a background ``cultivate``, a
hover on a failed cell shows its error, a click shows a point's values and curve, Cancel stops the
sweep, and the same store opened again shows the same picture."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import append_and_run, cell, lab_command, output, runPython, wait_kernel_idle

pytestmark = pytest.mark.browser

SETUP = """\
import pathlib, time
import numpy as np
from k1widgets import cultivate, Harvester

GATE = pathlib.Path("release")  # the lr=1.0 points wait for it: the sweep is still going when Cancel is clicked

def train(lr, hidden):
    time.sleep(0.3)
    deadline = time.time() + 120
    while lr == 1.0 and not GATE.exists() and time.time() < deadline:
        time.sleep(0.05)
    if lr == 0.1 and hidden == 16:
        raise FloatingPointError("loss exploded to nan at epoch 3")
    curve = np.array([1.0, 0.6, 0.4, 0.3]) * lr * 10 / hidden
    return float(curve[-1]), curve

combos = {"lr": [0.001, 0.01, 0.1, 1.0], "hidden": [8, 16, 32, 64]}
print("SETUP_OK")
"""
NOTEBOOK_CELLS = [SETUP]
T = 60_000  # ms


def _count(view, name):
    return int(re.match(r"\d+", view.locator(f".k1w-sweep-{name}").inner_text()).group(0))


def test_sweep_view_live_hover_click_cancel_and_reopen(page, artifacts):
    pg = page
    lab_command(pg, "notebook:run-all-cells")
    expect(output(pg, 0)).to_contain_text("SETUP_OK", timeout=T)
    wait_kernel_idle(pg)
    idx = append_and_run(
        pg,
        'sweep = cultivate(train, var_names=["loss", "curve"], runner_opts={"var_dims": {"curve": ["epoch"]}},\n'
        '                  combos=combos, data_name="sweep.pkl", background=True, shuffle=False, raise_errors=False)\n'
        'print("STARTED")',
    )
    expect(output(pg, idx)).to_contain_text("STARTED", timeout=T)
    view = cell(pg, idx).locator(".k1w-sweep")
    expect(view).to_be_visible(timeout=T)
    wait_kernel_idle(pg)  # the cell is over; the sweep goes on in its thread

    # live: the counts and the cells fill in while the kernel is idle
    expect(view.locator(".k1w-sweep-cell")).to_have_count(16)
    expect(view.locator(".k1w-sweep-done")).to_have_text(re.compile(r"^[2-9]\d* done$"), timeout=T)
    expect(view.locator(".k1w-sweep-status")).to_have_text(re.compile(r"ETA"))
    failed = view.locator('.k1w-sweep-cell[data-status="f"]')
    expect(failed).to_have_count(1, timeout=T)
    cell(pg, idx).screenshot(path=str(artifacts / "live.png"))

    # hover on the failed cell: its error
    failed.hover()
    tip = view.locator(".k1w-sweep-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("FloatingPointError: loss exploded to nan at epoch 3")
    cell(pg, idx).screenshot(path=str(artifacts / "hover_failed.png"))

    # click a finished cell: its values and its curve
    view.locator('.k1w-sweep-cell[data-status="o"]').first.click()
    expect(view.locator(".k1w-sweep-detail-params")).to_contain_text("hidden=", timeout=T)
    expect(view.locator(".k1w-sweep-detail-values")).to_contain_text("loss:")
    expect(cell(pg, idx).locator(".k1w-sweep-curve")).to_be_visible(timeout=T)

    # Cancel (while the first lr=1.0 point waits): nothing new is submitted; the running point finishes
    # (every point before the first lr=1.0 one has finished: 11 done, 1 failed; that one runs)
    expect(view.locator(".k1w-sweep-done")).to_have_text("11 done", timeout=T)
    expect(view.locator('.k1w-sweep-cell[data-status="r"]')).to_have_count(1, timeout=T)
    view.locator(".k1w-sweep-cancel").click()
    expect(view.locator(".k1w-sweep-cancel")).to_have_text("Cancelling…")
    out = runPython(pg, "GATE.touch()\nsweep.wait(60)\nprint('AFTER', sweep.cancelled, sweep.counts)", "AFTER")
    assert "AFTER True {'done': 12, 'failed': 1, 'running': 0, 'pending': 3, 'total': 16}" in out
    expect(view.locator(".k1w-sweep-status")).to_have_text("cancelled", timeout=T)
    expect(view.locator(".k1w-sweep-pending")).to_have_text("3 pending")
    done = _count(view, "done")
    assert done == 12
    cell(pg, idx).screenshot(path=str(artifacts / "cancelled.png"))
    pg.wait_for_timeout(1500)
    assert _count(view, "done") == done  # nothing ran after the cancel

    # the same store, opened again (as from a fresh kernel), shows the same picture
    idx2 = append_and_run(pg, 'Harvester(None, data_name="sweep.pkl")')
    again = cell(pg, idx2).locator(".k1w-sweep")
    expect(again).to_be_visible(timeout=T)
    expect(again.locator(".k1w-sweep-done")).to_have_text(f"{done} done")
    expect(again.locator('.k1w-sweep-cell[data-status="f"]')).to_have_count(1)
    assert again.locator(".k1w-sweep-cell").evaluate_all(
        "cs => cs.map(c => c.dataset.status).join('')"
    ) == view.locator(".k1w-sweep-cell").evaluate_all("cs => cs.map(c => c.dataset.status).join('')")
    cell(pg, idx2).screenshot(path=str(artifacts / "reopened.png"))
    wait_kernel_idle(pg)
