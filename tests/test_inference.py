"""Intervals with training randomness: Wilson and Newcombe by hand, MOVER combination, sizes by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from auditor.judge.inference import (
    GapEvidence,
    evidence_from_replicates,
    newcombe_paired,
    paired_cells,
    seed_sd,
    wilson,
)


def test_wilson_matches_the_closed_form():
    lo, hi = wilson(0, 46, 0.9)
    z2 = 1.6448536269514722**2
    assert lo == 0.0 and hi == pytest.approx(z2 / (46 + z2))
    lo, hi = wilson(50, 100, 0.95)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)


def test_newcombe_paired_reduces_to_wilson_widths_without_discordance():
    lower, upper = newcombe_paired((0.0, 0.0, 0.0, 101.0), 0.9)  # 0/101 against 0/101
    w = wilson(0, 101, 0.9)[1]
    assert lower == pytest.approx(w) and upper == pytest.approx(w)


def test_seed_part_is_a_prediction_interval_for_one_more_retrain():
    e = GapEvidence(0.0, 0.0, 1.0, 12)
    from scipy import stats

    assert e.half_width(0.9) == pytest.approx(stats.t.ppf(0.95, 11) * math.sqrt(1 + 1 / 12))
    assert GapEvidence(0.0, 0.0, None, 1).half_width(0.9) == 0.0
    assert seed_sd([1.0]) is None and seed_sd([1.0, 3.0]) == pytest.approx(math.sqrt(2))


def test_interval_is_the_wider_of_prediction_and_estimation():
    from scipy import stats

    q = stats.t.ppf(0.95, 11)
    pred = q * 0.03 * math.sqrt(1 + 1 / 12)
    mean = q * 0.03 / math.sqrt(12)
    small = GapEvidence(0.1, 0.01, 0.03, 12)  # sample noise below the retrain spread: prediction binds
    assert small.prediction_binds
    assert small.interval(0.9) == pytest.approx((0.1 - pred, 0.1 + pred))
    big = GapEvidence(0.1, 0.05, 0.03, 12)  # a model whose paired sample noise exceeds it
    est = math.hypot(1.6448536269514722 * 0.05, mean)
    assert not big.prediction_binds and est > pred
    assert big.interval(0.9) == pytest.approx((0.1 - est, 0.1 + est))


def test_tost_size_for_a_fixed_model_at_the_margin_with_large_sample_noise():
    """A fixed model that is not a retrain, its population gap exactly at the tolerance, with paired
    sample noise twice the retrain spread: the estimation interval must keep P(pass) <= alpha."""
    from auditor.judge.verdict import PASS, Gate, judge

    rng = np.random.default_rng(3)
    trials, passes, t = 4000, 0, 0.1
    for _ in range(trials):
        refs = rng.normal(0.0, 0.02, 12)
        sample_sd = 0.04
        d = t + rng.normal(0.0, sample_sd) - refs.mean()
        ev = GapEvidence(float(d), sample_sd, float(refs.std(ddof=1)), 12)
        passes += (
            judge(Gate("m", t, "config", "privacy"), {"unlearned": ev}, alpha=0.05, family=8).status == PASS
        )
    assert passes / trials <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials)


def test_tost_size_at_the_margin_for_proportions_is_at_most_nominal():
    """The review's M2.1: true forget accuracy exactly at the 0.05 margin, references at 0."""
    rng = np.random.default_rng(0)
    n, trials, passes = 101, 4000, 0
    zeros = np.zeros(n)
    for _ in range(trials):
        u = (rng.random(n) < 0.05).astype(float)
        e = evidence_from_replicates(
            u.mean(), None, [0.0] * 12, fallback_sd=0.0, cells=paired_cells(u, zeros)
        )
        lo, hi = e.interval(0.9)
        passes += lo > -0.05 and hi < 0.05
    rate = passes / trials
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials)


def test_honest_retrains_pass_at_the_default_tolerance_and_never_fail():
    """Model-level noise: 12 references and an honest retrain drawn alike; the default tolerance is
    4.5 retrain SDs, so nearly every honest retrain passes and none fails."""
    from auditor.judge.verdict import FAIL, PASS, Gate, judge, widen_to_noise

    rng = np.random.default_rng(1)
    trials, passes, fails = 2000, 0, 0
    for _ in range(trials):
        refs = rng.normal(0.0, 0.1, 12)
        u = rng.normal(0.0, 0.1)
        ev = GapEvidence(float(u - refs.mean()), 0.01, float(refs.std(ddof=1)), 12)
        gate = widen_to_noise(Gate("m", 0.2, "default", "recoverability"), ev, multiplier=4.5)
        status = judge(gate, {"unlearned": ev}, alpha=0.05, family=10).status
        passes += status == PASS
        fails += status == FAIL
    assert passes / trials > 0.95 and fails == 0


def test_forget_set_metrics_condition_on_their_samples_unless_the_references_all_agree():
    from scipy import stats

    spread = GapEvidence(0.02, 0.05, 0.01, 12, fixed_samples=True)
    pred = stats.t.ppf(0.95, 11) * 0.01 * math.sqrt(1 + 1 / 12)
    assert spread.conditioned and spread.interval(0.9) == pytest.approx((0.02 - pred, 0.02 + pred))
    # every retrain at 0/100: no spread to condition on, so Newcombe's sample part stands (no [0, 0] interval)
    agree = evidence_from_replicates(0.0, None, [0.0] * 12, cells=paired_cells(np.zeros(100), np.zeros(100)))
    from dataclasses import replace

    agree = replace(agree, fixed_samples=True)
    lo, hi = agree.interval(0.9)
    assert not agree.conditioned and hi == pytest.approx(wilson(0, 100, 0.9)[1])
