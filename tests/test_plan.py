"""Planning an audit: the sizes-only numbers, the pilot's predictions, what would settle an INCONCLUSIVE audit.

The pure functions are checked against their formulas, against the verdict's own rules and, where
they state an error rate, by simulation; the command runs on a tiny config, with and without a pilot.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats as sps

from auditor.cli.commands import cli
from auditor.judge import planning
from auditor.judge.inference import GapEvidence
from auditor.judge.planning import Lever, PilotEvidence, RuleParams
from auditor.judge.verdict import INCONCLUSIVE, Gate, Outcome, judge, widen_to_noise
from tests.helpers import tiny_config

RULES = RuleParams(alpha=0.05, family=10, multiplier=4.5)


def gate(metric="threshold.loss.auc", floor=0.05, category="privacy", fail_only=False):
    return Gate(metric, floor, "default", category, fail_only, floor)


# ------------------------------------------------------------------------------------------------
# From the sizes alone


def test_boundary_interval_is_wilson_at_zero_and_says_how_many_samples_certify_the_floor():
    assert planning.boundary_half_width(46, 0.9) == pytest.approx(0.0556, abs=5e-4)  # docs/statistics.md §3
    need = planning.boundary_samples_needed(0.05, 0.9)
    assert planning.boundary_half_width(need, 0.9) < 0.05 <= planning.boundary_half_width(need - 1, 0.9)
    check = planning.size_check(
        gate("accuracy.test_forgotten_classes", category="forgetting"),
        forget_kind="class",
        sizes={"test_forgotten": 46},
        references=12,
        alpha=0.05,
        family=14,
        multiplier=4.5,
    )
    assert check.powerable is False and f"at least {need}" in check.text
    # with enough samples the same gate can be powered, given a large enough original effect
    roomy = planning.size_check(
        gate("accuracy.test_forgotten_classes", category="forgetting"),
        forget_kind="class",
        sizes={"test_forgotten": 400},
        references=12,
        alpha=0.05,
        family=14,
        multiplier=4.5,
    )
    assert roomy.powerable is None and roomy.needs_effect == pytest.approx(
        max(0.1, 0.05 + planning.boundary_half_width(400, 1 - 0.1 / 14))
    )


def test_fail_excess_is_the_bonferroni_t_prediction_bound_of_the_flagged_count():
    n, rate, r, m = 320, 0.05, 12, 11
    expected = sps.t.ppf(1 - 0.05 / m, r - 1) * math.sqrt(n * rate * (1 - rate)) * math.sqrt(1 + 1 / r)
    got = planning.fail_excess(n, rate, references=r, alpha=0.05, family=m)
    assert got == pytest.approx(expected, rel=1e-9)
    assert planning.excess_at_power(n, rate, references=r, alpha=0.05, family=m) > got


def test_fail_excess_holds_its_error_rate_for_honest_retrains():
    # Honest retrains flag each record independently at the rate; the unlearned model is one more. How often
    # does its count exceed the references' mean by more than fail_excess? At most alpha / m, by simulation.
    rng = np.random.default_rng(0)
    n, rate, r, m, trials = 320, 0.05, 12, 11, 40_000
    counts = rng.binomial(n, rate, size=(trials, r + 1))
    refs, model = counts[:, :r], counts[:, r]
    # the audit's bound uses the references' own spread, not the binomial one: judge it as the audit would
    sd = refs.std(axis=1, ddof=1)
    bound = sps.t.ppf(1 - 0.05 / m, r - 1) * sd * math.sqrt(1 + 1 / r)
    rate_hit = float(np.mean(model - refs.mean(axis=1) > bound))
    # Measured 0.0063 against the nominal 0.0045: the binomial count's right skew (16 expected of 320) makes
    # the t bound slightly anti-conservative per gate; within twice nominal (the family stays near alpha).
    assert rate_hit < 2 * 0.05 / m
    # and the plan's binomial figure is what that bound is on average (within the SD estimate's bias)
    planned = planning.fail_excess(n, rate, references=r, alpha=0.05, family=m)
    assert float(np.mean(bound)) == pytest.approx(planned, rel=0.05)


def test_chance_gate_tolerance_is_the_audits_widening_of_the_binomial_spread():
    check = planning.size_check(
        gate("lira.exposure"),
        forget_kind="random",
        sizes={"forget": 16},
        references=12,
        alpha=0.05,
        family=11,
        multiplier=4.5,
        rate=0.01,
    )
    sd = math.sqrt(0.01 * 0.99 / 16)
    t = min(max(0.05, 4.5 * sd * math.sqrt(1 + 1 / 12)), 0.15)
    assert check.figures["tolerance"] == pytest.approx(t)
    assert check.needs_effect is not None and check.needs_effect >= 2 * t and check.powerable is None


def test_a_fail_only_gate_never_powers_a_claim_and_a_category_of_them_cannot_be_powered():
    records = planning.size_check(
        gate("records.exposed", floor=0.0, fail_only=True),
        forget_kind="random",
        sizes={"forget": 16},
        references=12,
        alpha=0.05,
        family=11,
        multiplier=4.5,
        rate=0.05,
    )
    assert records.powerable is False and "never support a claim" in records.text
    outlook = planning.size_outlook("privacy", [records], claimed=True)
    assert outlook.outlook == "cannot"
    assert (
        planning.size_outlook("forgetting", [records], claimed=True).outlook == "cannot"
    )  # nothing measures it


# ------------------------------------------------------------------------------------------------
# From a pilot


def test_pooled_spread_is_unbiased_for_the_retrain_variance():
    rng = np.random.default_rng(1)
    k, sigma = 6, 0.03
    pooled = []
    for _ in range(4000):
        x = rng.normal(0.5, sigma, k)
        others, stand_in = x[:-1], x[-1]
        ev = GapEvidence(float(stand_in - others.mean()), 0.0, float(others.std(ddof=1)), k - 1)
        pooled.append(planning.pooled_spread(ev) ** 2)
    assert float(np.mean(pooled)) == pytest.approx(sigma**2, rel=0.05)


def test_predicted_gate_is_judged_by_the_verdicts_own_rules():
    stand_in = GapEvidence(0.01, 0.004, 0.02, 5, fixed_samples=False)
    original = GapEvidence(0.35, 0.006, 0.02, 5)
    honest, orig, sd = planning.predicted_evidence(PilotEvidence(stand_in, original), references=12)
    assert honest.point == 0 and honest.seeds == 12 and orig is not None
    assert orig.point == pytest.approx(0.35 - 0.01 / 6)  # against the mean of all six pilot references
    result = planning.predict_gate(gate(), honest, orig, alpha=0.05, family=10, multiplier=4.5)
    assert result.gate.tolerance == pytest.approx(widen_to_noise(gate(), honest, multiplier=4.5).tolerance)
    direct = judge(result.gate, {"unlearned": honest, "original": orig}, alpha=0.05, family=10)
    assert (result.powered, result.mde_80) == (direct.powered, direct.mde_80)
    assert result.powered  # effect 0.35 against a tolerance near 0.1
    weak = planning.predict_gate(
        gate(), honest, GapEvidence(0.08, 0.006, sd, 12), alpha=0.05, family=10, multiplier=4.5
    )
    assert not weak.powered and "half of the original's effect" in weak.power_reason


# ------------------------------------------------------------------------------------------------
# What would settle it


def test_smallest_finds_the_first_value_that_holds():
    assert planning.smallest(lambda v: v >= 137, current=16, limit=1000) == 137
    assert planning.smallest(lambda v: v >= 2000, current=16, limit=1000) is None
    assert planning.smallest(lambda v: True, current=5, limit=5) is None


def test_the_forget_size_that_powers_a_gate_is_where_the_rule_first_holds():
    # An AUC gate on 50 members and 5,000 non-members: wide retrain spread, tolerance at the 3x cap.
    sizes = {"forget": 50, "nonmember": 5000, "train": 3000}
    honest = GapEvidence(0.0, 0.02, 0.04, 12)
    original = GapEvidence(0.25, 0.03, 0.04, 12)
    g = gate()
    assert not planning.predict_gate(g, honest, original, alpha=0.05, family=10, multiplier=4.5).powered
    steps = planning.steps_to_power(
        [g],
        {g.metric: honest},
        {g.metric: original},
        target="privacy",
        forget_kind="random",
        sizes=sizes,
        references=12,
        rules=RULES,
    )
    forget = next(s for s in steps if s.lever == "forget")
    assert forget.value is not None and 50 < forget.value <= 3000
    shares = planning.variance_shares(planning.sample_model(g.metric, "random"), sizes)
    assert shares["forget"] == pytest.approx((1 / 50) / (1 / 50 + 1 / 5000))
    lever = Lever("forget", 50, 3000)

    def powered_at(n):
        u = planning.evidence_at(honest, shares, lever, n)
        o = planning.evidence_at(original, shares, lever, n)
        return planning.predict_gate(g, u, o, alpha=0.05, family=10, multiplier=4.5).powered

    assert powered_at(forget.value) and not powered_at(forget.value - 1)
    # more non-members barely move a gate whose variance is the members'; the answer says so
    held = next(s for s in steps if s.lever == "heldout")
    assert held.value is None
    assert "forget set of" in planning.steps_sentence(steps)


def test_the_held_out_size_that_lets_a_class_accuracy_pass_is_wilsons():
    # Every retrain scores 0/46 on the held-out images of the class: Wilson's ±0.056 is wider than the 0.05
    # tolerance, so the gate is not powered; 52 samples are the fewest that certify it (0/52: ±0.0495).
    g = gate("accuracy.test_forgotten_classes", category="forgetting")
    honest = GapEvidence(0.0, 0.0, 0.0, 12, cells=(0.0, 0.0, 0.0, 46.0))
    original = GapEvidence(0.97, 0.0, 0.0, 12, cells=(0.0, 44.6, 0.0, 1.4))
    steps = planning.steps_to_power(
        [g],
        {g.metric: honest},
        {g.metric: original},
        target="forgetting",
        forget_kind="class",
        sizes={"forget": 100, "test_forgotten": 46},
        references=12,
        rules=RULES,
    )
    held = next(s for s in steps if s.lever == "heldout")
    assert (held.current, held.value) == (46, planning.boundary_samples_needed(0.05, 0.9))
    assert "forget" not in {s.lever for s in steps}  # a class request's forget set is the class
    assert next(s for s in steps if s.lever == "references").value is None  # more references cannot help


def test_nothing_is_in_reach_when_the_original_barely_differs_from_retraining():
    g = gate()
    reason = planning.nothing_in_reach([g], {g.metric: GapEvidence(0.06, 0.01, 0.01, 12)})
    assert reason is not None and "twice the tolerance floor" in reason
    assert planning.nothing_in_reach([g], {g.metric: GapEvidence(0.3, 0.01, 0.01, 12)}) is None
    steps = planning.steps_to_power(
        [g],
        {g.metric: GapEvidence(0.0, 0.01, 0.01, 12)},
        {g.metric: GapEvidence(0.06, 0.01, 0.01, 12)},
        target="privacy",
        forget_kind="random",
        sizes={"forget": 100, "nonmember": 500, "train": 1000},
        references=12,
        rules=RULES,
    )
    assert steps and all(s.value is None for s in steps)


def test_next_steps_for_an_undecided_gate_name_the_size_that_decides_it():
    g = gate("lira.exposure")
    unlearned = GapEvidence(0.09, 0.0, 0.02, 12, fixed_samples=True)  # straddles its tolerance
    widened = widen_to_noise(g, unlearned, multiplier=4.5)
    result = judge(widened, {"unlearned": unlearned}, alpha=0.05, family=10)
    assert result.status == INCONCLUSIVE
    outcome = Outcome(INCONCLUSIVE, "undecided", undecided=(g.metric,))
    steps, why_not = planning.next_steps(
        outcome,
        [result],
        {g.metric: {"unlearned": unlearned}},
        forget_kind="random",
        sizes={"forget": 40, "train": 2000},
        rules=RULES,
    )
    assert why_not is None
    by_lever = {s.lever: s for s in steps}
    assert by_lever["forget"].value is not None and by_lever["forget"].current == 40
    assert "heldout" not in by_lever  # a forget-set metric: held-out data cannot decide it
    record, sentence = planning.inconclusive_record(
        outcome,
        [result],
        {g.metric: {"unlearned": unlearned}},
        forget_kind="random",
        sizes={"forget": 40, "train": 2000},
        rules=RULES,
    )
    assert record[0]["assumption"] == planning.ASSUMPTION
    assert f"a forget set of {by_lever['forget'].value:,} samples (now 40)" in sentence


def test_an_uncaught_control_is_settled_only_by_gates_that_catch_the_original():
    records = gate("records.exposed", floor=0.0, fail_only=True)
    utility = gate("accuracy.test", floor=0.02, category="utility")
    fixed = dict(fixed_samples=True)
    evidence = {
        records.metric: {
            "unlearned": GapEvidence(0.0, 0.0, 0.012, 12, **fixed),
            "original": GapEvidence(0.3, 0.0, 0.012, 12, **fixed),
            "control:partial_random_25": GapEvidence(0.03, 0.0, 0.012, 12, **fixed),  # a quarter kept
        },
        utility.metric: {
            "unlearned": GapEvidence(0.0, 0.004, 0.002, 12),
            "original": GapEvidence(0.0, 0.004, 0.002, 12),
            "control:partial_random_25": GapEvidence(-0.01, 0.004, 0.002, 12),  # chance: no real gap
        },
    }
    results = [
        judge(
            widen_to_noise(g, evidence[g.metric]["unlearned"], multiplier=4.5),
            evidence[g.metric],
            alpha=0.05,
            family=10,
        )
        for g in (records, utility)
    ]
    assert results[0].controls["partial_random_25"].status == INCONCLUSIVE
    outcome = Outcome(INCONCLUSIVE, "uncaught", uncaught=("partial_random_25",))
    steps, _ = planning.next_steps(
        outcome,
        results,
        evidence,
        forget_kind="random",
        sizes={"forget": 100, "test": 400, "train": 3000},
        rules=RULES,
    )
    assert {s.lever for s in steps} == {
        "forget",
        "references",
    }  # held-out data would only grow the chance gap
    forget = next(s for s in steps if s.lever == "forget")
    assert forget.gates == (records.metric,) and forget.value is not None and forget.value > 100


def test_decide_records_next_steps_on_an_inconclusive_verdict_only():
    from auditor.judge.decision import MeasuredAttack, decide

    def measured(key, category, point, original, sd=0.03):
        return MeasuredAttack(
            name=key.split(".")[0],
            keys=(key,),
            default_gates={key: 0.05 if category != "utility" else 0.02},
            categories={key: category},
            fail_only=False,
            metrics={key: {"key": key, "gap": {"value": point}}},
            evidence={
                key: {
                    "unlearned": GapEvidence(point, sd, sd, 12),
                    "original": GapEvidence(original, sd, sd, 12),
                }
            },
            error=None,
        )

    settings = dict(
        rules=None,
        alpha=0.05,
        correction="bonferroni",
        seed_multiplier=4.5,
        forget_kind="random",
        controls=[],
        forget_count=30,
        sample_sizes={"forget": 30, "nonmember": 600, "retain": 2000, "train": 2030},
    )
    utility = measured("accuracy.retain", "utility", 0.0, 0.0, sd=0.001)
    forgetting = measured("accuracy.forget", "forgetting", 0.0, 0.4, sd=0.01)
    # privacy: the original's AUC gap (0.15) is not twice the tolerance widened by a wide spread
    small = decide([utility, forgetting, measured("threshold.loss.auc", "privacy", 0.0, 0.15)], **settings)
    assert small.verdict["status"] == INCONCLUSIVE and small.verdict["categories"]["privacy"]["powered"] == []
    steps = small.verdict["next_steps"]
    forget = next(s for s in steps if s["lever"] == "forget")
    assert forget["target"] == "privacy" and forget["goal"] == "powered" and forget["value"] > 30
    assert f"a forget set of {forget['value']:,} samples (now 30)" in small.verdict["statement"]
    failed = decide([utility, forgetting, measured("threshold.loss.auc", "privacy", 0.5, 0.5)], **settings)
    assert failed.verdict["status"] == "fail" and "next_steps" not in failed.verdict


def test_what_would_settle_it_replaces_the_generic_advice_of_an_undecided_verdict():
    from auditor.judge.verdict import UNDECIDED_ADVICE, verdict_words

    outcome = Outcome(INCONCLUSIVE, "undecided", undecided=("probe.depth2.forget_log_loss",))
    words = dict(claims=("forgetting",), controls=[], forget_count=100)
    _, generic = verdict_words(outcome, [], **words)
    assert generic.endswith(UNDECIDED_ADVICE)
    sentence = "What would settle it: nothing within reach would settle probe.depth2.forget_log_loss."
    _, settled = verdict_words(outcome, [], **words, settle=sentence)
    assert settled.endswith(sentence) and UNDECIDED_ADVICE not in settled  # no contradicting advice


# ------------------------------------------------------------------------------------------------
# The command


def write(tmp_path, cfg):
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_plan_from_sizes_names_what_the_request_cannot_show(tmp_path):
    cfg = tiny_config(reference={"seeds": 12}, report={"out": str(tmp_path / "never")})
    res = CliRunner().invoke(cli, ["plan", str(write(tmp_path, cfg))])
    assert res.exit_code == 0, res.output
    assert "accuracy.test_forgotten_classes" in res.output and "cannot pass" in res.output
    # a class request claims recoverability, which no check of this battery measures
    assert "Too small to settle: recoverability" in res.output
    cfg["attacks"].append({"name": "probe"})
    res = CliRunner().invoke(cli, ["plan", str(write(tmp_path, cfg))])
    assert "Too small" not in res.output and "--pilot" in res.output
    assert not (tmp_path / "never").exists()  # plan writes nothing
    small = CliRunner().invoke(
        cli, ["plan", str(write(tmp_path, cfg)), "--set", "forget={kind: random, count: 16}", "--json"]
    )
    record = json.loads(small.output)
    assert record["sizes"]["sizes"]["forget"] == 16 and record["pilot"] is None
    gates = {g["metric"]: g for g in record["sizes"]["gates"]}
    assert gates["threshold.loss.auc"]["needs_effect"] == pytest.approx(0.1)


def test_plan_with_a_one_reference_config_says_nothing_can_pass(tmp_path):
    res = CliRunner().invoke(cli, ["plan", str(write(tmp_path, tiny_config())), "--json"])
    record = json.loads(res.output)
    assert record["sizes"]["too_small"] == ["utility", "forgetting", "recoverability"]


def test_plan_pilot_predicts_each_gate(tmp_path):
    cfg = tiny_config(
        reference={"seeds": 8},
        attacks=[{"name": "accuracy"}, {"name": "records"}],
        gates={"bootstrap": 200, "incomplete_erasure": None},
        execution={"cache_dir": str(tmp_path / "cache")},
    )
    res = CliRunner().invoke(
        cli, ["plan", str(write(tmp_path, cfg)), "--pilot", "--pilot-references", "4", "--json"]
    )
    assert res.exit_code == 0, res.output
    pilot = json.loads(res.output)["pilot"]
    gates = {g["metric"]: g for g in pilot["gates"]}
    assert gates["accuracy.forget"]["piloted"] and gates["accuracy.forget"]["powered"]
    assert gates["accuracy.forget"]["original_effect"] > 0.5  # the original still knows class 3
    # fail-only, and not estimable under a class request (the per-record test is for record erasures)
    assert not gates["records.exposed"]["powered"]
    cats = {c["category"]: c for c in pilot["categories"]}
    assert cats["forgetting"]["outlook"] == "powered"
    # the pilot's references are the audit's own: the cache holds the original and reference/0..3
    assert len(list((tmp_path / "cache").rglob("*.pt"))) >= 5
