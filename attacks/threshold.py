"""``threshold``: population threshold membership inference on loss, entropy, modified entropy
and confidence.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from attacks import signals
from attacks.base import Attack, Measurement, MetricResult, Params
from attacks.figures import ROLE_ORDER, histogram_figure, roc_figure
from auditor.context import AuditContext
from auditor.stats import (
    auc_rows,
    balanced_accuracy_rows,
    compare_scores,
    min_negatives,
    tpr_at_fpr_rows,
)

Signal = Literal["loss", "entropy", "mentropy", "confidence"]

# Signal -> (per-sample function, sign that makes "higher means member").
SIGNALS = {
    "loss": (signals.loss, -1.0),
    "entropy": (signals.entropy, -1.0),
    "mentropy": (signals.modified_entropy, -1.0),
    "confidence": (signals.true_class_prob, 1.0),
}
LABELS = {"loss": "loss", "entropy": "entropy", "mentropy": "modified entropy", "confidence": "confidence"}
FPRS = (0.001, 0.01, 0.1)


class ThresholdParams(Params):
    signals: list[Signal] = Field(
        default_factory=lambda: ["loss", "entropy", "mentropy"],
        min_length=1,
        description=(
            "Which per-sample signals to threshold. confidence = exp(-loss) ranks samples exactly like loss, "
            "so it is not in the default set (statistics review m3)."
        ),
    )
    gate_tolerance: float = Field(
        0.05,
        gt=0,
        lt=1,
        description=(
            "Smallest default tolerance on each AUC gap (statistics review C3: 0.15 passed models exposing "
            "10-20 % of the forget set). Where the sample cannot certify it, the gate is inconclusive."
        ),
    )


class ThresholdAttack(Attack):
    """Population threshold membership inference: one global threshold on a per-sample signal.

    Signals: loss (Yeom et al., "Privacy Risk in Machine Learning", CSF 2018), prediction entropy
    and modified entropy (Song & Mittal, "Systematic Evaluation of Privacy Risks of Machine
    Learning Models", USENIX Security 2021), and true-class confidence. Members are the forget
    set; non-members are held-out samples of the same classes (test split, plus the population split
    when the method did not read it). Every threshold is swept, so
    the ROC, AUC, best balanced accuracy and TPR at 0.1 %, 1 % and 10 % FPR are reported for the
    unlearned model, the reference (mean over seeds) and the original.

    Population attacks overstate how well unlearning worked (Hayes et al., arXiv 2403.01218);
    they are the cheap tier, judged against the reference's score two-sided: an AUC far *below*
    the reference's (over-forgetting, the "Streisand effect") fails as well.
    """

    name = "threshold"
    title = "Threshold membership inference"
    summary = "Loss / entropy / modified-entropy / confidence threshold MIA, forget set vs held-out data."
    citation = (
        "Yeom et al., CSF 2018; Song & Mittal, Systematic Evaluation of Privacy Risks of Machine "
        "Learning Models, USENIX Security 2021."
    )
    threat_model = (
        "Black-box adversary with softmax outputs and true labels, no shadow models; one global "
        "threshold per signal over all samples (population attack)."
    )
    Params = ThresholdParams

    def metric_keys(self, forget_kind: str) -> list[str]:
        keys = []
        for s in self.params.signals:
            keys += [f"threshold.{s}.auc", f"threshold.{s}.balanced_accuracy"]
            keys += [f"threshold.{s}.tpr@fpr={f:g}" for f in FPRS]
        return keys

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {f"threshold.{s}.auc": self.params.gate_tolerance for s in self.params.signals}

    def measure(self, ctx: AuditContext) -> Measurement:
        members, nonmembers = ctx.split("forget"), ctx.split("nonmember")
        rng = ctx.rng("attack/threshold")
        metrics = []
        figures = []
        for name in self.params.signals:
            fn, sign = SIGNALS[name]
            scores = {
                role: [
                    (
                        sign * fn(ctx.logits(m, "forget"), members.y),
                        sign * fn(ctx.logits(m, "nonmember"), nonmembers.y),
                    )
                    for m in ms
                ]
                for role, ms in ctx.models().items()
            }
            label = LABELS[name]
            if not figures:  # the first signal's ROC and score distributions
                figures.append(roc_figure(f"ROC of the {label} threshold attack", scores))
                raw = {
                    f"forget, {role}": sign * np.concatenate([f for f, _ in pairs])  # undo the sign
                    for role, pairs in scores.items()
                    if role in ROLE_ORDER
                }
                raw["held-out, reference"] = sign * np.concatenate([n for _, n in scores["reference"]])
                figures.append(
                    histogram_figure(
                        f"Per-sample {label} on the forget set",
                        label,
                        raw,
                        roles={
                            k: ("nonmember" if k.startswith("held-out") else k.split(", ")[1]) for k in raw
                        },
                        note="The unlearned model's distribution should match the reference's (which never saw "
                        "these samples), not the original's.",
                    )
                )
            metrics.append(
                MetricResult(
                    f"threshold.{name}.auc",
                    f"AUC ({label})",
                    "members and non-members are more separable",
                    compare_scores(auc_rows, scores, reps=ctx.bootstrap, level=ctx.level, rng=rng),
                )
            )
            metrics.append(
                MetricResult(
                    f"threshold.{name}.balanced_accuracy",
                    f"Best balanced accuracy ({label})",
                    "the best threshold separates better (in-sample, optimistic)",
                    compare_scores(
                        balanced_accuracy_rows, scores, reps=min(ctx.bootstrap, 400), level=ctx.level, rng=rng
                    ),
                )
            )
            for f in FPRS:
                metrics.append(
                    MetricResult(
                        f"threshold.{name}.tpr@fpr={f:g}",
                        f"TPR at {f:.1%} FPR ({label})",
                        "more members identified at this false-positive rate",
                        compare_scores(
                            tpr_at_fpr_rows(f),
                            scores,
                            reps=min(ctx.bootstrap, 400),
                            level=ctx.level,
                            rng=rng,
                            min_negatives_needed=min_negatives(f),
                        ),
                    )
                )
        return Measurement(
            tuple(metrics),
            details={
                "members": len(members),
                "nonmembers": len(nonmembers),
                "nonmember_source": ctx.nonmember_source(),
            },
            figures=tuple(figures),
        )
