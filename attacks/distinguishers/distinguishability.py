"""``distinguishability``: the NeurIPS 2023 unlearning challenge's per-example epsilon, made honest."""

from __future__ import annotations

import math

import numpy as np
import torch
from pydantic import Field, model_validator

from attacks.base import Attack, Measurement, MetricResult, Need, Params
from attacks.membership.base import retrain_cached
from attacks.signals import logit_confidence
from auditor.judge.stats import (
    Comparison,
    Estimate,
    bootstrap_indices,
    epsilon_from_counts,
    percentile_interval,
)
from auditor.plugin.context import AuditContext, SplitData, take
from auditor.seeding import derive_seed
from auditor.train.core import predict_logits

CAP = 50.0


class DistinguishabilityParams(Params):
    """Parameters of :class:`Distinguishability`."""

    runs: int = Field(
        32,
        ge=4,
        le=1024,
        description=(
            "N unlearning runs (seeds) and N retrains. The challenge used 512; ATTACKS.md 10 suggests >= 32 in CI. "
            "With the split strategy the largest provable bound is 0 for N = 8, 0.54 for 16, 1.35 for 32."
        ),
    )
    delta: float = Field(
        1e-5, gt=0, lt=0.1, description="delta of the (epsilon, delta) definition (challenge: 1e-5)."
    )
    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="1 - confidence of each per-example epsilon lower bound."
    )
    max_examples: int = Field(500, ge=10, description="At most this many forget examples (seeded subsample).")
    gate_tolerance: float = Field(
        0.5, gt=0, description="Default gate on the mean per-example epsilon bound."
    )

    @model_validator(mode="after")
    def _ceiling_reaches_tolerance(self) -> DistinguishabilityParams:
        """Refuse a run count whose largest provable bound cannot exceed the tolerance.

        Statistics review C2: such a fail-only gate could never fail anything, and a silent no-op
        gate reads as evidence.
        """
        if run_ceiling(self.runs, delta=self.delta, alpha=self.alpha) > self.gate_tolerance:
            return self
        need = next(
            (
                n
                for n in range(self.runs + 1, 1025)
                if run_ceiling(n, delta=self.delta, alpha=self.alpha) > self.gate_tolerance
            ),
            None,
        )
        fix = f"set runs >= {need}" if need else "lower gate_tolerance"
        raise ValueError(
            f"with runs = {self.runs} the largest epsilon lower bound the split strategy can prove is "
            f"{run_ceiling(self.runs, delta=self.delta, alpha=self.alpha):.2f}, not above gate_tolerance "
            f"{self.gate_tolerance:g}: the check could never fail a model; {fix}"
        )


def run_ceiling(runs: int, *, delta: float, alpha: float) -> float:
    """The largest per-example epsilon lower bound ``runs`` runs of each side can show.

    Split strategy: the bound is taken on the held-out half, at zero errors.
    """
    half = runs - runs // 2
    return epsilon_from_counts(fp=0, n_neg=half, fn=0, n_pos=half, delta=delta, alpha=alpha)


def challenge_epsilon(unl: np.ndarray, ret: np.ndarray, *, delta: float) -> float:
    """The challenge's per-example epsilon (google-deepmind/unlearning_evaluation ``metric.py``).

    Point estimates of FPR and FNR over single thresholds (and the double-threshold rule around
    the peakier distribution), the best rule in-sample, capped at 50; rules with exactly one of
    FPR, FNR equal to zero are discarded. Kept for comparability only: it has no confidence. The
    double-threshold grid here has 10 points per unit (the challenge's has 100).
    """
    lo, hi = min(unl.min(), ret.min()), max(unl.max(), ret.max())
    ranges = (np.ptp(unl), np.ptp(ret))
    if max(ranges) == 0 or min(ranges) / max(ranges) < 0.01:
        return CAP if not np.array_equal(np.unique(unl), np.unique(ret)) else 0.0
    pos, neg = (unl, ret) if np.median(unl) >= np.median(ret) else (ret, unl)
    grid = np.linspace(lo, hi, max(2, int(math.ceil((hi - lo) * 100)) + 1))
    fnr_single = (pos[None, :] < grid[:, None]).mean(axis=1)
    fpr_single = (neg[None, :] >= grid[:, None]).mean(axis=1)
    peaky, other = (pos, neg) if np.ptp(pos) <= np.ptp(neg) else (neg, pos)
    width = np.ptp(peaky)
    r = np.linspace(peaky.max() - 2, peaky.max() + 2, 41)[:, None]
    left = r - width + np.linspace(-2, 2, 41)[None, :]
    inside_p = ((left[..., None] <= peaky) & (peaky <= r[..., None])).mean(axis=-1).ravel()
    inside_o = ((left[..., None] <= other) & (other <= r[..., None])).mean(axis=-1).ravel()
    # the double rule predicts "peakier"; its errors are misses on the peaky side and hits on the other
    fnr = np.concatenate([fnr_single, 1.0 - inside_p])
    fpr = np.concatenate([fpr_single, inside_o])
    if np.any((fpr == 0) & (fnr == 0)):
        return CAP
    ok = (fpr > 0) & (fnr > 0)
    if not ok.any():
        return 0.0
    fpr, fnr = fpr[ok], fnr[ok]
    with np.errstate(divide="ignore", invalid="ignore"):
        cand = np.maximum(
            np.log(np.maximum(1 - delta - fpr, 1e-300)) - np.log(fnr),
            np.log(np.maximum(1 - delta - fnr, 1e-300)) - np.log(fpr),
        )
    best = float(cand.max())
    return float(min(max(best, 0.0), CAP))


def challenge_points(eps: np.ndarray, runs: int) -> float:
    """The challenge's forget score F: bucket epsilon in 0.5-wide bins, bin k earns 2^-k."""
    max_eps = math.ceil(math.log(runs - 1)) if runs > 2 else 1
    points = np.where(eps >= max_eps, 0.0, 2.0 ** (-np.floor(eps / 0.5)))
    return float(points.mean())


def split_epsilon(
    unl: np.ndarray, ret: np.ndarray, *, delta: float, alpha: float, rng: np.random.Generator
) -> float:
    """A (1 - alpha) lower bound on one example's epsilon, threshold chosen on half the runs.

    Which side is "positive" and the single threshold are chosen on one half of the runs; the
    error counts on the other half are bounded with Clopper-Pearson (ATTACKS.md 7.2-7.3).
    """
    iu, ir = rng.permutation(unl.size), rng.permutation(ret.size)
    hu, hr = unl.size // 2, ret.size // 2
    u1, u2, r1, r2 = unl[iu[:hu]], unl[iu[hu:]], ret[ir[:hr]], ret[ir[hr:]]
    if np.median(u1) < np.median(r1):
        u1, u2, r1, r2 = -u1, -u2, -r1, -r2
    candidates = np.unique(np.concatenate([u1, r1]))
    best_t, best = candidates[0], -1.0
    for t in candidates:
        e = epsilon_from_counts(
            fp=int((r1 >= t).sum()),
            n_neg=r1.size,
            fn=int((u1 < t).sum()),
            n_pos=u1.size,
            delta=delta,
            alpha=alpha,
        )
        if e > best:
            best_t, best = t, e
    return epsilon_from_counts(
        fp=int((r2 >= best_t).sum()),
        n_neg=r2.size,
        fn=int((u2 < best_t).sum()),
        n_pos=u2.size,
        delta=delta,
        alpha=alpha,
    )


class Distinguishability(Attack[DistinguishabilityParams]):
    """Per-example distinguishability of unlearning from retraining (NeurIPS 2023 challenge).

    After the NeurIPS 2023 Machine Unlearning Challenge (Triantafillou et al., "Are we making
    progress in unlearning? Findings from the first NeurIPS unlearning competition", arXiv
    2406.09073; code ``google-deepmind/unlearning_evaluation``). The audited method is run N times on the original with different seeds, and the model is
    retrained N times without the forget set. For each forget example, the two samples of N
    logit-scaled confidences are compared. The challenge's epsilon picks the best threshold
    in-sample from point estimates, which biases it upward and gives no confidence; here each
    example's epsilon is a one-sided (1 - alpha) Clopper-Pearson lower bound with the threshold
    chosen on half the runs and the bound taken on the other half. The largest bound N runs can
    support is printed with it. The challenge's own epsilon and forget score F are reported for
    comparability. This audits the randomness of the unlearning algorithm for a fixed original,
    not that of training (ATTACKS.md 7.7).
    """

    name = "distinguishability"
    title = "Per-example distinguishability (NeurIPS 2023 challenge)"
    summary = (
        "Per-example epsilon between N unlearning runs and N retrains, CP-bounded with split thresholds."
    )
    citation = (
        "Triantafillou et al., Are we making progress in unlearning? Findings from the first NeurIPS "
        "unlearning competition, arXiv 2406.09073 (2024)."
    )
    threat_model = (
        "Adversary who sees the output distribution of the unlearning algorithm and of retraining on "
        "each forget example (many runs of each), with softmax outputs and labels."
    )
    fail_only = True  # lower bounds / no calibrated retrain null: evidence for FAIL only
    requires = Need.METHOD | Need.SHADOWS  # re-runs the method; retrains through the shadow store's cache

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["distinguishability.epsilon_mean", "distinguishability.challenge_score"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"distinguishability.epsilon_mean": self.params.gate_tolerance}

    def measure(self, ctx: AuditContext) -> Measurement:
        p = self.params
        method = ctx.audited_method()
        rng = ctx.rng("attack/distinguishability")
        forget = ctx.splits.forget
        if forget.size > p.max_examples:
            forget = np.sort(rng.choice(forget, size=p.max_examples, replace=False))
        samples = take(ctx.data, forget)
        x, y = samples.x, samples.y
        retain = ctx.split("retain")
        unl, ret = [], []
        with ctx.task(f"{p.runs} unlearning runs and {p.runs} retrains", 2 * p.runs) as update:
            for i in range(p.runs):
                model = method.run(
                    ctx.original, ctx.unlearn_inputs(ctx.splits, derive_seed(ctx.seed, f"dist/unl/{i}"))
                )
                unl.append(logit_confidence(predict_logits(model, x, device=ctx.device), y))
                update(2 * i + 1, 2 * p.runs)
                ret.append(
                    logit_confidence(predict_logits(self._retrain(ctx, retain, i), x, device=ctx.device), y)
                )
                update(2 * i + 2, 2 * p.runs)
        unl_m, ret_m = np.stack(unl, axis=1), np.stack(ret, axis=1)  # (examples, runs)
        eps = np.array(
            [split_epsilon(u, r, delta=p.delta, alpha=p.alpha, rng=rng) for u, r in zip(unl_m, ret_m)]
        )
        challenge = np.array([challenge_epsilon(u, r, delta=p.delta) for u, r in zip(unl_m, ret_m)])
        ceiling = run_ceiling(p.runs, delta=p.delta, alpha=p.alpha)

        idx = bootstrap_indices(eps.size, ctx.bootstrap, rng)
        reps = eps[idx].mean(axis=1)
        n = int(eps.size)
        note = f"largest bound {p.runs} runs can show: {ceiling:.2f}"
        mean_eps = Comparison(
            {
                "unlearned": Estimate(
                    float(eps.mean()), percentile_interval(reps, ctx.level), n=n, level=ctx.level, note=note
                ),
                "reference": Estimate(
                    0.0, (0.0, 0.0), n=n, note="retraining is indistinguishable from itself"
                ),
            },
            Estimate(float(eps.mean()), percentile_interval(reps, ctx.level), n=n, level=ctx.level),
            reps,
            None,
        )
        score_reps = np.array([challenge_points(challenge[i], p.runs) for i in idx[: min(400, len(idx))]])
        score = Comparison(
            {
                "unlearned": Estimate(
                    challenge_points(challenge, p.runs),
                    percentile_interval(score_reps, ctx.level),
                    n=n,
                    level=ctx.level,
                    note="point estimates, best rule in-sample (the challenge's metric)",
                ),
                "reference": Estimate(1.0, (1.0, 1.0), n=n, note="ideal"),
            },
            Estimate(
                challenge_points(challenge, p.runs) - 1.0,
                percentile_interval(score_reps - 1.0, ctx.level),
                n=n,
                level=ctx.level,
            ),
            score_reps - 1.0,
            None,
        )
        hist, edges = np.histogram(eps, bins=np.linspace(0, max(ceiling, 0.5), 11))
        details = {
            "runs": p.runs,
            "examples": n,
            "delta": p.delta,
            "alpha": p.alpha,
            "epsilon_ceiling": ceiling,
            "threshold_strategy": "split: side and threshold chosen on half the runs, bound on the other half",
            "epsilon_quantiles": {q: float(np.quantile(eps, q)) for q in (0.5, 0.9, 0.99)},
            "epsilon_histogram": {"edges": edges.round(4).tolist(), "counts": hist.tolist()},
            "challenge_epsilon_median": float(np.median(challenge)),
            "method": method.name,
        }
        metrics = (
            MetricResult(
                "distinguishability.epsilon_mean",
                "Mean per-example epsilon lower bound",
                "unlearning runs are more distinguishable from retraining",
                mean_eps,
            ),
            MetricResult(
                "distinguishability.challenge_score",
                "Challenge forget score F (minus ideal 1)",
                "closer to retraining (F = 1 is ideal)",
                score,
            ),
        )
        return Measurement(metrics, details=details)

    @staticmethod
    def _retrain(ctx: AuditContext, retain: SplitData, i: int) -> torch.nn.Module:
        """Retrain ``i`` without the forget set (content-cached).

        The spec is the audit pipeline's reference spec, so the first retrains are the audit's
        references, read from the cache.
        """
        seed = derive_seed(ctx.seed, f"reference/{i}")
        return retrain_cached(ctx, retain, seed=seed, role=None)
