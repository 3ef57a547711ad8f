"""Gate display states: a gate that cannot catch the original is never shown or counted as a pass."""

from __future__ import annotations

import pytest

from auditor.judge.states import NOT_POWERED, gate_state, state_counts


@pytest.mark.parametrize(
    ("status", "powered", "state", "label"),
    [
        ("fail", True, "fail", "FAIL"),
        ("fail", False, "fail", "FAIL"),  # a failure is evidence whatever the power
        ("pass", True, "pass", "PASS"),
        ("pass", False, "not powered", "NOT POWERED"),
        ("inconclusive", True, "inconclusive", "INCONCLUSIVE"),
        ("inconclusive", False, "not powered", "NOT POWERED"),
    ],
)
def test_gate_state(status: str, powered: bool, state: str, label: str) -> None:
    gate = {"status": status, "powered": powered, "reason": "r", "power_reason": "cannot catch the original"}
    shown = gate_state(gate)
    assert (shown.state, shown.label, shown.status, shown.powered) == (state, label, status, powered)
    if state == NOT_POWERED:
        assert shown.reason == "cannot catch the original" and shown.css == "not-powered"


def test_a_record_without_power_is_not_powered() -> None:
    shown = gate_state({"status": "pass", "reason": "inside"})  # evidence written before power existed
    assert shown.state == NOT_POWERED and "does not show" in shown.reason


def test_counts_keep_powered_and_unpowered_apart() -> None:
    gates = [
        {"status": "pass", "powered": True},
        {"status": "pass", "powered": False},
        {"status": "pass", "powered": False},
        {"status": "inconclusive", "powered": False},
        {"status": "inconclusive", "powered": True},
        {"status": "fail", "powered": False},
        {"status": "fail", "powered": True},
    ]
    counts = state_counts(gates)
    assert counts.as_dict() == {
        "fail": 2,
        "pass": 1,
        "inconclusive": 1,
        "not_powered": 3,
        "not_powered_pass": 2,
        "powered": 3,
        "total": 7,
    }
    assert counts.fail + counts.passed + counts.inconclusive + counts.not_powered == counts.total
    assert counts.words() == "2 fail · 1 pass · 1 inconclusive · 3 not powered (of 7 checks; 3 powered)"


def test_an_undecided_gate_that_keeps_the_originals_effect_is_not_hidden_as_unpowered() -> None:
    gate = {"status": "inconclusive", "powered": False, "blocks_pass": True, "keeps_original_effect": 0.8}
    shown = gate_state(gate)
    assert shown.state == "inconclusive" and "keeps 80% of the original" in shown.reason
    assert state_counts([gate]).as_dict()["inconclusive"] == 1
