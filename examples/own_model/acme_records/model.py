"""The team's model: a two-hidden-layer MLP."""

from __future__ import annotations

import math

from torch import nn


def make_model(*, in_channels: int, num_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """The factory unlearn-audit calls (``model.arch: acme_records.model:make_model``); the script uses it too."""
    features = math.prod(input_shape)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(features, 256),
        nn.ReLU(),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Linear(256, num_classes),
    )
