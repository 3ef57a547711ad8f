"""Gradient ascent on digits: stops at chance on a class, at unseen-data accuracy on a random subset."""

from __future__ import annotations

from tests.helpers import accuracy
from tests.unlearners.cases import run


def test_the_stop_rule_fires_at_chance():
    out, ins = run("gradient_ascent")
    assert ins.notes["stopped"].startswith("forget accuracy <=") and ins.notes["stop_accuracy"] == 0.1
    assert 0 < ins.notes["steps"] < 5 * 2  # well before the epoch budget
    assert accuracy(out, "forget") <= 0.1


def test_outside_class_forgetting_it_stops_at_unseen_data_accuracy():
    _, ins = run("gradient_ascent", "random")
    assert 0.9 < ins.notes["stop_accuracy"] < 1  # the original's accuracy on the population split
    assert ins.notes["stopped"].startswith("forget accuracy <=")
