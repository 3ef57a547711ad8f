"""``records``: each forget record tested against the references' own null for that record.

A population membership test (an AUC over the whole forget set, or a threshold pooled over its
records) dilutes a few records the unlearned model still holds among many it forgot: an erasure
that left a quarter of the request in training passed such gates on most MNIST-1D seeds
(adversarial review 2). This check asks, for every forget record on its own, whether the unlearned
model is more confident on it than a model retrained without it would be.

The statistic is an offline likelihood-ratio test per record (Carlini et al., "Membership
Inference Attacks From First Principles", IEEE S&P 2022) whose OUT models are the audit's
references, retrained without the forget set with the target's recipe: for record i, the
logit-scaled confidence phi_i = log p_y - log(1 - p_y) of the R references is fitted by a normal
distribution, and the unlearned model's phi is scored by its one-sided predictive p-value
(Student t on R - 1 degrees of freedom with the prediction factor sqrt(1 + 1/R), so that a model
drawn from the retrain distribution gets a uniform p-value when phi is normal across retrains).
A record is *flagged* at ``fpr`` when its p-value is below ``fpr``.

The gated metric is the share of forget records flagged. Each reference is scored the same way
against the other R - 1 references (leave one out), so the references give the share an honest
retrain shows, with its spread, and the gap is judged like any other, conditioned on the forget
set. The count is one test over all records: the multiplicity of testing every record is absorbed
by comparing the count with its retrain null rather than declaring any single record exposed
(a pooled threshold is not a per-record test; Jalko et al., 2026, on the finite-population bias of
efficient LiRA). The per-record table adds Benjamini-Hochberg q-values for the records that stand out
individually.

It applies to record erasures (``random``, ``indices``): under class and backdoor requests the forget
records move as one block, and the count is reported as not estimable (:data:`RECORD_KINDS`).

The gate is one-sided in what it can show: it can FAIL a model (the flagged share is beyond what
retraining gives, with the retrain noise included), never PASS one, so its tolerance is 0. It is
the check that catches an incomplete erasure (records left in training) that the population gates
dilute; ``docs/statistics.md`` section 13 gives its error rates and power.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field
from scipy import stats as sps

from attacks.base import Attack, Measurement, MetricResult, Params
from attacks.membership.base import not_estimable_comparison
from attacks.signals import logit_confidence
from auditor.judge.stats import Comparison, forget_set_comparison
from auditor.plugin.context import AuditContext

RECORD_KINDS = frozenset({"random", "indices"})
"""Requests whose records are erased one by one; under class and backdoor requests the records move as a block.

On digits class 3, an honest retrain's flagged count against twelve references whose own counts
were 0, 0, 0, 0, 2, 21, 0, 4, 2, 6, 2, 0 (bimodal: a model's confidence on the whole class moves at
once) was 32 of 100, a false FAIL of the count's normal prediction interval (null study seed 214).
"""

TOP_ROWS = 20
"""Rows of the most exposed records shown in the report's table (every row is in the evidence)."""


class RecordsParams(Params):
    """Parameters of :class:`RecordExposure`."""

    fpr: float = Field(
        0.05,
        gt=0,
        lt=0.5,
        description=(
            "A record is flagged when its predictive p-value against the references is below this: an honest "
            "retrain flags about this share of the forget records. 0.05 caught a quarter of a 10 % MNIST-1D "
            "request left in training on every one of six seeds, 0.01 on five (docs/statistics.md section 13)."
        ),
    )
    q: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="False discovery rate of the per-record table's individually exposed records.",
    )


def predictive_z(reference_phi: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, int]:
    """Each record's standardised phi against the references' normal fit, and the t degrees of freedom.

    Args:
        reference_phi: ``(R, n)`` phi of the R references on the n records.
        phi: ``(n,)`` phi of the model scored.
    """
    r = reference_phi.shape[0]
    mu = reference_phi.mean(axis=0)
    sd = np.maximum(reference_phi.std(axis=0, ddof=1), 1e-6)
    return (phi - mu) / (sd * np.sqrt(1.0 + 1.0 / r)), r - 1


def p_values(reference_phi: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """One-sided predictive p-values: how unusually confident ``phi`` is for a model retrained without each record."""
    z, df = predictive_z(reference_phi, phi)
    return sps.t.sf(z, df)


def flagged_by_role(phi: dict[str, list[np.ndarray]], fpr: float) -> dict[str, list[np.ndarray]]:
    """Per role and model, which records are flagged at ``fpr``; each reference against the others."""
    refs = np.stack(phi["reference"])
    out = {
        role: [(p_values(refs, a) < fpr).astype(float) for a in arrays]
        for role, arrays in phi.items()
        if role != "reference"
    }
    out["reference"] = [
        (p_values(np.delete(refs, i, axis=0), refs[i]) < fpr).astype(float) for i in range(len(refs))
    ]
    return out


class RecordExposure(Attack[RecordsParams]):
    """Per-record exposure of the forget set against the references' per-record null (offline LiRA).

    After Carlini et al. (IEEE S&P 2022), offline variant, with the audit's references as the OUT
    models: each forget record is scored against the references' own confidences on it, so a record
    that is easy for every model does not look exposed and a record the unlearned model still
    holds does, however few such records there are.
    """

    name = "records"
    title = "Per-record exposure against the references"
    summary = "Each forget record scored against the retrained references' own null for it (offline LiRA)."
    citation = (
        "Carlini et al., Membership Inference Attacks From First Principles, IEEE S&P 2022 (offline LiRA)."
    )
    threat_model = "Black-box adversary with softmax outputs and labels, calibrated by models retrained without the records."
    default_category = "privacy"
    fail_only = True

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["records.exposed"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"records.exposed": 0.0}

    def measure(self, ctx: AuditContext) -> Measurement:
        forget = ctx.split("forget")
        note = None
        if ctx.forget_kind not in RECORD_KINDS:
            note = (
                f"not estimable: a {ctx.forget_kind} request's records move as one block (every model's "
                "confidence on the class or the trigger shifts them together), so their count is no per-record "
                "test; the request's own gates (accuracy, probe, backdoor) judge it"
            )
        elif len(ctx.references) < 3:  # each reference is scored against the others: two at least
            note = (
                "not estimable: the per-record test scores each reference against the others and needs at "
                "least 3 references; set reference.seeds >= 3 (12 is the default)"
            )
        if note is not None:
            return Measurement((self._metric(not_estimable_comparison(ctx, note)),), details={"note": note})
        phi = {
            role: [logit_confidence(ctx.logits(m, "forget"), forget.y) for m in models]
            for role, models in ctx.models().items()
        }
        flags = flagged_by_role(phi, self.params.fpr)
        comp = forget_set_comparison(ctx.comparer("attack/records").proportions(flags))
        return Measurement((self._metric(comp),), details={"per_record": self._table(phi, flags)})

    def _metric(self, comparison: Comparison) -> MetricResult:
        return MetricResult(
            "records.exposed",
            f"Share of forget records flagged at the retrains' {self.params.fpr:.0%} rate, each against its own null",
            "more forget records look like members than after retraining",
            comparison,
        )

    def _table(self, phi: dict[str, list[np.ndarray]], flags: dict[str, list[np.ndarray]]) -> dict[str, Any]:
        """Every forget record's exposure in the unlearned model, most exposed first, with the chance counts."""
        refs = np.stack(phi["reference"])
        z, _ = predictive_z(refs, phi["unlearned"][0])
        p = p_values(refs, phi["unlearned"][0])
        q = benjamini_hochberg_q(p)
        z_orig = predictive_z(refs, phi["original"][0])[0] if "original" in phi else None
        order = np.argsort(p, kind="stable")
        ref_counts = [int(f.sum()) for f in flags["reference"]]
        n = int(p.size)
        rows: list[dict[str, Any]] = [
            {
                "position": int(i) + 1,
                "z": round(float(z[i]), 4),
                "p_value": float(p[i]),
                "q_value": float(q[i]),
                "flagged": bool(p[i] < self.params.fpr),
                "original_z": round(float(z_orig[i]), 4) if z_orig is not None else None,
            }
            for i in order
        ]
        return {
            "statistic": (
                "one-sided predictive p-value of the unlearned model's logit-scaled confidence on each forget record "
                "against a normal fit to the references' (Student t, R - 1 degrees of freedom)"
            ),
            "fpr": self.params.fpr,
            "q": self.params.q,
            "n": n,
            "flagged": int((p < self.params.fpr).sum()),
            "expected_by_chance": round(self.params.fpr * n, 2),
            "chance_range": [min(ref_counts), max(ref_counts)],
            "references_flagged": ref_counts,
            "individually_exposed": int((q < self.params.q).sum()),
            "original_flagged": int((p_values(refs, phi["original"][0]) < self.params.fpr).sum())
            if "original" in phi
            else None,
            "positions": "1-based positions in forget_manifest.txt (sorted dataset indices), never record IDs",
            "rows": rows,
        }


def benjamini_hochberg_q(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of ``p``, in the input order."""
    n = p.size
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


__all__ = [
    "RecordExposure",
    "RecordsParams",
    "benjamini_hochberg_q",
    "flagged_by_role",
    "p_values",
    "predictive_z",
]
