"""``probe``: can the forgotten information still be decoded from the penultimate features?"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import nn

from attacks.base import Attack, Measurement, MetricResult, Params
from auditor.context import AuditContext
from auditor.stats import Comparison, Estimate, bootstrap_indices, compare_proportions, percentile_interval
from auditor.inference import evidence_from_replicates


class ProbeParams(Params):
    max_fit: int = Field(3000, ge=50, description="At most this many samples to fit the probe (seeded subsample).")
    C: float = Field(1.0, gt=0, description="Inverse L2 strength of the logistic-regression probe.")
    gate_tolerance: float = Field(
        0.4, gt=0, description=("Smallest default tolerance on the gap in log probe loss (0.4: the probe's loss on the "
                                "forget samples within a factor 1.5 of retraining's); the verdict widens it to the "
                                "retrain noise floor."))


@torch.no_grad()
def penultimate_features(model: nn.Module, x: torch.Tensor, *, device: torch.device, batch_size: int = 512) -> np.ndarray:
    """The input of the model's last ``nn.Linear`` (its classification head), flattened."""
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not heads:
        raise ValueError("the probe needs a model whose last layer is an nn.Linear head")
    captured: list[torch.Tensor] = []
    handle = heads[-1].register_forward_pre_hook(lambda _m, inp: captured.append(inp[0].detach().flatten(1).cpu()))
    try:
        was_training = model.training
        model.to(device).eval()
        for i in range(0, len(x), batch_size):
            model(x[i:i + batch_size].to(device))
        model.train(was_training)
    finally:
        handle.remove()
    return torch.cat(captured).double().numpy()


class Probe(Attack):
    """A linear probe on penultimate features (Alain & Bengio, "Understanding intermediate layers
    using linear classifier probes", ICLR workshop 2017), applied to unlearning as in the
    representation-level checks of METHODS.md E2/E6.

    A multinomial logistic regression is fitted on each model's penultimate features of the
    retain data plus the held-out samples of the forgotten classes (test and population splits),
    with true labels, and scored on the forget samples. If the unlearned model's features still
    decode the forgotten data much better than the reference's do, the information was hidden in
    the head, not removed: this is the check that catches output-layer suppression and head-only
    retraining (Goel et al.'s EU-k / CF-k). The gated statistic is the log of the probe's mean
    cross-entropy on the forget samples, which has room to move where accuracy saturates at 1
    (statistics review C3: accuracy moved 0.08 on digits, the log loss about 2.7). Compared
    two-sided with the references, retrain-to-retrain spread included.
    """

    name = "probe"
    title = "Linear probe on penultimate features"
    summary = "Logistic-regression probe on penultimate features: is the forgotten data still decodable?"
    citation = "Alain & Bengio, Understanding intermediate layers using linear classifier probes, ICLR-W 2017."
    threat_model = "White-box access to the model's penultimate features and labelled data from the same distribution."
    default_category = "recoverability"
    Params = ProbeParams

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["probe.forget_log_loss", "probe.forget_accuracy"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"probe.forget_log_loss": self.params.gate_tolerance}

    def measure(self, ctx: AuditContext) -> Measurement:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # BLAS threads on a small problem only contend (50x slower)
            return self._measure(ctx)

    def _measure(self, ctx: AuditContext) -> Measurement:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        rng = ctx.rng("attack/probe")
        y_all = ctx.data.y.numpy()
        classes = np.unique(y_all[ctx.splits.forget])
        held = np.union1d(ctx.splits.test, ctx.splits.population)
        held = held[np.isin(y_all[held], classes)]
        fit_idx = np.union1d(ctx.splits.retain, held)
        if fit_idx.size > self.params.max_fit:
            fit_idx = np.sort(rng.choice(fit_idx, size=self.params.max_fit, replace=False))
        x_fit, y_fit = ctx.data.x[torch.as_tensor(fit_idx)], y_all[fit_idx]
        forget = ctx.split("forget")
        outcomes: dict[str, list[np.ndarray]] = {}
        losses: dict[str, list[np.ndarray]] = {}
        y_forget = forget.y.numpy()
        for role, models in ctx.models().items():
            outcomes[role], losses[role] = [], []
            for m in models:
                probe = make_pipeline(StandardScaler(), LogisticRegression(C=self.params.C, max_iter=2000))
                probe.fit(penultimate_features(m, x_fit, device=ctx.device), y_fit)
                proba = probe.predict_proba(penultimate_features(m, forget.x, device=ctx.device))
                classes_ = probe.classes_
                col = np.minimum(np.searchsorted(classes_, y_forget), classes_.size - 1)
                p_true = np.where(classes_[col] == y_forget, proba[np.arange(len(y_forget)), col], 0.0)
                losses[role].append(-np.log(np.clip(p_true, 1e-12, 1.0)))
                outcomes[role].append((classes_[proba.argmax(1)] == y_forget).astype(float))
        log_loss = self._log_mean(losses, reps=ctx.bootstrap, level=ctx.level, rng=rng)
        comp = compare_proportions(outcomes, reps=ctx.bootstrap, level=ctx.level, rng=rng)
        details = {"fit_samples": int(fit_idx.size), "held_out_forget_class_samples": int(held.size),
                   "scored_on": "forget samples", "features": "input of the last nn.Linear (penultimate layer)"}
        return Measurement((MetricResult("probe.forget_log_loss", "log of the probe's mean loss on the forget samples",
                                         "the forgotten data is less decodable from the features", log_loss),
                            MetricResult("probe.forget_accuracy", "Probe accuracy on the forget samples",
                                         "the forgotten data is more decodable from the features", comp)),
                           details=details)

    @staticmethod
    def _log_mean(values: dict[str, list[np.ndarray]], *, reps: int, level: float,
                  rng: np.random.Generator) -> Comparison:
        """log(mean per-sample loss) per model, compared on paired resamples of the forget samples.

        On the log scale a gap is a ratio of losses, which is what changes when features that
        encode the forgotten data are kept (a probe's loss near 0) or destroyed.
        """
        n = int(values["unlearned"][0].size)
        idx = bootstrap_indices(n, reps, rng)
        points = {role: [float(np.log(a.mean())) for a in arrays] for role, arrays in values.items()}
        boots = {role: np.mean([np.log(a[idx].mean(axis=1)) for a in arrays], axis=0) for role, arrays in values.items()}
        per_model = {role: Estimate(float(np.mean(points[role])), percentile_interval(boots[role], level), n=n,
                                    level=level) for role in values}
        ref_mean = float(np.mean(points["reference"]))
        evidence = {role: evidence_from_replicates(float(np.mean(points[role])) - ref_mean,
                                                   boots[role] - boots["reference"], points["reference"])
                    for role in values if role != "reference"}
        gap_reps = boots["unlearned"] - boots["reference"]
        gap = Estimate(evidence["unlearned"].point, percentile_interval(gap_reps, level), n=n, level=level)
        spread = float(np.ptp(points["reference"])) if len(points["reference"]) > 1 else 0.0
        control = boots["original"] - boots["reference"] if "original" in boots else None
        return Comparison(per_model, gap, gap_reps, spread, control, evidence)
