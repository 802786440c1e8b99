"""Exports: the executed tour, converted to HTML by nbconvert, shows every view's static picture offline.

nbconvert prefers a widget view over the static fallbacks when the notebook holds saved widget state
(``nbconvert --execute`` and nbclient save it by default), and a widget view needs the widget renderer
from a CDN. The README's "Sharing a notebook" names the setting tested here,
``--ClearMetadataPreprocessor.enabled=True``, for a notebook executed (or saved) with widget state; a
notebook without widget state (JupyterLab's default save, ``--ExecutePreprocessor.store_widget_state=False``)
exports its static pictures as it is.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

TOUR = Path(__file__).parent.parent / "notebooks" / "tour.ipynb"
BARE_REPR = re.compile(r"(&lt;|<)[\w.]+ object at 0x[0-9a-fA-F]+(&gt;|>)")
WIDGET_VIEW = 'type="application/vnd.jupyter.widget-view+json"'

pytestmark = pytest.mark.slow


def nbconvert(tmp: Path, *args: str) -> None:
    """Runs ``jupyter nbconvert`` in ``tmp``; with ``--execute`` it fails on the first cell that raises."""
    cmd = [sys.executable, "-m", "nbconvert", "--log-level=WARN", f"--output-dir={tmp}", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, timeout=600)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, str]:
    """The tour executed by nbconvert (widget state saved, its default), exported to HTML three ways."""
    tmp = tmp_path_factory.mktemp("export")
    (tmp / "tour.ipynb").write_text(TOUR.read_text())
    nbconvert(tmp, "--to", "notebook", "--execute", "--output", "executed", "tour.ipynb")
    nbconvert(tmp, "--to", "html", "--output", "state-plain", "executed.ipynb")
    nbconvert(
        tmp, "--to", "html", "--ClearMetadataPreprocessor.enabled=True", "--output", "state-static", "executed.ipynb"
    )
    # without saved widget state: what `--ExecutePreprocessor.store_widget_state=False` (or JupyterLab's
    # default save) writes is the same notebook without metadata.widgets
    nb = nbformat.read(tmp / "executed.ipynb", as_version=4)
    del nb.metadata["widgets"]
    nbformat.write(nb, tmp / "nostate.ipynb")
    nbconvert(tmp, "--to", "html", "--output", "nostate", "nostate.ipynb")
    out = {name: (tmp / f"{name}.html").read_text() for name in ("state-plain", "state-static", "nostate")}
    out["executed.ipynb"] = (tmp / "executed.ipynb").read_text()
    return out


def test_execution_saves_widget_state_by_default_and_plain_export_needs_the_widget_renderer(exports):
    nb = nbformat.reads(exports["executed.ipynb"], as_version=4)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert len(state) >= 5  # the views' models: progress, plots, tree, settings
    # nbconvert shows those outputs as widget views, rendered by a script from a CDN: empty offline
    assert exports["state-plain"].count(WIDGET_VIEW) >= 5
    assert "@jupyter-widgets/html-manager" in exports["state-plain"]
    # ...but even there no output is a bare object repr any more
    assert not BARE_REPR.search(exports["state-plain"])


@pytest.mark.parametrize("name", ["nostate", "state-static"])
def test_static_export_shows_every_view(exports, name):
    html = exports[name]
    assert WIDGET_VIEW not in html and "@jupyter-widgets/html-manager" not in html  # nothing to load: offline
    assert not BARE_REPR.search(html), BARE_REPR.search(html)
    # every plot as SVG: the two loss plots (each with a train and a valid line) and the hook plots
    plots = re.findall(r'<div class="k1w-plot-static"><svg.*?</svg>', html, flags=re.S)
    losses = [p for p in plots if ">Train loss<" in p and ">Valid loss<" in p]
    assert len(losses) == 2, len(plots)
    assert all(p.count("<path") + p.count("<polyline") >= 2 for p in losses)
    titles = " ".join(re.findall(r">([A-Z][a-z]+ ?[a-z]*)</text>", " ".join(plots)))
    assert "Means" in titles and "Forward mean" in titles, titles  # l.HookParam.plot(), l.HookModule.plot()
    # the module tree with the README's props, and the settings table
    tree = re.search(r'<pre class="k1w-tree-static">(.*?)</pre>', html, flags=re.S)
    assert tree and "SkipBlock" in tree.group(1) and "HookModule" in tree.group(1)
    settings = re.search(r'<table class="k1w-settings-static">(.*?)</table>', html, flags=re.S)
    assert settings and "displayCutoff" in settings.group(1) and "K1W_LIVE_HZ" in settings.group(1)
    # the progress of both runs, each at its final state
    progress = re.findall(r'<div class="k1w-progress-static" data-status="(\w+)"(.*?)</div>', html, flags=re.S)
    assert len(progress) == 2, progress
    (status10, text10), (status3, text3) = progress
    assert status10 in ("cancelled", "done") and re.search(r"Run cancelled: Low loss 1 achieved!|epoch 10/10", text10)
    assert status3 == "done" and "epoch 3/3" in text3 and "<b>100%</b>" in text3
