"""Statistics review M2.3 against the new engine: Monte-Carlo noise of the fail interval's endpoint.

The fail rule needs the far tail of the gap's sampling distribution: with m = 9 gates the old
engine took the 0.28 % and 99.72 % percentiles of B bootstrap replicates (about 3 of 1,000, 1 of
400), and its endpoint moved by 0.18 SE (B = 1,000) and 0.26 SE (B = 400) between reruns of the
same audit. The new engine uses only the bootstrap's standard deviation (``inference.GapEvidence``):
the endpoint is point - z_{1 - alpha/m} x SD(replicates), one tail of alpha/m per side.

For a fixed data set the bootstrap is rerun K times with different seeds; the tables give the mean
and the SD over reruns of the lower endpoint, in units of the gap's true standard error (so the
endpoint should sit near -z: -2.54 for the new one-tailed alpha/m = 0.56 %, -2.77 for the old
two-tailed 1 - alpha/m = 99.44 % interval).

(1) the mean of 200 paired per-sample differences (the review's setting), K = 2,000;
(2) the AUC gap of ``stats.compare_scores`` (101 members, 82 non-members, 2 references), K = 100 per B:
    the engine's own replicates, new endpoint from ``c.evidence`` and old from ``c.gap_samples``.

Run: .venv/bin/python benchmarks/sims/bonferroni_tails.py   (about 15 s of CPU)
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from auditor.judge.inference import evidence_from_replicates
from auditor.judge.stats import auc_rows, bootstrap_indices, compare_scores, percentile_interval

ALPHA, M = 0.05, 9
NEW_LEVEL, OLD_LEVEL = 1 - 2 * ALPHA / M, 1 - ALPHA / M


def row(label: str, new: np.ndarray, old: np.ndarray) -> None:
    k = new.size
    sn, so = new.std(ddof=1), old.std(ddof=1)
    print(
        f"{label:>8} | new {new.mean():+.3f} (MC SD {sn:.3f} ± {sn / np.sqrt(2 * (k - 1)):.3f})"
        f" | old {old.mean():+.3f} (MC SD {so:.3f} ± {so / np.sqrt(2 * (k - 1)):.3f})"
    )


def main() -> None:
    rng = np.random.default_rng(20240606)
    print(
        f"target: new {-sps.norm.ppf(1 - ALPHA / M):+.3f} SE, "
        f"old {-sps.norm.ppf(1 - ALPHA / (2 * M)):+.3f} SE "
        "(lower endpoint of the fail interval relative to the point, in SE units)"
    )
    print("\n(1) mean of 200 paired differences, K = 2,000 reruns of the bootstrap")
    d = rng.normal(0.3, 1.0, 200)
    se = d.std(ddof=1) / np.sqrt(d.size)
    for b in (200, 400, 1000, 10000):
        k = 2000 if b <= 1000 else 300
        new, old = [], []
        for _ in range(k):
            reps = d[bootstrap_indices(d.size, b, rng)].mean(axis=1)
            ev = evidence_from_replicates(float(d.mean()), reps, [0.0, 0.0])  # 2 references, no spread
            new.append((ev.interval(NEW_LEVEL)[0] - d.mean()) / se)
            old.append((percentile_interval(reps, OLD_LEVEL)[0] - d.mean()) / se)
        row(f"B={b}", np.array(new), np.array(old))

    print(
        "\n(2) AUC gap from compare_scores (101 / 82, 2 references), K = 100 reruns per B; "
        "SE = SD of 20,000 replicates"
    )
    n_pos, n_neg = 101, 82
    scores = {
        "unlearned": [(rng.normal(0.4, 1, n_pos), rng.normal(0, 1, n_neg))],
        "reference": [(rng.normal(0, 1, n_pos), rng.normal(0, 1, n_neg)) for _ in range(2)],
    }
    big = compare_scores(auc_rows, scores, reps=20000, level=0.95, rng=rng)
    se = float(np.std(big.gap_samples, ddof=1))
    point = big.gap.value
    for b in (400, 1000):
        new, old = [], []
        for _ in range(100):
            c = compare_scores(auc_rows, scores, reps=b, level=0.95, rng=rng)
            ev = c.evidence["unlearned"]
            sample_only = evidence_from_replicates(ev.point, c.gap_samples, [0.0])  # the sample part alone
            new.append((sample_only.interval(NEW_LEVEL)[0] - point) / se)
            old.append((percentile_interval(c.gap_samples, OLD_LEVEL)[0] - point) / se)
        row(f"B={b}", np.array(new), np.array(old))
    print(
        "\nconclusion: the SD-based endpoint moves by about 0.09 SE at B = 400 and 0.055 SE at B = 1,000 "
        "between reruns, a third of the old percentile endpoint's 0.25 and 0.17 SE, and it sits at its "
        "target instead of inside it (the old one was biased inwards by 0.15 SE at B = 400: "
        "anti-conservative)."
    )


if __name__ == "__main__":
    main()
