"""SCRUB on digits: the max-steps on the forget set are what remove the class.

Forgetting a class or a random subset is checked by its case in ``tests/unlearners/cases.py``.
"""

from __future__ import annotations

from tests.helpers import accuracy, inputs, models
from tests.unlearners.cases import run
from unlearners.scrub import Scrub


def is3(y):
    return y == 3


def test_the_max_steps_do_the_forgetting():
    forgotten, _ = run("scrub")
    assert accuracy(forgotten, "forget") < 0.1
    out = Scrub(Scrub.Params(msteps=0)).run(models()[0], inputs())
    assert accuracy(out, "test", mask_fn=is3) > accuracy(forgotten, "test", mask_fn=is3) + 0.3
