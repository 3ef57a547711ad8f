"""The statistics engine: pure NumPy/SciPy functions behind every number in the report.

Conventions: membership scores are "higher means member"; positives are members (the forget set),
negatives are non-members (held-out data). Functions return ``None`` for a quantity the sample
cannot support, together with a note saying why, rather than a number.

References:
    * ROC/AUC: Hanley & McNeil (1982); AUC as the Mann-Whitney U statistic with ties counted 1/2.
    * TPR at low FPR: Carlini et al., "Membership Inference Attacks From First Principles"
      (S&P 2022). A TPR at FPR x is reported only with at least 3/x negatives (the 95 % "rule of
      three").
    * Clopper & Pearson (1934) exact binomial intervals.
    * Bootstrap percentile intervals for display: Efron & Tibshirani (1993), stratified by
      membership label (members and non-members resampled separately). Gates use
      :mod:`auditor.judge.inference`, which adds the randomness of training.
    * Benjamini & Hochberg (1995) step-up procedure.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
from scipy import stats as sps

from auditor.judge.inference import GapEvidence, evidence_from_replicates, on_fixed_samples, paired_cells
from auditor.judge.rankstats import (
    index_counts,
    weighted_auc,
    weighted_balanced_accuracy,
    weighted_tpr_at_fpr,
)


@dataclass(frozen=True)
class Estimate:
    """A number with its sample size and interval, or ``value=None`` with the reason.

    Attributes:
        value: The point estimate, or None when not estimable.
        ci: The interval at ``level``, or None.
        n: The sample size behind it (e.g. the number of forget samples).
        note: Why it is not estimable, or a caveat.
        level: Confidence level of ``ci``.
    """

    value: float | None
    ci: tuple[float, float] | None = None
    n: int | None = None
    note: str | None = None
    level: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "ci": list(self.ci) if self.ci is not None else None,
            "n": self.n,
            "note": self.note,
            "level": self.level,
        }


def clopper_pearson(k: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Two-sided exact binomial interval for k successes in n trials."""
    if n <= 0:
        raise ValueError("n must be positive")
    a = 1.0 - level
    lo = 0.0 if k == 0 else float(sps.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def cp_upper(k: int, n: int, *, alpha: float) -> float:
    """One-sided Clopper-Pearson upper bound at confidence 1 - alpha (1 when k == n)."""
    if k >= n:
        return 1.0
    return float(sps.beta.ppf(1 - alpha, k + 1, n - k))


def proportion(successes: np.ndarray, *, level: float = 0.95) -> Estimate:
    """Mean of a 0/1 array with its Clopper-Pearson interval."""
    s = np.asarray(successes)
    n = int(s.size)
    if n == 0:
        return Estimate(None, n=0, note="not estimable: no samples")
    k = int(s.sum())
    return Estimate(k / n, clopper_pearson(k, n, level=level), n=n, level=level)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative) + 1/2 P(tie)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if pos.size == 0 or neg.size == 0:
        raise ValueError("AUC needs at least one positive and one negative")
    return float(auc_rows(pos[None, :], neg[None, :])[0])


def auc_rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Row-wise AUC of ``pos[b]`` against ``neg[b]`` (shapes ``(B, P)`` and ``(B, N)``), via ranks."""
    n_pos, n_neg = pos.shape[1], neg.shape[1]
    ranks = sps.rankdata(np.concatenate([pos, neg], axis=1), axis=1, method="average")
    u = ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


auc_rows.weighted = weighted_auc  # type: ignore[attr-defined]


def roc_curve(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) for the rule "member if score >= threshold".

    Starts at (0, 0) with threshold +inf and ends at (1, 1); ties move both rates at once.
    """
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    scores = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    distinct = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    tps = np.cumsum(labels)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(pos.size, 1)]
    fpr = np.r_[0.0, fps / max(neg.size, 1)]
    thresholds = np.r_[np.inf, scores[distinct]]
    return fpr, tpr, thresholds


def min_negatives(fpr: float) -> int:
    """Negatives needed before a TPR at ``fpr`` is estimable: ceil(3 / fpr)."""
    return math.ceil(3.0 / fpr - 1e-9)


def tpr_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float) -> Estimate:
    """Highest TPR over thresholds whose empirical FPR is at most ``fpr``.

    Not estimable when the negatives are fewer than 3/fpr: with fewer, even zero false positives
    cannot show that the true FPR is below ``fpr`` at 95 % confidence.
    """
    neg = np.asarray(neg, float)
    need = min_negatives(fpr)
    if neg.size < need:
        return Estimate(
            None,
            n=int(neg.size),
            note=f"not estimable: {neg.size} negatives < {need} needed for TPR at {fpr:.3g} FPR",
        )
    f, t, _ = roc_curve(pos, neg)
    return Estimate(float(t[f <= fpr + 1e-12].max()), n=int(np.asarray(pos).size + neg.size))


def balanced_accuracy(pos: np.ndarray, neg: np.ndarray) -> float:
    """Best threshold's (TPR + TNR) / 2: the attack's accuracy on a balanced member/non-member set."""
    f, t, _ = roc_curve(pos, neg)
    return float(((t + 1.0 - f) / 2.0).max())


def advantage(pos: np.ndarray, neg: np.ndarray) -> float:
    """Membership advantage max |TPR - FPR| (Yeom et al., CSF 2018)."""
    f, t, _ = roc_curve(pos, neg)
    return float(np.abs(t - f).max())


def bootstrap_indices(n: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``(reps, n)`` indices drawn with replacement."""
    return rng.integers(0, n, size=(reps, n)) if n else np.zeros((reps, 0), dtype=np.int64)


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of bootstrap replicates."""
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(np.asarray(samples, float), [a, 1.0 - a])
    return float(lo), float(hi)


def benjamini_hochberg(pvalues: Sequence[float], q: float) -> np.ndarray:
    """Step-up BH: reject the k smallest p-values, k the largest i with p_(i) <= i q / m."""
    p = np.asarray(pvalues, float)
    m = p.size
    if m == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(p)
    below = p[order] <= q * np.arange(1, m + 1) / m
    reject = np.zeros(m, dtype=bool)
    if below.any():
        k = int(np.nonzero(below)[0].max())
        reject[order[: k + 1]] = True
    return reject


# --------------------------------------------------------------------------------------------------
# Model comparisons: the unlearned model against the mean of the references, paired by sample.


@dataclass(frozen=True)
class Comparison:
    """One metric on each model plus the paired gap (unlearned - mean of references).

    Attributes:
        per_model: Role -> estimate (roles: unlearned, reference, original; reference is the mean
            over reference seeds).
        gap: Point gap and its interval at ``level``.
        gap_samples: Bootstrap replicates of the gap (for intervals at other levels).
        reference_spread: Largest difference between two reference seeds (0 with one seed).
        control_samples: Bootstrap replicates of the *positive control* gap, original - reference,
            on the same resamples as ``gap_samples`` (None when the original was not measured).
        evidence: Role -> :class:`~auditor.judge.inference.GapEvidence` of that role's gap to the
            references, for every role but ``reference`` (the unlearned model, the original and
            each deception control): what the verdict judges, training randomness included.
    """

    per_model: dict[str, Estimate]
    gap: Estimate
    gap_samples: np.ndarray | None
    reference_spread: float | None
    control_samples: np.ndarray | None = None
    evidence: dict[str, GapEvidence] = field(default_factory=dict)


def forget_set_comparison(comp: Comparison) -> Comparison:
    """``comp`` measured on the forget set alone, which the request fixes.

    Its gap evidence is conditioned on those samples
    (:attr:`auditor.judge.inference.GapEvidence.fixed_samples`).
    """
    return replace(comp, evidence=on_fixed_samples(comp.evidence))


def resampled_means(arrays: Sequence[np.ndarray], idx: np.ndarray) -> np.ndarray:
    """``(B, M)`` means of each of M per-sample arrays over each bootstrap draw in ``idx`` ``(B, n)``.

    Equal to ``a[idx].mean(axis=1)`` for every array (exactly so for 0/1 outcomes, whose sums are
    integers), but computed as multinomial counts times the arrays (Efron & Tibshirani 1993: a
    resample is a vector of counts): one matrix product for all models, in blocks of draws that
    keep memory bounded, where gathering ``a[idx]`` copied a ``(B, n)`` matrix per model.
    """
    stacked = np.stack([np.asarray(a, float) for a in arrays], axis=1)  # (n, M)
    n = stacked.shape[0]
    out = np.empty((idx.shape[0], stacked.shape[1]))
    step = max(1, (32 << 20) // (8 * max(n, 1)))
    for start in range(0, idx.shape[0], step):
        rows = slice(start, start + step)
        out[rows] = index_counts(idx[rows], n).astype(float) @ stacked / n
    return out


def compare_proportions(
    values: dict[str, list[np.ndarray]], *, reps: int, level: float, rng: np.random.Generator
) -> Comparison:
    """Compare per-sample 0/1 (or real-valued mean) outcomes on the same samples.

    The gate's evidence is analytic: Newcombe's paired score interval for 0/1 outcomes (the
    standard error of the mean paired difference otherwise) against the references' per-sample
    mean, plus the spread of the references' means (:mod:`auditor.judge.inference`).

    Args:
        values: Role -> list of per-sample arrays (one per model of that role; several for
            ``reference``). Must contain ``unlearned`` and ``reference``.
        reps: Bootstrap resamples (for the displayed percentile intervals).
        level: Confidence level of the reported intervals.
        rng: Source of the resampling.
    """
    n = int(values["unlearned"][0].size)
    if n == 0:
        empty = Estimate(None, n=0, note="not estimable: no samples")
        return Comparison({r: empty for r in values}, empty, None, None)
    per_model = {}
    for role, arrays in values.items():
        mean = float(np.mean([a.mean() for a in arrays]))
        if len(arrays) == 1 and set(np.unique(arrays[0])) <= {0, 1}:
            per_model[role] = proportion(arrays[0], level=level)
        else:
            reps_mean = resampled_means(arrays, bootstrap_indices(n, reps, rng)).mean(axis=1)
            per_model[role] = Estimate(mean, percentile_interval(reps_mean, level), n=n, level=level)
    idx = bootstrap_indices(n, reps, rng)
    u = values["unlearned"][0]
    refs = values["reference"]
    with_original = bool(values.get("original"))
    means = resampled_means([u, *refs] + ([values["original"][0]] if with_original else []), idx)
    ref_reps = means[:, 1 : 1 + len(refs)].mean(axis=1)
    gap_reps = means[:, 0] - ref_reps
    control = means[:, -1] - ref_reps if with_original else None
    ref_points = [float(r.mean()) for r in refs]
    ref_mean = np.mean(refs, axis=0)
    binary = all(set(np.unique(a)) <= {0, 1} for arrays in values.values() for a in arrays)
    evidence = {}
    for role, arrays in values.items():
        if role == "reference":
            continue
        diff = arrays[0] - ref_mean
        sd = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
        evidence[role] = evidence_from_replicates(
            float(arrays[0].mean() - np.mean(ref_points)),
            None,
            ref_points,
            fallback_sd=sd,
            cells=paired_cells(arrays[0], ref_mean) if binary else None,
        )
    point = float(u.mean() - np.mean(ref_points))
    spread = float(np.ptp(ref_points)) if len(refs) > 1 else 0.0
    gap = Estimate(point, percentile_interval(gap_reps, level), n=n, level=level)
    return Comparison(per_model, gap, gap_reps, spread, control, evidence)


def exposure_outcomes(member_scores: dict[str, list[np.ndarray]], fpr: float) -> dict[str, list[np.ndarray]]:
    """Which forget samples each model exposes at a threshold fixed on the retrains.

    The threshold is the (1 - ``fpr``) quantile of the references' scores on the forget samples,
    pooled: a model retrained without them flags about ``fpr`` of them (Carlini et al.'s low-FPR
    regime, calibrated on retraining instead of on non-members). Each reference is thresholded
    with the *other* references' quantile, so its own rate is what an honest retrain shows. The
    per-sample 0/1 outcomes are compared like accuracies (:func:`compare_proportions`): an exact
    binomial view of "more forget samples flagged than retraining flags".

    Args:
        member_scores: Role -> one array of forget-sample scores per model (higher means member).
        fpr: The rate at which retrains are flagged.
    """
    refs = member_scores["reference"]
    threshold = float(np.quantile(np.concatenate(refs), 1.0 - fpr))
    out = {
        role: [(s > threshold).astype(float) for s in arrays]
        for role, arrays in member_scores.items()
        if role != "reference"
    }
    if len(refs) > 1:
        out["reference"] = [
            (refs[i] > float(np.quantile(np.concatenate(refs[:i] + refs[i + 1 :]), 1.0 - fpr))).astype(float)
            for i in range(len(refs))
        ]
    else:
        out["reference"] = [(refs[0] > threshold).astype(float)]
    return out


def roc_rows(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise ROC points for score matrices ``(B, P)`` and ``(B, N)``.

    Returns ``(fpr, tpr, valid)``, each ``(B, P + N + 1)``: the rates after admitting the k
    highest scores (column 0 is the empty set), and whether column k is a real operating point
    (a threshold cannot split tied scores).
    """
    b, n_pos = pos.shape
    n_neg = neg.shape[1]
    scores = np.concatenate([pos, neg], axis=1)
    labels = np.concatenate([np.ones((b, n_pos)), np.zeros((b, n_neg))], axis=1)
    order = np.argsort(-scores, axis=1, kind="mergesort")
    s_sorted = np.take_along_axis(scores, order, axis=1)
    l_sorted = np.take_along_axis(labels, order, axis=1)
    tps = np.cumsum(l_sorted, axis=1)
    fps = np.arange(1, n_pos + n_neg + 1)[None, :] - tps
    valid = np.concatenate([s_sorted[:, 1:] != s_sorted[:, :-1], np.ones((b, 1), bool)], axis=1)
    zeros = np.zeros((b, 1))
    fpr = np.concatenate([zeros, fps / n_neg], axis=1)
    tpr = np.concatenate([zeros, tps / n_pos], axis=1)
    return fpr, tpr, np.concatenate([np.ones((b, 1), bool), valid], axis=1)


def balanced_accuracy_rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Row-wise :func:`balanced_accuracy` for resampled score matrices."""
    fpr, tpr, valid = roc_rows(pos, neg)
    return np.where(valid, (tpr + 1.0 - fpr) / 2.0, 0.0).max(axis=1)


balanced_accuracy_rows.weighted = weighted_balanced_accuracy  # type: ignore[attr-defined]


def tpr_at_fpr_rows(fpr_target: float):
    """A row-wise TPR-at-``fpr_target`` statistic for :func:`compare_scores`."""

    def rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
        fpr, tpr, valid = roc_rows(pos, neg)
        return np.where(valid & (fpr <= fpr_target + 1e-12), tpr, 0.0).max(axis=1)

    rows.weighted = partial(weighted_tpr_at_fpr, fpr=fpr_target)  # type: ignore[attr-defined]
    return rows


def parallel_map(fn, items: Sequence) -> list:
    """``[fn(item) for item in items]`` on a thread per CPU core, in order.

    The bootstrap statistics spend their time in NumPy gathers and cumulative sums, which release
    the GIL, so each model's replicates run on a core of their own; the results, and so every
    number, are those of the sequential loop.
    """
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def _resampled(
    stat, scores: dict[str, list[tuple[np.ndarray, np.ndarray]]], ip: np.ndarray, ineg: np.ndarray
):
    """``(pos, neg) -> [B]``: ``stat`` on the bootstrap draws ``ip`` (members) and ``ineg`` (non-members).

    A statistic with a weighted form (``stat.weighted``, :mod:`auditor.judge.rankstats`) reads each
    replicate from the draws' counts along one sorted order, O(n) per replicate instead of sorting
    every resampled score matrix (Efron & Tibshirani 1993: a resample is a vector of counts); the
    numbers are the same. NaN scores, which have no rank there, keep the index path.
    """
    weighted = getattr(stat, "weighted", None)
    unranked = any(np.isnan(s).any() for pairs in scores.values() for pair in pairs for s in pair)
    if weighted is None or unranked:
        return lambda p, q: stat(p[ip], q[ineg])
    pos_counts, neg_counts = index_counts(ip, ip.shape[1]), index_counts(ineg, ineg.shape[1])
    return lambda p, q: weighted(p, q, pos_counts, neg_counts)


def compare_scores(
    stat,
    scores: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    *,
    reps: int,
    level: float,
    rng: np.random.Generator,
    min_negatives_needed: int = 1,
) -> Comparison:
    """Compare a membership statistic (AUC, balanced accuracy, TPR at FPR) across models.

    Members and non-members are resampled separately (stratified bootstrap), with the same
    resamples for every model, so the gap's interval is paired.

    Args:
        stat: Row-wise statistic ``(pos[B, P], neg[B, N]) -> [B]``, e.g. :func:`auc_rows`; its
            ``weighted`` form ``(pos, neg, pos_counts[B, P], neg_counts[B, N]) -> [B]``, when it has
            one, evaluates the same resamples in linear time.
        scores: Role -> list of (member scores, non-member scores), one pair per model (several
            for ``reference``); every model scores the same samples in the same order.
        reps: Bootstrap resamples.
        level: Confidence level of the reported intervals.
        rng: Source of the resampling.
        min_negatives_needed: Below this many non-members the statistic is not estimable.
    """
    pos0, neg0 = scores["unlearned"][0]
    n_pos, n_neg = pos0.size, neg0.size
    n = int(n_pos + n_neg)
    if n_pos == 0 or n_neg == 0:
        empty = Estimate(None, n=n, note="not estimable: needs members and non-members")
        return Comparison({r: empty for r in scores}, empty, None, None)
    if n_neg < min_negatives_needed:
        empty = Estimate(
            None, n=n, note=f"not estimable: {n_neg} non-members < {min_negatives_needed} needed"
        )
        return Comparison({r: empty for r in scores}, empty, None, None)
    ip = bootstrap_indices(n_pos, reps, rng)
    ineg = bootstrap_indices(n_neg, reps, rng)
    resampled = _resampled(stat, scores, ip, ineg)
    boots: dict[str, np.ndarray] = {}
    points: dict[str, list[float]] = {}
    per_model = {}
    flat = [(p, q) for pairs in scores.values() for p, q in pairs]
    replicates = iter(parallel_map(lambda pq: resampled(*pq), flat))
    for role, pairs in scores.items():
        points[role] = [float(stat(p[None, :], q[None, :])[0]) for p, q in pairs]
        boots[role] = np.mean([next(replicates) for _ in pairs], axis=0)
        per_model[role] = Estimate(
            float(np.mean(points[role])), percentile_interval(boots[role], level), n=n, level=level
        )
    gap_reps = boots["unlearned"] - boots["reference"]
    gap = Estimate(
        per_model["unlearned"].value - per_model["reference"].value,  # type: ignore[operator]
        percentile_interval(gap_reps, level),
        n=n,
        level=level,
    )
    spread = float(np.ptp(points["reference"])) if len(points["reference"]) > 1 else 0.0
    control = boots["original"] - boots["reference"] if "original" in boots else None
    ref_mean = float(np.mean(points["reference"]))
    evidence = {
        role: evidence_from_replicates(
            float(np.mean(points[role])) - ref_mean, boots[role] - boots["reference"], points["reference"]
        )
        for role in scores
        if role != "reference"
    }
    return Comparison(per_model, gap, gap_reps, spread, control, evidence)


# --------------------------------------------------------------------------------------------------
# Epsilon lower bounds from attack error rates (Kairouz et al. 2015; docs/statistics.md section 9).


def epsilon_from_counts(*, fp: int, n_neg: int, fn: int, n_pos: int, delta: float, alpha: float) -> float:
    """A (1 - alpha)-confidence lower bound on epsilon from one threshold's error counts.

    Any (epsilon, delta)-DP test satisfies FPR + e^eps FNR >= 1 - delta and FNR + e^eps FPR >=
    1 - delta (Kairouz et al., ICML 2015). FPR and FNR are replaced by one-sided Clopper-Pearson
    upper bounds at alpha/2 each (jax_privacy ``epsilon_clopper_pearson``; Nasr et al. 2021), so
    the bound holds with confidence 1 - alpha for a threshold fixed in advance.
    """
    fpr_ub = cp_upper(fp, n_neg, alpha=alpha / 2)
    fnr_ub = cp_upper(fn, n_pos, alpha=alpha / 2)
    best = 0.0
    for ub_a, ub_b in ((fpr_ub, fnr_ub), (fnr_ub, fpr_ub)):
        if 1.0 - delta - ub_a > 0 and ub_b > 0:
            best = max(best, math.log((1.0 - delta - ub_a) / ub_b))
    return best


def _cp_upper_array(k: np.ndarray, n: int, *, alpha: float) -> np.ndarray:
    """:func:`cp_upper` for an array of success counts out of the same ``n``."""
    k = np.asarray(k)
    out = np.ones(k.shape)
    below = k < n
    out[below] = sps.beta.ppf(1 - alpha, k[below] + 1, n - k[below])
    return out


def epsilon_at_thresholds(
    thresholds: np.ndarray, pos: np.ndarray, neg: np.ndarray, *, delta: float, alpha: float
) -> np.ndarray:
    """:func:`epsilon_from_counts` at every threshold ("member if score >= t") in one pass.

    The error counts at all thresholds come from one sort of each class and a binary search
    (O((n + T) log n) in all, where evaluating each threshold with its own count was O(n T)); the
    Clopper-Pearson bounds are one vectorised beta quantile. Same numbers as calling
    :func:`epsilon_from_counts` threshold by threshold.
    """
    t = np.asarray(thresholds, float)
    fp = neg.size - np.searchsorted(np.sort(neg), t, side="left")  # non-members scored >= t
    fn = np.searchsorted(np.sort(pos), t, side="left")  # members scored < t
    fpr_ub = _cp_upper_array(fp, neg.size, alpha=alpha / 2)
    fnr_ub = _cp_upper_array(fn, pos.size, alpha=alpha / 2)
    best = np.zeros(t.shape)
    for ub_a, ub_b in ((fpr_ub, fnr_ub), (fnr_ub, fpr_ub)):
        ok = (1.0 - delta - ub_a > 0) & (ub_b > 0)
        ratio = np.where(ok, (1.0 - delta - ub_a) / np.where(ok, ub_b, 1.0), 1.0)
        best = np.maximum(best, np.where(ok, np.log(ratio), 0.0))
    return best


def epsilon_lower_bound(
    pos: np.ndarray,
    neg: np.ndarray,
    *,
    delta: float = 1e-5,
    alpha: float = 0.05,
    strategy: str = "split",
    threshold: float | None = None,
    rng: np.random.Generator | None = None,
    split_fraction: float = 0.5,
) -> Estimate:
    """An epsilon lower bound from membership scores, with a valid threshold strategy.

    Choosing the best threshold on the same data that yields the bound invalidates its confidence. The strategies (after jax_privacy ``ThresholdStrategy``):

    * ``split``: pick the threshold maximising the bound on a random ``split_fraction`` of the
      members and non-members, then bound on the rest with confidence 1 - alpha;
    * ``bonferroni``: maximise over all distinct thresholds with alpha divided by their number;
    * ``fixed``: a pre-registered ``threshold``.

    Members are scored ``>= threshold``. Returns epsilon with the strategy in ``note``.
    """
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if pos.size == 0 or neg.size == 0:
        return Estimate(None, n=int(pos.size + neg.size), note="not estimable: needs members and non-members")

    def bound_at(t, p: np.ndarray, q: np.ndarray, a: float) -> np.ndarray:
        return epsilon_at_thresholds(np.atleast_1d(np.asarray(t, float)), p, q, delta=delta, alpha=a)

    if strategy == "fixed":
        if threshold is None:
            raise ValueError("strategy 'fixed' needs a pre-registered threshold")
        eps = float(bound_at(threshold, pos, neg, alpha)[0])
        note = f"threshold fixed in advance at {threshold:g}"
    elif strategy == "bonferroni":
        candidates = np.unique(np.concatenate([pos, neg, [np.inf]]))
        a = alpha / candidates.size
        eps = float(bound_at(candidates, pos, neg, a).max())
        note = f"best of {candidates.size} thresholds, Bonferroni alpha = {a:.3g}"
    elif strategy == "split":
        rng = rng or np.random.default_rng(0)
        pp, qq = rng.permutation(pos.size), rng.permutation(neg.size)
        kp, kq = int(pos.size * split_fraction), int(neg.size * split_fraction)
        if kp == 0 or kq == 0 or kp == pos.size or kq == neg.size:
            return Estimate(None, n=int(pos.size + neg.size), note="not estimable: too few samples to split")
        p1, p2, q1, q2 = pos[pp[:kp]], pos[pp[kp:]], neg[qq[:kq]], neg[qq[kq:]]
        candidates = np.unique(np.concatenate([p1, q1, [np.inf]]))
        chosen = candidates[int(np.argmax(bound_at(candidates, p1, q1, alpha)))]  # the first best, ascending
        eps = float(bound_at(chosen, p2, q2, alpha)[0])
        note = (
            f"threshold chosen on a {split_fraction:.0%} split, bounded on the other {1 - split_fraction:.0%}"
        )
    else:
        raise ValueError(f"unknown threshold strategy {strategy!r}: use split, bonferroni or fixed")
    return Estimate(
        eps,
        n=int(pos.size + neg.size),
        level=1 - alpha,
        note=f"{note}; delta = {delta:g}, one-sided {1 - alpha:.0%}",
    )
