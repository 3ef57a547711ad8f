"""``ulira``: U-LiRA, the per-example likelihood-ratio test between unlearned and retrained models."""

from __future__ import annotations

import hashlib
import warnings
from typing import Literal

import numpy as np
import torch
from pydantic import Field, field_validator
from scipy import stats as sps
from torch import nn

from attacks.base import Attack, Measurement, MetricResult, Params
from attacks.lira import gaussian_fit
from attacks.signals import logit_confidence
from auditor.context import AuditContext
from auditor.inference import evidence_from_replicates
from auditor.models import arch_key, init_model
from auditor.rankstats import index_counts
from auditor.seeding import derive_seed
from auditor.splits import Splits
from auditor.stats import (
    Comparison,
    Estimate,
    auc_rows,
    balanced_accuracy_rows,
    bootstrap_indices,
    percentile_interval,
)
from auditor.training import predict_logits, train_model


class UliraParams(Params):
    shadows: int = Field(
        8,
        ge=4,
        le=1024,
        description=(
            "Shadow originals K (even); each is unlearned with the audited method and retrained without its forget "
            "set, so the cost is about 2K trainings plus K unlearning runs. Hayes et al. use tens to hundreds."
        ),
    )
    variance: Literal["auto", "fixed", "per_example"] = Field(
        "auto", description="Per-example or one pooled sigma per side; auto = fixed below 64 shadows."
    )
    gate_tolerance: float = Field(
        0.05,
        gt=0,
        lt=0.5,
        description=(
            "Smallest default tolerance on the AUC gap to the retrain null (each reference scored against the others); "
            "the verdict widens it to the retrain noise floor."
        ),
    )

    @field_validator("shadows")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"shadows must be even (complementary pairs), got {value}")
        return value


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


class Ulira(Attack):
    """U-LiRA: Hayes, Shumailov, Triantafillou, Khalifa & Papernot, "Inexact Unlearning Needs More
    Careful Evaluations to Avoid a False Sense of Privacy" (arXiv 2403.01218, SaTML 2025).

    K shadow originals are trained with the target's recipe on complementary halves of the data
    (the shadows ``lira`` uses). Each is then (a) unlearned with the audited method on its share of
    the forget request and (b) retrained from scratch without that share. For a forget sample x,
    the logit-scaled confidence under the shadows that unlearned x and under the shadows
    retrained without x give two Gaussians (medians, pooled sigma below 64 shadows); the audited
    unlearned model and the retrained references are scored by the likelihood ratio
    "unlearned vs retrained". The AUC between the two sets of scores is 0.5 when unlearning is
    indistinguishable from retraining, and is gated two-sided around 0.5. As in the paper the
    attack is per example, so it is not fooled by methods that only match population statistics.
    The evidence also reports the method's distinguishability across held-out shadow pairs
    (leave one pair out), which does not depend on the one audited run.
    """

    name = "ulira"
    title = "U-LiRA (unlearned vs retrained, per example)"
    summary = "Per-example likelihood-ratio test between models that unlearned a sample and models that never saw it."
    citation = (
        "Hayes et al., Inexact Unlearning Needs More Careful Evaluations to Avoid a False Sense of Privacy, "
        "SaTML 2025 (arXiv 2403.01218)."
    )
    threat_model = (
        "Adversary with softmax outputs and labels who can train shadow models with the target's recipe "
        "and run the same unlearning method on them."
    )
    # With two or more references the null is calibrated (each reference against the others), so
    # the metric can pass as well as fail; with one it has no evidence and stays inconclusive.
    Params = UliraParams
    needs_method = True

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["ulira.auc", "ulira.balanced_accuracy"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        # Gated at an AUC floor of 0.05 around the retrain null (leave-one-out over the references),
        # widened to the retrain noise like every default gate (statistics review M5).
        return {"ulira.auc": self.params.gate_tolerance}

    def measure(self, ctx: AuditContext) -> Measurement:
        if ctx.shadows is None or ctx.method is None:
            raise RuntimeError("ulira needs the shadow store and the audited unlearning method")
        p = self.params
        fixed = p.variance == "fixed" or (p.variance == "auto" and p.shadows < 64)
        with ctx.task(f"training {p.shadows} shadow models", p.shadows) as update:
            shadows = ctx.shadows.get(p.shadows, progress=update)
        labels_all = ctx.data.y.numpy()
        targets = ctx.splits.forget
        x_t = ctx.data.x[torch.as_tensor(targets)]
        y_t = ctx.data.y[torch.as_tensor(targets)]
        phi_unl, phi_ret, in_forget = [], [], []
        with ctx.task(f"unlearning and retraining {p.shadows} shadows", p.shadows) as update:
            for k, shadow in enumerate(shadows.models):
                sp = shadow_splits(
                    ctx.splits,
                    shadows.membership[k],
                    labels_all,
                    forget_kind=ctx.forget_kind,
                    forget_classes=ctx.forget_classes,
                )
                unlearned = ctx.method.run(
                    shadow, ctx.unlearn_inputs(sp, derive_seed(ctx.seed, f"ulira/unlearn/{k}"))
                )
                retrained = self._retrain(ctx, sp, k)
                phi_unl.append(logit_confidence(predict_logits(unlearned, x_t, device=ctx.device), y_t))
                phi_ret.append(logit_confidence(predict_logits(retrained, x_t, device=ctx.device), y_t))
                in_forget.append(np.isin(targets, sp.forget))
                update(k + 1, p.shadows)
        phi_u, phi_r, member = np.stack(phi_unl), np.stack(phi_ret), np.stack(in_forget)  # (K, N)
        usable = member.sum(axis=0) >= 2
        if not usable.any():
            raise RuntimeError("no forget sample was in the forget set of two or more shadows; raise shadows")

        def fit(exclude: int | None = None) -> tuple[np.ndarray, ...]:
            keep = np.ones(len(member), dtype=bool) if exclude is None else np.arange(len(member)) != exclude
            phi = np.concatenate([phi_u[keep], phi_r[keep]])[:, :, None]
            inside = np.concatenate([member[keep], np.zeros_like(member[keep])])  # unlearned rows = "IN"
            # only the shadows that had x in their forget set are informative for x
            phi = np.where(np.concatenate([member[keep], member[keep]])[:, :, None], phi, np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # samples no kept shadow forgot: all-NaN
                return gaussian_fit(phi, inside, fixed=fixed)

        def lr(scores: np.ndarray, params: tuple[np.ndarray, ...]) -> np.ndarray:
            mu_u, sd_u, mu_r, sd_r = (a[:, 0] for a in params)
            return sps.norm.logpdf(scores, mu_u, sd_u) - sps.norm.logpdf(scores, mu_r, sd_r)

        params = fit()
        cols = np.nonzero(usable)[0]

        def audit_scores(model: nn.Module) -> np.ndarray:
            s = logit_confidence(predict_logits(model, x_t, device=ctx.device), y_t)
            return lr(s, params)[cols]

        ref_scores = [audit_scores(m) for m in ctx.references]
        role_scores = {
            role: [audit_scores(m) for m in ms] for role, ms in ctx.models().items() if role != "reference"
        }
        rng = ctx.rng("attack/ulira")
        idx = bootstrap_indices(cols.size, ctx.bootstrap, rng)

        counts = index_counts(idx, cols.size)

        def resampled(stat, pos: np.ndarray, other: np.ndarray) -> np.ndarray:
            # Paired draws: the same counts for both sides, read along one sort (auditor.rankstats).
            weighted = getattr(stat, "weighted", None)
            if weighted is None or np.isnan(pos).any() or np.isnan(other).any():
                return stat(pos[idx], other[idx])
            return weighted(pos, other, counts, counts)

        def versus(pos: np.ndarray, others: list[np.ndarray], stat) -> tuple[float, np.ndarray]:
            point = float(np.mean([stat(pos[None], r[None])[0] for r in others]))
            reps = np.mean([resampled(stat, pos, r) for r in others], axis=0)
            return point, reps

        metrics = []
        n = int(cols.size)
        calibrated = len(ref_scores) >= 2
        for key, label, stat in (
            ("ulira.auc", "AUC, model vs retrained (U-LiRA)", auc_rows),
            ("ulira.balanced_accuracy", "Best balanced accuracy (U-LiRA)", balanced_accuracy_rows),
        ):
            scored = {role: [versus(s_, ref_scores, stat) for s_ in ss] for role, ss in role_scores.items()}
            if calibrated:
                # The retrain null, like for like (statistics review M5): each reference scored against
                # the other references, leave one out. Its spread is the retrain-to-retrain variance.
                loo = [
                    versus(ref_scores[i], [r for j, r in enumerate(ref_scores) if j != i], stat)
                    for i in range(len(ref_scores))
                ]
                ref_points = [pt for pt, _ in loo]
                ref_reps = np.mean([rp for _, rp in loo], axis=0)
                centre = float(np.mean(ref_points))
                ref_est = Estimate(
                    centre,
                    percentile_interval(ref_reps, ctx.level),
                    n=n,
                    level=ctx.level,
                    note="each reference against the other references (leave one out)",
                )
            else:
                ref_points, ref_reps, centre = [], np.full(len(idx), 0.5), 0.5
                ref_est = Estimate(
                    0.5,
                    (0.5, 0.5),
                    n=n,
                    level=ctx.level,
                    note="one reference: the retrain null cannot be measured; 0.5 is shown",
                )
            per_model = {
                role: Estimate(
                    float(np.mean([pt for pt, _ in v])),
                    percentile_interval(np.mean([rp for _, rp in v], axis=0), ctx.level),
                    n=n,
                    level=ctx.level,
                )
                for role, v in scored.items()
            }
            per_model["reference"] = ref_est
            evidence = {}
            if calibrated:
                for role, v in scored.items():
                    point = float(np.mean([pt for pt, _ in v])) - centre
                    reps = np.mean([rp for _, rp in v], axis=0) - ref_reps
                    evidence[role] = evidence_from_replicates(point, reps, ref_points)
            u_point = per_model["unlearned"].value
            gap_reps = np.mean([rp for _, rp in scored["unlearned"]], axis=0) - ref_reps
            gap = Estimate(u_point - centre, percentile_interval(gap_reps, ctx.level), n=n, level=ctx.level)
            control = (
                (np.mean([rp for _, rp in scored["original"]], axis=0) - ref_reps)
                if "original" in scored
                else None
            )
            metrics.append(
                MetricResult(
                    key,
                    label,
                    "unlearned and retrained models are more distinguishable",
                    Comparison(per_model, gap, gap_reps, None, control, evidence),
                )
            )

        held_out = []
        for k in range(len(member)):
            cols_k = np.nonzero(member[k] & usable)[0]
            if cols_k.size < 2:
                continue
            pk = fit(exclude=k)
            held_out.append(
                float(auc_rows(lr(phi_u[k], pk)[cols_k][None], lr(phi_r[k], pk)[cols_k][None])[0])
            )
        details = {
            "forget_samples_scored": int(cols.size),
            "forget_samples": int(targets.size),
            "shadows": shadows.record(ctx.recipe),
            "method": ctx.method.name,
            "variance": "fixed (one pooled sigma per side)" if fixed else "per example",
            "statistic": "logit-scaled confidence; mu = median over shadows whose forget set held the sample",
            "method_distinguishability": {
                "held_out_pairs": len(held_out),
                "mean_auc": float(np.mean(held_out)) if held_out else None,
                "min_auc": float(np.min(held_out)) if held_out else None,
                "max_auc": float(np.max(held_out)) if held_out else None,
            },
        }
        return Measurement(tuple(metrics), details=details)

    def _retrain(self, ctx: AuditContext, sp: Splits, k: int) -> nn.Module:
        """Shadow k retrained from scratch without its forget share (content-cached)."""
        store = ctx.shadows
        seed = derive_seed(ctx.seed, f"ulira/retrain/{k}")
        spec = {
            "role": "shadow-retrain",
            "data": ctx.data.fingerprint,
            "indices": hashlib.sha256(sp.retain.tobytes()).hexdigest(),
            "arch": arch_key(store.arch),
            "input_shape": list(ctx.data.input_shape),
            "num_classes": ctx.data.num_classes,
            "recipe": ctx.recipe.as_dict(),
            "seed": seed,
        }
        x, y = ctx.data.x[torch.as_tensor(sp.retain)], ctx.data.y[torch.as_tensor(sp.retain)]

        def fit() -> nn.Module:
            model = init_model(ctx.model_factory, derive_seed(seed, "init"))
            return train_model(
                model,
                x,
                y,
                recipe=ctx.recipe,
                generator=torch.Generator().manual_seed(derive_seed(seed, "train")),
                device=ctx.device,
            )

        model, _, _ = store.cache.get_or_train(spec, ctx.model_factory, fit)
        return model.to(ctx.device).eval()
