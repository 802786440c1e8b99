"""The built wheel, installed in a clean venv, renders every view in real JupyterLab.

The wheel is the one built from the sdist without npm (the session fixture ``dists``). It is installed
with its declared dependencies into a venv that cannot see this checkout (``tests/venvs.py``: cached
between runs; this environment's torch is shared through a link folder, everything else is installed),
and that venv's python is the notebook's kernel. The Jupyter server is this venv's JupyterLab.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from venvs import ROOT, cachedVenv, devRequirement, pip, runtimeRequirements

import k1widgets

from .conftest import T_RENDER, lab_command, output, wait_kernel_idle

pytestmark = pytest.mark.browser

KERNEL = "k1w-wheel"
NOTEBOOK_CELLS = [
    "import json, sys, k1widgets\nprint('K1_WHEEL', json.dumps([k1widgets.__file__, k1widgets.__version__, sys.path]))",
    """import torch
from torch import nn, optim
import k1widgets as k1lib

torch.manual_seed(0)
l = k1lib.Learner()
l.model = nn.Sequential(nn.Linear(1, 10), nn.LeakyReLU(), nn.Linear(10, 1))
l.data = k1lib.data.Data.fromDataset(k1lib.data.FunctionDataset.exp, batchSize=64)
l.opt = optim.Adam(l.model.parameters(), lr=1e-2)
l.lossF = lambda x, y: ((x.squeeze() - y)**2).mean()
l.cbs.withModifyBatch(lambda x, y: (x[:, None], y))
l.cbs.withDType(torch.float32)
l.css = "Linear: HookModule"
l.run(2);""",
    "l.Loss.plot()",
    "l.moduleSelector",
    "k1lib.settings",
]


@pytest.fixture(scope="module")
def wheelVenv(dists) -> Path:
    """A clean venv with the wheel and its dependencies (from the wheel's metadata) and ipykernel."""
    venv = cachedVenv("wheel", [*runtimeRequirements(), devRequirement("ipykernel")])
    pip(venv, "--no-deps", "--force-reinstall", str(dists["wheel"]))
    pip(venv, str(dists["wheel"]))  # its declared dependencies are all there (installs any that are new)
    check = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return venv


@pytest.fixture(scope="module")
def jupyterPath(wheelVenv, tmp_path_factory) -> list[str]:
    """A data folder holding the spec of the kernel that runs in the wheel's venv."""
    data = tmp_path_factory.mktemp("wheel-jupyter")
    spec = data / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(wheelVenv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return [str(data)]


def test_views_render_from_the_installed_wheel(page, artifacts, wheelVenv):
    pg = page
    lab_command(pg, "notebook:run-all-cells", wait=False)
    out = output(pg, 0)
    expect(out).to_contain_text("K1_WHEEL", timeout=T_RENDER)
    path, version, sysPath = json.loads(out.inner_text().split("K1_WHEEL", 1)[1].strip().splitlines()[0])
    assert Path(path).is_relative_to(wheelVenv), path  # the installed package, not this checkout
    assert not any(p and Path(p).resolve() == ROOT for p in sysPath), sysPath
    assert version == k1widgets.__version__
    progress = pg.locator(".k1w-progress").first
    expect(progress).to_have_attribute("data-status", "done", timeout=T_RENDER)
    wait_kernel_idle(pg, timeout=240_000)
    expect(progress).to_contain_text("epoch 2/2")
    expect(pg.locator(".k1w-plot").first).to_be_attached()
    expect(pg.locator(".k1w-plot svg path.line").first).to_be_attached(timeout=T_RENDER)
    assert pg.locator(".k1w-plot svg path.line").count() >= 2, "train and valid lines"
    expect(pg.locator(".k1w-tree").first).to_contain_text("Linear")
    expect(pg.locator(".k1w-settings").first).to_contain_text("displayCutoff")
    errors = pg.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()
    pg.screenshot(path=str(artifacts / "wheel-progress.png"))
    for name in ("plot", "tree", "settings"):
        pg.locator(f".k1w-{name}").first.scroll_into_view_if_needed()
        pg.screenshot(path=str(artifacts / f"wheel-{name}.png"))
