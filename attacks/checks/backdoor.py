"""``backdoor``: does the unlearned model still answer the canaries' private trigger?"""

from __future__ import annotations

import copy
from typing import TypedDict

import numpy as np
import torch
from pydantic import Field
from scipy import stats as sps
from torch.nn import functional as F

from attacks.base import Attack, Measurement, MetricResult, Need, Params
from auditor.plugin.context import AuditContext, SplitData, take
from auditor.train.core import make_optimizer, predict_logits


class BackdoorParams(Params):
    """Parameters of :class:`Backdoor`."""

    alpha: float = Field(
        1e-3, gt=0, lt=0.5, description="Athena's type-I error (falsely accusing an honest server)."
    )
    queries: int | None = Field(
        None, ge=1, description="Triggered queries n (default: every eligible held-out sample)."
    )
    resurgence_steps: int = Field(
        20, ge=0, description="Clean fine-tuning steps before re-measuring (0 = skip)."
    )
    resurgence_lr: float = Field(1e-3, gt=0, description="Adam learning rate of the resurgence fine-tune.")
    gate_tolerance: float = Field(
        0.02,
        gt=0,
        lt=1,
        description=(
            "Smallest default gate on the attack-success-rate gap (0.05 passed a sixfold excess over retraining's rate: "
            "statistics review M4); widened to the retrain noise floor."
        ),
    )


class AthenaTest(TypedDict):
    """Athena's test at one query budget (see :func:`athena`)."""

    n: int
    alpha: float
    q: float
    p: float
    threshold: int | None
    rho: float | None


def athena(n: int, q: float, p: float, alpha: float) -> AthenaTest:
    """Athena's hypothesis test (Sommer et al., PETS 2022; ``paper_plots_theory.py::beta``).

    H0 (deleted): X ~ Binomial(n, q); H1 (kept): X ~ Binomial(n, p). The threshold t is the
    smallest count with P_H0[X >= t] <= alpha; rho = 1 - beta = P_H1[X >= t] is the confidence
    that a model which kept the data would have been caught.
    """
    q = min(max(q, 0.0), 1.0)
    p = min(max(p, 0.0), 1.0)
    ts = np.arange(n + 2)
    tail_h0 = sps.binom.sf(ts - 1, n, q)  # P_H0[X >= t]
    ok = np.nonzero(tail_h0 <= alpha)[0]
    if ok.size == 0:
        return {"n": n, "alpha": alpha, "q": q, "p": p, "threshold": None, "rho": None}
    t = int(ts[ok[0]])
    return {"n": n, "alpha": alpha, "q": q, "p": p, "threshold": t, "rho": float(sps.binom.sf(t - 1, n, p))}


def reference_rate_bound(hits: list[int], n: int, alpha: float) -> float:
    """A one-sided (1 - alpha) upper bound on a retrained model's trigger rate q.

    The larger of the Clopper-Pearson bound on the references' pooled hits and a Student-t
    prediction bound for one more retrain (mean + t_{R-1, 1-alpha} s sqrt(1 + 1/R)), so that both
    the sampling of the queries and the spread between retrains are covered. Athena's threshold
    computed at this q keeps its type-I error at most 2 alpha, where the plug-in estimate of q
    inflated it 10-100x (statistics review M4).
    """
    from auditor.judge.stats import cp_upper

    r = len(hits)
    pooled = cp_upper(int(sum(hits)), r * n, alpha=alpha)
    if r < 2:
        return pooled
    rates = np.asarray(hits, float) / n
    pred = float(rates.mean() + sps.t.ppf(1 - alpha, r - 1) * rates.std(ddof=1) * np.sqrt(1 + 1 / r))
    return float(min(1.0, max(pooled, pred)))


class Backdoor(Attack[BackdoorParams]):
    """Backdoor-canary verification: does the unlearned model still answer the canaries' trigger?

    After Sommer, Song, Wagh & Mittal, "Athena: Probabilistic Verification of Machine
    Unlearning" (PETS 2022; arXiv 2003.04247). Under ``forget: {kind: backdoor}`` the forget set is a set of training samples that carried a
    private trigger and a flipped label. Triggered held-out inputs (outside the target class) are
    classified by each model; the attack success rate (ASR, the share sent to the target) of the
    unlearned model is compared two-sided with the reference's, with clean test accuracy beside
    it. Athena's test uses an upper confidence bound on the references' ASR as q (deleted; the
    plug-in estimate inflated its type-I error) and the original's as p (kept): with
    n queries, the threshold at type-I error alpha and rho = 1 - beta are reported, along with the
    decision for the unlearned model. "Resurgence": the ASR after a short fine-tune on clean retain
    data, since suppressed backdoors can return (Zhang et al., ICML 2024, show verification by
    backdoors is fragile; treat this as supplementary evidence).
    """

    name = "backdoor"
    title = "Backdoor canaries (Athena)"
    summary = "Trigger success rate on held-out inputs vs the reference, Athena's test, and resurgence."
    citation = "Sommer et al., Athena: Probabilistic Verification of Machine Unlearning, PETS 2022."
    threat_model = (
        "Data owner who planted a private trigger in their data and queries the model with it (black box)."
    )
    default_category = "forgetting"
    requires = Need.TRIGGER
    forget_kinds = frozenset({"backdoor"})

    def metric_keys(self, forget_kind: str) -> list[str]:
        keys = ["backdoor.asr", "backdoor.clean_accuracy"]
        return keys + (["backdoor.resurgence_asr"] if self.params.resurgence_steps else [])

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"backdoor.asr": self.params.gate_tolerance}

    def category(self, key: str, forget_kind: str) -> str:
        return "utility" if key == "backdoor.clean_accuracy" else "forgetting"

    def measure(self, ctx: AuditContext) -> Measurement:
        trigger = ctx.backdoor_trigger()
        p = self.params
        cmp = ctx.comparer("attack/backdoor")
        y_all = ctx.data.y.numpy()
        test = ctx.splits.test
        eligible = test[y_all[test] != trigger.target]
        if p.queries is not None and p.queries < eligible.size:
            eligible = np.sort(cmp.rng.choice(eligible, size=p.queries, replace=False))
        queries = take(ctx.data, eligible)
        triggered = trigger.stamp(queries.x)
        clean_test = ctx.split("test")

        def hits(model: torch.nn.Module) -> np.ndarray:
            return (
                (predict_logits(model, triggered, device=ctx.device).argmax(1) == trigger.target)
                .numpy()
                .astype(float)
            )

        def clean(model: torch.nn.Module) -> np.ndarray:
            return (
                (predict_logits(model, clean_test.x, device=ctx.device).argmax(1) == clean_test.y)
                .numpy()
                .astype(float)
            )

        models = ctx.models()
        asr = cmp.proportions({r: [hits(m) for m in ms] for r, ms in models.items()})
        acc = cmp.proportions({r: [clean(m) for m in ms] for r, ms in models.items()})
        metrics = [
            MetricResult(
                "backdoor.asr", "Attack success rate of the trigger", "the trigger still works", asr
            ),
            MetricResult("backdoor.clean_accuracy", "Clean test accuracy", "better utility", acc),
        ]
        if p.resurgence_steps:
            retain = ctx.split("retain")
            resurged = {
                r: [hits(self._finetune(ctx, m, retain, k)) for k, m in enumerate(ms)]
                for r, ms in models.items()
            }
            metrics.append(
                MetricResult(
                    "backdoor.resurgence_asr",
                    f"ASR after {p.resurgence_steps} clean fine-tuning steps",
                    "the trigger comes back",
                    cmp.proportions(resurged),
                )
            )
        n = int(eligible.size)
        ref_hits = [int(hits(m).sum()) for m in models["reference"]]
        q_rate = reference_rate_bound(ref_hits, n, p.alpha)
        p_rate = asr.per_model["original"].value or 0.0
        athena_test = athena(n, q_rate, p_rate, p.alpha)
        observed = int(round((asr.per_model["unlearned"].value or 0.0) * n))
        threshold = athena_test["threshold"]
        test_result = {
            **athena_test,
            "q_estimate": float(np.mean(ref_hits) / n),
            "q_is": (
                f"one-sided {1 - p.alpha:.1%} upper bound on a retrain's rate from {len(ref_hits)} "
                "references (pooled Clopper-Pearson and a prediction bound); type-I error <= 2 alpha"
            ),
            "unlearned_hits": observed,
            "decision": None
            if threshold is None
            else (
                "not deleted (trigger still answered)"
                if observed >= threshold
                else "consistent with deletion"
            ),
        }
        details = {
            "trigger": trigger.record(),
            "queries": n,
            "athena": test_result,
            "queries_source": "test split outside the target class, trigger stamped",
        }
        return Measurement(tuple(metrics), details=details)

    def _finetune(
        self, ctx: AuditContext, model: torch.nn.Module, retain: SplitData, k: int
    ) -> torch.nn.Module:
        """A copy of ``model`` after ``resurgence_steps`` Adam steps on clean retain data."""
        copy_ = copy.deepcopy(model).to(ctx.device).train()
        opt = make_optimizer(list(copy_.parameters()), name="adam", lr=self.params.resurgence_lr)
        gen = ctx.generator(f"backdoor/resurgence/{k}")
        steps = 0
        while steps < self.params.resurgence_steps:
            for idx in torch.randperm(len(retain), generator=gen).split(ctx.recipe.batch_size):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(copy_(retain.x[idx].to(ctx.device)), retain.y[idx].to(ctx.device)).backward()
                opt.step()
                steps += 1
                if steps >= self.params.resurgence_steps:
                    break
        return copy_.eval()
