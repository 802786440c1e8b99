"""Packaging: the artifacts built from a fresh copy of the working tree, and ./run's torch install.

The session fixture ``dists`` (tests/conftest.py, tests/venvs.py) copies what a fresh clone holds, runs
``npm ci`` and ``python -m build --sdist`` there, then builds the wheel from the unpacked sdist with a PATH
that has no node or npm. The browser test tests/browser/test_wheel.py installs that wheel.
"""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from venvs import ROOT

import k1widgets

pytestmark = pytest.mark.slow

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def bundles() -> list[str]:
    """``k1widgets/static/<view>.js`` for every front-end entry point js/<view>.js."""
    return sorted(f"k1widgets/static/{p.name}" for p in (ROOT / "js").glob("*.js"))


def test_every_front_end_bundle_is_an_ensured_target():
    targets = PYPROJECT["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]["ensured-targets"]
    missing = sorted(set(bundles()) - set(targets))
    assert not missing, f"add {missing} to ensured-targets in pyproject.toml, or the wheel may ship without them"


def test_version_is_written_once():
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "k1widgets/__init__.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?", k1widgets.__version__)


def test_npm_ci_and_the_sdist_build_leave_git_status_clean(dists):
    assert dists["status"] == "", f"npm ci and the build changed the clone:\n{dists['status']}"
    assert (dists["tree"] / "node_modules" / ".package-lock.json").exists()  # npm ci did install
    assert (dists["tree"] / "k1widgets" / "static" / "progress.js").exists()  # and the build bundled


def test_sdist_holds_the_sources_the_bundles_and_the_license(dists):
    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for need in ["LICENSE", "PKG-INFO", "README.md", "package.json", "package-lock.json", *bundles()]:
        assert need in names, need
    assert not [n for n in names if n.startswith(("node_modules/", ".venv/", ".k1cache/", "dist/"))]


def test_wheel_built_without_npm_holds_bundles_license_and_metadata(dists):
    assert shutil.which("npm", path=str(Path(sys.executable).parent)) is None  # the PATH the wheel was built with
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = set(whl.namelist())
        info = f"k1widgets-{k1widgets.__version__}.dist-info"
        meta = email.parser.Parser().parsestr(whl.read(f"{info}/METADATA").decode())
    for need in [*bundles(), "k1widgets/py.typed", f"{info}/licenses/LICENSE"]:
        assert need in names, need
    assert meta["Version"] == k1widgets.__version__
    assert meta["License-Expression"] == "MIT"
    assert "Framework :: Jupyter" in meta.get_all("Classifier")
    runtime = sorted(r for r in meta.get_all("Requires-Dist") if "extra ==" not in r)
    assert runtime == sorted(r.split("#")[0].strip() for r in PYPROJECT["project"]["dependencies"])
    assert "pip install k1widgets" in meta.get_payload()  # the PyPI page (the README) says how to install


# ---------------------------------------------------------------- ./run's torch
def runFunction(venv: Path, call: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Sources ./run (which then only defines its functions) and calls one against ``venv``."""
    script = f'source "{ROOT}/run"; VENV="{venv}"; PY="$VENV/bin/python"; {call}'
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env={**os.environ, **env}, timeout=600, cwd=ROOT
    )


def test_run_keeps_an_installed_torch(tmp_path):
    # this venv has torch: ensureTorch must not install anything, whatever K1W_TORCH says
    venv = Path(sys.executable).parent.parent
    r = runFunction(venv, 'ensureTorch "$PY"', K1W_TORCH="torch==0.0.1")
    assert r.returncode == 0 and "installing" not in r.stdout + r.stderr, r.stdout + r.stderr


def test_run_installs_the_requirement_and_index_it_is_told(tmp_path):
    # a venv without torch gets K1W_TORCH from K1W_TORCH_INDEX; a tiny stand-in keeps this test fast
    index = tmp_path / "index"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(index / "six"), "six==1.17.0"],
        check=True,
        capture_output=True,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = runFunction(venv, 'ensureTorch "$PY"', K1W_TORCH="six==1.17.0", K1W_TORCH_INDEX=index.as_uri())
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"installing six==1.17.0 from {index.as_uri()}" in r.stdout
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import six"]).returncode == 0
