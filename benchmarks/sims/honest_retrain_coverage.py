"""Statistics review M1 against the new engine: does an honest retrain's interval cover 0, and does it pass?

Model-level randomness. Each model m (12 references and one honest "unlearned" model, which is just
one more retrain) scores fixed samples i through a latent
    z_mi = mu + sqrt(rho) a_i + sqrt(1 - rho) e_mi + b_m,
with a_i shared by every model (the samples are fixed and paired), e_mi the model's own per-sample
noise and b_m ~ N(0, s_model) a model effect: a metric on fixed samples = population value + model
effect + sample noise. Under the null all 13 models are exchangeable, so the true gap is 0.

* accuracy (utility gate, floor 0.02): correct = 1[z_mi > 0] on 404 test samples at about 97 %
  (``accuracy.test_retained_classes`` on digits; the audit measured a retrain SD of 0.003 there);
  evidence from ``stats.compare_proportions`` (Newcombe + the references' spread);
* AUC (privacy gate, floor 0.05): members (101) and non-members (82) exchangeable, the model effect
  b_m shifting the members' scores; evidence with DeLong's sample SD (``_common``; equal to
  ``compare_scores``' bootstrap SD within 1 %, see auc_tolerance.py).

For each: how often the 90 % interval excludes 0 (nominal <= 0.10) with the new interval and with the
sample part alone (the old engine's only source of variance); the gate's status at the default rule
(tolerance max(floor, 4.5 x seed term), ``verdict.widen_to_noise``; TOST alpha 0.05, Bonferroni m = 9);
and how often the sample-only evidence would fail the honest retrain at the floor.

A last table gives the pass probability of an honest retrain when the sample noise is negligible:
the tolerance is k x s sqrt(1 + 1/R) and the 90 % seed half-width t_{R-1} s sqrt(1 + 1/R), so the
gate passes iff |T_{R-1}| < k - t_{R-1, 0.95} with T_{R-1} = gap / (s sqrt(1 + 1/R)) ~ Student t on
R - 1 df (exact under normality); checked by simulation through ``verdict.judge``.

Run: .venv/bin/python benchmarks/sims/honest_retrain_coverage.py   (about 45 s of CPU)
"""

from __future__ import annotations

import numpy as np
from _common import auc_gap_evidence, rate
from scipy import stats as sps

from auditor.judge.inference import GapEvidence
from auditor.judge.stats import compare_proportions
from auditor.judge.verdict import FAIL, PASS, Gate, judge, widen_to_noise

ALPHA, FAMILY, MULT, R, TRIALS = 0.05, 9, 4.5, 12, 1000


def sample_only(ev: GapEvidence) -> GapEvidence:
    """The same gap with the sample part alone (what the old engine's interval covered)."""
    return GapEvidence(ev.point, ev.sample_sd, None, 1, ev.cells)


def excludes_zero(ev: GapEvidence) -> bool:
    lo, hi = ev.interval(1 - 2 * ALPHA)
    return lo > 0 or hi < 0


def tally(evs: list[GapEvidence], gate: Gate) -> dict[str, object]:
    new_excl = np.array([excludes_zero(e) for e in evs])
    old_excl = np.array([excludes_zero(sample_only(e)) for e in evs])
    status, tol = [], []
    for e in evs:
        g = widen_to_noise(gate, e, multiplier=MULT)
        status.append(judge(g, {"unlearned": e}, alpha=ALPHA, family=FAMILY).status)
        tol.append(g.tolerance)
    status = np.array(status)
    old_fail = np.array(
        [judge(gate, {"unlearned": sample_only(e)}, alpha=ALPHA, family=FAMILY).status == FAIL for e in evs]
    )
    return {
        "new": new_excl,
        "old": old_excl,
        "status": status,
        "tol": np.mean(tol),
        "old_fail": old_fail,
        "seed": np.mean([e.seed_sd for e in evs]),
        "sample": np.mean([e.sample_sd for e in evs]),
    }


def header(what: str) -> None:
    print(f"\n{what}: {R} references + 1 honest retrain, {TRIALS} trials per row (rates ± Monte-Carlo SE)")
    print(
        f"{'s_model':>7} {'retrain SD':>10} {'sample SD':>9} {'tol':>6} | {'90% CI excl. 0: new':>19} "
        f"{'sample-only':>13} | {'P(pass)':>13} {'P(fail)':>13} | {'sample-only P(fail) at floor':>28}"
    )


def row(s_model: float, t: dict[str, object]) -> None:
    st = t["status"]
    print(
        f"{s_model:>7.2f} {t['seed']:>10.4f} {t['sample']:>9.4f} {t['tol']:>6.3f} | {rate(t['new']):>19} "
        f"{rate(t['old']):>13} | {rate(st == PASS):>13} {rate(st == FAIL):>13} | {rate(t['old_fail']):>28}"
    )


def accuracy_study(rng: np.random.Generator) -> None:
    n, mu, rho = 404, sps.norm.ppf(0.97), 0.8
    gate = Gate("accuracy.test_retained_classes", 0.02, "default", "utility", floor=0.02)
    header(f"accuracy, n = {n} test samples at ~97 %, per-sample correlation across models {rho}")
    for s_model in (0.0, 0.05, 0.1, 0.2, 0.4):
        evs = []
        for _ in range(TRIALS):
            a = rng.normal(size=n)

            def model() -> np.ndarray:
                z = mu + np.sqrt(rho) * a + np.sqrt(1 - rho) * rng.normal(size=n) + rng.normal(0, s_model)
                return (z > 0).astype(float)

            c = compare_proportions(
                {"unlearned": [model()], "reference": [model() for _ in range(R)]},
                reps=200,
                level=0.95,
                rng=rng,
            )
            evs.append(c.evidence["unlearned"])
        row(s_model, tally(evs, gate))


def auc_study(rng: np.random.Generator) -> None:
    n_pos, n_neg, rho = 101, 82, 0.9
    gate = Gate("threshold.loss.auc", 0.05, "default", "privacy", floor=0.05)
    header(f"AUC, {n_pos} members / {n_neg} non-members, per-sample score correlation across models {rho}")
    for s_model in (0.0, 0.05, 0.1, 0.2):
        a_pos, a_neg = rng.normal(size=(TRIALS, n_pos)), rng.normal(size=(TRIALS, n_neg))

        def model() -> tuple[np.ndarray, np.ndarray]:
            b = rng.normal(0, s_model, size=(TRIALS, 1))
            return (
                np.sqrt(rho) * a_pos + np.sqrt(1 - rho) * rng.normal(size=(TRIALS, n_pos)) + b,
                np.sqrt(rho) * a_neg + np.sqrt(1 - rho) * rng.normal(size=(TRIALS, n_neg)),
            )

        evs = auc_gap_evidence(model(), [model() for _ in range(R)])
        row(s_model, tally(evs, gate))


def multiplier_table(rng: np.random.Generator) -> None:
    print(
        "\nhonest retrain's pass probability with negligible sample noise (tolerance = k x retrain SD "
        "term): exact P(|T_{R-1}| < k - t_{R-1,0.95}), and simulated through verdict.judge"
    )
    ks = (3.0, 4.0, 4.5, 5.0, 6.0)
    print(f"{'R':>3} | " + " ".join(f"{'k=' + format(k, 'g'):>19}" for k in ks))
    for r in (5, 12, 30):
        cells = []
        for k in ks:
            exact = 1 - 2 * sps.t.sf(k - sps.t.ppf(0.95, r - 1), r - 1)
            passes = []
            for _ in range(2000):
                refs = rng.normal(size=r)
                ev = GapEvidence(float(rng.normal() - refs.mean()), 0.0, float(refs.std(ddof=1)), r)
                g = Gate("m", k * ev.seed_term, "config")  # k x the retrain term, no floor, no cap
                passes.append(judge(g, {"unlearned": ev}, alpha=ALPHA, family=FAMILY).status == PASS)
            cells.append(f"{exact:.3f} / {rate(np.array(passes))}")
        print(f"{r:>3} | " + " ".join(f"{c:>19}" for c in cells))
    print(
        "with a sample part in the interval (R = 12, k = 4.5, floor 0): P(pass) against sample SD / "
        "retrain SD term, (a) the gap holds only the retrain variance (exchangeable models on fixed, "
        "paired samples: the sample part is already in the references' spread), (b) the gap holds an "
        "extra independent sample term"
    )
    for ratio in (0.0, 0.5, 1.0, 1.5, 2.0):
        out = {}
        for extra in (False, True):
            passes = []
            for _ in range(2000):
                refs = rng.normal(size=R)
                term = np.sqrt(1 + 1 / R)
                gap = rng.normal() - refs.mean() + (rng.normal(0, ratio * term) if extra else 0.0)
                ev = GapEvidence(float(gap), ratio * term, float(refs.std(ddof=1)), R)
                g = Gate("m", MULT * ev.seed_term, "config")
                passes.append(judge(g, {"unlearned": ev}, alpha=ALPHA, family=FAMILY).status == PASS)
            out[extra] = rate(np.array(passes))
        print(f"  sample SD = {ratio:.1f} x retrain term: (a) {out[False]}   (b) {out[True]}")


def main() -> None:
    rng = np.random.default_rng(20240604)
    accuracy_study(rng)
    auc_study(rng)
    multiplier_table(rng)
    print(
        "\nconclusion: with training randomness in the interval an honest retrain's 90 % interval "
        "excludes 0 at about the nominal 10 % (the wider of the prediction and the estimation interval), "
        "while the sample-only interval's exclusion "
        "rate grows with the model effect (to 0.63 here) and it would fail honest retrains at the "
        "floor; the 4.5 x rule passes an honest retrain 98 % of the time with R = 12 when the sample "
        "part is negligible, less as it grows."
    )


if __name__ == "__main__":
    main()
