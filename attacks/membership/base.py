"""The membership-inference family: attacks that score members against non-members.

A membership attack subclasses ``MembershipAttack[ItsParams]``, declares the usual class
attributes (``name``, ``title``, ``summary``, ``citation``, ``threat_model``, ``requires``) plus a
``label`` for its metric labels, and implements one method, :meth:`MembershipAttack.scores`: the
(member scores, non-member scores) of every audited model, higher meaning member. The base owns
the rest (the template-method pattern of torchmetrics' ``Metric``): the metric keys, the default
gate on the AUC gap (at the ``gate_tolerance`` parameter, if the parameters have one), and
:meth:`~MembershipAttack.measure`, which builds the shared membership block (AUC, best balanced
accuracy, TPR at 0.1 %, 1 % and 10 % FPR, after Carlini et al., "Membership Inference Attacks
From First Principles", IEEE S&P 2022) with one seeded comparer and draws the ROC::

    class LossParams(Params):
        gate_tolerance: AucTolerance = 0.05


    class LossAttack(MembershipAttack[LossParams]):
        name, label = "loss_mia", "loss"
        title, summary, citation, threat_model = ...  # as for any attack

        def scores(self, ctx, rng):
            forget, held = ctx.split("forget"), ctx.split("nonmember")
            pairs = {
                role: [(-loss(ctx.logits(m, "forget"), forget.y), -loss(ctx.logits(m, "nonmember"), held.y)) for m in ms]
                for role, ms in ctx.models().items()
            }
            return MembershipScores(pairs, roc_title="ROC of the loss attack")

Two hooks cover the attacks that measure more: :meth:`~MembershipAttack.signal_labels` (several
signals, each its own block under its own key prefix: ``threshold``) and
:meth:`~MembershipAttack.leading_metrics` (metrics measured before the block: LiRA's exposure).

The module also holds what the shadow-model attacks share: :data:`ShadowCount` (an even number
of shadows), :func:`train_shadows` (the store's shadows behind a progress bar),
:func:`shadow_splits` (one shadow original's share of the forget request), :func:`retrain_cached`
(a retrain through the store's model cache) and :func:`attack_classifier` (the scikit-learn
attack model).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias, final

import numpy as np
from pydantic import AfterValidator, Field
from torch import nn

from attacks.base import Attack, Figure, Measurement, MetricResult, Need, P
from attacks.figures import roc_figure
from auditor.data.splits import Splits
from auditor.judge.stats import (
    Comparison,
    Estimate,
    auc_rows,
    balanced_accuracy_rows,
    min_negatives,
    tpr_at_fpr_rows,
)
from auditor.plugin.context import AuditContext, Comparer, SplitData

if TYPE_CHECKING:
    from auditor.train.shadows import ShadowSet

FPRS: tuple[float, ...] = (0.001, 0.01, 0.1)
"""The false-positive rates of the TPR-at-FPR metrics (Carlini et al., S&P 2022: report the low-FPR regime)."""

DETAIL_REPS = 400
"""Cap on the resamples of the in-sample and low-FPR statistics (slow to resample, read beside the AUC)."""

Pairs: TypeAlias = Mapping[str, list[tuple[np.ndarray, np.ndarray]]]
"""Role -> one (member scores, non-member scores) pair per model of the role; higher means member."""

ClassifierName: TypeAlias = Literal["logistic", "gradient_boosting"]
"""The attack models :func:`attack_classifier` builds."""


def _even(value: int) -> int:
    if value % 2:
        raise ValueError(
            f"shadows must be even (shadow models come in complementary pairs), got {value}; "
            f"use {value - 1} or {value + 1}"
        )
    return value


ShadowCount = Annotated[int, AfterValidator(_even)]
"""A number of shadow models: even, since they come in complementary pairs (each sample IN for K/2).

Each attack keeps its own bounds in its ``Field``, e.g. ``shadows: ShadowCount = Field(16, ge=4, le=4096)``.
"""


AucTolerance = Annotated[
    float,
    Field(
        gt=0,
        lt=1,
        description=(
            "Smallest default tolerance on the AUC gap (statistics review C3: 0.15 passed models exposing 10-20 % of the "
            "forget set); where the sample cannot certify it, the gate is inconclusive, not looser."
        ),
    ),
]
"""The ``gate_tolerance`` parameter of a membership attack: the AUC gap's default gate (0.05 in the built-ins)."""


@dataclass(frozen=True)
class MembershipScores:
    """What :meth:`MembershipAttack.scores` returns.

    Attributes:
        pairs: Role -> one (member scores, non-member scores) pair per model; higher means member.
            Roles are those of :meth:`auditor.plugin.context.AuditContext.models`, or a subset of them.
        details: What the evidence records about the run (sample counts, calibration, shadows).
        roc_title: Caption of the ROC figure of the first block; None draws none.
        figures: Further figures, after the ROC (e.g. the score distributions).
        signals: For attacks with :meth:`MembershipAttack.signal_labels`: signal -> its pairs
            (``pairs`` is then unused).
    """

    pairs: Pairs = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    roc_title: str | None = None
    figures: tuple[Figure, ...] = ()
    signals: Mapping[str, Pairs] = field(default_factory=dict)


def membership_keys(prefix: str, fprs: tuple[float, ...] = FPRS) -> list[str]:
    """The keys of one membership block: ``<prefix>.auc``, ``.balanced_accuracy``, ``.tpr@fpr=<f>``."""
    return [f"{prefix}.auc", f"{prefix}.balanced_accuracy"] + [f"{prefix}.tpr@fpr={f:g}" for f in fprs]


def membership_metrics(
    prefix: str,
    label: str,
    pairs: Pairs,
    cmp: Comparer,
    *,
    fprs: tuple[float, ...] = FPRS,
    auc_higher: str = "members and non-members are more separable",
    tpr_higher: str = "more members identified at this false-positive rate",
) -> list[MetricResult]:
    """The membership block: AUC, best balanced accuracy and TPR at each FPR, role by role.

    The statistics are compared on paired resamples of the members and non-members, drawn from
    ``cmp`` in this order (AUC with every resample, the others with at most :data:`DETAIL_REPS`).
    A TPR at an FPR below what the non-members can resolve is reported as not estimable.

    Args:
        prefix: Key prefix, e.g. ``lira`` or ``threshold.loss``.
        label: Shown in brackets after each metric's name, e.g. ``LiRA``.
        pairs: Role -> one (member scores, non-member scores) pair per model.
        cmp: The attack's comparer.
        fprs: The false-positive rates of the TPR metrics.
        auc_higher: What a higher AUC means, in words.
        tpr_higher: What a higher TPR means, in words.
    """
    pairs = dict(pairs)
    metrics = [
        MetricResult(f"{prefix}.auc", f"AUC ({label})", auc_higher, cmp.scores(auc_rows, pairs)),
        MetricResult(
            f"{prefix}.balanced_accuracy",
            f"Best balanced accuracy ({label})",
            "the best threshold separates better (in-sample, optimistic)",
            cmp.scores(balanced_accuracy_rows, pairs, max_reps=DETAIL_REPS),
        ),
    ]
    for f in fprs:
        metrics.append(
            MetricResult(
                f"{prefix}.tpr@fpr={f:g}",
                f"TPR at {f:.1%} FPR ({label})",
                tpr_higher,
                cmp.scores(
                    tpr_at_fpr_rows(f), pairs, max_reps=DETAIL_REPS, min_negatives_needed=min_negatives(f)
                ),
            )
        )
    return metrics


class MembershipAttack(Attack[P]):
    """Base of membership inference attacks: subclasses implement :meth:`scores`.

    Subclass it as ``class MyAttack(MembershipAttack[MyParams])``. The metric keys are
    ``<name>.auc``, ``<name>.balanced_accuracy`` and ``<name>.tpr@fpr=<f>`` for each of
    :attr:`fprs`; the default gate is the AUC gap, two-sided, at the ``gate_tolerance`` parameter
    when the parameters have one. An attack that measures more extends :meth:`metric_keys` and
    :meth:`default_gates` with ``super()`` and fills :meth:`leading_metrics` (LiRA's exposure), or
    names several signals in :meth:`signal_labels` (threshold).

    :meth:`measure` is final. It makes one comparer (purpose ``attack/<name>``), passes its
    generator to :meth:`scores`, then measures :meth:`leading_metrics` and the block(s) from the
    same generator, in that order: one stream per attack, so the evidence does not depend on how
    the work is split between the attack and the base.
    """

    label: ClassVar[str]
    """The attack's name in metric labels and captions, e.g. ``LiRA``."""
    fprs: ClassVar[tuple[float, ...]] = FPRS
    auc_higher: ClassVar[str] = "members and non-members are more separable"
    tpr_higher: ClassVar[str] = "more members identified at this false-positive rate"

    @abc.abstractmethod
    def scores(self, ctx: AuditContext, rng: np.random.Generator) -> MembershipScores:
        """Membership scores of every audited model, with what the evidence should record.

        Args:
            ctx: The audit.
            rng: The generator the comparisons draw from once this returns; take from it any
                randomness the scoring needs (a subsample, a classifier's seed), and nothing else.
        """

    def signal_labels(self) -> dict[str, str]:
        """Signal -> label, for an attack that measures several signals, each its own block.

        The blocks are keyed ``<name>.<signal>.*`` and measured in this order, from
        :attr:`MembershipScores.signals`. Empty (the default): one block keyed ``<name>.*``.
        """
        return {}

    def leading_metrics(self, scores: MembershipScores, cmp: Comparer) -> list[MetricResult]:
        """Metrics measured before the membership block(s); list their keys in :meth:`metric_keys`."""
        return []

    def _blocks(self) -> list[tuple[str | None, str, str]]:
        """(signal, key prefix, label) of each membership block, in order; signal None: the one block."""
        named = self.signal_labels()
        if not named:
            return [(None, self.name, self.label)]
        return [(signal, f"{self.name}.{signal}", label) for signal, label in named.items()]

    def metric_keys(self, forget_kind: str) -> list[str]:
        return [key for _, prefix, _ in self._blocks() for key in membership_keys(prefix, self.fprs)]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        tolerance = getattr(self.params, "gate_tolerance", None)
        if tolerance is None:
            return {}
        return {f"{prefix}.auc": float(tolerance) for _, prefix, _ in self._blocks()}

    @final
    def measure(self, ctx: AuditContext) -> Measurement:
        note = ctx.shadow_store().not_estimable() if Need.SHADOWS in self.requires else None
        if note is not None:
            return not_estimable(ctx, self.metric_keys(ctx.forget_kind), note, label=self.label)
        cmp = ctx.comparer(f"attack/{self.name}")
        s = self.scores(ctx, cmp.rng)
        metrics = self.leading_metrics(s, cmp)
        figures: list[Figure] = []
        for signal, prefix, label in self._blocks():
            pairs = s.pairs if signal is None else s.signals[signal]
            if s.roc_title is not None and not figures:
                figures.append(roc_figure(s.roc_title, pairs))
            metrics += membership_metrics(
                prefix,
                label,
                pairs,
                cmp,
                fprs=self.fprs,
                auc_higher=self.auc_higher,
                tpr_higher=self.tpr_higher,
            )
        return Measurement(tuple(metrics), details=s.details, figures=(*figures, *s.figures))


def not_estimable_comparison(ctx: AuditContext, note: str) -> Comparison:
    """A comparison with no value for any model, carrying the reason (no gate can use it)."""
    none = Estimate(None, n=len(ctx.splits.forget), note=note)
    return Comparison({role: none for role in ctx.models()}, none, None, None)


def not_estimable(ctx: AuditContext, keys: list[str], note: str, *, label: str) -> Measurement:
    """Every metric of an attack reported as not estimable, with the reason (no gate can use it)."""
    empty = not_estimable_comparison(ctx, note)
    metrics = tuple(
        MetricResult(key, f"{label} {key.partition('.')[2].replace('_', ' ')}", "not estimable here", empty)
        for key in keys
    )
    return Measurement(metrics, details={"note": note})


def train_shadows(ctx: AuditContext, count: int) -> ShadowSet:
    """The first ``count`` shadow models of the audit's store, behind a progress bar.

    They are trained with the target's recipe on complementary halves of the data (or read from
    the model cache, which every shadow attack shares).
    """
    store = ctx.shadow_store()
    with ctx.task(f"training {count} shadow models", count) as update:
        return store.get(count, progress=update)


def shadow_splits(
    splits: Splits,
    inside: np.ndarray,
    labels: np.ndarray,
    *,
    forget_kind: str,
    forget_classes: tuple[int, ...],
) -> Splits:
    """The splits of one shadow original: its own training half and the audit's request within it.

    Class forgetting forgets every sample of the classes that the shadow trained on; other kinds
    forget the audit's forget samples that the shadow trained on.
    """
    train = np.nonzero(inside)[0]
    if forget_kind == "class":
        forget = train[np.isin(labels[train], forget_classes)]
    else:
        forget = np.intersect1d(train, splits.forget)
    retain = np.setdiff1d(train, forget)
    population = np.setdiff1d(np.nonzero(~inside)[0], splits.forget)
    return Splits(
        train=train, test=np.empty(0, dtype=np.int64), population=population, forget=forget, retain=retain
    )


def retrain_cached(ctx: AuditContext, split: SplitData, *, seed: int, role: str | None) -> nn.Module:
    """A fresh model trained on ``split`` with the audit's recipe, by the audit's one trainer.

    Args:
        ctx: The audit.
        split: The training data.
        seed: Seeds the initialisation (``<seed>/init``) and the batch order (``<seed>/train``).
        role: The cache role (``shadow-retrain``); None keys it as the audit's own references are
            keyed, so a retrain on the audit's retain set with a reference's seed is that reference
            (one spec, one cache entry, one digest: :mod:`auditor.train.trainer`).
    """
    return ctx.retrain(split.indices, seed=seed, role=role)


def attack_classifier(kind: ClassifierName, seed: int) -> Any:
    """A fresh scikit-learn member/non-member classifier (Shokri et al., S&P 2017's attack model).

    Args:
        kind: ``logistic`` (standardised features, L2 logistic regression) or
            ``gradient_boosting`` (histogram gradient boosting, 100 iterations).
        seed: Seeds the gradient boosting's randomness.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return HistGradientBoostingClassifier(max_iter=100, random_state=seed % (2**31))
