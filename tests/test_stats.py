"""The statistics engine against scikit-learn / SciPy and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc

from auditor.judge import stats


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    pos = rng.integers(0, 5, 40).astype(float)
    neg = rng.integers(0, 5, 30).astype(float)
    expected = roc_auc_score(np.r_[np.ones(40), np.zeros(30)], np.r_[pos, neg])
    assert stats.auc(pos, neg) == pytest.approx(expected)


def test_roc_curve_matches_sklearn():
    rng = np.random.default_rng(1)
    pos, neg = rng.normal(1, 1, 50), rng.normal(0, 1, 60)
    f, t, _ = stats.roc_curve(pos, neg)
    sf, st, _ = sk_roc(np.r_[np.ones(50), np.zeros(60)], np.r_[pos, neg], drop_intermediate=False)
    np.testing.assert_allclose(f, sf)
    np.testing.assert_allclose(t, st)


def test_hand_worked_auc_and_rates():
    # all members above all non-members: perfect separation
    assert stats.auc([3, 4], [1, 2]) == 1.0
    assert stats.balanced_accuracy([3, 4], [1, 2]) == 1.0
    assert stats.advantage([3, 4], [1, 2]) == 1.0
    # complete ties: chance
    assert stats.auc([1, 1], [1, 1]) == 0.5
    assert stats.balanced_accuracy([1, 1], [1, 1]) == 0.5
    # reversed: AUC 0 (over-forgetting direction), advantage still 1
    assert stats.auc([1, 2], [3, 4]) == 0.0
    assert stats.advantage([1, 2], [3, 4]) == 1.0


def test_tpr_at_fpr_zero_false_positives_and_estimability():
    neg = np.linspace(0, 1, 300)
    pos = np.r_[np.full(30, 2.0), np.full(70, 0.5)]
    est = stats.tpr_at_fpr(pos, neg, 0.01)  # 300 negatives = 3 / 0.01: just estimable
    assert est.value == pytest.approx(0.3)
    not_est = stats.tpr_at_fpr(pos, neg[:299], 0.01)
    assert not_est.value is None and "not estimable" in not_est.note and "300" in not_est.note
    assert stats.min_negatives(0.001) == 3000


def test_clopper_pearson_matches_scipy():
    lo, hi = stats.clopper_pearson(7, 50, level=0.95)
    ci = sps.binomtest(7, 50).proportion_ci(confidence_level=0.95, method="exact")
    assert (lo, hi) == pytest.approx((ci.low, ci.high))
    assert stats.clopper_pearson(0, 10)[0] == 0.0 and stats.clopper_pearson(10, 10)[1] == 1.0
    # one-sided bound with zero successes: the rule of three
    assert stats.cp_upper(0, 3000, alpha=0.05) == pytest.approx(0.001, rel=0.01)


def test_benjamini_hochberg_is_step_up():
    # sorted: 0.011 <= 0.0125, 0.02 <= 0.025, 0.04 > 0.0375 -> reject the two smallest
    p = [0.02, 0.04, 0.011, 0.9]
    assert stats.benjamini_hochberg(p, 0.05).tolist() == [True, False, True, False]
    # step-up: a later rank passing rescues earlier ranks that fail their own threshold
    p2 = [0.014, 0.03, 0.035, 0.5]  # 0.014 > 0.0125 fails rank 1, but rank 3: 0.035 <= 0.0375 passes
    assert stats.benjamini_hochberg(p2, 0.05).tolist() == [True, True, True, False]
    assert stats.benjamini_hochberg([], 0.05).size == 0


def test_compare_proportions_paired_gap():
    rng = np.random.default_rng(0)
    u = (rng.random(200) < 0.9).astype(float)
    comp = stats.compare_proportions(
        {"unlearned": [u], "reference": [u.copy()]}, reps=300, level=0.95, rng=rng
    )
    assert comp.gap.value == 0.0 and comp.gap.ci == (0.0, 0.0)  # identical outcomes: a degenerate, exact gap
    worse = u.copy()
    worse[:60] = 0
    comp = stats.compare_proportions({"unlearned": [u], "reference": [worse]}, reps=300, level=0.95, rng=rng)
    assert comp.gap.value > 0 and comp.gap.ci[0] > 0


def test_compare_scores_detects_separation_and_reports_spread():
    rng = np.random.default_rng(0)
    leaky = (rng.normal(2, 1, 100), rng.normal(0, 1, 80))
    clean = [(rng.normal(0, 1, 100), rng.normal(0, 1, 80)) for _ in range(2)]
    comp = stats.compare_scores(
        stats.auc_rows, {"unlearned": [leaky], "reference": clean}, reps=300, level=0.95, rng=rng
    )
    assert comp.per_model["unlearned"].value > 0.85
    assert 0.35 < comp.per_model["reference"].value < 0.65
    assert comp.gap.ci[0] > 0.2 and comp.reference_spread >= 0
    few = stats.compare_scores(
        stats.auc_rows,
        {"unlearned": [leaky], "reference": clean},
        reps=50,
        level=0.95,
        rng=rng,
        min_negatives_needed=300,
    )
    assert few.gap.value is None and "not estimable" in few.gap.note


def test_row_statistics_match_the_scalar_versions():
    rng = np.random.default_rng(3)
    pos = rng.integers(0, 6, (20, 30)).astype(float)  # many ties
    neg = rng.integers(0, 6, (20, 25)).astype(float)
    np.testing.assert_allclose(stats.auc_rows(pos, neg), [stats.auc(p, q) for p, q in zip(pos, neg)])
    np.testing.assert_allclose(
        stats.balanced_accuracy_rows(pos, neg), [stats.balanced_accuracy(p, q) for p, q in zip(pos, neg)]
    )
    rows = stats.tpr_at_fpr_rows(0.1)(pos, neg)
    for r, p, q in zip(rows, pos, neg):
        f, t, _ = stats.roc_curve(p, q)
        assert r == pytest.approx(t[f <= 0.1 + 1e-12].max())


def test_epsilon_from_counts_hand_worked():
    # perfect attack, n = 100 per side, delta = 0: both error bounds are CP_upper(0, 100, 0.025)
    ub = 1 - 0.025 ** (1 / 100)
    expected = np.log((1 - ub) / ub)
    assert stats.epsilon_from_counts(
        fp=0, n_neg=100, fn=0, n_pos=100, delta=0.0, alpha=0.05
    ) == pytest.approx(expected)
    assert expected == pytest.approx(3.28, abs=0.01)  # Clopper-Pearson at 0/100 and 95 %: 3.28
    # a useless attack gives no evidence
    assert stats.epsilon_from_counts(fp=50, n_neg=100, fn=50, n_pos=100, delta=1e-5, alpha=0.05) == 0.0


def test_epsilon_strategies():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(3, 1, 400), rng.normal(0, 1, 400)
    split = stats.epsilon_lower_bound(pos, neg, strategy="split", rng=np.random.default_rng(1))
    bonf = stats.epsilon_lower_bound(pos, neg, strategy="bonferroni")
    fixed = stats.epsilon_lower_bound(pos, neg, strategy="fixed", threshold=1.5)
    assert 0.5 < split.value < 4 and 0.5 < bonf.value < 4 and 0.5 < fixed.value < 4
    assert "split" in split.note and "Bonferroni" in bonf.note and "fixed" in fixed.note
    null = stats.epsilon_lower_bound(rng.normal(0, 1, 300), rng.normal(0, 1, 300), strategy="bonferroni")
    assert null.value < 0.3
    with pytest.raises(ValueError):
        stats.epsilon_lower_bound(pos, neg, strategy="fixed")


@pytest.mark.parametrize("levels", [None, 5])
def test_epsilon_at_thresholds_equals_counting_each_threshold(levels):
    """The one-sort path gives epsilon_from_counts' numbers at every threshold, ties and +inf included."""
    rng = np.random.default_rng(3)
    if levels is None:
        pos, neg = rng.normal(1.0, 1, 150), rng.normal(0, 1, 120)
    else:
        pos, neg = rng.integers(2, levels + 2, 150).astype(float), rng.integers(0, levels, 120).astype(float)
    thresholds = np.unique(np.concatenate([pos, neg, [np.inf, -np.inf]]))
    fast = stats.epsilon_at_thresholds(thresholds, pos, neg, delta=1e-5, alpha=0.01)
    slow = [
        stats.epsilon_from_counts(
            fp=int((neg >= t).sum()),
            n_neg=neg.size,
            fn=int((pos < t).sum()),
            n_pos=pos.size,
            delta=1e-5,
            alpha=0.01,
        )
        for t in thresholds
    ]
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
    assert fast.max() > 0  # the signal is there: the comparison is not between zeros


def test_positive_control_replicates_are_original_minus_reference_on_the_same_resamples():
    rng = np.random.default_rng(1)
    u = (rng.random(150) < 0.5).astype(float)
    ref = (rng.random(150) < 0.5).astype(float)
    orig = np.ones(150)
    comp = stats.compare_proportions(
        {"unlearned": [u], "reference": [ref], "original": [orig]},
        reps=200,
        level=0.95,
        rng=np.random.default_rng(2),
    )
    no_orig = stats.compare_proportions(
        {"unlearned": [u], "reference": [ref]}, reps=200, level=0.95, rng=np.random.default_rng(2)
    )
    assert no_orig.control_samples is None
    # same resamples: control - gap = original - unlearned on each resample
    idx = stats.bootstrap_indices(150, 200, np.random.default_rng(2))
    assert comp.control_samples.mean() == pytest.approx(1 - ref.mean(), abs=0.03)
    np.testing.assert_allclose(comp.control_samples - comp.gap_samples, (orig[idx] - u[idx]).mean(axis=1))
    leaky = (rng.normal(2, 1, 60), rng.normal(0, 1, 50))
    clean = (rng.normal(0, 1, 60), rng.normal(0, 1, 50))
    sc = stats.compare_scores(
        stats.auc_rows,
        {"unlearned": [clean], "reference": [clean], "original": [leaky]},
        reps=200,
        level=0.95,
        rng=rng,
    )
    assert np.all(sc.gap_samples == 0)  # identical models: an exact zero gap
    point = sc.per_model["original"].value - sc.per_model["reference"].value
    assert point > 0.25 and sc.control_samples.min() > 0.1  # the leaky original is far from the reference
    assert sc.control_samples.mean() == pytest.approx(point, abs=0.03)


def test_resampled_means_equal_gathering_each_draw():
    """Counts times the arrays give the draws' means: exactly for 0/1 outcomes, to rounding otherwise."""
    rng = np.random.default_rng(5)
    n = 257
    binary = [rng.integers(0, 2, n).astype(float) for _ in range(4)]
    real = [rng.normal(0, 3, n) for _ in range(3)]
    idx = stats.bootstrap_indices(n, 300, rng)
    got = stats.resampled_means(binary, idx)
    np.testing.assert_array_equal(got, np.stack([a[idx].mean(axis=1) for a in binary], axis=1))
    got = stats.resampled_means(real, idx)
    np.testing.assert_allclose(
        got, np.stack([a[idx].mean(axis=1) for a in real], axis=1), rtol=1e-12, atol=1e-12
    )
