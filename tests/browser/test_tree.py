"""The module tree view of ``l.moduleSelector`` in real JupyterLab (Chromium): typing CSS re-selects
live and sets ``l.css``, a broken selector shows its caret, and ``l.css = ...`` from Python updates the
box and the highlights (one state, two views)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import lab_command, runPython, wait_kernel_idle

pytestmark = pytest.mark.browser

SETUP = """\
import torch
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

l = k1lib.Learner()
l.model = Network()
l.css = ""
l.moduleSelector
"""
NOTEBOOK_CELLS = [SETUP]
T = 60_000  # ms


def test_tree_view_css_box_live_selection_errors_and_python_sync(page, artifacts):
    pg = page
    lab_command(pg, "notebook:run-all-cells")
    view = pg.locator(".k1w-tree").first
    expect(view).to_be_visible(timeout=T)
    wait_kernel_idle(pg)
    rows = view.locator(".row[data-index]")
    expect(rows).to_have_count(29)
    expect(view.locator(".row.selected")).to_have_count(0)
    expect(view.locator(".summary")).to_have_text("0 of 29 modules selected")

    # type a selector as a person would: the matching nodes highlight (debounced, through the kernel)
    box = view.locator(".css-input")
    box.click()
    box.press_sequentially("SkipBlock LeakyReLU", delay=20)
    expect(view.locator(".row.selected")).to_have_count(9, timeout=T)
    expect(view.locator(".row.selected .cls").first).to_have_text("LeakyReLU")
    expect(view.locator(".row.selected .tag").first).to_have_text("all")
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(artifacts / "tree_skipblock_leakyrelu.png"))
    text = runPython(pg, "print('CSS', repr(l.css), len(list(l.moduleSelector.modules('all'))))", "CSS")
    assert "CSS 'SkipBlock LeakyReLU' 9" in text, text

    # a broken selector: the error and its caret show, l.css keeps the last good one
    box.fill("")
    box.press_sequentially("SkipBlock >", delay=20)
    error = view.locator(".css-error")
    expect(error).to_be_visible(timeout=T)
    expect(error).to_contain_text("after '>'")
    lines = error.inner_text().split("\n")
    assert lines[1:3] == ["  SkipBlock >", "             ^"], lines
    expect(box).to_have_class("css-input invalid")
    view.screenshot(path=str(artifacts / "tree_parse_error.png"))
    text = runPython(pg, "print('STILL', repr(l.css))", "STILL")
    assert "STILL 'SkipBlock LeakyReLU'" in text, text

    # a typo warns inline with the closest class
    box.fill("Linaer: HookModule")
    expect(view.locator(".css-warnings .warning")).to_contain_text("did you mean 'Linear'", timeout=T)
    expect(error).to_be_hidden()

    # Python sets l.css: the box and the tree follow
    runPython(pg, "l.css = '#bulk > Linear: HookModule'\nprint('SET')", "SET")
    expect(box).to_have_value("#bulk > Linear: HookModule", timeout=T)
    expect(view.locator(".row.selected")).to_have_count(2, timeout=T)
    expect(view.locator(".row.selected .tag").first).to_have_text("HookModule")
    expect(view.locator(".css-warnings .warning")).to_have_count(0)

    # click a node: its path, a rule selecting only it, and its parameters
    view.locator('.row[data-index="6"] .name').click()
    details = view.locator(".details")
    expect(details.locator(".path")).to_have_text("bulk.2.seq.0")
    expect(details.locator(".rule")).to_have_text("#2 > #seq > #0", timeout=T)
    expect(details.locator(".param")).to_have_count(2)
    expect(details.locator(".pshape").first).to_have_text("[10, 10]")
    view.screenshot(path=str(artifacts / "tree_python_css_and_details.png"))
