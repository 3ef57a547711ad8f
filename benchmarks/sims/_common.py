"""Shared helpers of the statistics simulations (``benchmarks/sims/*.py``).

Only plumbing lives here: Monte-Carlo standard errors, and a fast AUC-gap evidence builder for the
simulations that need tens of thousands of AUC comparisons. ``auditor.judge.stats.compare_scores``
bootstraps every model (0.1-0.4 s per call with 13 models); the builder below gives the same
:class:`auditor.judge.inference.GapEvidence` (point gap, the references' spread, and the gap's standard
deviation over samples) with the DeLong placement-value variance instead of the bootstrap's, through
the engine's own ``evidence_from_replicates``. ``auc_tolerance.py`` checks the two agree.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from auditor.judge.inference import GapEvidence, evidence_from_replicates


def mcse(p: float, n: int) -> float:
    """Monte-Carlo standard error of a rate p estimated from n independent trials."""
    return math.sqrt(max(p * (1.0 - p), 0.0) / n) if n else float("nan")


def rate(mask: np.ndarray) -> str:
    """'0.123 ± 0.004' for a boolean array of trial outcomes."""
    m = np.asarray(mask, bool)
    p = float(m.mean())
    return f"{p:.3f} ± {mcse(p, m.size):.3f}"


def placements(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise DeLong placement values of ``pos[T, P]`` against ``neg[T, N]``.

    V10[t, i] = P(neg < pos_i) + 1/2 P(tie) and V01[t, j] = P(pos > neg_j) + 1/2 P(tie); the AUC of
    row t is the mean of either (checked against ``auditor.judge.stats.auc_rows``).
    """
    n_pos, n_neg = pos.shape[1], neg.shape[1]
    both = np.concatenate([pos, neg], axis=1)
    order = np.argsort(both, axis=1)
    s = np.take_along_axis(both, order, axis=1)
    if np.any(s[:, 1:] == s[:, :-1]):  # ties: ranks with averaging (slower, exact)
        r_all = sps.rankdata(both, axis=1, method="average")
        below_pos = r_all[:, :n_pos] - sps.rankdata(pos, axis=1, method="average")
        below_neg = r_all[:, n_pos:] - sps.rankdata(neg, axis=1, method="average")
        return below_pos / n_neg, (n_pos - below_neg) / n_pos
    is_neg = order >= n_pos
    negs_before = np.cumsum(is_neg, axis=1) - is_neg  # negatives strictly below each position
    poss_before = np.cumsum(~is_neg, axis=1) - ~is_neg
    v10 = np.empty((pos.shape[0], n_pos))
    v01 = np.empty((pos.shape[0], n_neg))
    rows = np.nonzero(~is_neg)
    v10[rows[0], order[rows]] = negs_before[rows] / n_neg
    rows = np.nonzero(is_neg)
    v01[rows[0], order[rows] - n_pos] = (n_pos - poss_before[rows]) / n_pos
    return v10, v01


def reference_summary(
    references: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean V10, mean V01, AUCs ``[T, R]``) of the references, one row per trial."""
    v10_r = v01_r = 0.0
    aucs = []
    for pos, neg in references:
        a, b = placements(pos, neg)
        v10_r = v10_r + a / len(references)
        v01_r = v01_r + b / len(references)
        aucs.append(a.mean(axis=1))
    return v10_r, v01_r, np.stack(aucs, axis=1)


Scores = tuple[np.ndarray, np.ndarray]


def auc_gap_evidence(
    unlearned: Scores, references: list[Scores] | tuple[np.ndarray, np.ndarray, np.ndarray]
) -> list[GapEvidence]:
    """Per trial, the AUC gap evidence of the unlearned model against the references.

    Args:
        unlearned: (member scores ``[T, P]``, non-member scores ``[T, N]``) of the unlearned model,
            one row per trial.
        references: The same for each reference model, or their :func:`reference_summary`.

    The gap's sample SD is DeLong's: sqrt(var(V10_gap)/P + var(V01_gap)/N) with V_gap the unlearned
    model's placements minus the references' mean placements (the samples are paired across models).
    """
    v10_u, v01_u = placements(*unlearned)
    auc_u = v10_u.mean(axis=1)
    v10_r, v01_r, ref_aucs = references if isinstance(references, tuple) else reference_summary(references)
    g10, g01 = v10_u - v10_r, v01_u - v01_r
    sd = np.sqrt(g10.var(axis=1, ddof=1) / g10.shape[1] + g01.var(axis=1, ddof=1) / g01.shape[1])
    return [
        evidence_from_replicates(
            float(auc_u[t] - ref_aucs[t].mean()), None, ref_aucs[t].tolist(), fallback_sd=float(sd[t])
        )
        for t in range(auc_u.size)
    ]
