"""Gates: two-sided, three-valued, with the stated multiplicity rules."""

from __future__ import annotations

import numpy as np

from auditor.verdict import FAIL, INCONCLUSIVE, PASS, Gate, judge, overall, resolve_gates, with_control


def samples(center, sd, n=2000, seed=0):
    return np.random.default_rng(seed).normal(center, sd, n)


def test_pass_fail_inconclusive_and_two_sidedness():
    gate = Gate("m", 0.05, "default")
    assert judge(gate, 0.0, samples(0.0, 0.01), alpha=0.05, family=4).status == PASS
    assert judge(gate, 0.5, samples(0.5, 0.01), alpha=0.05, family=4).status == FAIL
    over = judge(gate, -0.5, samples(-0.5, 0.01), alpha=0.05, family=4)   # over-forgetting fails too
    assert over.status == FAIL and "less" in over.reason
    assert judge(gate, 0.04, samples(0.04, 0.05), alpha=0.05, family=4).status == INCONCLUSIVE
    none = judge(gate, None, None, alpha=0.05, family=4, note="not estimable: 3 non-members")
    assert none.status == INCONCLUSIVE and "not estimable" in none.reason


def test_intervals_use_tost_and_bonferroni_levels():
    r = judge(Gate("m", 0.1, "config"), 0.0, samples(0.0, 0.01), alpha=0.05, family=10)
    assert r.equivalence_level == 0.9 and abs(r.difference_level - 0.995) < 1e-12
    # the Bonferroni interval is wider than the equivalence interval
    assert r.difference_ci[0] < r.equivalence_ci[0] and r.difference_ci[1] > r.equivalence_ci[1]


def test_gap_just_outside_tolerance_needs_the_corrected_interval_to_fail():
    gate = Gate("m", 0.05, "default")
    s = samples(0.08, 0.012)
    assert judge(gate, 0.08, s, alpha=0.05, family=1).status == FAIL
    assert judge(gate, 0.08, s, alpha=0.05, family=10_000).status == INCONCLUSIVE


def test_resolve_gates_from_rules_and_defaults():
    keys = ["accuracy.forget", "threshold.loss.auc", "threshold.entropy.auc"]
    gates = resolve_gates([("threshold.*.auc", 0.2), ("threshold.loss.auc", 0.1)], {}, keys)
    assert [(g.metric, g.tolerance, g.source) for g in gates] == [("threshold.loss.auc", 0.1, "config"),
                                                                ("threshold.entropy.auc", 0.2, "config")]
    assert [g.metric for g in resolve_gates(None, {"accuracy.forget": 0.05}, keys)] == ["accuracy.forget"]


def test_overall():
    g = Gate("m", 0.05, "default")
    ok = with_control(judge(g, 0.0, samples(0, 0.001), alpha=0.05, family=2), 0.9, samples(0.9, 0.001),
                      alpha=0.05, family=2)   # the original fails this gate: it has power
    bad = judge(g, 0.9, samples(0.9, 0.001), alpha=0.05, family=2)
    unsure = judge(g, None, None, alpha=0.05, family=2)
    assert overall([ok, ok], attack_errors=[])["status"] == PASS
    assert "No leakage detected by these attacks" in overall([ok], attack_errors=[])["statement"]
    assert overall([ok, bad, unsure], attack_errors=[])["status"] == FAIL
    assert overall([ok, unsure], attack_errors=[])["status"] == INCONCLUSIVE
    assert overall([ok], attack_errors=["threshold"])["status"] == INCONCLUSIVE
    assert overall([], attack_errors=[])["status"] == INCONCLUSIVE


def test_benjamini_hochberg_fail_correction():
    from auditor.verdict import apply_bh, p_beyond

    s_far = samples(0.3, 0.01)
    assert p_beyond(s_far, 0.05) == 0.0
    assert p_beyond(samples(0.0, 0.01), 0.05) == 1.0
    gates = [Gate(f"m{i}", 0.05, "default") for i in range(3)]
    results = [judge(gates[0], 0.3, s_far, alpha=0.05, family=3, correction="bh"),
               judge(gates[1], 0.0, samples(0.0, 0.01), alpha=0.05, family=3, correction="bh"),
               judge(gates[2], 0.06, samples(0.06, 0.02), alpha=0.05, family=3, correction="bh")]
    assert [r.status for r in results] == [INCONCLUSIVE, PASS, INCONCLUSIVE]   # bh alone never fails
    final = apply_bh(results, alpha=0.05)
    assert [r.status for r in final] == [FAIL, PASS, INCONCLUSIVE]
    assert "Benjamini-Hochberg" in final[0].reason


def test_positive_control_decides_whether_a_pass_is_evidence():
    g = Gate("m", 0.05, "default")
    passed = judge(g, 0.0, samples(0, 0.005), alpha=0.05, family=2)
    assert passed.control is None and not passed.has_power
    blind = with_control(passed, 0.01, samples(0.01, 0.005), alpha=0.05, family=2)   # original passes too
    unsure = with_control(passed, 0.06, samples(0.06, 0.03), alpha=0.05, family=2)  # original undecided
    sharp = with_control(passed, -0.7, samples(-0.7, 0.005), alpha=0.05, family=2)  # original fails (two-sided)
    assert (blind.control, unsure.control, sharp.control) == (PASS, INCONCLUSIVE, FAIL)
    assert sharp.has_power and not blind.has_power and not unsure.has_power
    assert sharp.as_dict()["control"]["catches_original"] is True
    assert sharp.as_dict()["control"]["difference_ci"][1] < -0.05
    # every gate passes, but none would fail a model that forgot nothing: not evidence
    v = overall([blind, unsure], attack_errors=[])
    assert v["status"] == INCONCLUSIVE and "original model" in v["statement"]
    assert v["power"]["gates_catching_original"] == []
    # one gate with power is enough, and the statement names it
    v = overall([blind, sharp], attack_errors=[])
    assert v["status"] == PASS and v["power"]["gates_catching_original"] == ["m"]
    # with no control measured at all a pass cannot be shown either
    assert overall([passed], attack_errors=[])["status"] == INCONCLUSIVE
    # a failure stays a failure whatever the controls say
    bad = judge(g, 0.9, samples(0.9, 0.001), alpha=0.05, family=2)
    assert overall([bad, blind], attack_errors=[])["status"] == FAIL
