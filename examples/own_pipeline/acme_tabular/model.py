"""The team's model: a residual MLP with layer normalisation (not one of unlearn-audit's)."""

from __future__ import annotations

import math

from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.act = nn.GELU()

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(self.norm(x))))


class TabularNet(nn.Module):
    def __init__(self, features: int, classes: int, *, width: int = 96, blocks: int = 2) -> None:
        super().__init__()
        self.stem = nn.Linear(features, width)
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.norm(self.blocks(self.stem(x.flatten(1)))))


def make_model(*, in_channels: int, num_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """The factory unlearn-audit calls (``model.arch: acme_tabular.model:make_model``)."""
    return TabularNet(math.prod(input_shape), num_classes)
