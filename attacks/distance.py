"""``distance``: output-space distances between the unlearned model and the retrained references."""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field

from attacks.base import Attack, Measurement, MetricResult, Params
from attacks.signals import probabilities
from auditor.context import AuditContext
from auditor.stats import Comparison, Estimate, bootstrap_indices, percentile_interval
from auditor.training import predict_logits


class DistanceParams(Params):
    js_tolerance: float = Field(0.05, gt=0, description="Default gate on the JS-divergence gap (nats, max ln 2).")
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


class Distance(Attack):
    """Output distances on the forget set: Jensen-Shannon divergence and activation distance to the
    retrained reference, and ZRF against a randomly initialised model.

    ZRF and the activation distance come from Chundawat, Tarun, Mandal & Kankanhalli, "Can Bad
    Teaching Induce Forgetting?" (AAAI 2023; code ``vikram2000b/bad-teaching-unlearning``):
    ZRF = 1 - mean JS(p_model, p_random). Their code's ``JSDiv`` computes KL(m||p)/2 + KL(m||q)/2
    averaged over all N x C elements, not the Jensen-Shannon divergence, so **published ZRF
    values are not comparable** with the true JS used here (ATTACKS.md 8.3).

    Distances to the reference are compared with the distance between two retrains (the
    reference seeds), which is what "as close as retraining" means; this needs at least two
    reference seeds, otherwise the gap is not estimable.
    """

    name = "distance"
    title = "Output distances (JS, activation distance, ZRF)"
    summary = "Per-example JS divergence and activation distance to the reference; ZRF against a random model."
    citation = "Chundawat et al., Can Bad Teaching Induce Forgetting?, AAAI 2023 (ZRF, activation distance)."
    threat_model = "White-box comparison of output distributions; no adversary (a similarity measurement)."
    default_category = "forgetting"
    Params = DistanceParams

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["distance.js", "distance.activation", "distance.zrf"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"distance.js": self.params.js_tolerance, "distance.zrf": self.params.zrf_tolerance}

    def measure(self, ctx: AuditContext) -> Measurement:
        forget = ctx.split("forget")
        probs = {role: [probabilities(ctx.logits(m, "forget")) for m in ms] for role, ms in ctx.models().items()}
        refs = probs["reference"]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(ctx.rng("attack/distance/random-model").integers(0, 2**62)))
            random_model = ctx.model_factory()
        p_rand = probabilities(predict_logits(random_model, forget.x, device=ctx.device))
        n = len(forget)
        rng = ctx.rng("attack/distance")
        idx = bootstrap_indices(n, ctx.bootstrap, rng)
        metrics = []
        for key, label, fn in (("distance.js", "JS divergence to the reference (nats)", js_divergence),
                               ("distance.activation", "Activation distance to the reference", activation_distance)):
            per_example = {role: np.mean([fn(p, r) for p in ps for r in refs], axis=0)
                           for role, ps in (("unlearned", probs["unlearned"]), ("original", probs["original"]))}
            pairs = [fn(refs[i], refs[j]) for i in range(len(refs)) for j in range(i + 1, len(refs))]
            metrics.append(MetricResult(key, label, "further from retraining",
                                        self._compare(per_example, pairs, idx, ctx.level, n)))
        zrf = {role: np.mean([1.0 - js_divergence(p, p_rand) / np.log(2.0) for p in ps], axis=0)
               for role, ps in probs.items()}
        metrics.append(MetricResult("distance.zrf", "ZRF (1 - JS to a random model / ln 2)",
                                    "outputs less like a random model's", self._zrf(zrf, idx, ctx.level, n)))
        details = {"examples": n, "reference_seeds": len(refs), "js_units": "nats (ZRF normalised by ln 2)",
                   "comparability": "published ZRF values used a non-standard JS and are not comparable"}
        return Measurement(tuple(metrics), details=details)

    @staticmethod
    def _compare(per_example: dict[str, np.ndarray], ref_pairs: list[np.ndarray], idx: np.ndarray, level: float,
                 n: int) -> Comparison:
        def est(values: np.ndarray) -> tuple[Estimate, np.ndarray]:
            reps = values[idx].mean(axis=1)
            return Estimate(float(values.mean()), percentile_interval(reps, level), n=n, level=level), reps

        u, u_reps = est(per_example["unlearned"])
        o, o_reps = est(per_example["original"])
        if not ref_pairs:
            note = "not estimable: needs two reference seeds (reference.seeds >= 2) to measure retrain-to-retrain"
            none = Estimate(None, n=n, note=note)
            return Comparison({"unlearned": u, "reference": none, "original": o}, none, None, None)
        r_values = np.mean(ref_pairs, axis=0)
        r, r_reps = est(r_values)
        gap_reps = u_reps - r_reps
        gap = Estimate(u.value - r.value, percentile_interval(gap_reps, level), n=n, level=level)  # type: ignore[operator]
        return Comparison({"unlearned": u, "reference": r, "original": o}, gap, gap_reps, None, o_reps - r_reps)

    @staticmethod
    def _zrf(values: dict[str, np.ndarray], idx: np.ndarray, level: float, n: int) -> Comparison:
        per_model, reps = {}, {}
        for role, v in values.items():
            reps[role] = v[idx].mean(axis=1)
            per_model[role] = Estimate(float(v.mean()), percentile_interval(reps[role], level), n=n, level=level)
        gap_reps = reps["unlearned"] - reps["reference"]
        gap = Estimate(per_model["unlearned"].value - per_model["reference"].value,  # type: ignore[operator]
                       percentile_interval(gap_reps, level), n=n, level=level)
        control = reps["original"] - reps["reference"] if "original" in reps else None
        return Comparison(per_model, gap, gap_reps, None, control)
