"""Weighted (sort once) bootstrap statistics against the index-based ones and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from auditor.judge import rankstats, stats

FPRS = (0.0, 0.001, 0.05, 0.1, 0.5, 1.0)


def _index_path(pos, neg, ip, ineg):
    """The statistics of :mod:`auditor.judge.stats` on resampled score matrices: the reference."""
    p, q = pos[ip], neg[ineg]
    return (
        stats.auc_rows(p, q),
        stats.balanced_accuracy_rows(p, q),
        [stats.tpr_at_fpr_rows(f)(p, q) for f in FPRS],
    )


def _weighted_path(pos, neg, pc, nc):
    return (
        rankstats.weighted_auc(pos, neg, pc, nc),
        rankstats.weighted_balanced_accuracy(pos, neg, pc, nc),
        [rankstats.weighted_tpr_at_fpr(pos, neg, pc, nc, f) for f in FPRS],
    )


def _assert_same(pos, neg, reps, rng):
    ip, ineg = stats.bootstrap_indices(pos.size, reps, rng), stats.bootstrap_indices(neg.size, reps, rng)
    _assert_draws_agree(pos, neg, ip, ineg)


def _assert_draws_agree(pos, neg, ip, ineg):
    """The weighted path on the draws' counts equals the index path on the same draws."""
    pc, nc = rankstats.index_counts(ip, pos.size), rankstats.index_counts(ineg, neg.size)
    auc_i, ba_i, tpr_i = _index_path(pos, neg, ip, ineg)
    auc_w, ba_w, tpr_w = _weighted_path(pos, neg, pc, nc)
    np.testing.assert_allclose(auc_w, auc_i, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ba_w, ba_i, rtol=0, atol=1e-12)
    for w, i in zip(tpr_w, tpr_i):
        np.testing.assert_allclose(w, i, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "n_pos, n_neg, levels",
    [
        (40, 60, None),
        (60, 40, None),  # continuous scores, either class the larger
        (30, 25, 6),
        (7, 90, 3),
        (90, 7, 3),  # many ties within and across classes
        (1, 1, None),
        (1, 1, 1),
        (1, 12, 2),
        (12, 1, 2),  # tiny samples
    ],
)
def test_weighted_replicates_equal_the_index_path(n_pos, n_neg, levels):
    rng = np.random.default_rng(n_pos * 1000 + n_neg)
    if levels is None:
        pos, neg = rng.normal(0.7, 1, n_pos), rng.normal(0, 1, n_neg)
    else:
        pos, neg = rng.integers(0, levels, n_pos).astype(float), rng.integers(0, levels, n_neg).astype(float)
    _assert_same(pos, neg, 200, rng)


@pytest.mark.parametrize(
    "pos, neg",
    [
        (np.full(5, 2.0), np.full(7, 2.0)),  # all scores equal
        (np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0])),  # perfect separation
        (np.array([0.0, 1.0]), np.array([3.0, 4.0, 5.0])),  # reversed
        (np.array([np.inf, 1.0, -np.inf]), np.array([-np.inf, 0.0, np.inf])),  # infinite scores tie
    ],
)
def test_degenerate_score_sets(pos, neg):
    _assert_same(pos, neg, 100, np.random.default_rng(0))


def test_degenerate_values_are_the_textbook_ones():
    one = np.ones((1, 3), np.int64)
    equal = (np.zeros(3), np.zeros(3), one, one)
    assert rankstats.weighted_auc(*equal)[0] == 0.5 and rankstats.weighted_balanced_accuracy(*equal)[0] == 0.5
    assert rankstats.weighted_tpr_at_fpr(*equal, 0.1)[0] == 0.0  # the tie cannot be split: no point below 1
    apart = (np.array([4.0, 5.0, 6.0]), np.array([1.0, 2.0, 3.0]), one, one)
    assert rankstats.weighted_auc(*apart)[0] == 1.0 and rankstats.weighted_balanced_accuracy(*apart)[0] == 1.0
    assert rankstats.weighted_tpr_at_fpr(*apart, 0.0)[0] == 1.0
    assert rankstats.weighted_auc(apart[1], apart[0], one, one)[0] == 0.0


@pytest.mark.parametrize("ties", [False, True])
def test_single_replicate_matches_sklearn_with_counts_as_sample_weights(ties):
    rng = np.random.default_rng(7)
    pos, neg = rng.normal(0.5, 1, 50), rng.normal(0, 1, 70)
    if ties:
        pos, neg = np.round(pos), np.round(neg)
    pc, nc = rng.integers(0, 4, (1, 50)), rng.integers(0, 4, (1, 70))
    pc[0, 0] = nc[0, 0] = 1  # at least one draw per class
    y, s, w = np.r_[np.ones(50), np.zeros(70)], np.r_[pos, neg], np.r_[pc[0], nc[0]].astype(float)
    expected_auc = roc_auc_score(y, s, sample_weight=w)
    assert rankstats.weighted_auc(pos, neg, pc, nc)[0] == pytest.approx(expected_auc, abs=1e-12)
    fpr, tpr, _ = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    expected_ba = ((tpr + 1 - fpr) / 2).max()
    assert rankstats.weighted_balanced_accuracy(pos, neg, pc, nc)[0] == pytest.approx(expected_ba, abs=1e-12)
    for f in FPRS:
        expected = tpr[fpr <= f + 1e-12].max()
        assert rankstats.weighted_tpr_at_fpr(pos, neg, pc, nc, f)[0] == pytest.approx(expected, abs=1e-12)


def test_unit_counts_are_the_plain_statistics():
    rng = np.random.default_rng(8)
    pos, neg = rng.integers(0, 5, 40).astype(float), rng.integers(0, 5, 30).astype(float)
    pc, nc = np.ones((1, 40), np.int64), np.ones((1, 30), np.int64)
    y = np.r_[np.ones(40), np.zeros(30)]
    expected_auc = roc_auc_score(y, np.r_[pos, neg])
    assert rankstats.weighted_auc(pos, neg, pc, nc)[0] == pytest.approx(expected_auc, abs=1e-12)
    assert rankstats.weighted_balanced_accuracy(pos, neg, pc, nc)[0] == stats.balanced_accuracy(pos, neg)
    assert rankstats.weighted_tpr_at_fpr(pos, neg, pc, nc, 0.1)[0] == stats.tpr_at_fpr(pos, neg, 0.1).value


def test_index_counts_is_a_row_wise_bincount():
    idx = np.random.default_rng(9).integers(0, 13, (6, 20))
    counts = rankstats.index_counts(idx, 13)
    np.testing.assert_array_equal(counts, [np.bincount(row, minlength=13) for row in idx])
    assert rankstats.index_counts(np.zeros((3, 0), np.int64), 0).shape == (3, 0)


def test_chunks_do_not_change_the_numbers(monkeypatch):
    rng = np.random.default_rng(10)
    pos, neg = rng.integers(0, 8, 30).astype(float), rng.normal(3, 2, 50).round(1)
    pc, nc = rng.integers(0, 3, (37, 30)), rng.integers(0, 3, (37, 50))
    whole = _weighted_path(pos, neg, pc, nc)
    monkeypatch.setattr(rankstats, "CHUNK_BYTES", 8 * 80 * 4)  # four replicates per chunk
    chunked = _weighted_path(pos, neg, pc, nc)
    for a, b in zip(whole[:2] + tuple(whole[2]), chunked[:2] + tuple(chunked[2])):
        np.testing.assert_array_equal(a, b)


def test_rank_scores_rejects_what_has_no_rank():
    with pytest.raises(ValueError, match="NaN"):
        rankstats.rank_scores(np.array([1.0, np.nan]), np.array([0.0]))
    with pytest.raises(ValueError, match="at least one"):
        rankstats.rank_scores(np.array([]), np.array([0.0]))


def _without_weighted_form(stat):
    return lambda p, q: stat(p, q)  # no ``weighted`` attribute: compare_scores takes the index path


@pytest.mark.parametrize(
    "stat",
    [stats.auc_rows, stats.balanced_accuracy_rows, stats.tpr_at_fpr_rows(0.05)],
    ids=["auc", "balanced_accuracy", "tpr@0.05"],
)
def test_compare_scores_gives_the_index_paths_numbers(stat):
    rng = np.random.default_rng(11)

    def model(shift):
        return rng.normal(shift, 1, 60).round(1), rng.normal(0, 1, 140).round(1)

    scores = {"unlearned": [model(0.8)], "reference": [model(0.0), model(0.1)], "original": [model(1.5)]}
    fast = stats.compare_scores(stat, scores, reps=300, level=0.9, rng=np.random.default_rng(3))
    slow = stats.compare_scores(
        _without_weighted_form(stat), scores, reps=300, level=0.9, rng=np.random.default_rng(3)
    )
    np.testing.assert_allclose(fast.gap_samples, slow.gap_samples, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.control_samples, slow.control_samples, rtol=0, atol=1e-12)
    assert fast.gap.ci == pytest.approx(slow.gap.ci, abs=1e-12) and fast.gap.value == slow.gap.value
    for role in scores:
        assert fast.per_model[role].ci == pytest.approx(slow.per_model[role].ci, abs=1e-12)
        assert fast.per_model[role].value == slow.per_model[role].value


def test_compare_scores_keeps_the_index_path_for_nan_scores():
    rng = np.random.default_rng(12)
    pos, neg = rng.normal(1, 1, 30), rng.normal(0, 1, 40)
    pos[3] = np.nan
    scores = {"unlearned": [(pos, neg)], "reference": [(rng.normal(0, 1, 30), rng.normal(0, 1, 40))]}
    for stat in (stats.auc_rows, stats.balanced_accuracy_rows):
        fast = stats.compare_scores(stat, scores, reps=100, level=0.9, rng=np.random.default_rng(4))
        slow = stats.compare_scores(
            _without_weighted_form(stat), scores, reps=100, level=0.9, rng=np.random.default_rng(4)
        )
        np.testing.assert_array_equal(fast.gap_samples, slow.gap_samples)


@pytest.mark.parametrize("levels", [None, 4])
def test_paired_draws_equal_the_index_path(levels):
    """U-LiRA resamples the forget samples once for both sides (the same counts as members and as
    non-members): the weighted path must still equal indexing both score vectors with one draw."""
    rng = np.random.default_rng(11)
    n = 80
    if levels is None:
        u, r = rng.normal(0.4, 1, n), rng.normal(0, 1, n)
    else:
        u, r = rng.integers(0, levels, n).astype(float), rng.integers(0, levels, n).astype(float)
    idx = stats.bootstrap_indices(n, 150, rng)
    _assert_draws_agree(u, r, idx, idx)
