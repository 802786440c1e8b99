"""The main job: the tour notebook, run top to bottom in real JupyterLab, shows every view."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from .conftest import T_RENDER, lab_command, wait_kernel_idle

pytestmark = pytest.mark.browser

TOUR = Path(__file__).parent.parent.parent / "notebooks" / "tour.ipynb"
NOTEBOOK_CELLS = [c.source for c in nbformat.read(TOUR, as_version=4).cells if c.cell_type == "code"]


def test_tour_runs_and_shows_every_view(page, artifacts):
    pg = page
    lab_command(pg, "notebook:run-all-cells", wait=False)
    # the live progress view of l.run(10) ends on its final state: cancelled on low loss, as in the
    # seed, or done after 10 epochs if this machine's arithmetic took another path
    progress = pg.locator(".k1w-progress").first
    expect(progress).to_have_attribute("data-status", re.compile("cancelled|done"), timeout=T_RENDER)
    wait_kernel_idle(pg, timeout=240_000)
    expect(progress).to_contain_text(re.compile(r"Run cancelled: Low loss 1 achieved!|epoch 10/10"))
    assert pg.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    errors = pg.locator(".jp-OutputArea-output .ansi-red-fg, .jp-RenderedText[data-mime-type*='error']")
    assert errors.count() == 0, errors.first.inner_text()
    # the loss plots, the module tree with the README's props, the settings panel
    expect(pg.locator(".k1w-plot, .k1-lossplot, .bqplot").first).to_be_attached()
    assert pg.locator("svg path.line").count() >= 4, "train and valid lines of two plots"
    tree = pg.locator(".k1w-tree").first
    expect(tree).to_contain_text("SkipBlock")
    # the tour sets l.css again after showing the tree: the box followed (one state, two views)
    expect(tree.locator("textarea").first).to_have_value(
        "\n#bulk > Linear: a\n#bulk > #1: b\nSkipBlock Sequential: c\nSkipBlock LeakyReLU\n"
    )
    expect(tree.locator(".row.selected, .selected").first).to_be_attached()
    expect(pg.locator(".k1w-settings").first).to_contain_text("displayCutoff")
    # l is the dashboard; l.cbs, l.data, l.data.train, l.Loss, l.Loss.epoch, l.cbs.timings are widgets too
    dash = pg.locator(".k1w-dashboard").first
    expect(dash.locator(".k1w-dash-model")).to_contain_text("Model: Network")
    expect(dash.locator(".k1w-dash-status")).to_have_text(re.compile("cancelled|done"))
    dash.screenshot(path=str(artifacts / "tour_dashboard.png"))
    expect(pg.locator(".k1w-callbacks").first).to_contain_text("CancelOnLowLoss")
    expect(pg.locator(".k1w-data").nth(1)).to_contain_text("126 batches")  # l.data.train
    expect(pg.locator(".k1w-loss").first).to_contain_text("last train loss")
    expect(pg.locator(".k1w-epoch-losses").first).to_contain_text("epoch")
    expect(pg.locator(".k1w-timings").first).to_contain_text("Time per checkpoint")
    # the seed's text reprs still print where they are plain text
    expect(pg.locator(".jp-OutputArea").filter(has_text="tensor([").first).to_be_attached()  # l.data.train.sample
    pg.screenshot(path=str(artifacts / "tour.png"), full_page=True)
