"""l1-sparse fine-tuning on digits: the decaying L1 penalty is what forgets the class."""

from __future__ import annotations

from tests.helpers import accuracy, inputs, models
from unlearners import UNLEARNERS

Method = UNLEARNERS.get("l1_sparse")


def test_the_penalty_is_what_forgets():
    """Plain fine-tuning with the same schedule (gamma = 0) keeps much of the class."""
    original, _ = models()
    out = Method(Method.Params(gamma=0.0)).run(original, inputs())
    assert accuracy(out, "test", mask_fn=lambda y: y == 3) > 0.3
