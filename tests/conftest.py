"""Shared fixtures: the seed README's network and a learner factory."""

from __future__ import annotations

import pytest
import torch
from torch import nn, optim

import k1widgets as k1lib


class SkipBlock(nn.Module):
    def __init__(self, hiddenDim=10):
        super().__init__()

        def gen():
            return nn.Linear(hiddenDim, hiddenDim), nn.LeakyReLU()

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
