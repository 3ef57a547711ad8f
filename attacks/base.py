"""The attack interface.

An attack (or check) subclasses ``Attack[ItsParams]`` (the pydantic model of its parameters),
declares ``name``, ``title``, a one-line ``summary``, the ``citation`` of its paper, its
``threat_model`` in one sentence and what it ``requires`` beyond the three audited models, and
implements :meth:`Attack.metric_keys`, :meth:`Attack.default_gates` and :meth:`Attack.measure`.
Membership inference attacks subclass :class:`attacks.membership.base.MembershipAttack` instead and
implement one ``scores()`` method. Attacks *measure*; they never decide pass or fail: the verdict
module judges the gaps to the reference (STYLE.md 7c, step 7).
"""

from __future__ import annotations

import abc
import enum
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from auditor.judge.stats import Comparison
from auditor.run.context import AuditContext
from auditor.types import FORGET_KINDS


class Params(BaseModel):
    """Base of every attack's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=BaseModel)


class Need(enum.Flag):
    """What an attack needs beyond the unlearned, reference and original models.

    The config checks compare an attack's ``requires`` with what the audit provides, so an unmet
    need is a config error (exit 2) before any training, not an inconclusive attack afterwards.
    """

    NONE = 0
    SHADOWS = enum.auto()  # ctx.shadow_store(): shadow models trained with the target's recipe
    METHOD = enum.auto()  # ctx.audited_method(): re-runs the method (not with unlearner.checkpoint)
    TRIGGER = enum.auto()  # ctx.backdoor_trigger(): only under forget.kind: backdoor


def params_model(cls: type, base: type) -> type[BaseModel] | None:
    """The pydantic model ``M`` of a class declared ``class X(base[M])``, else None.

    Plugin bases call this from ``__init_subclass__``, so the class line names the parameters
    once and ``cls.Params`` follows from it (the way mkdocs' ``BasePlugin[Config]`` does).
    """
    for declared in getattr(cls, "__orig_bases__", ()):
        origin = typing.get_origin(declared)
        if isinstance(origin, type) and issubclass(origin, base):
            args = typing.get_args(declared)
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                return args[0]
    return None


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


class Attack(abc.ABC, Generic[P]):
    """Base class of attacks and checks run against the unlearned, reference and original models.

    Subclass it as ``class MyAttack(Attack[MyParams])``; ``MyAttack.Params`` is then ``MyParams``
    and ``self.params`` is typed as one.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    citation: ClassVar[str]
    threat_model: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = Params
    # What the attack reads beyond the three audited models; checked against the config before training.
    requires: ClassVar[Need] = Need.NONE
    # The forget kinds it can measure (symmetric with Unlearner.supports); others are a config error.
    forget_kinds: ClassVar[frozenset[str]] = FORGET_KINDS
    # The claim its metrics are evidence for: utility, forgetting, privacy or recoverability.
    default_category: ClassVar[str] = "privacy"
    # Metrics that are one-sided lower bounds or have no calibrated retrain null: they can FAIL a
    # model but never PASS one or show power (statistics review C2, M5, M6).
    fail_only: ClassVar[bool] = False
    # Reads the weights or internal activations, so it only makes sense on the declared architecture.
    white_box: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = params_model(cls, Attack)
        if declared is not None:
            cls.Params = declared

    def __init__(self, params: P | None = None) -> None:
        self.params: P = params if params is not None else cast(P, self.Params())

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
