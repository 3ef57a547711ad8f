"""``probe``: can the forgotten information still be decoded from the penultimate features?"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import nn

from attacks.base import Attack, Measurement, MetricResult, Params
from auditor.context import AuditContext
from auditor.stats import compare_proportions


class ProbeParams(Params):
    max_fit: int = Field(3000, ge=50, description="At most this many samples to fit the probe (seeded subsample).")
    C: float = Field(1.0, gt=0, description="Inverse L2 strength of the logistic-regression probe.")
    gate_tolerance: float = Field(0.1, gt=0, lt=1, description="Default gate on the probe-accuracy gap.")


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
    the head, not removed. Compared two-sided with the reference (mean over seeds).
    """

    name = "probe"
    title = "Linear probe on penultimate features"
    summary = "Logistic-regression probe on penultimate features: is the forgotten data still decodable?"
    citation = "Alain & Bengio, Understanding intermediate layers using linear classifier probes, ICLR-W 2017."
    threat_model = "White-box access to the model's penultimate features and labelled data from the same distribution."
    Params = ProbeParams

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["probe.forget_accuracy"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"probe.forget_accuracy": self.params.gate_tolerance}

    def measure(self, ctx: AuditContext) -> Measurement:
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
        for role, models in ctx.models().items():
            outcomes[role] = []
            for m in models:
                probe = make_pipeline(StandardScaler(), LogisticRegression(C=self.params.C, max_iter=2000))
                probe.fit(penultimate_features(m, x_fit, device=ctx.device), y_fit)
                pred = probe.predict(penultimate_features(m, forget.x, device=ctx.device))
                outcomes[role].append((pred == forget.y.numpy()).astype(float))
        comp = compare_proportions(outcomes, reps=ctx.bootstrap, level=ctx.level, rng=rng)
        details = {"fit_samples": int(fit_idx.size), "held_out_forget_class_samples": int(held.size),
                   "scored_on": "forget samples", "features": "input of the last nn.Linear (penultimate layer)"}
        return Measurement((MetricResult("probe.forget_accuracy", "Probe accuracy on the forget samples",
                                         "the forgotten data is more decodable from the features", comp),),
                           details=details)
