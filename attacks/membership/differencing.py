"""``differencing``: find the deleted samples from the original and the unlearned model.

Opt-in: it applies when both model versions are published.
"""

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
    shadow_splits,
    train_shadows,
)
from attacks.signals import probabilities
from auditor.plugin.context import AuditContext, take
from auditor.seeding import derive_seed
from auditor.train.core import predict_logits


class DifferencingParams(Params):
    """Parameters of :class:`Differencing`."""

    shadows: ShadowCount = Field(
        8, ge=2, le=1024, description="Shadow originals, each unlearned with the audited method."
    )
    classifier: ClassifierName = Field(
        "gradient_boosting", description="The attack model (scikit-learn), fitted on shadow pairs."
    )
    gate_tolerance: AucTolerance = 0.05


def pair_features(before: torch.Tensor, after: torch.Tensor) -> np.ndarray:
    """[p_before, p_after, p_before - p_after], each sorted by the before-model's confidence order."""
    pb, pa = torch.from_numpy(probabilities(before)), torch.from_numpy(probabilities(after))
    order = pb.argsort(dim=1, descending=True)
    pb, pa = pb.gather(1, order), pa.gather(1, order)
    return torch.cat([pb, pa, pb - pa], dim=1).numpy()


class Differencing(MembershipAttack[DifferencingParams]):
    """The differencing attack: which samples were deleted, from the original and the unlearned model?

    After Chen, Zhang, Wang, Backes, Humbert & Zhang, "When Machine Unlearning Jeopardizes
    Privacy" (ACM CCS 2021; code ``MinChen00/UnlearningLeaks``). An adversary holding both the
    original and the unlearned model classifies a sample as deleted from the pair of posteriors:
    features [f_o(x), f_u(x), f_o(x) - f_u(x)] (each aligned to the original's confidence order,
    so the classifier is class-agnostic). The attack classifier is trained on shadow pairs: each
    shadow original is unlearned with the audited method on its share of the forget request; its
    forgotten samples are positives and samples it never saw (of the same classes) are
    negatives. The audited samples are split into two folds, and each fold is scored by a
    classifier fitted on the other fold's rows, so no sample is scored by a classifier that
    trained on it. On the audit, positives are the forget samples and negatives held-out samples
    of the same classes, scored on the (original, unlearned) pair and, as the reference, on the
    (original, retrained) pair. Opt-in: it only applies when both model versions are released.
    """

    name = "differencing"
    title = "Differencing attack (original vs unlearned)"
    summary = "Classifier on [f_original(x), f_unlearned(x), difference] trained on shadow pairs: which samples were deleted?"
    citation = "Chen et al., When Machine Unlearning Jeopardizes Privacy, ACM CCS 2021."
    threat_model = (
        "Adversary with black-box access to both the original and the unlearned model, who can train "
        "shadow models and run the same unlearning method on them."
    )
    fail_only = True  # lower bounds / no calibrated retrain null: evidence for FAIL only
    requires = Need.SHADOWS | Need.METHOD
    label = "differencing"
    auc_higher = "deleted samples are easier to find"
    tpr_higher = "more deleted samples identified at this false-positive rate"

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        # Not gated by default: the audited AUC has no calibrated retrain null yet (statistics review
        # M5/M6), so neither a pass nor a fail would be sound; the metric is reported, and a config
        # rule can still gate it (as a fail-only check).
        return {}

    def scores(self, ctx: AuditContext, rng: np.random.Generator) -> MembershipScores:
        p = self.params
        method = ctx.audited_method()
        shadows = train_shadows(ctx, p.shadows)
        y_all = ctx.data.y.numpy()
        classes = np.unique(y_all[ctx.splits.forget])
        targets = take(ctx.data, np.concatenate([ctx.splits.forget, ctx.nonmember_indices()]))
        fold_of = dict(zip(targets.indices.tolist(), rng.permutation(len(targets)) % 2))
        rows_x, rows_y, rows_f = [], [], []
        with ctx.task(f"unlearning {p.shadows} shadow models", p.shadows) as update:
            for k, shadow in enumerate(shadows.models):
                inside = shadows.membership[k]
                sp = shadow_splits(
                    ctx.splits, inside, y_all, forget_kind=ctx.forget_kind, forget_classes=ctx.forget_classes
                )
                unlearned = method.run(
                    shadow, ctx.unlearn_inputs(sp, derive_seed(ctx.seed, f"diff/unlearn/{k}"))
                )
                neg = np.nonzero(~inside)[0]
                neg = neg[np.isin(y_all[neg], classes)]
                idx = np.concatenate([sp.forget, neg])
                x = take(ctx.data, idx).x
                rows_x.append(
                    pair_features(
                        predict_logits(shadow, x, device=ctx.device),
                        predict_logits(unlearned, x, device=ctx.device),
                    )
                )
                rows_y.append(np.r_[np.ones(sp.forget.size), np.zeros(neg.size)])
                rows_f.append(np.array([fold_of.get(int(i), 2) for i in idx]))  # 2: never scored
                update(k + 1, p.shadows)
        fx, fy, ff = np.concatenate(rows_x), np.concatenate(rows_y), np.concatenate(rows_f)
        # Two-fold cross-fitting: the classifier that scores fold A never trained on fold A's samples.
        classifiers = {}
        for fold in (0, 1):
            train_rows = ff != fold
            if len(set(fy[train_rows].tolist())) < 2:
                raise RuntimeError(
                    "the shadow pairs gave no deleted or no unseen samples to train on; raise shadows, or "
                    "forget more samples"
                )
            classifiers[fold] = attack_classifier(
                p.classifier, derive_seed(ctx.seed, f"diff/classifier/{fold}")
            ).fit(fx[train_rows], fy[train_rows])

        before = predict_logits(ctx.original, targets.x, device=ctx.device)
        folds = np.array([fold_of[int(i)] for i in targets.indices])
        n_f = len(ctx.splits.forget)

        def score(after_model: torch.nn.Module) -> tuple[np.ndarray, np.ndarray]:
            feats = pair_features(before, predict_logits(after_model, targets.x, device=ctx.device))
            s = np.empty(len(targets))
            for fold, clf in classifiers.items():
                s[folds == fold] = clf.predict_proba(feats[folds == fold])[:, 1]
            return s[:n_f], s[n_f:]

        pairs = {"unlearned": [score(ctx.unlearned)], "reference": [score(r) for r in ctx.references]}
        details = {
            "attack_training_rows": int(fx.shape[0]),
            "attack_training_positives": int(fy.sum()),
            "cross_fitting": "two folds over the audited samples; each fold scored by a classifier "
            "trained on the other fold's shadow rows",
            "classifier": p.classifier,
            "reference_pair": "(original, retrained reference)",
            "features": "[p_original, p_other, difference], aligned to the original's confidence order",
            "shadows": shadows.record(ctx.recipe),
            "method": method.name,
        }
        return MembershipScores(pairs, details=details)
