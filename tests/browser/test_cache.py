"""The cache view of a ``@checkpoint`` function in real JupyterLab (Chromium): it lists the entries, a new
call shows up live, the Delete button of a row removes that file on disk, and "Clear all" empties the cache."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import append_and_run, lab_command, runPython, wait_kernel_idle

pytestmark = pytest.mark.browser

SETUP = """\
import os, string, tempfile
import numpy as np
from k1widgets import checkpoint

work = tempfile.mkdtemp(prefix="k1w-cache-view-")

@checkpoint(key=string.Template("features_${split}_w${window}.pkl"), work_dir=work)
def features(split, window=5):
    return np.random.default_rng(window).normal(size=(2000 * window,))

for split, window in [("train", 5), ("valid", 5), ("train", 10)]:
    features(split, window=window)
features("train")  # a hit
features.info()
"""
NOTEBOOK_CELLS = [SETUP]
T = 60_000  # ms


def test_cache_view_lists_deletes_and_clears(page, artifacts):
    pg = page
    lab_command(pg, "notebook:run-all-cells")
    view = pg.locator(".k1w-cache").first
    expect(view).to_be_visible(timeout=T)
    wait_kernel_idle(pg)
    rows = view.locator(".k1w-cache-row")
    expect(rows).to_have_count(3)
    names = sorted(rows.nth(i).get_attribute("data-name") for i in range(3))
    assert names == ["features_train_w10.pkl", "features_train_w5.pkl", "features_valid_w5.pkl"]
    expect(view.locator(".k1w-cache-summary")).to_contain_text("3 entries")
    expect(view.locator(".k1w-cache-summary")).to_contain_text("1 hit, 3 misses")
    row = view.locator('.k1w-cache-row[data-name="features_train_w10.pkl"]')
    expect(row.locator(".k1w-cache-size")).to_have_text("156.4 KB")
    expect(row.locator(".k1w-cache-args")).to_have_text("split='train', window=10")
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(artifacts / "cache_initial.png"))

    # a call from another cell: the view follows the function's feed
    append_and_run(pg, "features('test', window=2); print('CALLED')")
    expect(rows).to_have_count(4, timeout=T)
    expect(view.locator('.k1w-cache-row[data-name="features_test_w2.pkl"]')).to_be_visible()

    # delete one entry as a person would: the row goes, and so does the file
    row.locator(".k1w-cache-delete").click()
    expect(rows).to_have_count(3, timeout=T)
    expect(row).to_have_count(0)
    text = runPython(
        pg,
        "print('FILES', sorted(f for f in os.listdir(work) if f != '.k1cache'))",
        "FILES",
    )
    assert "FILES ['features_test_w2.pkl', 'features_train_w5.pkl', 'features_valid_w5.pkl']" in text, text
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(artifacts / "cache_after_delete.png"))

    # clear all
    view.locator(".k1w-cache-clear").click()
    expect(rows).to_have_count(0, timeout=T)
    expect(view.locator(".k1w-cache-empty")).to_be_visible()
    code = "import shutil\nprint('LEFT', [f for f in os.listdir(work) if f != '.k1cache'])\nshutil.rmtree(work)"
    text = runPython(pg, code, "LEFT")
    assert "LEFT []" in text, text
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(artifacts / "cache_cleared.png"))
    pg.screenshot(path=str(artifacts / "cache_page.png"), full_page=True)
