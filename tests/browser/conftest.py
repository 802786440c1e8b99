"""Shared fixtures for the real-browser tests: JupyterLab (and Notebook 7) in Debian's Chromium.

Adapted from the project's browser-test recipe. One Jupyter server and one Chromium per test
module (module-scoped fixtures). The server runs with this venv's python (``sys.executable -m
jupyterlab``), so its ``python3`` kernel is the same venv and imports k1widgets (installed editable).

Fixtures:
    lab        the Jupyter server: ``Server(base, token, log, root)``; ``root`` is its temp notebook folder.
    page       a Playwright page showing ``<module>.ipynb`` in JupyterLab, kernel idle.
    nb7_page   the same for Jupyter Notebook 7 (``/notebooks/<module>-nb7.ipynb``, same server).
    artifacts  ``tests/browser/artifacts/<module>/``: put screenshots here (and look at them).

A test module may set ``NOTEBOOK_CELLS = ["code", ...]`` for the cells the notebook starts with;
by default it holds one cell importing k1widgets. It may set ``KERNEL = "name"`` for the notebook's
kernel (default ``python3``, this venv) and override the module fixture ``jupyterPath`` to give the
server extra data folders (``JUPYTER_PATH``), e.g. one holding that kernel's spec (test_wheel.py).
Helpers (same names as the recipe):
``append_and_run(pg, code, wait=True) -> index``, ``wait_kernel_idle(pg)``, ``cell(pg, index)``,
``output(pg, index)`` (the cell's output area), ``lab_command(pg, "notebook:run-all-cells")``.

IMPORT THEM RELATIVELY: ``from .conftest import append_and_run, cell, output, wait_kernel_idle``.
tests/browser is a package (``__init__.py``): without it pytest would register this file as the
module ``conftest`` too, and ``from conftest import makeLearner`` in tests/*.py would break.
Every test here is marked ``browser`` automatically (``pytest -m "not browser"`` skips them).

Environment knobs:
    CHROMIUM_PATH            default /usr/bin/chromium; when missing, every browser test is SKIPPED
                             with the reason (install it: apt-get install -y chromium fonts-dejavu-core)
    K1_COMMS_OVER_SUBSHELLS  JupyterLab's "commsOverSubshells": perCommTarget (default) | perComm | disabled
    K1_ARTIFACTS             artifact root (default tests/browser/artifacts)
Temp dirs (server root, settings, Chromium profile) follow TMPDIR and are removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

HERE = Path(__file__).parent
ARTIFACTS = Path(os.environ.get("K1_ARTIFACTS", HERE / "artifacts"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
COMMS_MODE = os.environ.get("K1_COMMS_OVER_SUBSHELLS", "perCommTarget")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
T_RENDER = 90_000  # ms; first kernel start + widget bundle load on a busy 2-core box
DEFAULT_CELLS = ["import k1widgets, sys\nprint('K1_READY', sys.executable)"]


def _skipReason() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH, or install it: "
            "apt-get install -y chromium fonts-dejavu-core); browser tests need a real browser"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed in this venv (pip install -e '.[dev]')"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks every test in tests/browser as `browser`; skips them all, with the reason, without Chromium."""
    reason = _skipReason()
    for item in items:
        if HERE not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.browser)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


class Server(NamedTuple):
    """A running Jupyter server: base URL, token, log file and its (temporary) root folder."""

    base: str
    token: str
    log: Path
    root: Path


def _freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _writeSettings(home: Path) -> None:
    """No news/update toasts (no network), the chosen comms-over-subshells mode, window.jupyterapp."""
    d = home / "lab-user-settings" / "@jupyterlab" / "apputils-extension"
    d.mkdir(parents=True, exist_ok=True)
    (d / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (d / "kernels-settings.jupyterlab-settings").write_text(json.dumps({"commsOverSubshells": COMMS_MODE}))
    cfg = home / "cfg"
    cfg.mkdir(parents=True, exist_ok=True)
    # Notebook 7's pages (/notebooks/...) are served by its own extension app: expose its app too.
    (cfg / "jupyter_server_config.json").write_text(
        json.dumps({"JupyterNotebookApp": {"expose_app_in_browser": True}, "LabApp": {"expose_app_in_browser": True}})
    )


def makeNotebook(path: Path, cells: list[str], kernel: str = "python3") -> None:
    """Writes a notebook with these code cells and the kernel ``kernel`` (default: this venv's ``python3``)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def artifacts(request: pytest.FixtureRequest) -> Path:
    """``tests/browser/artifacts/<test module>/`` (created)."""
    d = ARTIFACTS / request.module.__name__.rsplit(".", 1)[-1]
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def jupyterPath() -> list[str]:
    """Extra data folders for the server's ``JUPYTER_PATH`` (none by default; a test module may override)."""
    return []


@pytest.fixture(scope="module")
def lab(artifacts: Path, jupyterPath: list[str]) -> Iterator[Server]:
    """Starts JupyterLab (which also serves Notebook 7's pages) on 127.0.0.1; stops it at the end."""
    root = Path(tempfile.mkdtemp(prefix="k1-lab-root-"))
    home = Path(tempfile.mkdtemp(prefix="k1-lab-home-"))
    _writeSettings(home)
    port, token = _freePort(), secrets.token_hex(16)
    venvBin = str(Path(sys.executable).parent)
    env = dict(
        os.environ,
        PATH=venvBin + os.pathsep + os.environ.get("PATH", ""),
        JUPYTERLAB_SETTINGS_DIR=str(home / "lab-user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
        JUPYTER_RUNTIME_DIR=str(home / "rt"),
        JUPYTER_CONFIG_DIR=str(home / "cfg"),
        IPYTHONDIR=str(home / "ipy"),
        PYTHONUNBUFFERED="1",
    )
    if jupyterPath:
        env["JUPYTER_PATH"] = os.pathsep.join(jupyterPath)
    logPath = artifacts / f"jupyterlab-{COMMS_MODE}.log"
    log = open(logPath, "w")  # closed in the finally below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.allow_root=True",  # CI containers run as root
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp (commands, models)
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=",  # no network calls
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                msg = f"jupyter lab did not start; see {logPath}"
                raise RuntimeError(msg)
            time.sleep(0.3)
        yield Server(base, token, logPath, root)
    finally:
        proc.terminate()  # only our own child, by handle
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """The one Playwright driver of the session (its sync API allows only one at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@contextlib.contextmanager
def openPage(playwright: Any, server: Server, url: str, artifacts: Path, name: str) -> Iterator[Any]:
    """Opens ``url`` (relative to the server) in a fresh headless Chromium; waits for an idle kernel."""
    profile = tempfile.mkdtemp(prefix="k1-chromium-profile-")  # fresh --user-data-dir
    try:
        ctx = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        pg = ctx.pages[0] if ctx.pages else ctx.new_page()
        console: list[str] = []
        pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        try:
            pg.goto(f"{server.base}{url}?token={server.token}", wait_until="domcontentloaded")
            pg.wait_for_selector(".jp-Notebook .jp-Cell", timeout=T_RENDER)
            pg.wait_for_function("() => !!window.jupyterapp", timeout=T_RENDER)
            wait_kernel_idle(pg)
            yield pg
        finally:
            (artifacts / f"console-{name}.log").write_text("\n".join(console))
            ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _moduleCells(request: pytest.FixtureRequest) -> list[str]:
    return list(getattr(request.module, "NOTEBOOK_CELLS", DEFAULT_CELLS))


@pytest.fixture(scope="module")
def page(playwright: Any, lab: Server, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """JupyterLab showing ``<module>.ipynb`` (cells from the module's NOTEBOOK_CELLS), kernel idle.

    The notebook's cells are not run: call ``lab_command(pg, "notebook:run-all-cells")`` or
    ``append_and_run``.
    """
    name = request.module.__name__.rsplit(".", 1)[-1]
    makeNotebook(lab.root / f"{name}.ipynb", _moduleCells(request), getattr(request.module, "KERNEL", "python3"))
    with openPage(playwright, lab, f"/lab/tree/{name}.ipynb", artifacts, f"lab-{COMMS_MODE}") as pg:
        yield pg


@pytest.fixture(scope="module")
def nb7_page(playwright: Any, lab: Server, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Jupyter Notebook 7 showing ``<module>-nb7.ipynb`` (its own kernel), kernel idle."""
    name = request.module.__name__.rsplit(".", 1)[-1] + "-nb7"
    makeNotebook(lab.root / f"{name}.ipynb", _moduleCells(request))
    with openPage(playwright, lab, f"/notebooks/{name}.ipynb", artifacts, "nb7") as pg:
        yield pg


# ---------------------------------------------------------------- utilities
def lab_command(pg: Any, command: str, wait: bool = True) -> None:
    """Runs a JupyterLab / Notebook 7 command (``notebook:run-all-cells``...) through window.jupyterapp."""
    js = (
        "async cmd => { await window.jupyterapp.commands.execute(cmd); }"
        if wait
        else "cmd => { window.jupyterapp.commands.execute(cmd); }"
    )
    pg.evaluate(js, command)


def wait_kernel_idle(pg: Any, timeout: int = T_RENDER) -> None:
    """Waits until the notebook's kernel is idle and no cell shows ``[*]``."""
    pg.wait_for_function(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const k = w?.sessionContext?.session?.kernel;
          if (!k || k.status !== 'idle') return false;
          return ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
        }""",
        timeout=timeout,
    )


def append_and_run(pg: Any, code: str, wait: bool = True) -> int:
    """Appends a code cell at the end of the notebook and runs it; returns its index.

    ``wait=False`` returns as soon as the execute request was sent (the cell shows ``[*]``).
    """
    return pg.evaluate(
        """async ([code, wait]) => {
          const app = window.jupyterapp, nb = app.shell.currentWidget.content;
          nb.activeCellIndex = nb.widgets.length - 1;
          await app.commands.execute('notebook:insert-cell-below');
          nb.activeCell.model.sharedModel.setSource(code);
          const idx = nb.activeCellIndex;
          const p = app.commands.execute('notebook:run-cell');
          if (wait) await p;
          return idx;
        }""",
        [code, wait],
    )


def cell(pg: Any, idx: int) -> Any:
    """The locator of the notebook's cell number ``idx`` (0-based)."""
    return pg.locator(".jp-Notebook .jp-Cell").nth(idx)


def output(pg: Any, idx: int) -> Any:
    """The locator of cell ``idx``'s output area."""
    return cell(pg, idx).locator(".jp-OutputArea")


def runPython(pg: Any, code: str, marker: str, timeout: int = 60_000) -> str:
    """Runs ``code`` in a new cell once the kernel is idle; returns its output once ``marker`` shows."""
    from playwright.sync_api import expect

    wait_kernel_idle(pg)
    idx = append_and_run(pg, code)
    out = output(pg, idx)
    expect(out).to_contain_text(marker, timeout=timeout)
    return out.inner_text()
