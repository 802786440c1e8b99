"""Clean virtual environments for the packaging tests: the wheel install and the lowest supported versions.

Both need a venv that does not see this checkout. Building one costs minutes, mostly torch (about 900 MB
unpacked), so:

- torch is not installed again: `linkTorch` puts symlinks to this environment's torch and its own
  requirements in one folder and adds that folder to the new venv's path (a ``.pth`` file). Nothing
  else of this environment is visible there, so a dependency the wheel forgets to declare still fails.
- a venv is cached in ``.k1cache/venvs/<name>-<hash of what it installs>`` and reused while its
  requirements stay the same (delete ``.k1cache`` to rebuild). Only a finished venv is reused.

``lowestPins()`` turns every ``name>=X`` of the project's runtime dependencies (and of its extras other
than ``dev``) into ``name==X``: adding a dependency to pyproject.toml adds it to the lowest-versions job.
torch is the exception: it stays the version of this environment (pulling another torch means gigabytes,
a CUDA build from the public index), so its lower bound is not tested by the job.

Run as a script for the CI's lowest-versions step (``./run lowest``)::

    python tests/venvs.py lowest [pytest arguments]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("K1W_CACHE", ROOT / ".k1cache")) / "venvs"
NOT_LOWEST = {"torch"}  # see the module docstring
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis", "ipykernel", "nbformat", "nbclient", "nbconvert")
"""What the browser-free tests need besides the package (their requirements come from the dev extra)."""


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def runtimeRequirements() -> list[str]:
    """The runtime dependencies, plus those of every extra except ``dev``."""
    p = project()
    reqs = list(p["dependencies"])
    for extra, deps in p.get("optional-dependencies", {}).items():
        if extra != "dev":
            reqs += deps
    return reqs


def devRequirement(name: str) -> str:
    """The dev extra's requirement for ``name`` (e.g. ``pytest>=8``)."""
    for r in project()["optional-dependencies"]["dev"]:
        if Requirement(r).name == name:
            return r
    msg = f"{name!r} is not in the dev extra of pyproject.toml; add it there (tests/venvs.py installs it from there)."
    raise KeyError(msg)


def lowestPins() -> list[str]:
    """``name==lowest`` for every runtime requirement with a lower bound (torch excepted)."""
    pins = []
    for r in runtimeRequirements():
        req = Requirement(r)
        lows = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
        if req.name in NOT_LOWEST or not lows:
            continue
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        pins.append(f"{req.name}{extras}=={lows[0]}")
    return pins


def _closure(name: str, seen: dict[str, metadata.Distribution]) -> None:
    """``name`` and everything it requires (markers evaluated, extras skipped), as installed here."""
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return
    seen[key] = dist
    for r in dist.requires or []:
        req = Requirement(r)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            _closure(req.name, seen)


def linkTorch(venv: Path) -> Path:
    """Makes this environment's torch (and its requirements) importable in ``venv``; returns the link folder."""
    import torch

    seen: dict[str, metadata.Distribution] = {}
    _closure("torch", seen)
    site = Path(sysconfig.get_paths()["purelib"])
    links = CACHE / f"torch-{torch.__version__}-site"
    if not links.exists():
        tmp = links.with_name(links.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for dist in seen.values():
            tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
            for top in tops:
                target = site / top
                if target.exists() and not (tmp / top).exists() and top != "__pycache__":
                    (tmp / top).symlink_to(target)
        tmp.rename(links)
    venvSite = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (venvSite / "k1w-shared-torch.pth").write_text(f"{links}\n")
    return links


def pip(venv: Path, *args: str) -> None:
    """``pip install ...`` in ``venv``; on failure the error names the command and pip's output."""
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        msg = f"`{' '.join(cmd)}` failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        raise RuntimeError(msg)


def cachedVenv(name: str, requirements: list[str], constraints: list[str] = ()) -> Path:
    """A venv with this environment's torch and ``requirements`` installed (under ``constraints``); cached."""
    import torch

    key = json.dumps([sys.version, torch.__version__, requirements, list(constraints)])
    venv = CACHE / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"
    if (venv / ".k1w-ready").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    linkTorch(venv)
    args = list(requirements)
    if constraints:
        c = venv / "constraints.txt"
        c.write_text("\n".join(constraints) + "\n")
        args += ["-c", str(c)]
    pip(venv, *args)
    (venv / ".k1w-ready").write_text(key)
    return venv


def lowestVenv() -> Path:
    """The venv with the lowest supported runtime versions and the test tools (cached)."""
    pins = lowestPins()
    # pip takes no extras in a constraints file: ``dask[distributed]==X`` is required, ``dask==X`` constrains
    constraints = [f"{Requirement(p).name}=={lowestVersion(p)}" for p in pins]
    return cachedVenv("lowest", [*pins, *(devRequirement(t) for t in TEST_TOOLS)], constraints=constraints)


def lowestVersion(pin: str) -> str:
    """The version of a ``name[extras]==version`` pin."""
    (spec,) = Requirement(pin).specifier
    return spec.version


def workingTree(dest: Path) -> Path:
    """Copies what a fresh clone of this working tree holds (tracked and untracked, not ignored) to ``dest``."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        src = ROOT / name
        if src.is_file():  # a file deleted but not yet committed is listed too
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Runs ``cmd``; on failure the error names it and shows its output."""
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        msg = f"`{' '.join(cmd)}` failed in {cwd} ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        raise RuntimeError(msg)
    return r.stdout + r.stderr


def buildDists(tmp: Path) -> dict[str, Any]:
    """Builds the sdist from a fresh copy of the working tree, then the wheel from the sdist without npm.

    The copy is committed to a new git repository (a fresh clone, in effect). There: ``npm ci`` (from the
    lockfile) and ``python -m build --sdist`` (its build hook bundles the front end), then ``git status``.
    The wheel is built from the unpacked sdist with a PATH that holds only this venv's ``bin`` (no node,
    no npm).

    Returns:
        ``{"tree": the copy, "status": its git status after npm ci and the build, "sdist": ..., "wheel": ...}``.
    """
    tree = workingTree(tmp / "clone")
    git = ["git", "-c", "user.name=k1widgets tests", "-c", "user.email=tests@localhost"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "working tree"]):
        run([*git, *step], tree)
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], tree)
    out = tmp / "dist"
    run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(tree)], tree)
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], tree)
    (sdist,) = out.glob("k1widgets-*.tar.gz")
    unpacked = tmp / "sdist"
    unpacked.mkdir()
    shutil.unpack_archive(sdist, unpacked)
    (src,) = unpacked.iterdir()
    noNode = dict(os.environ, PATH=str(Path(sys.executable).parent))
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(src)], src, env=noNode)
    (wheel,) = out.glob("k1widgets-*.whl")
    return {"tree": tree, "status": status, "sdist": sdist, "wheel": wheel}


def runLowest(pytestArgs: list[str]) -> int:
    """Runs the browser-free tests of this checkout (on PYTHONPATH) in the lowest-versions venv."""
    venv = lowestVenv()
    py = str(venv / "bin" / "python")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    names = [Requirement(r).name for r in runtimeRequirements()]
    show = "import importlib.metadata as m, sys; print(', '.join(f'{n} {m.version(n)}' for n in sys.argv[1:]))"
    versions = subprocess.run([py, "-c", show, *names], check=True, capture_output=True, text=True, env=env)
    print(f"lowest supported versions: {versions.stdout.strip()}", flush=True)
    # the browser tests need Chromium; the packaging tests check the artifacts, not the versions
    ignore = ["--ignore=tests/browser", "--ignore=tests/test_packaging.py"]
    args = pytestArgs or ["-m", "not browser", *ignore, "-p", "no:cacheprovider", "tests"]
    return subprocess.run([py, "-m", "pytest", *args], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    if sys.argv[1:2] != ["lowest"]:
        sys.exit(__doc__)
    sys.exit(runLowest(sys.argv[2:]))
