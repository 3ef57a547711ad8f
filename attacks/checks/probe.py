"""``probe``: can the forgotten information still be decoded from the top representations?"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import nn

from attacks.base import Attack, Measurement, MetricResult, Params
from auditor.judge.inference import evidence_from_replicates
from auditor.judge.stats import (
    Comparison,
    Estimate,
    bootstrap_indices,
    forget_set_comparison,
    percentile_interval,
)
from auditor.plugin.context import AuditContext, Comparer, take


class ProbeParams(Params):
    """Parameters of :class:`Probe`."""

    max_fit: int = Field(
        3000, ge=50, description="At most this many samples to fit the probe (seeded subsample)."
    )
    C: float = Field(
        0.03,
        gt=0,
        description=(
            "Inverse L2 strength of the logistic-regression probe (on standardised features). A strongly regularised "
            "probe reads what the features encode broadly, not one retrain's idiosyncrasies: over 20 digits root seeds "
            "the original's effect was at least 8.8 retrain SDs at C = 1, 12.5 at 0.1 and 13.7 at 0.03, with no more "
            "honest-retrain spread; at 0.01 the effect itself shrinks faster than the noise."
        ),
    )
    p_floor: float = Field(
        0.01,
        gt=0,
        lt=1,
        description=(
            "Probabilities of the true class below this count as this: a per-sample loss "
            "is capped at -log(p_floor), so one sample the probe cannot decode at all "
            "does not decide the statistic (0.01: below 1 %, the class is not decoded)."
        ),
    )
    depths: int = Field(
        2,
        ge=1,
        le=4,
        description=(
            "Probe the inputs of the last this-many weight layers (nn.Linear or nn.Conv*): 1 is "
            "the penultimate features only; 2 also reads the layer below, where retraining "
            "or editing only the top layers (Goel et al.'s EU-k, CF-k) leaves the original's "
            "representation untouched."
        ),
    )
    gate_tolerance: float = Field(
        0.25,
        gt=0,
        description=(
            "Smallest default tolerance on the gap in log probe loss (0.25: the probe's loss on the forget samples "
            "within a factor 1.28 of retraining's); the verdict widens it to 4.5 retrain SDs, so the measured "
            "retrain noise sets the tolerance wherever it is larger and this floor only guards a spread estimated "
            "near 0. At 0.4 the floor bound in most digits seeds at 5-8 retrain SDs and left EU-2 undecided."
        ),
    )


def _weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]


@torch.no_grad()
def layer_inputs(
    model: nn.Module, x: torch.Tensor, *, depth: int, device: torch.device, batch_size: int = 512
) -> np.ndarray | None:
    """The input of the ``depth``-th weight layer from the top, flattened.

    Depth 1 is the classification head, whose input is the penultimate representation.
    Convolutional maps are average-pooled to at most 2 x 2 (or 4) positions first, so a probe sees
    every channel at a manageable width. None when the model has fewer weight layers than
    ``depth``.
    """
    layers = _weight_layers(model)
    if depth == 1 and (not layers or not isinstance(layers[-1], nn.Linear)):
        raise ValueError("the probe needs a model whose last layer is an nn.Linear head")
    if len(layers) < depth:
        return None
    captured: list[torch.Tensor] = []

    def grab(_m: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        h = inp[0].detach()
        if h.dim() == 4:
            h = nn.functional.adaptive_avg_pool2d(h, (min(2, h.shape[2]), min(2, h.shape[3])))
        elif h.dim() == 3:
            h = nn.functional.adaptive_avg_pool1d(h, min(4, h.shape[2]))
        elif h.dim() == 5:
            h = nn.functional.adaptive_avg_pool3d(h, 1)
        captured.append(h.flatten(1).cpu())

    handle = layers[-depth].register_forward_pre_hook(grab)
    try:
        was_training = model.training
        model.to(device).eval()
        for i in range(0, len(x), batch_size):
            model(x[i : i + batch_size].to(device))
        model.train(was_training)
    finally:
        handle.remove()
    return torch.cat(captured).double().numpy()


def penultimate_features(
    model: nn.Module, x: torch.Tensor, *, device: torch.device, batch_size: int = 512
) -> np.ndarray:
    """The input of the model's last ``nn.Linear`` (its classification head), flattened."""
    out = layer_inputs(model, x, depth=1, device=device, batch_size=batch_size)
    assert out is not None
    return out


class Probe(Attack[ProbeParams]):
    """Linear probes on the top representations: is the forgotten data still decodable?

    After Alain & Bengio, "Understanding intermediate layers using linear classifier probes" (ICLR
    workshop 2017), applied to unlearning as in the representation-level checks of METHODS.md
    E2/E6. A multinomial logistic regression is fitted on each model's penultimate features of the
    retain data plus the held-out samples of the forgotten classes (test and population splits),
    with true labels, and scored on the forget samples. If the unlearned model's features still
    decode the forgotten data much better than the reference's do, the information was hidden in
    the head, not removed: this is the check that catches output-layer suppression and head-only
    retraining (Goel et al.'s EU-k / CF-k). The gated statistic is the log of the probe's mean
    cross-entropy on the forget samples, which has room to move where accuracy saturates at 1
    (statistics review C3: accuracy moved 0.08 on digits, the log loss about 2.7). Compared
    two-sided with the references, retrain-to-retrain spread included. Each sample's loss is capped
    at ``-log(p_floor)``: without the cap one undecodable sample in one reference (a loss of 27 at a
    probability of 1e-12) moved that reference's statistic by 1.7 and inflated the retrain spread
    fourfold, leaving the gate without power (null study, seed 6).

    The probe also reads one layer down (``depths: 2``, the input of the second weight layer from
    the top): retraining or editing only the top layers (EU-2, CF-2) leaves the original's lower
    representation in place, which the penultimate probe sees only in part. On digits that gate
    fails EU-2 (docs/statistics.md section 8).
    """

    name = "probe"
    title = "Linear probes on the penultimate features and one layer down"
    summary = "Logistic-regression probes on the top representations: is the forgotten data still decodable?"
    citation = (
        "Alain & Bengio, Understanding intermediate layers using linear classifier probes, ICLR-W 2017."
    )
    threat_model = (
        "White-box access to the model's penultimate features and labelled data from the same distribution."
    )
    default_category = "recoverability"

    @staticmethod
    def _prefix(depth: int) -> str:
        return "probe" if depth == 1 else f"probe.depth{depth}"

    @staticmethod
    def _scored_on(forget_kind: str) -> tuple[str, ...]:
        """What the probes are scored on: the forget samples, and under class forgetting held-out images too."""
        return ("forget", "heldout") if forget_kind == "class" else ("forget",)

    def metric_keys(self, forget_kind: str) -> list[str]:
        return [
            f"{self._prefix(d)}.{on}_{m}"
            for d in range(1, self.params.depths + 1)
            for on in self._scored_on(forget_kind)
            for m in ("log_loss", "accuracy")
        ]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {
            f"{self._prefix(d)}.{on}_log_loss": self.params.gate_tolerance
            for d in range(1, self.params.depths + 1)
            for on in self._scored_on(forget_kind)
        }

    def measure(self, ctx: AuditContext) -> Measurement:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # BLAS threads on a small problem only contend (50x slower)
            return self._measure(ctx)

    def _measure(self, ctx: AuditContext) -> Measurement:
        cmp = ctx.comparer("attack/probe")
        y_all = ctx.data.y.numpy()
        classes = np.unique(y_all[ctx.splits.forget])
        held = np.union1d(ctx.splits.test, ctx.splits.population)
        held = held[np.isin(y_all[held], classes)]
        fit_idx = self._capped(np.union1d(ctx.splits.retain, held), cmp.rng)
        tasks: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"forget": [(fit_idx, ctx.splits.forget)]}
        heldout = ctx.comparer("attack/probe/heldout")
        if ctx.forget_kind == "class" and held.size >= 2:
            # Two folds over the held-out images of the class: each half is scored by a probe fitted on the
            # retain data and the other half, so no image is scored by a probe that saw it.
            order = heldout.rng.permutation(held.size)
            halves = [np.sort(held[order[: held.size // 2]]), np.sort(held[order[held.size // 2 :]])]
            tasks["heldout"] = [
                (self._capped(np.union1d(ctx.splits.retain, halves[1 - k]), heldout.rng), halves[k])
                for k in (0, 1)
            ]
        results = {
            on: [self._scores(ctx, depth, folds) for depth in range(1, self.params.depths + 1)]
            for on, folds in tasks.items()
        }
        metrics: list[MetricResult] = []
        for depth in range(1, self.params.depths + 1):
            for on in tasks:
                metrics += self._metrics(
                    depth, on, results[on][depth - 1], cmp if on == "forget" else heldout
                )
        details = {
            "fit_samples": int(fit_idx.size),
            "held_out_forget_class_samples": int(held.size),
            "scored_on": (
                f"forget samples, and the {held.size} held-out images of the forgotten classes (test and "
                "population splits), each half scored by a probe fitted on the other half (two folds)"
                if "heldout" in tasks
                else "forget samples"
            ),
            "p_floor": self.params.p_floor,
            "features": (
                "depth 1: the input of the last nn.Linear (penultimate layer); depth k: the input of "
                "the k-th weight layer from the top, convolutional maps average-pooled to 2 x 2"
            ),
        }
        return Measurement(tuple(metrics), details=details)

    def _capped(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``idx``, or a seeded subsample of ``max_fit`` of it."""
        if idx.size > self.params.max_fit:
            return np.sort(rng.choice(idx, size=self.params.max_fit, replace=False))
        return idx

    def _scores(
        self, ctx: AuditContext, depth: int, folds: list[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]] | None:
        """Per role and model, each scored sample's capped probe loss and 0/1 correctness (None: no such depth).

        Each fold fits one probe per model on its fit samples and scores its own samples; the folds'
        scored samples are concatenated in fold order.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y_all = ctx.data.y.numpy()
        losses: dict[str, list[np.ndarray]] = {}
        outcomes: dict[str, list[np.ndarray]] = {}
        for role, models in ctx.models().items():
            losses[role], outcomes[role] = [], []
            for m in models:
                loss_parts, hit_parts = [], []
                for fit_idx, score_idx in folds:
                    f_fit = layer_inputs(m, take(ctx.data, fit_idx).x, depth=depth, device=ctx.device)
                    if f_fit is None:
                        return None
                    probe = make_pipeline(
                        StandardScaler(), LogisticRegression(C=self.params.C, max_iter=2000)
                    )
                    probe.fit(f_fit, y_all[fit_idx])
                    y = y_all[score_idx]
                    proba = probe.predict_proba(
                        layer_inputs(m, take(ctx.data, score_idx).x, depth=depth, device=ctx.device)
                    )
                    classes_ = probe.classes_
                    col = np.minimum(np.searchsorted(classes_, y), classes_.size - 1)
                    p_true = np.where(classes_[col] == y, proba[np.arange(len(y)), col], 0.0)
                    loss_parts.append(-np.log(np.clip(p_true, self.params.p_floor, 1.0)))
                    hit_parts.append((classes_[proba.argmax(1)] == y).astype(float))
                losses[role].append(np.concatenate(loss_parts))
                outcomes[role].append(np.concatenate(hit_parts))
        return losses, outcomes

    def _metrics(
        self,
        depth: int,
        on: str,
        scores: tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]] | None,
        cmp: Comparer,
    ) -> list[MetricResult]:
        """The log probe loss and probe accuracy on one scored set at one depth, compared across models."""
        prefix = self._prefix(depth)
        where = "penultimate features" if depth == 1 else f"the input of weight layer {depth} from the top"
        what = "the forget samples" if on == "forget" else "held-out images of the forgotten classes"
        if scores is None:
            note = f"not estimable: the model has fewer than {depth} weight layers"
            none = Estimate(None, n=0, note=note)
            empty = Comparison({r: none for r in ("unlearned", "reference", "original")}, none, None, None)
            return [
                MetricResult(f"{prefix}.{on}_{k}", f"{label} on {what} ({where})", "", empty)
                for k, label in (("log_loss", "log probe loss"), ("accuracy", "probe accuracy"))
            ]
        losses, outcomes = scores
        log_loss = self._log_mean(losses, reps=cmp.reps, level=cmp.level, rng=cmp.rng)
        comp = cmp.proportions(outcomes)
        if on == "forget":  # scored on the forget samples alone, which the request names: conditioned on them
            log_loss, comp = forget_set_comparison(log_loss), forget_set_comparison(comp)
        return [
            MetricResult(
                f"{prefix}.{on}_log_loss",
                f"log of the probe's mean loss on {what} ({where})",
                "the forgotten data is less decodable from the features",
                log_loss,
            ),
            MetricResult(
                f"{prefix}.{on}_accuracy",
                f"Probe accuracy on {what} ({where})",
                "the forgotten data is more decodable from the features",
                comp,
            ),
        ]

    @staticmethod
    def _log_mean(
        values: dict[str, list[np.ndarray]], *, reps: int, level: float, rng: np.random.Generator
    ) -> Comparison:
        """log(mean per-sample loss) per model, compared on paired resamples of the forget samples.

        On the log scale a gap is a ratio of losses, which is what changes when features that
        encode the forgotten data are kept (a probe's loss near 0) or destroyed.
        """
        n = int(values["unlearned"][0].size)
        idx = bootstrap_indices(n, reps, rng)
        points = {role: [float(np.log(a.mean())) for a in arrays] for role, arrays in values.items()}
        boots = {
            role: np.mean([np.log(a[idx].mean(axis=1)) for a in arrays], axis=0)
            for role, arrays in values.items()
        }
        per_model = {
            role: Estimate(
                float(np.mean(points[role])), percentile_interval(boots[role], level), n=n, level=level
            )
            for role in values
        }
        ref_mean = float(np.mean(points["reference"]))
        evidence = {
            role: evidence_from_replicates(
                float(np.mean(points[role])) - ref_mean, boots[role] - boots["reference"], points["reference"]
            )
            for role in values
            if role != "reference"
        }
        gap_reps = boots["unlearned"] - boots["reference"]
        gap = Estimate(evidence["unlearned"].point, percentile_interval(gap_reps, level), n=n, level=level)
        spread = float(np.ptp(points["reference"])) if len(points["reference"]) > 1 else 0.0
        control = boots["original"] - boots["reference"] if "original" in boots else None
        return Comparison(per_model, gap, gap_reps, spread, control, evidence)
