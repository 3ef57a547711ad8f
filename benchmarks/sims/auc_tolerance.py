"""Statistics review C3 (exp3_auc) against the new engine: what the default AUC gate lets through.

A fraction f of the forget samples (members) is perfectly identifiable on the unlearned model: a
score 10 + U(0, 1), above every non-member, so its TPR at 0 % FPR is f and its AUC is about
0.5 + f/2 (the gap to retraining about f/2). The other members look exactly like non-members. The
12 references are exchangeable retrains: their member scores are draws like their non-members'.

Scores of model m on sample i: sqrt(rho) a_i + sqrt(1 - rho) e_mi, with a_i shared by every model
(the samples are fixed and paired) and e_mi the model's own noise. rho = 0 is the review's set-up
(every model draws fresh scores); rho = 0.9 makes the references' AUC spread about 0.015 at digits
sizes, the retrain-to-retrain SD the embedded default audit measures on threshold.*.auc (0.014-0.016).

The gate is the new default: floor 0.05 widened to 4.5 x the retrain SD (``verdict.widen_to_noise``),
judged by ``verdict.judge`` (TOST at alpha 0.05, one-tailed Bonferroni fail over m = 9 gates). The
gap evidence is built with DeLong's variance through ``inference.evidence_from_replicates``
(``_common.auc_gap_evidence``); a first check compares it with ``stats.compare_scores`` (bootstrap).
The digits-size scenarios are then run on ``lira.exposure``, the gate added for C3: the share of
forget samples above the references' pooled 99th percentile on them (``stats.exposure_outcomes``),
compared like an accuracy (``compare_proportions``).

Old engine (review, tolerance 0.15, 2 references, digits sizes): P(pass) 0.58 / 0.28 / 0.06 / 0.01 and
P(fail) 0 / 0 / 0 / 0.04 for f = 0.1 / 0.2 / 0.3 / 0.4.

Run: .venv/bin/python benchmarks/sims/auc_tolerance.py   (about 55 s of CPU)
"""

from __future__ import annotations

import numpy as np
from _common import auc_gap_evidence, rate, reference_summary

from auditor.judge.stats import auc_rows, compare_proportions, compare_scores, exposure_outcomes
from auditor.judge.verdict import FAIL, PASS, Gate, judge, widen_to_noise

ALPHA, FAMILY, FLOOR, MULT, R = 0.05, 9, 0.05, 4.5, 12
GATE = Gate("threshold.loss.auc", FLOOR, "default", "privacy", floor=FLOOR)


def draw_references(rng: np.random.Generator, trials: int, n_pos: int, n_neg: int, rho: float):
    """Shared sample effects, the R references' scores, and the unlearned model's own noise."""
    a_pos, a_neg = rng.normal(size=(trials, n_pos)), rng.normal(size=(trials, n_neg))
    w, v = np.sqrt(rho), np.sqrt(1 - rho)

    def model() -> tuple[np.ndarray, np.ndarray]:
        return (
            w * a_pos + v * rng.normal(size=(trials, n_pos)),
            w * a_neg + v * rng.normal(size=(trials, n_neg)),
        )

    return model(), [model() for _ in range(R)]


def expose(unlearned: tuple[np.ndarray, np.ndarray], f: float, rng: np.random.Generator):
    """The unlearned model with a fraction f of its members perfectly identifiable."""
    u_pos, u_neg = unlearned[0].copy(), unlearned[1]
    k = int(round(f * u_pos.shape[1]))
    u_pos[:, :k] = 10 + rng.random((u_pos.shape[0], k))
    return u_pos, u_neg


def draw(rng: np.random.Generator, trials: int, n_pos: int, n_neg: int, f: float, rho: float):
    """Scores of the unlearned model and the R references, one row per trial."""
    u, refs = draw_references(rng, trials, n_pos, n_neg, rho)
    return expose(u, f, rng), refs


def judge_all(evidence) -> tuple[np.ndarray, np.ndarray]:
    status, tol = [], []
    for ev in evidence:
        g = widen_to_noise(GATE, ev, multiplier=MULT)
        status.append(judge(g, {"unlearned": ev}, alpha=ALPHA, family=FAMILY).status)
        tol.append(g.tolerance)
    return np.array(status), np.array(tol)


def exposure_study(rng: np.random.Generator, trials: int) -> dict[tuple[float, float], tuple[float, float]]:
    """The same scenarios on ``lira.exposure`` (digits sizes): the share of forget samples above the
    references' pooled 99th percentile on them (``stats.exposure_outcomes``), compared like an accuracy
    (``compare_proportions``: Newcombe + the references' spread), default floor 0.05 widened."""
    gate = Gate("lira.exposure", 0.05, "default", "privacy", floor=0.05)
    print(
        f"\nlira.exposure (fpr 0.01, floor 0.05 widened) on the same scenarios, 101 members; "
        f"{trials} trials per row"
    )
    print(
        f"{'rho':>4} {'f':>4} {'gap':>6} {'tol (mean)':>10} | {'P(pass)':>13} {'P(fail)':>13} "
        f"{'P(inconcl.)':>13}"
    )
    out = {}
    for rho in (0.0, 0.9):
        u, refs = draw_references(rng, trials, 101, 82, rho)
        for f in (0.0, 0.1, 0.2, 0.3, 0.4):
            u_pos = expose(u, f, rng)[0]
            status, tol, gaps = [], [], []
            for t in range(trials):
                scores = {"unlearned": [u_pos[t]], "reference": [p[t] for p, _ in refs]}
                c = compare_proportions(exposure_outcomes(scores, 0.01), reps=10, level=0.95, rng=rng)
                ev = c.evidence["unlearned"]
                g = widen_to_noise(gate, ev, multiplier=MULT)
                status.append(judge(g, {"unlearned": ev}, alpha=ALPHA, family=FAMILY).status)
                tol.append(g.tolerance)
                gaps.append(ev.point)
            s = np.array(status)
            out[(rho, f)] = (float(np.mean(s == PASS)), float(np.mean(s == FAIL)))
            print(
                f"{rho:>4.1f} {f:>4.1f} {np.mean(gaps):>6.3f} {np.mean(tol):>10.3f} | "
                f"{rate(s == PASS):>13} {rate(s == FAIL):>13} {rate((s != PASS) & (s != FAIL)):>13}"
            )
    return out


def check_against_bootstrap(rng: np.random.Generator) -> None:
    """The DeLong-based evidence against compare_scores' bootstrap evidence on the same scores."""
    ratios, same_point, same_seed = [], [], []
    for _ in range(20):
        (u_pos, u_neg), refs = draw(rng, 1, 101, 82, 0.2, 0.9)
        ev_fast = auc_gap_evidence((u_pos, u_neg), refs)[0]
        c = compare_scores(
            auc_rows,
            {"unlearned": [(u_pos[0], u_neg[0])], "reference": [(p[0], q[0]) for p, q in refs]},
            reps=1000,
            level=0.95,
            rng=rng,
        )
        ev = c.evidence["unlearned"]
        ratios.append(ev_fast.sample_sd / ev.sample_sd)
        same_point.append(abs(ev_fast.point - ev.point) < 1e-12)
        same_seed.append(abs(ev_fast.seed_sd - ev.seed_sd) < 1e-12)
    print(
        f"check: DeLong / bootstrap (compare_scores, B = 1,000) sample SD of the gap over 20 draws: mean "
        f"{np.mean(ratios):.3f}, range [{np.min(ratios):.3f}, {np.max(ratios):.3f}]; point and retrain SD "
        f"identical in {sum(same_point)}/20 and {sum(same_seed)}/20"
    )


def main() -> None:
    rng = np.random.default_rng(20240603)
    check_against_bootstrap(rng)
    trials = 1000
    summary_rows = {}
    print(
        f"\nAUC gate, floor {FLOOR} widened to {MULT} x retrain SD; {R} references; {trials} trials per "
        "row (rates ± Monte-Carlo SE; within a size and rho the rows share the references: common random "
        "numbers)"
    )
    print(
        f"{'members/non':>11} {'rho':>4} {'f':>4} {'gap':>6} {'tol (mean)':>10} {'retrain SD':>10} "
        f"{'sample SD':>9} | {'P(pass)':>13} {'P(fail)':>13} {'P(inconcl.)':>13}"
    )
    for n_pos, n_neg in ((101, 82), (1000, 1000), (3000, 3000)):
        fs = (0.0, 0.1, 0.2, 0.3, 0.4) if n_pos < 500 else (0.0, 0.1, 0.2)
        for rho in (0.0, 0.9):
            rows = {f: {"s": [], "t": [], "gap": [], "seed": [], "sample": []} for f in fs}
            batch = 200 if n_pos > 500 else 1000
            for _ in range(trials // batch):
                u, refs = draw_references(rng, batch, n_pos, n_neg, rho)
                summary = reference_summary(refs)
                for f in fs:
                    evs = auc_gap_evidence(expose(u, f, rng), summary)
                    s, t = judge_all(evs)
                    rows[f]["s"].append(s)
                    rows[f]["t"].append(t)
                    rows[f]["gap"] += [e.point for e in evs]
                    rows[f]["seed"] += [e.seed_sd for e in evs]
                    rows[f]["sample"] += [e.sample_sd for e in evs]
            for f in fs:
                r = rows[f]
                s, t = np.concatenate(r["s"]), np.concatenate(r["t"])
                summary_rows[(n_pos, rho, f)] = (
                    float(np.mean(s == PASS)),
                    float(np.mean(s == FAIL)),
                    float(t.mean()),
                )
                print(
                    f"{n_pos:>5}/{n_neg:<5} {rho:>4.1f} {f:>4.1f} {np.mean(r['gap']):>6.3f} "
                    f"{t.mean():>10.3f} "
                    f"{np.mean(r['seed']):>10.4f} {np.mean(r['sample']):>9.4f} | {rate(s == PASS):>13} "
                    f"{rate(s == FAIL):>13} {rate((s != PASS) & (s != FAIL)):>13}"
                )
    exposure = exposure_study(rng, trials)
    d0 = [summary_rows[(101, 0.0, f)][0] for f in (0.1, 0.2, 0.3)]
    d9 = [summary_rows[(101, 0.9, f)][0] for f in (0.1, 0.2, 0.3)]
    tol9, tol0 = summary_rows[(101, 0.9, 0.1)][2], summary_rows[(101, 0.0, 0.1)][2]
    fail_big = (
        summary_rows[(1000, 0.9, 0.2)][1],
        summary_rows[(1000, 0.0, 0.2)][1],
        summary_rows[(3000, 0.0, 0.2)][1],
    )
    print(
        f"\nconclusion: at digits sizes the widened tolerance, not the floor, decides. With the retrain "
        f"SD measured on digits (rho 0.9) it is {tol9:.3f} and a model exposing 10/20/30 % of the forget "
        f"set passes {d9[0]:.3f}/{d9[1]:.3f}/{d9[2]:.3f}; with independent per-model scores (rho 0, the "
        f"review's set-up) it is {tol0:.3f} and they pass {d0[0]:.2f}/{d0[1]:.2f}/{d0[2]:.2f}, more often "
        "than the old engine at 0.15 (0.58/0.28/0.06). The gate becomes decisive where the floor binds: "
        f"20 % exposure fails {fail_big[0]:.2f} at 1,000 per side with correlated scores "
        f"({fail_big[1]:.2f} with independent ones) and {fail_big[2]:.2f} at 3,000. lira.exposure at "
        f"digits sizes passes 10 % exposure {exposure[(0.9, 0.1)][0]:.3f} and fails 20 % exposure "
        f"{exposure[(0.9, 0.2)][1]:.2f} (rho 0.9; {exposure[(0.0, 0.2)][1]:.2f} at rho 0)."
    )


if __name__ == "__main__":
    main()
