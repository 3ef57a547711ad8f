"""Batched training with torch.func gives the models sequential training gives."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from auditor.config import DataConfig
from auditor.data.datasets import load_digits
from auditor.train.architectures import init_model, model_factory
from auditor.train.batched import can_batch, train_batched
from auditor.train.core import Recipe, predict_logits, train_model


@pytest.mark.parametrize(
    "arch,recipe",
    [
        ("mlp", Recipe(epochs=3, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4)),
        (
            "small_cnn",
            Recipe(epochs=2, batch_size=64, optimizer="adam", lr=0.003, weight_decay=0.0, augment="hflip"),
        ),
    ],
)
def test_same_weights_as_sequential_training(arch, recipe):
    data = load_digits(DataConfig())
    factory = model_factory(arch, input_shape=data.input_shape, num_classes=data.num_classes)
    subsets = [
        (data.x[:301], data.y[:301]),
        (data.x[301:600], data.y[301:600]),
        (data.x[600:900], data.y[600:900]),
    ]
    inits = [init_model(factory, s) for s in (1, 2, 3)]
    sequential = [
        train_model(
            init_model(factory, s), x, y, recipe=recipe, generator=torch.Generator().manual_seed(10 + s)
        )
        for s, (x, y) in zip((1, 2, 3), subsets)
    ]
    batched = train_batched(
        inits, subsets, recipe=recipe, generators=[torch.Generator().manual_seed(10 + s) for s in (1, 2, 3)]
    )
    probe = data.x[900:1100]
    for a, b in zip(sequential, batched):
        for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.allclose(p, q, atol=1e-4, rtol=1e-3), name
        assert torch.equal(predict_logits(a, probe).argmax(1), predict_logits(b, probe).argmax(1))
    assert all(not any(p.requires_grad and p.grad is not None for p in m.parameters()) for m in inits)


def test_models_with_batchnorm_or_uneven_steps_are_refused():
    bn = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    assert not can_batch(bn) and can_batch(nn.Linear(4, 2))
    with pytest.raises(ValueError, match="BatchNorm"):
        train_batched(
            [bn],
            [(torch.zeros(4, 4), torch.zeros(4, dtype=torch.long))],
            recipe=Recipe(epochs=1, batch_size=2),
            generators=[torch.Generator()],
        )
    lin = [nn.Linear(4, 2), nn.Linear(4, 2)]
    data = [
        (torch.zeros(4, 4), torch.zeros(4, dtype=torch.long)),
        (torch.zeros(8, 4), torch.zeros(8, dtype=torch.long)),
    ]
    with pytest.raises(ValueError, match="steps per epoch"):
        train_batched(lin, data, recipe=Recipe(epochs=1, batch_size=2), generators=[torch.Generator()] * 2)
