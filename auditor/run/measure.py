"""Measure: the attacks' context over the attested models, and each attack's run.

An attack that crashes is recorded (its error in the evidence) and the battery goes on; the
verdict then cannot pass. Attacks measure; the verdict (:mod:`auditor.judge.verdict`) decides.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

from attacks import ATTACKS
from attacks.base import Attack
from auditor.config import AuditConfig
from auditor.judge.decision import MeasuredAttack
from auditor.judge.inference import GapEvidence, evidence_from_replicates
from auditor.plugin.context import AuditContext
from auditor.run.preflight import Prepared
from auditor.run.progress import Progress
from auditor.train.shadows import ShadowStore, shadow_group
from auditor.train.trainer import Trainer


@dataclass(frozen=True)
class AttackRun:
    """One attack's run: the attack, its evidence record and the gap evidence per metric and role."""

    attack: Attack[Any]
    record: dict[str, Any]
    evidence: dict[str, dict[str, GapEvidence]]

    def measured(self, forget_kind: str) -> MeasuredAttack:
        """What the verdict reads of this run."""
        keys = tuple(self.attack.metric_keys(forget_kind))
        return MeasuredAttack(
            name=self.record["name"],
            keys=keys,
            default_gates=self.attack.default_gates(forget_kind),
            categories={k: self.attack.category(k, forget_kind) for k in keys},
            fail_only=self.attack.fail_only,
            metrics={m["key"]: m for m in self.record["metrics"]},
            evidence=self.evidence,
            error=self.record["error"],
        )


def shadow_store(cfg: AuditConfig, prep: Prepared, trainer: Trainer) -> ShadowStore:
    """The audit's shadow store, on the audit's one trainer."""
    return ShadowStore(
        trainer=trainer,
        seed=cfg.seed,
        train_size=int(len(prep.splits.train)),
        group=shadow_group(cfg.forget.kind, prep.data, prep.splits, tuple(cfg.forget.classes or ())),
    )


def run_attacks(cfg: AuditConfig, ctx: AuditContext, progress: Progress) -> list[AttackRun]:
    """Every configured attack, in order, each on every model of ``ctx``."""
    runs = []
    with progress.task("attacks", len(cfg.attacks)) as update:
        for i, spec in enumerate(cfg.attacks):
            cls = ATTACKS.get(spec.name)
            runs.append(run_attack(cls(cls.Params.model_validate(spec.params)), ctx))
            update(i + 1, len(cfg.attacks))
    return runs


def run_attack(attack: Attack[Any], ctx: AuditContext) -> AttackRun:
    """Measure one attack; a crash is recorded and the battery goes on."""
    t = time.perf_counter()
    record: dict[str, Any] = {
        "name": attack.name,
        "title": attack.title,
        "summary": attack.summary,
        "citation": attack.citation,
        "threat_model": attack.threat_model,
        "params": attack.params.model_dump(mode="json"),
        "metrics": [],
        "tables": [],
        "figures": [],
        "details": {},
        "error": None,
    }
    evidence: dict[str, dict[str, GapEvidence]] = {}
    try:
        m = attack.measure(ctx)
        record["metrics"] = [r.as_dict() for r in m.metrics]
        record["tables"] = [tb.as_dict() for tb in m.tables]
        record["details"] = m.details
        record["figures"] = [f.as_dict() for f in m.figures]
        evidence = {r.key: gap_evidence(r.comparison) for r in m.metrics}
    except Exception as exc:  # recorded in the evidence; the verdict becomes inconclusive
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=6)
    record["runtime_s"] = round(time.perf_counter() - t, 3)
    return AttackRun(attack, record, evidence)


def gap_evidence(comparison: Any) -> dict[str, GapEvidence]:
    """Role -> gap evidence of one metric.

    For a comparison that carries none, the sample-only evidence of the unlearned and original
    gaps (one reference: it cannot show equivalence).
    """
    if comparison.evidence:
        return dict(comparison.evidence)
    out: dict[str, GapEvidence] = {}
    ref = comparison.per_model.get("reference")
    if comparison.gap.value is None or ref is None or ref.value is None:
        return out
    out["unlearned"] = evidence_from_replicates(comparison.gap.value, comparison.gap_samples, [ref.value])
    orig = comparison.per_model.get("original")
    if comparison.control_samples is not None and orig is not None and orig.value is not None:
        out["original"] = evidence_from_replicates(
            orig.value - ref.value, comparison.control_samples, [ref.value]
        )
    return out
