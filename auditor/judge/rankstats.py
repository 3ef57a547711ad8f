"""Bootstrap statistics of membership scores in linear time per replicate: sort once, resample by weights.

A bootstrap replicate draws each class's n samples with replacement (Efron & Tibshirani, "An
Introduction to the Bootstrap", 1993, ch. 6), so it is fully described by a vector of multinomial
counts over the original samples. Every statistic of a resample that depends only on the order of
the scores (AUC, ROC operating points) can therefore be read from the original scores sorted
*once*, by accumulating the counts along that one order: O(n) per replicate instead of the
O(n log n) of sorting each resampled score matrix again.

* AUC is the Mann-Whitney U statistic over n_pos n_neg, ties counted 1/2 (Mann & Whitney 1947;
  Hanley & McNeil 1982): twice U is the sum over non-members j of count_j * (members above s_j +
  members at or above s_j), the members counted with their weights too.
* ROC operating points are the cumulative weighted member and non-member counts at the end of each
  group of tied scores (a threshold cannot split tied scores). Only the points that can be optimal
  for the statistics below are kept: the end of a group holding a member that is followed by a
  group holding a non-member (or the last group). The others are weakly dominated for every
  weighting, so maxima over the kept points are the maxima over all points.
* Best balanced accuracy is (TPR + 1 - FPR) / 2 maximised over the operating points, the empty set
  (1/2) included; TPR at a fixed FPR is the highest TPR at an FPR within ``fpr + 1e-12``.

Counts are integers, the sums are exact in int64, and the rates are formed with the same floating
point operations as :mod:`auditor.judge.stats`' index-based functions, so both give identical numbers.
Replicates are processed in chunks that keep each ``(chunk, n)`` work array near
``CHUNK_BYTES``: memory stays bounded whatever the number of replicates, and the work arrays stay
in cache (larger chunks were no faster).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

CHUNK_BYTES = 1 << 20
"""Target size of one ``(replicates, samples)`` int64 work array (one replicate at least)."""


@dataclass(frozen=True)
class Ranking:
    """One model's member and non-member scores sorted once, with what each statistic reads.

    Attributes:
        pos_order: Member indices by descending score.
        neg_order: Non-member indices by descending score.
        members_cumulated: Whether the AUC accumulates the members' counts and sums over the
            non-members (chosen when members are the larger class) or the other way round.
        above: Per sample of the summed class, by descending score, the number of samples of the
            cumulated class scoring strictly higher (non-decreasing, so reading the running totals
            at these positions streams through memory).
        at_or_above: Likewise, scoring at least as high.
        corner_pos: Per candidate operating point, the number of highest-scoring members admitted.
        corner_neg: Per candidate operating point, the number of highest-scoring non-members admitted.
    """

    pos_order: np.ndarray
    neg_order: np.ndarray
    members_cumulated: bool
    above: np.ndarray
    at_or_above: np.ndarray
    corner_pos: np.ndarray
    corner_neg: np.ndarray


def rank_scores(pos: np.ndarray, neg: np.ndarray) -> Ranking:
    """Sort member and non-member scores once (O(n log n)) for any number of weighted replicates.

    Args:
        pos: Member scores, higher means member.
        neg: Non-member scores.

    Raises:
        ValueError: Without a member or a non-member, or with a NaN score (which has no rank).
    """
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if pos.size == 0 or neg.size == 0:
        raise ValueError("ranking needs at least one member and one non-member score")
    if np.isnan(pos).any() or np.isnan(neg).any():
        raise ValueError("NaN scores have no rank")
    pos_order, neg_order = np.argsort(-pos, kind="stable"), np.argsort(-neg, kind="stable")
    pos_asc, neg_asc = pos[pos_order[::-1]], neg[neg_order[::-1]]
    values = np.unique(np.concatenate([pos_asc, neg_asc]))[::-1]  # distinct scores, descending
    pos_ge = pos.size - np.searchsorted(pos_asc, values, side="left")  # members at or above each value
    neg_ge = neg.size - np.searchsorted(neg_asc, values, side="left")
    corner = (np.diff(pos_ge, prepend=0) > 0) & np.r_[np.diff(neg_ge) > 0, True]
    members_cumulated = pos.size >= neg.size  # accumulate the larger class, gather for the smaller
    ranked, queries = (pos_asc, neg_asc[::-1]) if members_cumulated else (neg_asc, pos_asc[::-1])
    above = ranked.size - np.searchsorted(ranked, queries, side="right")
    at_or_above = ranked.size - np.searchsorted(ranked, queries, side="left")
    return Ranking(
        pos_order,
        neg_order,
        members_cumulated,
        above,
        at_or_above,
        corner_pos=pos_ge[corner],
        corner_neg=neg_ge[corner],
    )


def index_counts(idx: np.ndarray, n: int) -> np.ndarray:
    """Turn bootstrap index draws into multinomial counts: a row-wise bincount in linear time.

    Args:
        idx: ``(B, m)`` indices into ``range(n)``, e.g. from :func:`auditor.judge.stats.bootstrap_indices`.
        n: Number of samples drawn from.

    Returns:
        ``(B, n)`` counts; row b counts how often each sample appears in ``idx[b]``. They are
        uint16 when a row holds fewer than 2**16 draws (no count can exceed that), else int32:
        fewer bytes to write and to read back for every model.
    """
    out = np.empty((idx.shape[0], n), np.uint16 if idx.shape[1] < 1 << 16 else np.int32)
    for counts, draws in zip(out, idx):  # one row at a time: faster than offset indices over a block
        counts[:] = np.bincount(draws, minlength=n)
    return out


def weighted_auc(
    pos: np.ndarray, neg: np.ndarray, pos_counts: np.ndarray, neg_counts: np.ndarray
) -> np.ndarray:
    """AUC (Mann-Whitney U / (n_pos n_neg), ties 1/2) of each weighted replicate.

    Args:
        pos: ``(P,)`` member scores.
        neg: ``(N,)`` non-member scores.
        pos_counts: ``(B, P)`` how often each member is drawn in each replicate (every row draws at
            least one), e.g. from :func:`index_counts`.
        neg_counts: ``(B, N)`` likewise for non-members.

    Returns:
        ``(B,)`` AUCs, equal to :func:`auditor.judge.stats.auc_rows` on the resampled score matrices.
    """
    return _by_chunks(_auc_chunk, pos, neg, pos_counts, neg_counts)


def weighted_balanced_accuracy(
    pos: np.ndarray, neg: np.ndarray, pos_counts: np.ndarray, neg_counts: np.ndarray
) -> np.ndarray:
    """Best balanced accuracy max (TPR + 1 - FPR) / 2 of each weighted replicate.

    Arguments as for :func:`weighted_auc`; equal to :func:`auditor.judge.stats.balanced_accuracy_rows`.
    """
    return _by_chunks(_balanced_accuracy_chunk, pos, neg, pos_counts, neg_counts)


def weighted_tpr_at_fpr(
    pos: np.ndarray, neg: np.ndarray, pos_counts: np.ndarray, neg_counts: np.ndarray, fpr: float
) -> np.ndarray:
    """Highest TPR at an FPR of at most ``fpr`` (+1e-12) of each weighted replicate.

    Arguments as for :func:`weighted_auc`; equal to :func:`auditor.judge.stats.tpr_at_fpr_rows`.
    """

    def chunk(r: Ranking, pc: np.ndarray, nc: np.ndarray) -> np.ndarray:
        f, t = _roc_corners(r, pc, nc)
        return np.where(f <= fpr + 1e-12, t, 0.0).max(axis=1)

    return _by_chunks(chunk, pos, neg, pos_counts, neg_counts)


def _by_chunks(
    stat: Callable[[Ranking, np.ndarray, np.ndarray], np.ndarray],
    pos: np.ndarray,
    neg: np.ndarray,
    pos_counts: np.ndarray,
    neg_counts: np.ndarray,
) -> np.ndarray:
    """Rank once, then evaluate ``stat(ranking, pos_counts[rows], neg_counts[rows])`` chunk by chunk."""
    r = rank_scores(pos, neg)
    b = pos_counts.shape[0]
    out = np.empty(b)
    for rows in _chunks(b, pos_counts.shape[1] + neg_counts.shape[1]):
        out[rows] = stat(r, pos_counts[rows], neg_counts[rows])
    return out


def _chunks(b: int, n: int) -> Iterator[slice]:
    """Row slices of at most ``CHUNK_BYTES / (8 n)`` replicates (at least one)."""
    step = max(1, CHUNK_BYTES // (8 * max(n, 1)))
    return (slice(s, min(s + step, b)) for s in range(0, b, step))


def _cumulative(counts: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``(c, m + 1)`` running totals of ``counts`` taken in ``order``, starting from 0."""
    out = np.zeros((counts.shape[0], order.size + 1), np.int32 if order.size < 1 << 31 else np.int64)
    out[:, 1:] = np.take(counts, order, axis=1)
    return np.cumsum(out, axis=1, out=out)


def _auc_chunk(r: Ranking, pc: np.ndarray, nc: np.ndarray) -> np.ndarray:
    """Twice U counts a (member, non-member) pair 2 when the member is higher, 1 when tied.

    Summed over the smaller class: X = sum_j w_j (W(above_j) + W(at_or_above_j)), W the running
    total of the other class's counts by descending score; X = 2U when the members are
    accumulated, and X = 2(n_pos n_neg - U) otherwise.
    """
    if r.members_cumulated:
        cumulated, summed = _cumulative(pc, r.pos_order), np.take(nc, r.neg_order, axis=1).astype(np.int64)
    else:
        cumulated, summed = _cumulative(nc, r.neg_order), np.take(pc, r.pos_order, axis=1).astype(np.int64)
    pairs = cumulated[:, -1] * summed.sum(axis=1)
    reached = np.take(cumulated, r.above, axis=1) + np.take(cumulated, r.at_or_above, axis=1)
    x = (summed * reached).sum(axis=1)
    twice_u = x if r.members_cumulated else 2 * pairs - x
    return (twice_u / 2.0) / pairs


def _roc_corners(r: Ranking, pc: np.ndarray, nc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) of each replicate at the candidate operating points, ``(c, corners)`` each."""
    cp, cn = _cumulative(pc, r.pos_order), _cumulative(nc, r.neg_order)
    return np.take(cn, r.corner_neg, axis=1) / cn[:, -1:], np.take(cp, r.corner_pos, axis=1) / cp[:, -1:]


def _balanced_accuracy_chunk(r: Ranking, pc: np.ndarray, nc: np.ndarray) -> np.ndarray:
    """The best (TPR + 1 - FPR) / 2 over the corners, at least the empty set's 1/2."""
    f, t = _roc_corners(r, pc, nc)
    return np.maximum(((t + 1.0 - f) / 2.0).max(axis=1), 0.5)
