"""Third-party-style plugins used by the tests (referenced as ``tests.plugins:Name``)."""

from __future__ import annotations

import torch
from torch import nn

from unlearners.base import Unlearner


def tiny_linear(*, in_channels: int, num_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """A user's own architecture factory."""
    n = 1
    for d in input_shape:
        n *= d
    return nn.Sequential(nn.Flatten(), nn.Linear(n, num_classes))


class NaNUnlearner(Unlearner):
    """A broken method: returns weights full of NaN."""

    name = "nan"
    summary = "test double returning NaN weights"
    citation = "none"

    def unlearn(self, model, inputs):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float("nan"))
        return model
