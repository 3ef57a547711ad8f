"""The shared loop pieces of auditor/train/steps.py, on small tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from auditor.plugin.context import SplitData
from auditor.train.steps import accuracy, ceil_div, first_per_class, optimizer_step, wrong_labels


def test_ceil_div():
    assert [ceil_div(n, 4) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]
    assert all(ceil_div(n, d) == math.ceil(n / d) for n in range(50) for d in range(1, 9))


def test_wrong_labels_never_the_true_label_and_the_same_stream_as_before():
    y = torch.arange(1000) % 10
    wrong = wrong_labels(y, 10, generator=torch.Generator().manual_seed(3))
    assert not bool((wrong == y).any()) and set(wrong.tolist()) == set(range(10))
    gen = torch.Generator().manual_seed(3)  # the inline code it replaced, draw for draw
    assert torch.equal(wrong, (y + torch.randint(1, 10, (len(y),), generator=gen)) % 10)
    with pytest.raises(ValueError, match="at least 2 classes"):
        wrong_labels(torch.zeros(3, dtype=torch.long), 1, generator=gen)


def test_first_per_class():
    y = torch.tensor([2, 0, 2, 1, 0, 2, 2])
    split = SplitData(x=torch.arange(7.0).view(7, 1), y=y, indices=np.arange(100, 107))
    out = first_per_class(split, 2)
    assert out.y.tolist() == [0, 0, 1, 2, 2]
    assert out.indices.tolist() == [101, 104, 103, 100, 102]
    assert torch.equal(out.x.flatten(), torch.tensor([1.0, 4.0, 3.0, 0.0, 2.0]))


def test_accuracy_restores_the_mode():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    split = SplitData(
        x=torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), y=torch.tensor([0, 1, 1]), indices=np.arange(3)
    )
    model.train()
    assert accuracy(model, split, device=torch.device("cpu")) == pytest.approx(2 / 3)
    assert model.training
    assert math.isnan(
        accuracy(
            model, SplitData(x=split.x[:0], y=split.y[:0], indices=np.arange(0)), device=torch.device("cpu")
        )
    )


def test_optimizer_step_clips_the_global_norm():
    model = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    loss = -(model(torch.full((1, 3), 100.0))).sum()
    optimizer_step(opt, loss, clip=1.0)
    assert float(model.weight.detach().norm()) == pytest.approx(1.0)  # gradient norm 173, clipped to 1
    optimizer_step(opt, -(model(torch.ones(1, 3))).sum())  # no clip: a full step of 1 per entry
    assert float(model.weight.detach().sum()) == pytest.approx(3 + 3**0.5)
