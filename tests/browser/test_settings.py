"""The settings panel of ``k1widgets.settings`` in real JupyterLab (Chromium): edits reach Python and
fire callbacks, invalid edits show an error, Python-side changes (a ``context()``) show up live and
revert, and a sensitive value never reaches the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import append_and_run, lab_command, output, runPython, wait_kernel_idle

pytestmark = pytest.mark.browser

SECRET = "s3cret-token-value-42"
SETUP = f"""\
import os, time
os.environ["DEMO_TOKEN"] = {SECRET[:6]!r} + {SECRET[6:]!r}  # the page shows this cell: keep it in pieces
from k1widgets import Settings, settings
calls = []
def record(s, v):
    calls.append(v)
demo = Settings()
demo.add("epochs", 3, "a number whose callback records every change", cb=record)
demo.add("verbose", False, "a checkbox whose callback records every change", cb=record)
demo.add("token", "unset", "an API token (sensitive)", sensitive=True, env="DEMO_TOKEN")
demo.add("optimizer", "adam", "a key with choices", choices=["adam", "sgd"])
settings.add("demo", demo, "keys added by this notebook")
settings
"""
NOTEBOOK_CELLS = [SETUP]
T = 60_000  # ms


def _row(panel, path):
    return panel.locator(f'.k1w-settings-row[data-path="{path}"]')


def _editor(panel, path):
    return _row(panel, path).locator(".k1w-settings-editor")


def test_settings_panel_edits_errors_context_and_secrets(page, artifacts):
    pg = page
    lab_command(pg, "notebook:run-all-cells")
    panel = pg.locator(".k1w-settings").first
    expect(panel).to_be_visible(timeout=T)
    wait_kernel_idle(pg)
    expect(_editor(panel, "displayCutoff")).to_have_value("50")
    expect(_editor(panel, "live.hz")).to_have_value("10.0")
    expect(_row(panel, "live.hz").locator(".k1w-settings-env")).to_have_text("env K1W_LIVE_HZ")
    expect(_row(panel, "demo.token").locator("input[type=password]")).to_have_value("")
    pg.screenshot(path=str(artifacts / "panel_initial.png"), full_page=True)

    # a number and a checkbox, edited as a person would
    _editor(panel, "demo.epochs").fill("7")
    _editor(panel, "demo.epochs").press("Enter")
    _editor(panel, "demo.verbose").check()
    _editor(panel, "displayCutoff").fill("80")
    _editor(panel, "displayCutoff").press("Enter")
    _editor(panel, "demo.optimizer").select_option("sgd")
    expect(_row(panel, "displayCutoff").locator(".k1w-settings-reset")).to_be_enabled(timeout=T)
    text = runPython(
        pg,
        "d = settings.demo\nprint('VALUES', d.epochs, d.verbose, settings.displayCutoff, d.optimizer, calls)",
        "VALUES",
    )
    assert "VALUES 7 True 80 sgd [7, True]" in text, text

    # an invalid number: the error shows next to the field and the value is unchanged
    _editor(panel, "displayCutoff").fill("abc")
    _editor(panel, "displayCutoff").press("Enter")
    error = _row(panel, "displayCutoff").locator(".k1w-settings-error")
    expect(error).to_be_visible(timeout=T)
    expect(error).to_contain_text("takes a whole number, got 'abc'")
    expect(_editor(panel, "displayCutoff")).to_have_value("abc")  # kept, so it can be fixed
    # a value a callback rejects
    _editor(panel, "live.hz").fill("-1")
    _editor(panel, "live.hz").press("Enter")
    expect(_row(panel, "live.hz").locator(".k1w-settings-error")).to_contain_text("must be a number > 0")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(artifacts / "panel_errors.png"))
    text = runPython(pg, "print('AFTER', settings.displayCutoff, settings.live.hz)", "AFTER")
    assert "AFTER 80 10.0" in text, text

    # Python changes inside context(): the panel follows while the cell runs, then reverts
    _editor(panel, "live.hz").press("Escape")
    wait_kernel_idle(pg)
    idx = append_and_run(
        pg,
        "with settings.context(live={'hz': 2.5}, demo={'epochs': 42}):\n    time.sleep(4)\nprint('CTX_DONE')",
        wait=False,
    )
    expect(_editor(panel, "live.hz")).to_have_value("2.5", timeout=T)
    expect(_editor(panel, "demo.epochs")).to_have_value("42")
    panel.screenshot(path=str(artifacts / "panel_in_context.png"))
    expect(output(pg, idx)).to_contain_text("CTX_DONE", timeout=T)
    expect(_editor(panel, "live.hz")).to_have_value("10.0", timeout=T)
    expect(_editor(panel, "demo.epochs")).to_have_value("7")
    text = runPython(pg, "print('RESTORED', settings.live.hz, settings.demo.epochs, calls)", "RESTORED")
    assert "RESTORED 10.0 7 [7, True, 42]" in text, text  # no callback on restore

    # the filter, and the secret that never reached the page
    search = panel.locator(".k1w-settings-search")
    search.fill("token")
    expect(_row(panel, "demo.token")).to_be_visible()
    expect(_row(panel, "displayCutoff")).to_be_hidden()
    panel.screenshot(path=str(artifacts / "panel_filtered.png"))
    search.fill("")
    assert SECRET not in pg.content()
    assert SECRET not in panel.inner_html()
    text = runPython(pg, "print('TOKEN_OK', settings.demo.token == os.environ['DEMO_TOKEN'])", "TOKEN_OK")
    assert "TOKEN_OK True" in text
    expect(_row(panel, "demo.token").locator("input")).to_have_attribute("placeholder", "<redacted>")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(artifacts / "panel_final.png"))
