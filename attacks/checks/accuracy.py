"""``accuracy``: forget, retain and test accuracy on every model, per class under class forgetting."""

from __future__ import annotations

import numpy as np

from attacks.base import Attack, Measurement, MetricResult, Params, Table
from attacks.signals import correct
from auditor.judge.stats import forget_set_comparison
from auditor.plugin.context import AuditContext


class AccuracyParams(Params):
    """Parameters of :class:`AccuracyCheck` (none)."""


class AccuracyCheck(Attack[AccuracyParams]):
    """Accuracy of the unlearned model next to the retrained reference's and the original's.

    The standard utility and efficacy measures of the unlearning literature (forget accuracy FA,
    retain accuracy RA, test accuracy TA; e.g. Jia et al., "Model Sparsity Can Simplify Machine
    Unlearning", NeurIPS 2023; METHODS.md C2). Judged two-sided against the reference: forgetting
    more than retraining does is as visible as forgetting less (ATTACKS.md 5.4). Under class
    forgetting the test accuracy is also split into the forgotten and the retained classes.
    Intervals: Clopper-Pearson per model; for the gap, Newcombe's paired score interval plus the
    retrain-to-retrain spread (:mod:`auditor.judge.inference`). Retain and test accuracy are evidence
    of utility; forget accuracy (and test accuracy on forgotten classes) of forgetting.
    """

    name = "accuracy"
    title = "Accuracy"
    summary = "Forget, retain and test accuracy against the retrained reference (two-sided)."
    citation = "Jia et al., Model Sparsity Can Simplify Machine Unlearning, NeurIPS 2023 (FA/RA/TA protocol)."
    threat_model = "Utility and efficacy measurement with labelled data; no adversary."

    def _splits(self, forget_kind: str) -> list[tuple[str, str]]:
        out = [("forget", "Forget-set accuracy"), ("retain", "Retain-set accuracy")]
        if forget_kind == "class":
            out += [
                ("test_forgotten_classes", "Test accuracy, forgotten classes"),
                ("test_retained_classes", "Test accuracy, retained classes"),
            ]
        else:
            out += [("test", "Test accuracy")]
        return out

    def metric_keys(self, forget_kind: str) -> list[str]:
        return [f"accuracy.{name}" for name, _ in self._splits(forget_kind)]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        # Utility within 2 points of retraining (statistics review section 3); forgetting within 5.
        return {
            key: (0.02 if self.category(key, forget_kind) == "utility" else 0.05)
            for key in self.metric_keys(forget_kind)
        }

    def category(self, key: str, forget_kind: str) -> str:
        return "forgetting" if key in ("accuracy.forget", "accuracy.test_forgotten_classes") else "utility"

    def measure(self, ctx: AuditContext) -> Measurement:
        models = ctx.models()
        test_y = ctx.split("test").y.numpy()
        in_forgotten = np.isin(test_y, ctx.forget_classes)
        cmp = ctx.comparer("attack/accuracy")

        def outcomes(split: str) -> dict[str, list[np.ndarray]]:
            base = "test" if split.startswith("test") else split
            mask = {"test_forgotten_classes": in_forgotten, "test_retained_classes": ~in_forgotten}.get(split)
            y = ctx.split(base).y
            out = {}
            for role, ms in models.items():
                arrays = [correct(ctx.logits(m, base), y) for m in ms]
                out[role] = [a[mask] if mask is not None else a for a in arrays]
            return out

        metrics = []
        for split, label in self._splits(ctx.forget_kind):
            comp = cmp.proportions(outcomes(split))
            if split == "forget":  # the request names these samples: the claim is about them
                comp = forget_set_comparison(comp)
            metrics.append(
                MetricResult(f"accuracy.{split}", label, "the model classifies more of these correctly", comp)
            )

        rows = []
        per_role = {
            role: [correct(ctx.logits(m, "test"), ctx.split("test").y) for m in ms]
            for role, ms in models.items()
        }
        for c in range(ctx.data.num_classes):
            mask = test_y == c
            if not mask.any():
                continue
            row = [
                ctx.data.class_names[c] + (" (forgotten)" if c in ctx.forget_classes else ""),
                int(mask.sum()),
            ]
            row += [
                round(float(np.mean([a[mask].mean() for a in per_role[r]])), 4)
                for r in ("unlearned", "reference", "original")
            ]
            rows.append(tuple(row))
        table = Table(
            "Per-class test accuracy (reference: mean over seeds)",
            ("class", "n", "unlearned", "reference", "original"),
            tuple(rows),
        )
        return Measurement(tuple(metrics), (table,))
