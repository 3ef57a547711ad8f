"""The attack interface.

An attack (or check) subclasses :class:`Attack`, declares ``name``, ``title``, a one-line
``summary``, the ``citation`` of its paper, its ``threat_model`` in one sentence and a pydantic
``Params`` model, and implements :meth:`Attack.metric_keys`, :meth:`Attack.default_gates` and
:meth:`Attack.measure`. Attacks *measure*; they never decide pass or fail: the verdict module
judges the gaps to the reference (STYLE.md 7c, step 7).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from auditor.context import AuditContext
from auditor.stats import Comparison


class Params(BaseModel):
    """Base of every attack's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
            gap["method"] = (
                "Newcombe paired score interval over samples"
                if ev.cells is not None
                else "paired resampling of the evaluation samples"
            )
            gap["method"] += (
                f", or the prediction interval for one more retrain from {ev.seeds} references, "
                "whichever is wider"
                if ev.training_randomness
                else "; no retrain-to-retrain variance (one reference)"
            )
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
    """A plot's data, stored in the evidence and drawn by :mod:`auditor.plots` (so ``report``
    re-renders it from the evidence alone).

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


class Attack(abc.ABC):
    """Base class of attacks and checks run against the unlearned, reference and original models."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    citation: ClassVar[str]
    threat_model: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = Params
    needs_method: ClassVar[bool] = False  # True when the attack re-runs the unlearning method (e.g. U-LiRA)
    # The claim its metrics are evidence for: utility, forgetting, privacy or recoverability.
    default_category: ClassVar[str] = "privacy"
    # Metrics that are one-sided lower bounds or have no calibrated retrain null: they can FAIL a
    # model but never PASS one or show power (statistics review C2, M5, M6).
    fail_only: ClassVar[bool] = False
    # Reads the weights or internal activations, so it only makes sense on the declared architecture.
    white_box: ClassVar[bool] = False

    def __init__(self, params: BaseModel | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @abc.abstractmethod
    def metric_keys(self, forget_kind: str) -> list[str]:
        """Every metric key :meth:`measure` reports for this forget kind."""

    @abc.abstractmethod
    def default_gates(self, forget_kind: str) -> dict[str, float]:
        """Metric key -> the smallest tolerance on |unlearned - reference| for the default gates.

        The verdict widens it to the retrain noise floor it measures (``gates.seed_multiplier``
        times the spread of a new retrain), so the number here is the floor a reviewer would
        accept when retraining is perfectly repeatable.
        """

    def category(self, key: str, forget_kind: str) -> str:
        """The claim metric ``key`` is evidence for (utility, forgetting, privacy, recoverability)."""
        return self.default_category

    @abc.abstractmethod
    def measure(self, ctx: AuditContext) -> Measurement:
        """Measure every metric on ``ctx.unlearned``, each of ``ctx.references`` and ``ctx.original``."""
