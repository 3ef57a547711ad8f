"""The leakage risk in three blocks that are never merged into one number.

1. **Measured** by this audit: how many erased records a membership attack identifies at stated
   false-positive rates (its true-positive rate on the unlearned model, against retrained models),
   and how many records the per-record table flags against the number expected by chance.
2. **Declared** by the controller in the config (``report.risk``): the prior probability that a
   record an attacker tests was erased (the base rate among its candidates), and the harm to a
   person whose membership is revealed. The audit measures neither.
3. **Combined**: what follows from both, each figure with its inputs shown: the expected number of
   erased records an attacker identifies beyond what it would after retraining, and the precision
   of its "this record was in training" claims at the declared prior,
   ``prior * TPR / (prior * TPR + (1 - prior) * FPR)``.

Keeping the blocks apart follows the practice of reporting attack performance at low FPR
(Carlini et al., "Membership Inference Attacks From First Principles", IEEE S&P 2022) and of
separating the measured attack from assumptions about the population (base rates; Jayaraman et al.,
"Revisiting Membership Inference Under Realistic Assumptions", PETS 2021).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.report.numbers import amount, count, finite, percent

#: Attacks whose TPR at low FPR the measured block reports, strongest first.
PREFERRED = ("lira", "rmia", "shadow_mia", "threshold")
_TPR = re.compile(r"^(?P<prefix>.+)\.tpr@fpr=(?P<fpr>[0-9.e-]+)$")


@dataclass(frozen=True)
class RateRow:
    """One false-positive rate: the attack's TPR on each model, and what it combines to."""

    fpr: float
    tpr: float
    tpr_ci: tuple[float, float] | None
    reference_tpr: float | None
    original_tpr: float | None
    excess_records: float | None
    excess_records_ci: tuple[float, float] | None
    precision: float | None
    reference_precision: float | None


@dataclass(frozen=True)
class Risk:
    """The three blocks. Empty lists and None mean "not measured" or "not declared"."""

    attack: str | None
    attack_label: str | None
    forget_count: int | None
    rates: tuple[RateRow, ...]
    records_flagged: str | None
    prior: float | None
    harm: str | None
    severity: str | None

    @property
    def measured(self) -> bool:
        return bool(self.rates) or self.records_flagged is not None

    @property
    def declared(self) -> bool:
        return self.prior is not None or bool(self.harm) or bool(self.severity)


def _value(metric: Mapping[str, Any], role: str) -> tuple[float | None, tuple[float, float] | None]:
    est = (metric.get("values") or {}).get(role) or {}
    value = est.get("value")
    ci = est.get("ci")
    pair = (
        (float(ci[0]), float(ci[1]))
        if isinstance(ci, list) and len(ci) == 2 and all(finite(v) for v in ci)
        else None
    )
    return (float(value) if finite(value) else None), pair


def _tpr_metrics(
    evidence: Mapping[str, Any],
) -> tuple[str | None, str | None, list[tuple[float, Mapping[str, Any]]]]:
    """The preferred attack's TPR-at-FPR metrics (for threshold, the signal with the highest AUC)."""
    attacks = {str(a.get("name")): a for a in evidence.get("attacks") or () if isinstance(a, Mapping)}
    for name in PREFERRED:
        attack = attacks.get(name)
        if not attack or attack.get("error"):
            continue
        by_prefix: dict[str, list[tuple[float, Mapping[str, Any]]]] = {}
        aucs: dict[str, float] = {}
        for metric in attack.get("metrics") or ():
            key = str(metric.get("key"))
            found = _TPR.match(key)
            if found:
                by_prefix.setdefault(found["prefix"], []).append((float(found["fpr"]), metric))
            elif key.endswith(".auc"):
                auc, _ = _value(metric, "unlearned")
                if auc is not None:
                    aucs[key[: -len(".auc")]] = auc
        if not by_prefix:
            continue
        prefix = max(by_prefix, key=lambda p: aucs.get(p, 0.0))
        label = str(attack.get("title") or name)
        if prefix != name:
            label += f" ({prefix.split('.', 1)[-1]})"
        return name, label, sorted(by_prefix[prefix], key=lambda item: item[0])
    return None, None, []


def _precision(prior: float | None, tpr: float | None, fpr: float) -> float | None:
    if prior is None or tpr is None:
        return None
    flagged = prior * tpr + (1 - prior) * fpr
    return prior * tpr / flagged if flagged > 0 else None


def risk(evidence: Mapping[str, Any]) -> Risk:
    """The three blocks for this evidence (see the module docstring)."""
    forget = (evidence.get("data") or {}).get("forget") or {}
    n = forget.get("count") if isinstance(forget.get("count"), int) else None
    declared = ((evidence.get("config") or {}).get("report") or {}).get("risk") or {}
    prior = declared.get("attacker_prior") if finite(declared.get("attacker_prior")) else None
    name, label, metrics = _tpr_metrics(evidence)
    rates = []
    for fpr, metric in metrics:
        tpr, tpr_ci = _value(metric, "unlearned")
        if tpr is None:
            continue
        ref, _ = _value(metric, "reference")
        orig, _ = _value(metric, "original")
        gap = metric.get("gap") or {}
        raw_ci = gap.get("ci")
        gap_ci = raw_ci if isinstance(raw_ci, list) and len(raw_ci) == 2 else None
        excess = n * max(0.0, tpr - ref) if n is not None and ref is not None else None
        excess_ci = (
            (n * max(0.0, float(gap_ci[0])), n * max(0.0, float(gap_ci[1])))
            if n is not None and gap_ci and all(finite(v) for v in gap_ci)
            else None
        )
        rates.append(
            RateRow(
                fpr=fpr,
                tpr=tpr,
                tpr_ci=tpr_ci,
                reference_tpr=ref,
                original_tpr=orig,
                excess_records=excess,
                excess_records_ci=excess_ci,
                precision=_precision(prior, tpr, fpr),
                reference_precision=_precision(prior, ref, fpr),
            )
        )
    records = evidence.get("records")
    flagged = None
    if isinstance(records, Mapping) and isinstance(records.get("flagged"), int):
        chance = records.get("chance_range")
        span = (
            f" (honest retrains show {amount(chance[0])}\u2013{amount(chance[1])})"
            if isinstance(chance, list) and len(chance) == 2
            else ""
        )
        flagged = (
            f"{count(records['flagged'])} of {count(records.get('n'))} erased records flagged at "
            f"{percent(records.get('fpr'))} FPR; {amount(records.get('expected_by_chance'))} expected by chance{span}"
        )
    return Risk(
        attack=name,
        attack_label=label,
        forget_count=n,
        rates=tuple(rates),
        records_flagged=flagged,
        prior=float(prior) if prior is not None else None,
        harm=str(declared["harm"]) if declared.get("harm") else None,
        severity=str(declared["severity"]) if declared.get("severity") else None,
    )


__all__ = ["PREFERRED", "RateRow", "Risk", "risk"]
