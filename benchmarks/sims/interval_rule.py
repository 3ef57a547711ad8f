"""The gap interval's rule: the wider of the prediction and the estimation interval, checked both ways.

``GapEvidence.interval`` takes, per side, the larger of

* the prediction interval for one more retrain, t_{R-1} s sqrt(1 + 1/R), and
* the estimation interval of this model's gap, the sample part and the references' mean
  (t_{R-1} s / sqrt(R)) added in quadrature;

and for metrics on the forget set alone (``fixed_samples``) the estimation interval has no sample
part. The engine before (the "hypot" rule) added the sample part to the full prediction variance.
This script measures, through ``verdict.judge`` (alpha 0.05, Bonferroni m = 9, default widening
tolerance k x the retrain term with k = 4.5 in 1, a fixed tolerance in 2 and 3), what each rule does:

1. **Honest retrains** (exchangeable with the references on fixed, paired samples): P(pass), P(fail)
   and how often the 90 % interval excludes 0, against the ratio of the paired sample SD to the
   retrain SD term. Under exchangeability the sample noise is already in the retrain spread, so the
   gap's real SD is the retrain term whatever the bootstrap says.
2. **A fixed model that is not a retrain**, its population gap exactly at the tolerance (t fixed at
   0.1, retrain SD 0.02), with paired sample noise of ratio r: P(pass) is the TOST's size and must
   stay at or below alpha = 0.05 for every r. This is where the estimation interval matters.
3. **The same model on the forget set** (its gap on these samples exactly at the tolerance, samples
   fixed by the request): only the references' mean is random, so P(pass) must be at most alpha.

Run: .venv/bin/python benchmarks/sims/interval_rule.py   (about 40 s of CPU)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from _common import rate

from auditor.judge.inference import GapEvidence
from auditor.judge.verdict import FAIL, PASS, Gate, judge

ALPHA, FAMILY, MULT, R, TRIALS = 0.05, 9, 4.5, 12, 4000
RATIOS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


class HypotRule(GapEvidence):
    """The previous engine's interval: sample part and the full prediction part in quadrature."""

    def interval(self, level: float) -> tuple[float, float]:
        import math

        lo, hi = GapEvidence.sample_half_widths(self, level)
        hs = self.seed_half_width(level)
        return self.point - math.hypot(lo, hs), self.point + math.hypot(hi, hs)


def as_rule(ev: GapEvidence, rule: str) -> GapEvidence:
    if rule == "hypot":
        return HypotRule(ev.point, ev.sample_sd, ev.seed_sd, ev.seeds, ev.cells)
    if rule == "fixed":
        return replace(ev, fixed_samples=True)
    return ev


def judge_status(ev: GapEvidence, gate: Gate, widen: bool = True) -> str:
    """Judge at ``gate``'s tolerance, or (widen) at k x the retrain term with no floor and no cap."""
    g = replace(gate, tolerance=MULT * ev.seed_term) if widen else gate
    return judge(g, {"unlearned": ev}, alpha=ALPHA, family=FAMILY).status


def honest(rng: np.random.Generator) -> None:
    print(f"1. honest retrains, R = {R}, k = {MULT}, {TRIALS} trials per row (rate ± Monte-Carlo SE)")
    print(
        f"{'sample SD / retrain term':>24} | {'rule':>6} | {'P(pass)':>14} {'P(fail)':>14} {'90% CI excl. 0':>15}"
    )
    gate = Gate("m", 1.0, "default", "privacy")
    term = np.sqrt(1 + 1 / R)
    for ratio in RATIOS:
        evs = []
        for _ in range(TRIALS):
            refs = rng.normal(size=R)
            evs.append(
                GapEvidence(float(rng.normal() - refs.mean()), ratio * term, float(refs.std(ddof=1)), R)
            )
        for rule in ("hypot", "max", "fixed"):
            e2 = [as_rule(e, rule) for e in evs]
            st = np.array([judge_status(e, gate) for e in e2])
            excl = np.array(
                [(lambda lo_hi: lo_hi[0] > 0 or lo_hi[1] < 0)(e.interval(1 - 2 * ALPHA)) for e in e2]
            )
            print(
                f"{ratio:>24.1f} | {rule:>6} | {rate(st == PASS):>14} {rate(st == FAIL):>14} {rate(excl):>15}"
            )


def fixed_model(rng: np.random.Generator) -> None:
    t, s = 0.1, 0.02
    print(
        f"\n2. a fixed model at the margin (population gap = t = {t}, retrain SD {s}), paired sample noise "
        f"SD = ratio x retrain term; P(pass) is the TOST's size (nominal <= {ALPHA})"
    )
    print(f"{'ratio':>6} | {'hypot':>14} {'max':>14}")
    gate = Gate("m", t, "config", "privacy", floor=t)
    term = s * np.sqrt(1 + 1 / R)
    for ratio in RATIOS:
        out = {}
        sd = ratio * term
        for rule in ("hypot", "max"):
            passes = []
            for _ in range(TRIALS):
                refs = rng.normal(0, s, R)
                gap = t + rng.normal(0, sd) - refs.mean()
                ev = as_rule(GapEvidence(float(gap), sd, float(refs.std(ddof=1)), R), rule)
                passes.append(judge_status(ev, gate, widen=False) == PASS)
            out[rule] = rate(np.array(passes))
        print(f"{ratio:>6.1f} | {out['hypot']:>14} {out['max']:>14}")

    print(
        f"\n3. the same model on the forget set (its gap on these samples = t, only the references' mean "
        f"is random): P(pass), nominal <= {ALPHA}"
    )
    passes = []
    for _ in range(TRIALS):
        refs = rng.normal(0, s, R)
        ev = GapEvidence(float(t - refs.mean()), 0.05, float(refs.std(ddof=1)), R, fixed_samples=True)
        passes.append(judge_status(ev, gate, widen=False) == PASS)
    print(f"   fixed samples: {rate(np.array(passes))}")


def main() -> None:
    rng = np.random.default_rng(20261206)
    honest(rng)
    fixed_model(rng)


if __name__ == "__main__":
    main()
