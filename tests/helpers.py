"""Small builders shared by tests: digits splits, a quickly trained MLP, inputs for unlearners."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch

from auditor.config import DataConfig, ForgetConfig
from auditor.data.datasets import load_digits
from auditor.data.splits import make_splits
from auditor.plugin.context import AuditContext, UnlearnInputs, take
from auditor.train.architectures import init_model, model_factory
from auditor.train.core import Recipe, predict_logits, train_model

RECIPE = Recipe(epochs=8, batch_size=64, optimizer="adam", lr=0.003, weight_decay=0.0, schedule="cosine")

REPO = Path(__file__).resolve().parents[1]
"""The repository root (tests read the README, examples and CONTRIBUTING.md from it)."""


@cache
def digits_setup(kind: str = "class"):
    data = load_digits(DataConfig())
    forget = (
        ForgetConfig(kind="class", classes=[3])
        if kind == "class"
        else ForgetConfig(kind="random", fraction=0.1)
    )
    splits, problems = make_splits(data, DataConfig(), forget, 0)
    assert not problems
    factory = model_factory("mlp", input_shape=data.input_shape, num_classes=data.num_classes)
    return data, splits, factory


def trained(indices_name: str, seed: int, kind: str = "class"):
    data, splits, factory = digits_setup(kind)
    split = take(data, getattr(splits, indices_name))
    model = init_model(factory, seed)
    return train_model(model, split.x, split.y, recipe=RECIPE, generator=torch.Generator().manual_seed(seed))


@cache
def models(kind: str = "class"):
    """(original, reference) MLPs on digits: trained on train, and on retain only."""
    return trained("train", 1, kind), trained("retain", 2, kind)


def inputs(kind: str = "class", seed: int = 5) -> UnlearnInputs:
    data, splits, factory = digits_setup(kind)
    return UnlearnInputs(
        data=data,
        splits=splits,
        forget_kind=kind,
        forget_classes=(3,) if kind == "class" else (),
        recipe=RECIPE,
        model_factory=factory,
        device=torch.device("cpu"),
        seed=seed,
    )


def accuracy(model, split: str, kind: str = "class", mask_fn=None) -> float:
    data, splits, _ = digits_setup(kind)
    s = take(data, getattr(splits, split))
    pred = predict_logits(model, s.x).argmax(1)
    keep = mask_fn(s.y) if mask_fn else torch.ones_like(s.y, dtype=torch.bool)
    return float((pred[keep] == s.y[keep]).float().mean())


def context(unlearned, kind: str = "class", references=None, original=None) -> AuditContext:
    data, splits, factory = digits_setup(kind)
    orig, ref = models(kind)
    return AuditContext(
        data=data,
        splits=splits,
        unlearned=unlearned,
        references=references or [ref],
        original=original or orig,
        forget_kind=kind,
        forget_classes=(3,) if kind == "class" else (),
        recipe=RECIPE,
        model_factory=factory,
        device=torch.device("cpu"),
        seed=0,
        bootstrap=300,
    )


def tiny_config(**sections) -> dict:
    """A fast digits audit (MLP, few epochs) for CLI and pipeline tests."""
    cfg = {
        "seed": 0,
        "data": {"dataset": "digits"},
        "model": {"arch": "mlp"},
        "training": {"epochs": 8, "batch_size": 64, "optimizer": "adam", "lr": 0.003, "weight_decay": 0.0},
        "forget": {"kind": "class", "classes": [3]},
        "unlearner": {"name": "noop"},
        "reference": {"seeds": 1},
        "attacks": [{"name": "accuracy"}, {"name": "threshold", "params": {"signals": ["loss"]}}],
        "gates": {"bootstrap": 300},
        "report": {"formats": ["json"]},
    }
    for key, value in sections.items():
        cfg[key] = value
    return cfg
