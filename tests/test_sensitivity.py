"""How incomplete an erasure the audit catches; gates that keep the original's effect; power at 80 %."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from auditor.judge.inference import GapEvidence
from auditor.judge.sensitivity import PartialControl, detected_share, records_at_mde, sensitivity
from auditor.judge.verdict import FAIL, INCONCLUSIVE, PASS, Gate, judge, mde_at_power, overall
from auditor.run.controls import partial_erasures


def ev(point, sample_sd=0.0, seed_sd=0.01, seeds=12, fixed=True):
    return GapEvidence(point, sample_sd, seed_sd, seeds, fixed_samples=fixed)


def _gate(metric, category, gap, original, controls=None, tol=0.05, fail_only=False):
    evidence = {"unlearned": ev(gap), "original": ev(original)}
    evidence.update({f"control:{k}": ev(v) for k, v in (controls or {}).items()})
    gate = Gate(metric, tol, "default", category, fail_only)
    return judge(gate, evidence, alpha=0.05, family=6)


PARTIAL = [
    PartialControl("partial_random_25", "random", 0.25, 80),
    PartialControl("partial_random_12_5", "random", 0.125, 40),
    PartialControl("partial_least_exposed_50", "least_exposed", 0.5, 160),
    PartialControl("partial_least_exposed_25", "least_exposed", 0.25, 80),
]


def test_the_smallest_share_caught_with_every_larger_one_is_the_sensitivity():
    gaps = {
        "partial_random_25": 0.3,
        "partial_random_12_5": 0.15,
        "partial_least_exposed_50": 0.2,
        "partial_least_exposed_25": 0.01,
    }
    gate = _gate("records.exposed", "privacy", 0.0, 0.6, gaps, tol=0.0, fail_only=True)
    assert {n for n, j in gate.controls.items() if j.status == FAIL} == {
        "partial_random_25",
        "partial_random_12_5",
        "partial_least_exposed_50",
    }
    assert detected_share([gate], PARTIAL[:2]) == 0.125
    assert detected_share([gate], PARTIAL[2:]) == 0.5
    record = sensitivity([gate], PARTIAL, forget_count=320, required={"random": 0.25})
    assert record["detects_by_selection"] == {"random": 0.125, "least_exposed": 0.5}
    assert "at least 12.5% of the request (40 of 320 records)" in record["statement"]
    assert "at least 50.0% of the request (160 of 320 records)" in record["statement"]
    # a smaller share caught does not count when a larger one is missed
    hole = _gate(
        "m",
        "privacy",
        0.0,
        0.6,
        {"partial_random_25": 0.0, "partial_random_12_5": 0.3},
        tol=0.0,
        fail_only=True,
    )
    assert detected_share([hole], PARTIAL[:2]) is None
    assert (
        "would not catch even 25.0%"
        in sensitivity([hole], PARTIAL[:2], forget_count=320, required={})["statement"]
    )


def test_no_pass_while_the_largest_incomplete_erasure_is_not_caught():
    forget = _gate("accuracy.forget", "forgetting", 0.0, 1.0, {"partial_random_25": 0.01})
    privacy = _gate("lira.auc", "privacy", 0.0, 1.0, {"partial_random_25": 0.01})
    util = _gate("accuracy.retain", "utility", 0.0, 0.0, {"partial_random_25": 0.0})
    v = overall(
        [forget, privacy, util], attack_errors=[], forget_kind="random", controls=["partial_random_25"]
    )
    assert v["status"] == INCONCLUSIVE and "partial_random_25" in v["headline"]
    v = overall(
        [forget, privacy, util],
        attack_errors=[],
        forget_kind="random",
        controls=["partial_random_25"],
        required_controls=[],
    )
    assert v["status"] == PASS and v["controls"]["partial_random_25"] == {"caught_by": [], "required": False}


def test_an_undecided_gate_keeping_most_of_the_originals_gap_blocks_a_pass_powered_or_not():
    # The original's gap of 1.0 is far beyond what a retrain strays (sd 0.05): keeping 70 % of it blocks.
    kept = judge(
        Gate("probe.depth2", 0.75, "config", "recoverability"),
        {
            "unlearned": GapEvidence(-0.7, 0.0, 0.05, 12, fixed_samples=True),
            "original": GapEvidence(-1.0, 0.0, 0.05, 12, fixed_samples=True),
        },
        alpha=0.05,
        family=6,
    )
    assert kept.status == INCONCLUSIVE and not kept.powered
    assert kept.keeps_original == pytest.approx(0.7) and kept.blocks_pass
    forget = _gate("accuracy.forget", "forgetting", 0.0, 1.0)
    util = _gate("accuracy.retain", "utility", 0.0, 0.0)
    probe = _gate("probe.forget", "recoverability", 0.0, 1.0)
    v = overall([forget, util, probe, kept], attack_errors=[], forget_kind="class")
    assert v["status"] == INCONCLUSIVE and "keep most of what the original holds" in v["headline"]
    assert v["power"]["keeps_original_effect"] == ["probe.depth2"]
    # the same share of an original's gap that a retrain reaches by chance does not block
    noisy = judge(
        Gate("m", 0.8, "config", "recoverability"),
        {
            "unlearned": GapEvidence(-0.07, 0.0, 0.05, 12, fixed_samples=True),
            "original": GapEvidence(-0.1, 0.0, 0.05, 12, fixed_samples=True),
        },
        alpha=0.05,
        family=6,
    )
    assert noisy.keeps_original == pytest.approx(0.7) and not noisy.blocks_pass
    # utility gates measure harm, not retention: the original's utility is the ideal
    assert _gate("accuracy.retain", "utility", 0.03, 0.04).blocks_pass is False


def test_honest_retrains_rarely_keep_half_an_effect_the_rule_calls_real():
    """Simulated: retrains' gaps ~ the prediction spread; blocked at most alpha/m of the time, one-sided."""
    rng = np.random.default_rng(0)
    s, r, family = 0.05, 12, 6
    original = GapEvidence(-4.0 * s, 0.0, s, r, fixed_samples=True)  # just beyond the blocking threshold
    blocked = 0
    trials = 4000
    for _ in range(trials):
        refs = rng.normal(0.0, s, size=r)
        gap = rng.normal(0.0, s) - refs.mean()
        e = GapEvidence(gap, 0.0, float(refs.std(ddof=1)), r, fixed_samples=True)
        g = judge(
            Gate("m", 10 * s, "config", "privacy"),
            {"unlearned": e, "original": original},
            alpha=0.05,
            family=family,
        )
        blocked += g.blocks_pass
    assert blocked / trials < 0.05 / family


def test_the_80_percent_power_point_is_reached_by_simulation():
    s, t, r, family = 0.02, 0.05, 12, 6
    e = GapEvidence(0.0, 0.0, s, r, fixed_samples=True)
    level = 1 - 2 * 0.05 / family
    delta = mde_at_power(e, t, level=level)
    assert delta > t + e.half_width(level)  # beyond the coin-flip point
    rng = np.random.default_rng(1)
    fails = 0
    for _ in range(
        3000
    ):  # a fixed method whose gap is delta, with a retrain's training noise, and fresh references
        refs = rng.normal(0.0, s, size=r)
        gap = delta + rng.normal(0.0, s) - refs.mean()
        j = judge(
            Gate("m", t, "config", "privacy"),
            {"unlearned": GapEvidence(gap, 0.0, float(refs.std(ddof=1)), r, fixed_samples=True)},
            alpha=0.05,
            family=family,
        )
        fails += j.status == FAIL
    assert 0.74 < fails / 3000 < 0.9


def test_records_at_the_mde_follow_the_controls_slope():
    gaps = {"partial_random_25": 0.20, "partial_random_12_5": 0.10}
    g = _gate("records.exposed", "privacy", 0.0, 0.8, gaps, tol=0.0, fail_only=True)
    (out,) = records_at_mde([g], PARTIAL[:2], forget_count=320)
    slope = 0.8  # gap per share kept
    assert out.mde_80_records == pytest.approx(out.mde_80 / slope * 320, abs=0.05)
    flat = _gate("m", "privacy", 0.0, 0.8, {"partial_random_25": 0.0, "partial_random_12_5": 0.0})
    assert records_at_mde([flat], PARTIAL[:2], forget_count=320)[0].mde_80_records is None


def test_incomplete_erasure_controls_are_nested_and_the_least_exposed_come_first():
    forget = np.arange(100, 200)
    order = np.arange(100)[::-1]  # position 99 is the least exposed
    controls = partial_erasures(forget, random=[0.25, 0.125], least_exposed=[0.5], order=order, seed=3)
    by = {c.name: c for c in controls}
    assert set(by) == {"partial_random_25", "partial_random_12_5", "partial_least_exposed_50"}
    assert len(by["partial_random_25"].kept) == 25 and set(by["partial_random_12_5"].kept) < set(
        by["partial_random_25"].kept
    )
    assert set(by["partial_least_exposed_50"].kept) == set(range(150, 200))
    again = partial_erasures(forget, random=[0.25, 0.125], least_exposed=[0.5], order=order, seed=3)
    assert all(np.array_equal(a.kept, b.kept) for a, b in zip(controls, again))


def test_a_t_quantile_sanity():  # the prediction half-width the blocking rule compares with
    e = GapEvidence(0.0, 0.0, 1.0, 12, fixed_samples=True)
    assert e.seed_half_width(0.99) == pytest.approx(sps.t.ppf(0.995, 11) * np.sqrt(1 + 1 / 12))
