"""``shadow_mia``: Shokri et al.'s shadow-model attack: a classifier trained on shadow outputs."""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field

from attacks.base import Need, Params
from attacks.membership.base import (
    AucTolerance,
    ClassifierName,
    MembershipAttack,
    MembershipScores,
    ShadowCount,
    attack_classifier,
    train_shadows,
)
from attacks.signals import loss, probabilities
from auditor.plugin.context import AuditContext, take
from auditor.train.core import predict_logits


class ShadowMiaParams(Params):
    """Parameters of :class:`ShadowMia`."""

    shadows: ShadowCount = Field(16, ge=2, le=4096, description="Shadow models (shared with lira and rmia).")
    per_class: bool = Field(True, description="One attack model per true class, as in Shokri et al.")
    classifier: ClassifierName = Field(
        "gradient_boosting", description="The attack model (scikit-learn), fitted on shadow IN/OUT outputs."
    )
    max_train: int = Field(20_000, ge=100, description="Cap on shadow (sample, model) rows used to fit.")
    gate_tolerance: AucTolerance = 0.05


def features(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Sorted softmax vector plus the true-class probability and loss: the attack model's input.

    Sorting makes the vector class-agnostic (Salem et al., NDSS 2019); p_y and the loss carry the
    label information Shokri et al.'s per-class models get from the class split.
    """
    p = probabilities(logits)
    py = p[np.arange(len(labels)), labels.numpy()]
    return np.concatenate([-np.sort(-p, axis=1), py[:, None], loss(logits, labels)[:, None]], axis=1)


class ShadowMia(MembershipAttack[ShadowMiaParams]):
    """Shadow-model membership inference: a classifier trained on shadow models' outputs.

    After Shokri, Stronati, Song & Shmatikov, "Membership Inference Attacks Against Machine
    Learning Models" (IEEE S&P 2017). The shadow models (trained with the target's recipe on
    complementary halves of the data, and shared with ``lira`` and ``rmia``) give labelled
    examples of outputs on training members (IN) and non-members (OUT). An attack classifier, one
    per true class by default, learns to tell them apart; its member probability on the audited
    model's outputs is the score. Shadow rows for the audited forget and non-member samples are
    left out of the attack's training data, so the classifier never saw the samples it scores. A
    population attack in the sense of Hayes et al. (2024): one decision function for all samples
    of a class.
    """

    name = "shadow_mia"
    title = "Shadow-model attack (Shokri et al.)"
    summary = "Attack classifier trained on shadow models' outputs (IN vs OUT), per class."
    citation = "Shokri et al., Membership Inference Attacks Against Machine Learning Models, IEEE S&P 2017."
    threat_model = (
        "Black-box adversary with softmax outputs and labels who trains shadow models with the "
        "target's recipe on same-distribution data and learns a member/non-member classifier."
    )
    requires = Need.SHADOWS
    label = "shadow-model attack"

    def scores(self, ctx: AuditContext, rng: np.random.Generator) -> MembershipScores:
        p = self.params
        store = ctx.shadow_store()
        shadows = train_shadows(ctx, p.shadows)
        forget_idx, non_idx = ctx.splits.forget, ctx.nonmember_indices()
        audited = np.union1d(forget_idx, non_idx)
        pool = np.setdiff1d(np.arange(len(ctx.data)), audited)
        labels_pool = ctx.data.y[torch.as_tensor(pool)]
        rows_x, rows_y, rows_c = [], [], []
        for k, logits in enumerate(store.logits(shadows, pool)):
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
            models[c] = attack_classifier(p.classifier, seed).fit(fx[sel], fy[sel])
        fallback = attack_classifier(p.classifier, seed).fit(fx, fy)

        targets = take(ctx.data, np.concatenate([forget_idx, non_idx]))
        y = targets.y.numpy()

        def score(model: torch.nn.Module) -> np.ndarray:
            f = features(predict_logits(model, targets.x, device=ctx.device), targets.y)
            out = np.empty(len(targets))
            for c in set(y.tolist()) if p.per_class else [None]:
                sel = y == c if c is not None else np.ones(len(y), dtype=bool)
                clf = models.get(c, fallback)
                out[sel] = clf.predict_proba(f[sel])[:, 1]
            return out

        n_f = len(forget_idx)
        pairs = {
            role: [(s[:n_f], s[n_f:]) for s in (score(m) for m in ms)] for role, ms in ctx.models().items()
        }
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
        return MembershipScores(pairs, details=details)
