"""Statistics review M2.2 (exp5_relearn) against the new engine: coverage with few seeds.

The old engine bootstrapped the mean of R = 5 relearn runs with percentiles: the 90 % interval
covered 78 % and the "99.44 %" Bonferroni interval 90 %. The new interval's training part is a
prediction interval for one more retrain, t_{R-1} x s x sqrt(1 + 1/R), combined with the sample part
by MOVER (``inference.GapEvidence``). Coverage of the true gap 0 by an honest retrain's interval:

(a) seed part only: the unlearned metric and the R references' are i.i.d. N(0, 1) draws (sample
    SD 0), for R = 5, 12, 30;
(b) the relearn attack's structure (``attacks/checks/relearn.py``): the unlearned model relearns 5 times
    (batch noise e_s, model effect b_u), each reference once (b_r + e_r); the sample part is the SD of
    the unlearned model's 5 runs / sqrt(5) with a normal quantile, the seed part the references'
    spread; built with ``inference.evidence_from_replicates`` exactly as relearn.py does.

Levels: 90 % (TOST) and 1 - 2 x 0.05 / 9 = 98.89 % (the fail rule's interval, one tail of 0.56 % per
side). For the fail rule what matters is the miss rate of one tail (nominal <= 0.0056).

Run: .venv/bin/python benchmarks/sims/seeds_coverage.py   (about 25 s of CPU)
"""

from __future__ import annotations

import numpy as np
from _common import rate

from auditor.judge.inference import GapEvidence, evidence_from_replicates
from auditor.judge.stats import bootstrap_indices, percentile_interval

ALPHA, M = 0.05, 9
LEVELS = {"90%": 1 - 2 * ALPHA, "Bonf 98.89%": 1 - 2 * ALPHA / M}


def coverage(evs: list[GapEvidence]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for name, level in LEVELS.items():
        ivs = np.array([e.interval(level) for e in evs])
        out[name] = (ivs[:, 0] < 0) & (ivs[:, 1] > 0), ivs[:, 0] > 0  # covered, missed above
    return out


def old_percentile(rng: np.random.Generator, r: int, trials: int) -> dict[str, np.ndarray]:
    """The old rule: percentile bootstrap (B = 1,000) of the mean of r i.i.d. values."""
    cov = {name: [] for name in LEVELS}
    old_levels = {"90%": 1 - 2 * ALPHA, "Bonf 98.89%": 1 - ALPHA / M}  # the old fail interval: 1 - alpha/m
    for _ in range(trials):
        v = rng.normal(size=r)
        reps = v[bootstrap_indices(r, 1000, rng)].mean(axis=1)
        for name, level in old_levels.items():
            lo, hi = percentile_interval(reps, level)
            cov[name].append(lo < 0 < hi)
    return {k: np.array(v) for k, v in cov.items()}


def main() -> None:
    rng = np.random.default_rng(20240605)
    trials = 5000
    print(
        f"(a) seed part only: unlearned and R references i.i.d. N(0, 1); {trials} trials per row; "
        "coverage of the true gap 0 (nominal 0.900 and 0.989) and the miss rate above (fail tail, nominal "
        "<= 0.0056)"
    )
    print(
        f"{'R':>3} | {'90% coverage':>14} {'98.89% coverage':>16} {'miss above':>14} | "
        f"{'old percentile 90%':>18} {'old 99.44%':>14}"
    )
    for r in (5, 12, 30):
        evs = []
        for _ in range(trials):
            refs = rng.normal(size=r)
            evs.append(GapEvidence(float(rng.normal() - refs.mean()), 0.0, float(refs.std(ddof=1)), r))
        c = coverage(evs)
        old = old_percentile(rng, r, 2000)
        bonf = c["Bonf 98.89%"]
        print(
            f"{r:>3} | {rate(c['90%'][0]):>14} {rate(bonf[0]):>16} {rate(bonf[1]):>14} | "
            f"{rate(old['90%']):>18} {rate(old['Bonf 98.89%']):>14}"
        )

    print(
        f"\n(b) relearn structure: unlearned relearns 5 times, each of R references once; log2-step values "
        f"= "
        f"model effect N(0, s_b) + batch noise N(0, s_e); {trials} trials per row"
    )
    print(
        f"{'R':>3} {'s_b':>4} {'s_e':>4} | {'90% coverage':>14} {'98.89% coverage':>16} {'miss above':>14} "
        f"{'miss below':>14}"
    )
    for r in (5, 12, 30):
        for s_b, s_e in ((1.0, 0.0), (1.0, 1.0), (0.3, 1.0), (0.0, 1.0)):
            evs = []
            for _ in range(trials):
                u_runs = rng.normal(0, s_b) + rng.normal(0, s_e, 5)
                ref_points = (rng.normal(0, s_b, r) + rng.normal(0, s_e, r)).tolist()
                sd = float(u_runs.std(ddof=1) / np.sqrt(5))
                gap = float(u_runs.mean() - np.mean(ref_points))
                evs.append(evidence_from_replicates(gap, None, ref_points, fallback_sd=sd))
            c = coverage(evs)
            ivs = np.array([e.interval(LEVELS["Bonf 98.89%"]) for e in evs])
            below = ivs[:, 1] < 0
            print(
                f"{r:>3} {s_b:>4.1f} {s_e:>4.1f} | {rate(c['90%'][0]):>14} {rate(c['Bonf 98.89%'][0]):>16} "
                f"{rate(c['Bonf 98.89%'][1]):>14} {rate(below):>14}"
            )
    print(
        "\nconclusion: the t-based seed part gives nominal coverage at R = 5, 12 and 30 at both levels "
        "(the old percentile bootstrap of 5 values: 0.78 and 0.90); in the relearn structure the "
        "interval is conservative, because each reference's single run carries the batch noise that the "
        "unlearned model's 5 runs average."
    )


if __name__ == "__main__":
    main()
