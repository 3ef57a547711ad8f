"""``shadow_mia``: Shokri et al.'s shadow-model attack: a classifier trained on shadow outputs."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import Field, field_validator

from attacks.base import Attack, Measurement, MetricResult, Params
from attacks.lira import FPRS
from auditor.context import AuditContext
from auditor.stats import auc_rows, balanced_accuracy_rows, compare_scores, min_negatives, tpr_at_fpr_rows
from auditor.training import predict_logits


class ShadowMiaParams(Params):
    shadows: int = Field(16, ge=2, le=4096, description="Shadow models (shared with lira and rmia).")
    per_class: bool = Field(True, description="One attack model per true class, as in Shokri et al.")
    classifier: Literal["logistic", "gradient_boosting"] = Field(
        "gradient_boosting", description="The attack model (scikit-learn), fitted on shadow IN/OUT outputs."
    )
    max_train: int = Field(20_000, ge=100, description="Cap on shadow (sample, model) rows used to fit.")
    gate_tolerance: float = Field(
        0.05,
        gt=0,
        lt=1,
        description=(
            "Smallest default tolerance on the AUC gap (statistics review C3: 0.15 passed models exposing 10-20 % of the "
            "forget set); where the sample cannot certify it, the gate is inconclusive, not looser."
        ),
    )

    @field_validator("shadows")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"shadows must be even (complementary pairs), got {value}")
        return value


def features(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Sorted softmax vector plus the true-class probability and loss: the attack model's input.

    Sorting makes the vector class-agnostic (Salem et al., NDSS 2019); p_y and the loss carry the
    label information Shokri et al.'s per-class models get from the class split.
    """
    z = logits.double()
    p = torch.softmax(z - z.max(dim=1, keepdim=True).values, dim=1)
    py = p[torch.arange(len(labels)), labels]
    loss = torch.logsumexp(z, dim=1) - z[torch.arange(len(labels)), labels]
    return torch.cat([p.sort(dim=1, descending=True).values, py[:, None], loss[:, None]], dim=1).numpy()


def _make_classifier(kind: str, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return HistGradientBoostingClassifier(max_iter=100, random_state=seed % (2**31))


class ShadowMia(Attack):
    """Shadow-model membership inference (Shokri, Stronati, Song & Shmatikov, "Membership Inference
    Attacks Against Machine Learning Models", IEEE S&P 2017).

    The shadow models (trained with the target's recipe on complementary halves of the data, and
    shared with ``lira`` and ``rmia``) give labelled examples of outputs on training members (IN)
    and non-members (OUT). An attack classifier, one per true class by default, learns to tell
    them apart; its member probability on the audited model's outputs is the score. Shadow rows
    for the audited forget and non-member samples are left out of the attack's training data, so
    the classifier never saw the samples it scores. A population attack in the sense of Hayes et
    al. (2024): one decision function for all samples of a class.
    """

    name = "shadow_mia"
    title = "Shadow-model attack (Shokri et al.)"
    summary = "Attack classifier trained on shadow models' outputs (IN vs OUT), per class."
    citation = "Shokri et al., Membership Inference Attacks Against Machine Learning Models, IEEE S&P 2017."
    threat_model = (
        "Black-box adversary with softmax outputs and labels who trains shadow models with the "
        "target's recipe on same-distribution data and learns a member/non-member classifier."
    )
    Params = ShadowMiaParams

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["shadow_mia.auc", "shadow_mia.balanced_accuracy"] + [
            f"shadow_mia.tpr@fpr={f:g}" for f in FPRS
        ]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"shadow_mia.auc": self.params.gate_tolerance}

    def measure(self, ctx: AuditContext) -> Measurement:
        if ctx.shadows is None:
            raise RuntimeError("shadow_mia needs a shadow store; run it through the audit pipeline")
        p = self.params
        with ctx.task(f"training {p.shadows} shadow models", p.shadows) as update:
            shadows = ctx.shadows.get(p.shadows, progress=update)
        rng = ctx.rng("attack/shadow_mia")
        forget_idx, non_idx = ctx.splits.forget, ctx.nonmember_indices()
        audited = np.union1d(forget_idx, non_idx)
        pool = np.setdiff1d(np.arange(len(ctx.data)), audited)
        labels_pool = ctx.data.y[torch.as_tensor(pool)]
        rows_x, rows_y, rows_c = [], [], []
        for k, logits in enumerate(ctx.shadows.logits(shadows, pool)):
            rows_x.append(features(logits, labels_pool))
            rows_y.append(shadows.membership[k, pool])
            rows_c.append(labels_pool.numpy())
        fx, fy, fc = np.concatenate(rows_x), np.concatenate(rows_y), np.concatenate(rows_c)
        if fx.shape[0] > p.max_train:
            keep = rng.choice(fx.shape[0], size=p.max_train, replace=False)
            fx, fy, fc = fx[keep], fy[keep], fc[keep]
        seed = int(rng.integers(0, 2**31 - 1))
        groups = sorted(set(fc.tolist())) if p.per_class else [None]
        models = {}
        for c in groups:
            sel = fc == c if c is not None else np.ones_like(fy, dtype=bool)
            if len(set(fy[sel].tolist())) < 2:
                continue
            models[c] = _make_classifier(p.classifier, seed).fit(fx[sel], fy[sel])
        fallback = _make_classifier(p.classifier, seed).fit(fx, fy)

        targets = np.concatenate([forget_idx, non_idx])
        labels = ctx.data.y[torch.as_tensor(targets)]
        x_t = ctx.data.x[torch.as_tensor(targets)]

        def scores(model: torch.nn.Module) -> np.ndarray:
            f = features(predict_logits(model, x_t, device=ctx.device), labels)
            out = np.empty(len(targets))
            y = labels.numpy()
            for c in set(y.tolist()) if p.per_class else [None]:
                sel = y == c if c is not None else np.ones(len(y), dtype=bool)
                clf = models.get(c, fallback)
                out[sel] = clf.predict_proba(f[sel])[:, 1]
            return out

        n_f = len(forget_idx)
        pairs = {
            role: [(s[:n_f], s[n_f:]) for s in (scores(m) for m in ms)] for role, ms in ctx.models().items()
        }
        metrics = [
            MetricResult(
                "shadow_mia.auc",
                "AUC (shadow-model attack)",
                "members and non-members are more separable",
                compare_scores(auc_rows, pairs, reps=ctx.bootstrap, level=ctx.level, rng=rng),
            ),
            MetricResult(
                "shadow_mia.balanced_accuracy",
                "Best balanced accuracy (shadow-model attack)",
                "the best threshold separates better (in-sample, optimistic)",
                compare_scores(
                    balanced_accuracy_rows, pairs, reps=min(ctx.bootstrap, 400), level=ctx.level, rng=rng
                ),
            ),
        ]
        for f in FPRS:
            metrics.append(
                MetricResult(
                    f"shadow_mia.tpr@fpr={f:g}",
                    f"TPR at {f:.1%} FPR (shadow-model attack)",
                    "more members identified at this false-positive rate",
                    compare_scores(
                        tpr_at_fpr_rows(f),
                        pairs,
                        reps=min(ctx.bootstrap, 400),
                        level=ctx.level,
                        rng=rng,
                        min_negatives_needed=min_negatives(f),
                    ),
                )
            )
        details = {
            "members": int(n_f),
            "nonmembers": int(len(non_idx)),
            "nonmember_source": ctx.nonmember_source(),
            "attack_training_rows": int(fx.shape[0]),
            "per_class": p.per_class,
            "classifier": p.classifier,
            "features": "sorted softmax vector, p_y, loss",
            "shadows": shadows.record(ctx.recipe),
        }
        return Measurement(tuple(metrics), details=details)
