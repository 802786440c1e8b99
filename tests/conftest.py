"""Shared fixtures: the seed README's network and a learner factory.

The suite never litters the repository: before k1widgets is imported, Autosave and the @checkpoint
cache are pointed at a temporary folder (through their environment variables, so the notebooks,
JupyterLab and the subprocesses the tests start inherit it), removed when the session ends.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if "K1W_TESTS_SCRATCH" not in os.environ:  # a test's subprocess importing this file reuses its parent's
    os.environ["K1W_TESTS_SCRATCH"] = _SCRATCH = tempfile.mkdtemp(prefix="k1w-tests-")
    atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
    os.environ["K1W_AUTOSAVE_FOLDER"] = os.path.join(_SCRATCH, "autosave")
    os.environ["K1W_CACHE_FOLDER"] = os.path.join(_SCRATCH, "cache")

import pytest
import torch
from readme_net import Network, SkipBlock  # noqa: F401  (re-exported for tests)
from torch import optim

import k1widgets as k1lib


def mse(y, yb):
    return ((y.squeeze() - yb) ** 2).mean()


def addDim(x, y):
    return x[:, None], y


def makeLearner(n=640, batchSize=64, hidden=10, lr=1e-2, seed=0):
    """A small README-style learner on n samples of y = exp(x) (float32): 8 train + 2 valid batches by default."""
    torch.manual_seed(seed)
    x = torch.linspace(-2, 2, n)[torch.randperm(n)]
    l = k1lib.Learner()
    l.model = Network(hidden)
    l.data = k1lib.data.Data.fromDataset(torch.utils.data.TensorDataset(x, torch.exp(x)), batchSize=batchSize)
    l.opt = optim.Adam(l.model.parameters(), lr=lr)
    l.lossF = mse
    l.cbs.withModifyBatch(addDim)
    return l


@pytest.fixture
def learner():
    return makeLearner()


@pytest.fixture(scope="session")
def dists(tmp_path_factory):
    """The sdist built from a fresh copy of the working tree and the wheel built from it without npm."""
    from venvs import buildDists

    return buildDists(tmp_path_factory.mktemp("dists"))
