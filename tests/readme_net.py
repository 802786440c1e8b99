"""The seed README's network (shared by the tests and the benchmarks)."""

from __future__ import annotations

from torch import nn


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
