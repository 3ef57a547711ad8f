"""Unlearning methods: forgetting happens, utility holds, the original is never touched."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from auditor.errors import AuditFailedError
from auditor.models import state_digest
from tests.helpers import accuracy, inputs, models
from unlearners import UNLEARNERS, Unlearner


def not3(y):
    return y != 3


def is3(y):
    return y == 3


@pytest.mark.parametrize("name", UNLEARNERS.names())
def test_never_mutates_the_original_and_is_deterministic(name):
    original, _ = models()
    before = state_digest(original)
    cls = UNLEARNERS.get(name)
    params = cls.Params.model_validate({"epochs": 1} if "epochs" in cls.Params.model_fields else {})
    a = cls(params).run(original, inputs())
    b = cls(params).run(original, inputs())
    assert state_digest(original) == before
    assert state_digest(a) == state_digest(b)


def test_noop_is_the_original():
    original, _ = models()
    out = UNLEARNERS.get("noop")().run(original, inputs())
    assert state_digest(out) == state_digest(original) and out is not original


def test_retrain_forgets_the_class_and_keeps_utility():
    original, _ = models()
    ins = inputs()
    out = UNLEARNERS.get("retrain")().run(original, ins)
    assert accuracy(original, "test", mask_fn=is3) > 0.8
    assert accuracy(out, "test", mask_fn=is3) < 0.05
    assert accuracy(out, "test", mask_fn=not3) > 0.85
    assert set(ins.reads) == {"retain"}  # exact unlearning never reads the forget set


def test_neggrad_plus_forgets_and_keeps_utility():
    original, _ = models()
    ins = inputs()
    out = UNLEARNERS.get("neggrad_plus")().run(original, ins)
    assert accuracy(out, "forget") < 0.2
    assert accuracy(out, "test", mask_fn=not3) > 0.85
    assert set(ins.reads) == {"forget", "retain"}


def test_finetune_keeps_utility_and_forgets_somewhat():
    original, _ = models()
    cls = UNLEARNERS.get("finetune")
    out = cls(cls.Params(epochs=10, lr=0.05)).run(original, inputs())
    assert accuracy(out, "test", mask_fn=not3) > 0.85
    assert accuracy(out, "forget") < accuracy(original, "forget")


class _Mutates(Unlearner):
    name, summary, citation = "mutates", "test double", "none"

    def unlearn(self, model, inputs):
        return self._orig


class _NaN(Unlearner):
    name, summary, citation = "nan", "test double", "none"

    def unlearn(self, model, inputs):
        with torch.no_grad():
            next(model.parameters()).fill_(float("nan"))
        return model


def test_run_rejects_in_place_mutation_and_nan_weights():
    original, _ = models()
    clone = type(original)(in_features=64, num_classes=10)
    clone.load_state_dict(original.state_dict())
    bad = _Mutates()
    bad._orig = clone

    class _Touch(Unlearner):
        name, summary, citation = "touch", "test double", "none"

        def unlearn(self, model, inputs):
            with torch.no_grad():
                next(clone.parameters()).add_(1.0)
            return model

    with pytest.raises(AuditFailedError, match="modified the original"):
        _Touch().run(clone, inputs())
    with pytest.raises(AuditFailedError, match="non-finite"):
        _NaN().run(original, inputs())
    assert isinstance(original, nn.Module)
