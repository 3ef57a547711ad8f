"""Decide: from the attacks' measurements to gates, judgements, the sensitivity and the verdict.

One function, :func:`decide`, so that changing how gates combine is one place, tested alone; the
pipeline only builds its inputs. The gate rule, power and verdict rule live in
:mod:`auditor.judge.verdict`; the incomplete-erasure sensitivity in :mod:`auditor.judge.sensitivity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.judge.inference import GapEvidence
from auditor.judge.planning import RuleParams, inconclusive_record
from auditor.judge.sensitivity import PartialControl, records_at_mde, sensitivity
from auditor.judge.verdict import (
    CLAIMS,
    INCONCLUSIVE,
    Gate,
    GateResult,
    apply_bh,
    judge,
    overall,
    resolve_gates,
    verdict_rule,
    widen_to_noise,
)


@dataclass(frozen=True)
class MeasuredAttack:
    """What the verdict reads of one attack's run.

    Attributes:
        name: The attack's registry name.
        keys: Every metric key it reports, in order.
        default_gates: Metric key -> the attack's smallest default tolerance.
        categories: Metric key -> the claim it is evidence for.
        fail_only: Its metrics can fail a model but never pass one.
        metrics: Metric key -> the metric's evidence record (``MetricResult.as_dict()``).
        evidence: Metric key -> role -> :class:`~auditor.judge.inference.GapEvidence`.
        error: Why the attack did not complete, or None.
    """

    name: str
    keys: tuple[str, ...]
    default_gates: dict[str, float]
    categories: dict[str, str]
    fail_only: bool
    metrics: dict[str, dict[str, Any]]
    evidence: dict[str, dict[str, GapEvidence]]
    error: str | None


@dataclass(frozen=True)
class Decision:
    """The gates, each one's judgement, and the verdict record."""

    gates: list[Gate]
    results: list[GateResult]
    verdict: dict[str, Any]


def decide(
    measured: list[MeasuredAttack],
    *,
    rules: list[tuple[str, float]] | None,
    alpha: float,
    correction: str,
    seed_multiplier: float,
    forget_kind: str,
    controls: list[str],
    forget_count: int,
    required_controls: list[str] | None = None,
    partial: list[PartialControl] | None = None,
    required_shares: dict[str, float] | None = None,
    sample_sizes: dict[str, int] | None = None,
) -> Decision:
    """Turn the attacks' measurements into gates, judgements and the verdict.

    The gates are the config's rules, else the attacks' defaults (:func:`resolve_gates`); each
    default is widened to the retrain noise (:func:`widen_to_noise`), judged two-sided against the
    references (:func:`judge`), corrected for the family (Bonferroni, or Benjamini-Hochberg with
    :func:`apply_bh`), and the gates combine into the verdict by :func:`overall`.

    Args:
        measured: Each attack's run, in the config's order.
        rules: The config's ``gates.rules`` as (metric glob, tolerance), or None for the defaults.
        alpha: The family-wise error rate.
        correction: ``bonferroni`` or ``bh``.
        seed_multiplier: Retrain standard deviations a default tolerance is widened to.
        forget_kind: The request's forget kind (which claims it makes).
        controls: Every control that was scored (deception and incomplete-erasure).
        forget_count: Samples in the forget set.
        required_controls: The controls the battery must catch for a PASS (default: all).
        partial: The incomplete-erasure controls among ``controls``.
        required_shares: Per selection, the incomplete-erasure share that must be caught (for the record).
        sample_sizes: The sample sets and their sizes (:mod:`auditor.judge.planning`); with them an
            INCONCLUSIVE verdict records what would settle it (``next_steps``) and says it in its statement.
    """
    keys = [k for m in measured for k in m.keys]
    defaults = {k: v for m in measured for k, v in m.default_gates.items()}
    categories = {k: v for m in measured for k, v in m.categories.items()}
    fail_only = {k for m in measured if m.fail_only for k in m.keys}
    gates = resolve_gates(rules, defaults, keys, categories=categories, fail_only=fail_only)
    metric_by_key = {k: v for m in measured for k, v in m.metrics.items()}
    evidence_by_key = {k: v for m in measured for k, v in m.evidence.items()}
    results = []
    for gate in gates:
        metric = metric_by_key.get(gate.metric)
        gap = (metric or {}).get("gap") or {}
        note = gap.get("note") or (None if metric else "the attack that reports this metric did not complete")
        ev = evidence_by_key.get(gate.metric, {})
        widened = widen_to_noise(gate, ev.get("unlearned"), multiplier=seed_multiplier)
        results.append(judge(widened, ev, alpha=alpha, family=len(gates), note=note, correction=correction))
    if correction == "bh":
        results = apply_bh(results, alpha=alpha)
    record = None
    if partial:
        results = records_at_mde(results, partial, forget_count=forget_count)
        record = sensitivity(results, partial, forget_count=forget_count, required=required_shares or {})
    required = (controls or []) if required_controls is None else required_controls
    attack_errors = [m.name for m in measured if m.error]
    outcome = verdict_rule(
        results,
        claims=CLAIMS.get(forget_kind, ("utility", "forgetting", "privacy")),
        attack_errors=attack_errors,
        required_controls=required,
    )
    steps, settle = (
        inconclusive_record(
            outcome,
            results,
            evidence_by_key,
            forget_kind=forget_kind,
            sizes=sample_sizes,
            rules=RuleParams(alpha=alpha, family=len(gates), multiplier=seed_multiplier),
        )
        if sample_sizes is not None and outcome.status == INCONCLUSIVE
        else (None, None)
    )
    verdict = overall(
        results,
        attack_errors=attack_errors,
        forget_kind=forget_kind,
        controls=controls,
        forget_count=forget_count,
        required_controls=required_controls,
        sensitivity=record,
        settle=settle,
    )
    if steps is not None:
        verdict["next_steps"] = steps
    return Decision(gates, results, verdict)
