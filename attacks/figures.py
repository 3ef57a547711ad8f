"""Pure functions that turn an attack's scores into :class:`~attacks.base.Figure` data.

The evidence stores each figure's points, not a picture: the report draws them (``auditor.report.plots``)
and ``unlearn-audit report`` can redraw them from ``evidence.json``. Points are summarised (ROC on a
log-spaced FPR grid, histograms as densities on shared bins) so the evidence stays small and holds
no per-sample values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from attacks.base import Figure, Series
from auditor.judge.stats import roc_curve
from auditor.types import ROLES, Role

ROLE_LABELS: dict[Role, str] = {
    "unlearned": "unlearned",
    "reference": "retrained reference",
    "original": "original",
}
ROLE_ORDER: tuple[Role, ...] = ROLES


def _pool(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Members and non-members of several models of one role (e.g. reference seeds), pooled."""
    return (
        np.concatenate([np.asarray(p, float) for p, _ in pairs]),
        np.concatenate([np.asarray(n, float) for _, n in pairs]),
    )


def roc_points(pos: np.ndarray, neg: np.ndarray, *, points: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """The ROC's TPR on a log-spaced FPR grid from 1/len(neg) to 1 (the range the sample supports).

    The TPR at each grid FPR is that of the best threshold whose FPR does not exceed it, the same
    rule as the TPR-at-FPR metrics.
    """
    fpr, tpr, _ = roc_curve(pos, neg)
    lowest = 1.0 / max(len(neg), 1)
    grid = np.unique(np.r_[np.geomspace(lowest, 1.0, points), 1.0])
    at = np.searchsorted(fpr, grid, side="right") - 1
    return grid, np.maximum.accumulate(tpr)[at]


def roc_figure(
    title: str, scores: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]], *, note: str = ""
) -> Figure:
    """Log-log ROC of the unlearned, reference (seeds pooled) and original models.

    Args:
        title: Caption.
        scores: role -> one ``(member scores, non-member scores)`` pair per model; higher means member.
        note: How to read it.
    """
    series = []
    for role in ROLE_ORDER:
        if role not in scores or not scores[role]:
            continue
        pos, neg = _pool(scores[role])
        x, y = roc_points(pos, neg)
        series.append(Series(ROLE_LABELS[role], role, tuple(x), tuple(y), n=int(len(pos) + len(neg))))
    return Figure(
        "roc",
        title,
        "false-positive rate",
        "true-positive rate",
        tuple(series),
        note
        or "Log-log ROC: the low-FPR corner shows confident membership claims. The unlearned "
        "curve should lie on the reference's, not the original's.",
    )


def histogram_figure(
    title: str,
    x_label: str,
    samples: Mapping[str, np.ndarray],
    *,
    roles: Mapping[str, str],
    bins: int = 30,
    note: str = "",
) -> Figure:
    """Overlaid densities of one score for several groups, on shared bins (1st-99th percentile).

    Args:
        title: Caption.
        x_label: What the score is.
        samples: legend label -> values.
        roles: legend label -> role (colour).
        bins: Number of bins.
        note: How to read it.
    """
    pooled = np.concatenate([np.asarray(v, float).ravel() for v in samples.values()])
    pooled = pooled[np.isfinite(pooled)]
    lo, hi = np.percentile(pooled, [1, 99]) if pooled.size else (0.0, 1.0)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    series = []
    for label, values in samples.items():
        v = np.clip(np.asarray(values, float).ravel(), lo, hi)
        v = v[np.isfinite(v)]
        density, _ = np.histogram(v, bins=edges, density=bool(v.size))
        series.append(Series(label, roles[label], tuple(edges), tuple(density), n=int(v.size)))
    return Figure("histogram", title, x_label, "density", tuple(series), note)


def curve_figure(
    title: str,
    x_label: str,
    y_label: str,
    curves: Mapping[str, tuple[Sequence[float], Sequence[float], str]],
    *,
    note: str = "",
) -> Figure:
    """Lines such as relearning curves: legend label -> (x, y, role)."""
    series = tuple(
        Series(label, role, tuple(float(v) for v in x), tuple(float(v) for v in y))
        for label, (x, y, role) in curves.items()
    )
    return Figure("curve", title, x_label, y_label, series, note)


__all__ = ["curve_figure", "histogram_figure", "roc_figure", "roc_points"]
