"""What a plugin's measurement returns: metrics with their comparisons, tables and figures.

Each type has one serialisation (``as_dict``), the form the evidence records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.judge.stats import Comparison


@dataclass(frozen=True)
class MetricResult:
    """One metric measured on every model, with the paired gap to the reference.

    Attributes:
        key: Dotted key used by gates, e.g. ``threshold.loss.auc``.
        label: Human label for the report.
        higher: What a higher value means, in words.
        comparison: Per-model estimates and the gap.
    """

    key: str
    label: str
    higher: str
    comparison: Comparison

    def as_dict(self) -> dict[str, Any]:
        c = self.comparison
        gap = c.gap.as_dict()
        ev = c.evidence.get("unlearned")
        if ev is not None:
            method = (
                "Newcombe paired score interval over samples"
                if ev.cells is not None
                else "paired resampling of the evaluation samples"
            )
            method += (
                f", or the prediction interval for one more retrain from {ev.seeds} references, "
                "whichever is wider"
                if ev.training_randomness
                else "; no retrain-to-retrain variance (one reference)"
            )
            gap["method"] = method
            gap["inference"] = ev.as_dict()
        else:
            gap["method"] = "paired bootstrap over samples" if c.gap_samples is not None else None
        return {
            "key": self.key,
            "label": self.label,
            "higher": self.higher,
            "values": {role: est.as_dict() for role, est in c.per_model.items()},
            "reference_spread": c.reference_spread,
            "gap": gap if c.gap.value is not None or c.gap.note else None,
        }


@dataclass(frozen=True)
class Table:
    """An extra table for the report (e.g. per-class accuracy)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": list(self.columns), "rows": [list(r) for r in self.rows]}


@dataclass(frozen=True)
class Series:
    """One line (or histogram) of a figure.

    Attributes:
        label: Legend text.
        role: ``unlearned``, ``reference``, ``original`` or ``nonmember``; fixes the colour.
        x: ROC: false-positive rates; histogram: the bin edges (one more than ``y``); curve: x values.
        y: ROC: true-positive rates; histogram: densities per bin; curve: y values.
        n: The sample size behind the series (shown in the legend).
    """

    label: str
    role: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    n: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "role": self.role,
            "x": [float(v) for v in self.x],
            "y": [float(v) for v in self.y],
            "n": self.n,
        }


@dataclass(frozen=True)
class Figure:
    """A plot's data, stored in the evidence and drawn by :mod:`auditor.report.plots`.

    ``report`` re-renders it from the evidence alone.

    Attributes:
        kind: ``roc`` (log-log), ``histogram`` or ``curve``.
        title: Caption.
        x_label: Horizontal axis label.
        y_label: Vertical axis label.
        series: The lines, unlearned first.
        note: One sentence on how to read it.
    """

    kind: str
    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "x_label": self.x_label,
            "y_label": self.y_label,
            "series": [s.as_dict() for s in self.series],
            "note": self.note,
        }


@dataclass(frozen=True)
class Measurement:
    """What :meth:`Attack.measure` returns."""

    metrics: tuple[MetricResult, ...]
    tables: tuple[Table, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    figures: tuple[Figure, ...] = ()
