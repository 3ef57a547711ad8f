"""Every method forgets and keeps utility on digits, reading only what its case declares."""

from __future__ import annotations

import pytest

from tests.helpers import accuracy, models
from tests.unlearners.cases import CASE, CASES, Case, run
from unlearners import UNLEARNERS


def is3(y):
    return y == 3


def not3(y):
    return y != 3


def test_every_registered_method_has_a_case():
    assert set(CASE) == set(UNLEARNERS.names()) - {"noop"}
    for case in CASES:
        assert (case.random_reads is not None) == ("random" in UNLEARNERS.get(case.name).supports), case.name


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forgets_the_class_and_keeps_utility(case: Case):
    original, reference = models()
    out, ins = run(case.name, "class")
    forgotten = accuracy(out, "test", mask_fn=is3)
    assert forgotten < accuracy(original, "test", mask_fn=is3)
    assert forgotten <= accuracy(reference, "test", mask_fn=is3) + case.class_slack
    kept = accuracy(out, "test", mask_fn=not3)
    assert kept >= accuracy(original, "test", mask_fn=not3) - case.utility_slack
    assert set(ins.reads) == case.reads


@pytest.mark.parametrize("case", [c for c in CASES if c.random_reads is not None], ids=lambda c: c.name)
def test_random_forgetting_lands_near_the_reference(case: Case):
    original, reference = models("random")
    out, ins = run(case.name, "random")
    gap = accuracy(out, "forget", "random") - accuracy(reference, "forget", "random")
    assert abs(gap) <= case.random_slack  # neither under- nor over-forgetting
    assert accuracy(out, "test", "random") >= accuracy(original, "test", "random") - case.utility_slack
    assert set(ins.reads) == case.random_reads
