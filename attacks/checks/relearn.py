"""``relearn``: relearn time and the Anamnesis Index: how fast does the forgotten knowledge return?"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from attacks.base import Attack, Measurement, MetricResult, Params
from attacks.figures import ROLE_LABELS, curve_figure
from auditor.judge.inference import GapEvidence, evidence_from_replicates
from auditor.judge.stats import Comparison, Estimate, bootstrap_indices, percentile_interval
from auditor.plugin.context import AuditContext, SplitData, take
from auditor.train.core import make_optimizer, predict_logits


class RelearnParams(Params):
    """Parameters of :class:`Relearn`."""

    seeds: int = Field(5, ge=2, le=100, description="R relearning runs per model (ATTACKS.md 10: R = 5).")
    k_shot: int | None = Field(
        None, ge=1, description="Relearn on k forget samples per run (default: all of them)."
    )
    lr: float = Field(1e-3, gt=0, description="Adam learning rate (zero-shot-unlearning code: 1e-3).")
    batch_size: int = Field(
        32, ge=1, description="Reference code: 256; 32 so a small forget set gives several steps."
    )
    max_steps: int = Field(
        200, ge=1, description="Cap on optimiser steps; runs that hit it are marked censored."
    )
    tolerance: float = Field(
        0.05, gt=0, lt=1, description="Relative tolerance alpha (reference code error_range 0.05)."
    )
    gate_tolerance: float = Field(
        0.5,
        gt=0,
        description=(
            "Default gate on the log2 relearn-time gap (0.5 = a factor 1.41). On digits the "
            "gap between two retrains is about 0.1."
        ),
    )


def relearn_steps(
    model: nn.Module,
    train: SplitData,
    *,
    done: Callable[[nn.Module], tuple[bool, float]],
    lr: float,
    batch_size: int,
    max_steps: int,
    generator: torch.Generator,
    device: torch.device,
) -> tuple[int, bool, list[float]]:
    """Fine-tune a copy of ``model`` on ``train`` until ``done(model)`` holds.

    Returns:
        (steps, censored, curve): steps taken (0 if already done), whether the cap was hit, and
        the progress value after every step (the value ``done`` reports through its second output).
    """
    model = copy.deepcopy(model).to(device)
    ok, value = done(model)
    curve = [value]
    if ok:
        return 0, False, curve
    opt = make_optimizer(list(model.parameters()), name="adam", lr=lr)
    steps = 0
    while steps < max_steps:
        order = torch.randperm(len(train), generator=generator)
        for idx in order.split(batch_size):
            model.train()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(train.x[idx].to(device)), train.y[idx].to(device)).backward()
            opt.step()
            steps += 1
            ok, value = done(model)
            curve.append(value)
            if ok:
                return steps, False, curve
            if steps >= max_steps:
                break
    return steps, True, curve


Done = Callable[[nn.Module], tuple[bool, float]]
"""A stop rule: model -> (the knowledge is back, the value it was judged on)."""

Runs = dict[str, list[list[tuple[int, bool]]]]
"""Role -> per model, the (steps, censored) of each relearning run."""


class Relearn(Attack[RelearnParams]):
    """Relearn time and the Anamnesis Index: how fast does the forgotten knowledge return?

    Relearn time after Golatkar, Achille & Soatto (CVPR 2020), the Anamnesis Index after
    Chundawat, Tarun, Mandal & Kankanhalli, "Zero-Shot Machine Unlearning" (IEEE TIFS 2023).
    Copies of the unlearned model and of each reference are fine-tuned on the forget data (or a
    k-shot subset), with the same seeded batches, and the optimiser steps until the forgotten
    knowledge is back are counted. Class forgetting: until accuracy on held-out samples of the
    forgotten classes reaches (1 - alpha) times the original's. Other forgetting (a loss variant,
    since "forget-class accuracy" has no meaning there): until the mean loss on the forget samples
    falls to L_o + alpha (L_r - L_o), L_o being the original's and L_r the reference's loss before
    relearning. AIN = rt(unlearned) / rt(reference); much less than 1 means the information was
    only hidden. Gated on the mean log2 gap (log2(rt + 1)) over R seeds, two-sided. Fixes to the
    reference code (ATTACKS.md 8.2): models are deep-copied, the evaluation set is the one
    passed in, R seeds, censoring at the step cap is reported.
    """

    name = "relearn"
    title = "Relearn time and Anamnesis Index"
    summary = (
        "Steps of fine-tuning on the forget data until the forgotten knowledge returns, vs the reference."
    )
    citation = "Chundawat et al., Zero-Shot Machine Unlearning, IEEE TIFS 2023 (Anamnesis Index); Golatkar et al., CVPR 2020."
    threat_model = (
        "Adversary (or auditor) who can fine-tune the released model on a few samples of the forgotten data."
    )
    default_category = "recoverability"
    white_box = True

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["relearn.log2_steps"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"relearn.log2_steps": self.params.gate_tolerance}

    def _stop_rule(self, ctx: AuditContext) -> tuple[Done, str]:
        """When the forgotten knowledge is back, and that rule in words."""
        p = self.params
        device = ctx.device
        forget = ctx.split("forget")
        y_all = ctx.data.y.numpy()
        if ctx.forget_kind == "class":
            held = np.union1d(ctx.splits.test, ctx.splits.population)
            held = held[np.isin(y_all[held], ctx.forget_classes)]
            evaluation = take(ctx.data, held)

            def accuracy(model: nn.Module) -> float:
                logits = predict_logits(model, evaluation.x, device=device)
                return float((logits.argmax(1) == evaluation.y).float().mean())

            target = (1.0 - p.tolerance) * accuracy(ctx.original)

            def back_to_accuracy(model: nn.Module) -> tuple[bool, float]:
                acc = accuracy(model)
                return acc >= target, acc

            criterion = f"accuracy on {held.size} held-out forgotten-class samples >= {target:.3f} ((1 - alpha) x original)"
            return back_to_accuracy, criterion

        def mean_loss(model: nn.Module) -> float:
            return float(F.cross_entropy(predict_logits(model, forget.x, device=device), forget.y))

        l_o, l_r = mean_loss(ctx.original), float(np.mean([mean_loss(r) for r in ctx.references]))
        target = l_o + p.tolerance * max(l_r - l_o, 0.0)

        def back_to_loss(model: nn.Module) -> tuple[bool, float]:
            value = mean_loss(model)
            return value <= target, value

        return (
            back_to_loss,
            f"mean forget loss <= {target:.4f} (L_o {l_o:.4f} + alpha x (L_r {l_r:.4f} - L_o))",
        )

    def _relearn_all(
        self, ctx: AuditContext, done: Done, subsets: list[SplitData]
    ) -> tuple[Runs, dict[str, list[float]]]:
        """Relearn every model; returns the runs and the first seed's curve per role.

        Every non-reference role relearns ``seeds`` times (batch orders 0..seeds-1); each reference
        relearns once, with batch order r, so the references' spread holds both the randomness of
        retraining and of the relearning batches (statistics review M1, m10).
        """
        p = self.params
        models = ctx.models()
        n_runs = p.seeds * (len(models) - 1) + len(models["reference"])
        runs: Runs = {role: [] for role in models}
        curves: dict[str, list[float]] = {}
        done_runs = 0
        with ctx.task("relearning", n_runs) as update:
            for role, ms in models.items():
                plan = (
                    [(m, [i]) for i, m in enumerate(ms)]
                    if role == "reference"
                    else [(ms[0], list(range(p.seeds)))]
                )
                for model, seeds in plan:
                    out = []
                    for s in seeds:
                        steps, censored, curve = relearn_steps(
                            model,
                            subsets[s],
                            done=done,
                            lr=p.lr,
                            batch_size=p.batch_size,
                            max_steps=p.max_steps,
                            generator=ctx.generator(f"relearn/{s}"),  # the same batches for every model
                            device=ctx.device,
                        )
                        out.append((steps, censored))
                        if s == 0 and role in ROLE_LABELS and role not in curves:
                            curves[role] = [round(v, 4) for v in curve]
                        done_runs += 1
                        update(done_runs, n_runs)
                    runs[role].append(out)
        return runs, curves

    def measure(self, ctx: AuditContext) -> Measurement:
        p = self.params
        forget = ctx.split("forget")
        done, criterion = self._stop_rule(ctx)
        rng = ctx.rng("attack/relearn")
        subsets = []
        for _ in range(max(p.seeds, len(ctx.references))):
            data = forget
            if p.k_shot is not None and p.k_shot < len(forget):
                pick = np.sort(rng.choice(len(forget), size=p.k_shot, replace=False))
                data = SplitData(forget.x[pick], forget.y[pick], forget.indices[pick])
            subsets.append(data)
        runs, curves = self._relearn_all(ctx, done, subsets)
        comparison = self._compare(runs, rng, level=ctx.level, reps=ctx.bootstrap)

        steps = {role: [st for r in model_runs for st, _ in r] for role, model_runs in runs.items()}
        med_u, med_r = float(np.median(steps["unlearned"])), float(np.median(steps["reference"]))
        rng_ain = ctx.rng("attack/relearn/ain")
        ain_reps = [
            np.median(rng_ain.choice(steps["unlearned"], len(steps["unlearned"])))
            / max(float(np.median(rng_ain.choice(steps["reference"], len(steps["reference"])))), 1e-9)
            for _ in range(ctx.bootstrap)
        ]
        details = {
            "criterion": criterion,
            "seeds": p.seeds,
            "relearn_samples": p.k_shot or len(forget),
            "steps": steps,
            "censored": {role: [c for r in rr for _, c in r] for role, rr in runs.items()},
            "median_steps": {role: float(np.median(v)) for role, v in steps.items()},
            "iqr_steps": {
                role: [float(np.quantile(v, 0.25)), float(np.quantile(v, 0.75))] for role, v in steps.items()
            },
            "anamnesis_index": (med_u / med_r) if med_r > 0 else None,
            "anamnesis_index_ci": list(percentile_interval(np.array(ain_reps), ctx.level))
            if med_r > 0
            else None,
            "curves_seed0": curves,
            "optimizer": f"Adam lr {p.lr}, batch {p.batch_size}, cap {p.max_steps} steps",
        }
        metric = MetricResult(
            "relearn.log2_steps",
            "Relearn time, log2(steps + 1)",
            "slower to relearn the forgotten data",
            comparison,
        )
        y_label = "forgotten-class accuracy" if ctx.forget_kind == "class" else "mean forget loss"
        figure = curve_figure(
            "Relearning the forgotten data (first seed)",
            "fine-tuning steps",
            y_label,
            {
                ROLE_LABELS[role]: (list(range(len(c))), c, role)
                for role, c in curves.items()
                if role in ROLE_LABELS
            },
            note=f"Stop rule: {criterion}. A model that only hid the data relearns it in fewer steps than the "
            "reference.",
        )
        return Measurement((metric,), details=details, figures=(figure,))

    @staticmethod
    def _compare(runs: Runs, rng: np.random.Generator, *, level: float, reps: int) -> Comparison:
        """log2(steps + 1) per role, with the unlearned model's gap to the references' mean.

        The references' spread is the retrain-to-retrain variance of the gap; without a second
        reference, the standard error of the unlearned model's runs stands in.
        """

        def log_steps(model_runs: list[tuple[int, bool]]) -> np.ndarray:
            return np.log2(np.array([st for st, _ in model_runs], float) + 1.0)

        ref_points = [float(log_steps(r).mean()) for r in runs["reference"]]
        ref_mean = float(np.mean(ref_points))
        per_model: dict[str, Estimate] = {}
        evidence: dict[str, GapEvidence] = {}
        for role, model_runs in runs.items():
            values = np.concatenate([log_steps(r) for r in model_runs])
            censored = any(c for r in model_runs for _, c in r)
            idx = bootstrap_indices(values.size, reps, rng)
            per_model[role] = Estimate(
                float(values.mean()),
                percentile_interval(values[idx].mean(axis=1), level),
                n=int(values.size),
                level=level,
                note="censored at the step cap" if censored else None,
            )
            if role != "reference":
                sd = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0
                evidence[role] = evidence_from_replicates(
                    float(values.mean()) - ref_mean, None, ref_points, fallback_sd=sd
                )
        u_runs = log_steps(runs["unlearned"][0])
        idx = bootstrap_indices(u_runs.size, reps, rng)
        gap_reps = u_runs[idx].mean(axis=1) - ref_mean
        gap = Estimate(
            evidence["unlearned"].point,
            evidence["unlearned"].interval(level),
            n=int(u_runs.size),
            level=level,
        )
        return Comparison(per_model, gap, gap_reps, float(np.ptp(ref_points)), None, evidence)
