"""``distance``: output-space distances between the unlearned model and the retrained references."""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field

from attacks.base import Attack, Measurement, MetricResult, Params
from attacks.signals import probabilities
from auditor.judge.stats import Comparison, Estimate, forget_set_comparison
from auditor.plugin.context import AuditContext
from auditor.train.core import predict_logits


class DistanceParams(Params):
    """Parameters of :class:`Distance`."""

    js_tolerance: float = Field(
        0.05, gt=0, description="Default gate on the JS-divergence gap (nats, max ln 2)."
    )
    zrf_tolerance: float = Field(0.1, gt=0, description="Default gate on the ZRF gap.")


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-row Jensen-Shannon divergence in nats: KL(p||m)/2 + KL(q||m)/2, m = (p + q)/2."""
    m = (p + q) / 2.0

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, a * (np.log(a) - np.log(b)), 0.0).sum(axis=1)

    return np.maximum(kl(p, m) / 2.0 + kl(q, m) / 2.0, 0.0)


def activation_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-row L2 distance between probability vectors (Chundawat et al.'s activation distance)."""
    return np.linalg.norm(p - q, axis=1)


class Distance(Attack[DistanceParams]):
    """Output distances on the forget set: to the retrained reference, and to a random model.

    The Jensen-Shannon divergence and the activation distance are measured to the retrained
    reference, ZRF against a randomly initialised model. ZRF and the activation distance come from Chundawat, Tarun, Mandal & Kankanhalli, "Can Bad
    Teaching Induce Forgetting?" (AAAI 2023; code ``vikram2000b/bad-teaching-unlearning``):
    ZRF = 1 - mean JS(p_model, p_random). Their code's ``JSDiv`` computes KL(m||p)/2 + KL(m||q)/2
    averaged over all N x C elements, not the Jensen-Shannon divergence, so **published ZRF
    values are not comparable** with the true JS used here (ATTACKS.md 8.3).

    Distances to the references are compared with each reference's distance to the other
    references (leave one out), which is what "as close as retraining" means; their spread is the
    retrain-to-retrain variance in the gate's interval (statistics review m14). This needs at least
    two reference seeds, otherwise the gap is not estimable.
    """

    name = "distance"
    title = "Output distances (JS, activation distance, ZRF)"
    summary = (
        "Per-example JS divergence and activation distance to the reference; ZRF against a random model."
    )
    citation = "Chundawat et al., Can Bad Teaching Induce Forgetting?, AAAI 2023 (ZRF, activation distance)."
    threat_model = "White-box comparison of output distributions; no adversary (a similarity measurement)."
    default_category = "forgetting"

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["distance.js", "distance.activation", "distance.zrf"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"distance.js": self.params.js_tolerance, "distance.zrf": self.params.zrf_tolerance}

    def measure(self, ctx: AuditContext) -> Measurement:
        forget = ctx.split("forget")
        probs = {
            role: [probabilities(ctx.logits(m, "forget")) for m in ms] for role, ms in ctx.models().items()
        }
        refs = probs["reference"]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(ctx.rng("attack/distance/random-model").integers(0, 2**62)))
            random_model = ctx.model_factory()
        p_rand = probabilities(predict_logits(random_model, forget.x, device=ctx.device))
        n = len(forget)
        cmp = ctx.comparer("attack/distance")
        metrics = []
        for key, label, fn in (
            ("distance.js", "JS divergence to the reference (nats)", js_divergence),
            ("distance.activation", "Activation distance to the reference", activation_distance),
        ):
            if len(refs) < 2:
                note = "not estimable: needs two reference seeds (reference.seeds >= 2) to measure retrain-to-retrain"
                none = Estimate(None, n=n, note=note)
                metrics.append(
                    MetricResult(
                        key,
                        label,
                        "further from retraining",
                        Comparison({r: none for r in probs}, none, None, None),
                    )
                )
                continue
            # Each model's per-example distance to the references; each reference's to the *other*
            # references (leave one out), so the references' spread is the retrain-to-retrain one.
            values = {
                role: [np.mean([fn(p, r) for r in refs], axis=0) for p in ps]
                for role, ps in probs.items()
                if role != "reference"
            }
            values["reference"] = [
                np.mean([fn(refs[i], refs[j]) for j in range(len(refs)) if j != i], axis=0)
                for i in range(len(refs))
            ]
            metrics.append(
                MetricResult(
                    key,
                    label,
                    "further from retraining",
                    forget_set_comparison(cmp.proportions(values)),
                )
            )
        zrf = {role: [1.0 - js_divergence(p, p_rand) / np.log(2.0) for p in ps] for role, ps in probs.items()}
        metrics.append(
            MetricResult(
                "distance.zrf",
                "ZRF (1 - JS to a random model / ln 2)",
                "outputs less like a random model's",
                forget_set_comparison(cmp.proportions(zrf)),
            )
        )
        details = {
            "examples": n,
            "reference_seeds": len(refs),
            "js_units": "nats (ZRF normalised by ln 2)",
            "reference_distance": "each reference to the other references (leave one out)",
            "comparability": "published ZRF values used a non-standard JS and are not comparable",
        }
        return Measurement(tuple(metrics), details=details)
