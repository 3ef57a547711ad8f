"""Gates: two-sided, three-valued, with power per claim and deception controls."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.judge.inference import GapEvidence, evidence_from_replicates, paired_cells
from auditor.judge.verdict import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Gate,
    apply_bh,
    judge,
    overall,
    resolve_gates,
    widen_to_noise,
)


def ev(point, sample_sd=0.005, seed_sd=0.002, seeds=12):
    return GapEvidence(point, sample_sd, seed_sd, seeds)


def test_pass_fail_inconclusive_and_two_sidedness():
    gate = Gate("m", 0.05, "default", "privacy")
    assert judge(gate, {"unlearned": ev(0.0)}, alpha=0.05, family=4).status == PASS
    assert judge(gate, {"unlearned": ev(0.5)}, alpha=0.05, family=4).status == FAIL
    over = judge(gate, {"unlearned": ev(-0.5)}, alpha=0.05, family=4)  # over-forgetting fails too
    assert over.status == FAIL and "less" in over.reason
    assert judge(gate, {"unlearned": ev(0.04, 0.03)}, alpha=0.05, family=4).status == INCONCLUSIVE
    none = judge(gate, {}, alpha=0.05, family=4, note="not estimable: 3 non-members")
    assert none.status == INCONCLUSIVE and "not estimable" in none.reason


def test_intervals_use_tost_and_one_tailed_bonferroni_levels():
    r = judge(Gate("m", 0.1, "config"), {"unlearned": ev(0.0)}, alpha=0.05, family=10)
    assert r.equivalence_level == pytest.approx(0.9) and r.difference_level == pytest.approx(0.99)
    assert r.difference_ci[0] < r.equivalence_ci[0] and r.difference_ci[1] > r.equivalence_ci[1]


def test_one_reference_cannot_show_equivalence_but_can_fail():
    gate = Gate("m", 0.05, "default")
    alone = judge(gate, {"unlearned": GapEvidence(0.0, 0.001, None, 1)}, alpha=0.05, family=1)
    assert alone.status == INCONCLUSIVE and "retrain-to-retrain" in alone.reason
    assert judge(gate, {"unlearned": GapEvidence(0.5, 0.001, None, 1)}, alpha=0.05, family=1).status == FAIL


def test_training_randomness_widens_the_interval():
    narrow = ev(0.0, sample_sd=0.005, seed_sd=0.0)
    wide = ev(0.0, sample_sd=0.005, seed_sd=0.05)
    assert wide.half_width(0.9) > 4 * narrow.half_width(0.9)
    # a gap a retrain's spread explains is not a failure; on the samples alone it would be
    gate = Gate("m", 0.05, "config")
    assert judge(gate, {"unlearned": ev(0.12, 0.005, 0.05)}, alpha=0.05, family=1).status == INCONCLUSIVE
    assert judge(gate, {"unlearned": ev(0.12, 0.005, 0.0)}, alpha=0.05, family=1).status == FAIL


def test_default_tolerance_widens_to_the_retrain_noise_floor_config_does_not():
    e = ev(0.0, seed_sd=0.02)
    assert widen_to_noise(Gate("m", 0.05, "default"), e, multiplier=4.5).tolerance == pytest.approx(
        4.5 * e.seed_term
    )
    assert widen_to_noise(Gate("m", 0.05, "config"), e, multiplier=4.5).tolerance == 0.05
    # never more than three times the attack's floor: a noisier metric stays inconclusive instead
    assert widen_to_noise(
        Gate("m", 0.05, "default"), ev(0.0, seed_sd=0.1), multiplier=4.5
    ).tolerance == pytest.approx(0.15)


def test_newcombe_interval_at_zero_is_not_degenerate():
    zeros = np.zeros(46)
    e = evidence_from_replicates(0.0, None, [0.0] * 12, fallback_sd=0.0, cells=paired_cells(zeros, zeros))
    lo, hi = e.interval(0.9)
    assert hi > 0.05 and lo < -0.05  # 0/46 cannot show a gap below 0.05: Wilson's 0.056
    big = np.zeros(400)
    lo, hi = evidence_from_replicates(
        0.0, None, [0.0] * 12, fallback_sd=0.0, cells=paired_cells(big, big)
    ).interval(0.9)
    assert 0 < hi < 0.01


def test_resolve_gates_from_rules_and_defaults():
    keys = ["accuracy.forget", "threshold.loss.auc", "threshold.entropy.auc"]
    gates = resolve_gates(
        [("threshold.*.auc", 0.2), ("threshold.loss.auc", 0.1)],
        {},
        keys,
        categories={"threshold.loss.auc": "privacy"},
    )
    assert [(g.metric, g.tolerance, g.source) for g in gates] == [
        ("threshold.loss.auc", 0.1, "config"),
        ("threshold.entropy.auc", 0.2, "config"),
    ]
    assert [g.metric for g in resolve_gates(None, {"accuracy.forget": 0.05}, keys)] == ["accuracy.forget"]


def _gate(metric, category, gap, original, controls=None, tol=0.05, sd=0.005):
    evidence = {"unlearned": ev(gap, sd), "original": ev(original, sd)}
    evidence.update({f"control:{k}": ev(v, sd) for k, v in (controls or {}).items()})
    return judge(Gate(metric, tol, "default", category), evidence, alpha=0.05, family=4)


def test_power_is_judged_per_gate_and_per_claim():
    forget = _gate("accuracy.forget", "forgetting", 0.0, 1.0)
    assert forget.powered and forget.control == FAIL
    blind = _gate("lira.auc", "privacy", 0.0, 0.03)  # the original passes too: no power
    assert not blind.powered and "half" in blind.power_reason
    wide = _gate("probe.x", "recoverability", 0.0, 0.08)  # tolerance 0.05 is not below half of 0.08
    assert not wide.powered
    util = _gate("accuracy.retain", "utility", 0.0, 0.0)
    assert util.powered  # utility power: its detectable effect
    # class forgetting claims utility, forgetting and recoverability: accuracy never licenses it
    v = overall([forget, util, blind], attack_errors=[], forget_kind="class")
    assert v["status"] == INCONCLUSIVE and v["headline"].startswith("INCONCLUSIVE: recoverability")
    probe = _gate("probe.forget_log_loss", "recoverability", 0.0, -2.5, tol=0.5)
    v = overall([forget, util, blind, probe], attack_errors=[], forget_kind="class")
    assert v["status"] == PASS and v["categories"]["recoverability"]["passed_powered"] == [
        "probe.forget_log_loss"
    ]
    assert "indistinguishable" not in v["headline"] + v["statement"]
    # random forgetting claims privacy: the blind MIA makes it inconclusive, naming the claim
    v = overall([forget, util, blind, probe], attack_errors=[], forget_kind="random")
    assert v["status"] == INCONCLUSIVE and "privacy" in v["headline"]


def test_a_deception_control_that_no_gate_fails_blocks_a_pass():
    forget = _gate("accuracy.forget", "forgetting", 0.0, 1.0, {"head_bias": 0.0})
    util = _gate("accuracy.retain", "utility", 0.0, 0.0, {"head_bias": 0.0})
    probe = _gate("probe.forget_log_loss", "recoverability", 0.0, -2.5, {"head_bias": 0.0}, tol=0.5)
    v = overall([forget, util, probe], attack_errors=[], forget_kind="class", controls=["head_bias"])
    assert v["status"] == INCONCLUSIVE and "head_bias" in v["headline"]
    probe = _gate("probe.forget_log_loss", "recoverability", 0.0, -2.5, {"head_bias": -2.4}, tol=0.5)
    v = overall([forget, util, probe], attack_errors=[], forget_kind="class", controls=["head_bias"])
    assert v["status"] == PASS and v["controls"]["head_bias"]["caught_by"] == ["probe.forget_log_loss"]


def test_fail_only_gates_fail_but_never_pass_or_show_power():
    g = Gate("distinguishability.x", 0.5, "default", "privacy", fail_only=True)
    quiet = judge(g, {"unlearned": ev(0.0), "original": ev(3.0)}, alpha=0.05, family=1)
    assert quiet.status == INCONCLUSIVE and not quiet.powered
    assert judge(g, {"unlearned": ev(3.0)}, alpha=0.05, family=1).status == FAIL


def test_failures_and_errors():
    ok = _gate("accuracy.forget", "forgetting", 0.0, 1.0)
    bad = _gate("accuracy.retain", "utility", 0.9, 0.0)
    assert overall([ok, bad], attack_errors=[], forget_kind="class")["status"] == FAIL
    assert overall([ok], attack_errors=["threshold"], forget_kind="class")["status"] == INCONCLUSIVE
    assert overall([], attack_errors=[], forget_kind="class")["status"] == INCONCLUSIVE


def test_benjamini_hochberg_runs_over_the_whole_family():
    gates = [Gate(f"m{i}", 0.05, "default") for i in range(9)]
    results = [judge(g, {"unlearned": ev(0.0)}, alpha=0.05, family=9, correction="bh") for g in gates[:8]]
    results.append(judge(gates[8], {"unlearned": ev(0.09, 0.02)}, alpha=0.05, family=9, correction="bh"))
    assert results[8].p_beyond == pytest.approx(0.0228, abs=0.002)
    final = apply_bh(results, alpha=0.05)
    # 0.023 > 0.05 * 1 / 9: not rejected over the full family (review m1 rejected it over a subfamily)
    assert final[8].status != FAIL
    far = judge(gates[8], {"unlearned": ev(0.3)}, alpha=0.05, family=9, correction="bh")
    assert far.status == INCONCLUSIVE  # bh alone never fails in judge
    final = apply_bh(results[:8] + [far], alpha=0.05)
    assert final[8].status == FAIL and "Benjamini-Hochberg" in final[8].reason


def _measured(name, key, point, *, category="forgetting", error=None, original=0.5):
    from auditor.judge.decision import MeasuredAttack

    return MeasuredAttack(
        name=name,
        keys=(key,),
        default_gates={key: 0.05},
        categories={key: category},
        fail_only=False,
        metrics={} if error else {key: {"key": key, "gap": {"value": point}}},
        evidence={} if error else {key: {"unlearned": ev(point), "original": ev(original)}},
        error=error,
    )


def test_decide_turns_measurements_into_gates_and_a_verdict():
    from auditor.judge.decision import decide

    settings = dict(
        alpha=0.05, correction="bonferroni", seed_multiplier=2.0, forget_kind="class", controls=[]
    )
    close = decide([_measured("a", "a.x", 0.0)], rules=None, forget_count=100, **settings)
    assert [g.metric for g in close.gates] == ["a.x"] and close.results[0].status == PASS
    far = decide([_measured("a", "a.x", 0.3)], rules=None, forget_count=100, **settings)
    assert far.results[0].status == FAIL and far.verdict["status"] == FAIL
    # a configured rule replaces the default tolerance (and is not widened); a crashed attack's gate
    # is inconclusive, and so is the verdict
    ruled = decide([_measured("a", "a.x", 0.0)], rules=[("a.*", 0.2)], forget_count=100, **settings)
    assert ruled.gates[0].tolerance == 0.2
    crashed = decide([_measured("a", "a.x", 0.0, error="boom")], rules=None, forget_count=100, **settings)
    assert crashed.results[0].status == INCONCLUSIVE and crashed.verdict["status"] == INCONCLUSIVE
    assert "did not complete" in crashed.results[0].reason
