"""Statistics review M2.1 (exp1_prop) against the new engine: TOST size for a proportion near 0.

Scenario (class forgetting, ``accuracy.forget``): the 12 references never saw the class, so their
forget accuracy is 0 on every sample; the unlearned model's per-sample correctness is Bernoulli(p)
with p exactly at the tolerance 0.05 (H0 of the equivalence test is true at its boundary). A
level-0.05 TOST passes at most 5 % of the time. The gap evidence comes from
``compare_proportions`` (Newcombe's paired score interval, plus the references' spread, which is 0
here), the gate is the default one (floor 0.05, widened by ``widen_to_noise``; the widening is 0
because the references agree), judged by ``verdict.judge``.

Because all references are 0, the decision depends on the number k of correct samples only, so
the exact size sum_k P(k) 1[pass | k] is printed beside the Monte-Carlo estimate. The old rule
(percentile bootstrap of the gap, B = 1,000, 90 % interval inside +-t) is re-run on the same draws.

Run: .venv/bin/python benchmarks/sims/prop_tost.py   (about 70 s of CPU)
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from auditor.judge.stats import bootstrap_indices, clopper_pearson, compare_proportions, percentile_interval
from auditor.judge.verdict import FAIL, PASS, Gate, judge, widen_to_noise

ALPHA, FAMILY, TOL, R, MULT = 0.05, 9, 0.05, 12, 4.5
GATE = Gate("accuracy.forget", TOL, "default", "forgetting", floor=TOL)


def mcse(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


def decide(u: np.ndarray, refs: list[np.ndarray], rng: np.random.Generator, gate: Gate = GATE) -> str:
    c = compare_proportions({"unlearned": [u], "reference": refs}, reps=200, level=0.95, rng=rng)
    ev = c.evidence["unlearned"]
    g = widen_to_noise(gate, ev, multiplier=MULT)
    return judge(g, {"unlearned": ev}, alpha=ALPHA, family=FAMILY).status


def old_rule_pass(u: np.ndarray, rng: np.random.Generator, b: int = 1000) -> bool:
    """The pre-rewrite rule: percentile bootstrap of the gap (references all 0), 90 % inside +-t."""
    reps = u[bootstrap_indices(u.size, b, rng)].mean(axis=1)
    lo, hi = percentile_interval(reps, 1 - 2 * ALPHA)
    return lo > -TOL and hi < TOL


def main() -> None:
    rng = np.random.default_rng(20240601)
    trials = 2000
    print(
        f"TOST size for accuracy.forget near 0: {R} references at 0, unlearned ~ Bernoulli(p) per sample, "
        f"tolerance {TOL}, alpha {ALPHA}, family m = {FAMILY}, {trials} trials per row"
    )
    print(
        f"{'n':>4} {'p':>5} | {'new P(pass)':>16} {'exact':>7} | {'new P(fail)':>16} | "
        f"{'old rule P(pass)':>18}"
    )
    for n in (46, 101, 400):
        refs = [np.zeros(n) for _ in range(R)]
        # exact: the decision is a function of k only
        status_k = {}
        for k in range(n + 1):
            u = np.zeros(n)
            u[:k] = 1.0
            status_k[k] = decide(u, refs, rng)
        for p in (0.05, 0.06, 0.07):
            pmf = sps.binom.pmf(np.arange(n + 1), n, p)
            exact_pass = float(sum(pmf[k] for k, s in status_k.items() if s == PASS))
            exact_fail = float(sum(pmf[k] for k, s in status_k.items() if s == FAIL))
            st, old = [], []
            for _ in range(trials):
                u = (rng.random(n) < p).astype(float)
                st.append(decide(u, refs, rng))
                if p == 0.05:
                    old.append(old_rule_pass(u, rng))
            st = np.array(st)
            pp, pf = float(np.mean(st == PASS)), float(np.mean(st == FAIL))
            old_s = f"{np.mean(old):.3f} ± {mcse(float(np.mean(old)), trials):.3f}" if old else "-"
            print(
                f"{n:>4} {p:>5.2f} | {pp:.3f} ± {mcse(pp, trials):.3f}  {exact_pass:7.4f} | "
                f"{pf:.4f} ± {mcse(pf, trials):.4f} | {old_s:>18}"
                + (
                    f"   (exact P(fail) {exact_fail:.4f}; nominal <= {ALPHA / FAMILY:.4f} at the margin)"
                    if p == 0.05
                    else ""
                )
            )
        passing = [k for k, s in status_k.items() if s == PASS]
        print(
            f"      n={n}: passes for k in {passing[:1]}..{passing[-1:]} correct of {n}"
            if passing
            else f"      n={n}: no k passes (even 0/{n} cannot certify |gap| < {TOL})"
        )

    # Away from 0: references at a true rate 0.02 (each reference an independent Bernoulli draw on the
    # same samples), unlearned at 0.07, a configured tolerance 0.05 (not widened): still the margin.
    print(
        "\nmargin away from 0 (configured tolerance 0.05, not widened): references ~ Bernoulli(0.02), "
        "unlearned 0.07"
    )
    gate_cfg = Gate("accuracy.forget", TOL, "config", "forgetting", floor=TOL)
    for n in (101, 400):
        st = []
        for _ in range(trials):
            refs = [(rng.random(n) < 0.02).astype(float) for _ in range(R)]
            u = (rng.random(n) < 0.07).astype(float)
            st.append(decide(u, refs, rng, gate_cfg))
        st = np.array(st)
        pp = float(np.mean(st == PASS))
        print(f"  n={n:4d}: P(pass) = {pp:.3f} ± {mcse(pp, trials):.3f}  (nominal <= {ALPHA})")

    # Degenerate cases of the review.
    print("\ndegenerate cases")
    for label, u, ref in (
        ("5/5 vs 5/5", np.ones(5), np.ones(5)),
        ("0/46 vs 0/46", np.zeros(46), np.zeros(46)),
        ("0/400 vs 0/400", np.zeros(400), np.zeros(400)),
    ):
        c = compare_proportions(
            {"unlearned": [u], "reference": [ref.copy() for _ in range(R)]}, reps=200, level=0.95, rng=rng
        )
        ev = c.evidence["unlearned"]
        r = judge(widen_to_noise(GATE, ev, multiplier=MULT), {"unlearned": ev}, alpha=ALPHA, family=FAMILY)
        k = int(u.sum())
        cp = clopper_pearson(k, u.size, level=0.9)
        lo, hi = r.equivalence_ci
        print(
            f"  {label:15s}: {r.status:12s} 90% interval [{lo:+.3f}, {hi:+.3f}]"
            f" | Clopper-Pearson 90% of the unlearned {k}/{u.size}: [{cp[0]:.3f}, {cp[1]:.3f}]"
        )
    print(
        "\nconclusion: the Newcombe-based TOST keeps the false-pass rate at the margin at or below 0.05 "
        "for n = 46, 101, 400 (the old percentile rule: above it), and 5/5 vs 5/5 no longer passes."
    )


if __name__ == "__main__":
    main()
