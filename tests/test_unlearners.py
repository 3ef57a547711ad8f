"""Unlearning methods: what the base class refuses, the noop control, docstrings that say enough.

Whether each method forgets and keeps utility is tested once for all of them, from the table in
``tests/unlearners/cases.py``; that every method leaves the original untouched and is deterministic
is the conformance kit's check (``tests/test_conformance.py``, ``auditor.testing.check_unlearner``).
"""

from __future__ import annotations

import pytest
import torch

from auditor.errors import AuditFailedError
from auditor.train.architectures import state_digest
from tests.helpers import inputs, models
from unlearners import UNLEARNERS, Unlearner


def test_noop_is_the_original():
    original, _ = models()
    out = UNLEARNERS.get("noop")().run(original, inputs())
    assert state_digest(out) == state_digest(original) and out is not original


def test_run_rejects_in_place_mutation_and_nan_weights():
    original, _ = models()
    clone = type(original)(in_features=64, num_classes=10)
    clone.load_state_dict(original.state_dict())

    class Touch(Unlearner):
        name, summary, citation = "touch", "test double", "none"

        def unlearn(self, model, inputs):
            with torch.no_grad():
                next(clone.parameters()).add_(1.0)
            return model

    class NaN(Unlearner):
        name, summary, citation = "nan", "test double", "none"

        def unlearn(self, model, inputs):
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))
            return model

    with pytest.raises(AuditFailedError, match="modified the original"):
        Touch().run(clone, inputs())
    with pytest.raises(AuditFailedError, match="non-finite"):
        NaN().run(original, inputs())


def test_every_method_says_whether_it_augments():
    for name in UNLEARNERS.names():
        doc = " ".join((UNLEARNERS.get(name).__doc__ or "").split())
        if name != "noop":
            assert "augment" in doc.lower(), f"{name}'s docstring does not say whether it augments"
