"""Bootstrap statistics: the index path (sort every resample) vs the weighted path (sort once), side by side.

For each sample size n (members / non-members split 10 % / 90 %, and one balanced case) and each
number of bootstrap replicates B, the same stratified index draws (``auditor.judge.stats.bootstrap_indices``,
as ``compare_scores`` makes them) are evaluated both ways:

* old: ``stat(pos[ip], neg[ineg])``, the row-wise functions of ``auditor.judge.stats`` on resampled
  score matrices (``auc_rows`` ranks with ``scipy.stats.rankdata``; ``balanced_accuracy_rows``
  sorts with ``argsort``): O(n log n) per replicate;
* new: ``auditor.judge.rankstats.index_counts`` on the draws (timed apart: ``compare_scores`` counts
  once and every model it compares shares the counts), then the statistic's ``weighted`` form:
  O(n) per replicate after one sort.

Both paths must give the same numbers; the script checks that on every replicate it times. The
draws themselves are the same in both paths and are timed once, apart. Both paths run in blocks
of replicates that keep memory bounded. The old path is timed on as many blocks as fit in
``--old-budget`` seconds per statistic (the table says on how many replicates when not all) and
reports its fastest block per replicate; the new path's counts and statistic are timed best of
three per block, and sort the scores again in every block (one sort per 500 replicates or
more). The machine is shared: compare the ratios printed by one run rather than absolute times.

It also times LiRA's medians over shadows (``attacks.membership.lira.gaussian_fit``): ``np.nanmedian`` against
``nanmedian_first_axis``, on the IN and OUT halves of ``(K, N, Q)`` shadow scores.

Usage: ``python benchmarks/bench_stats.py [--reps 1000 10000] [--old-budget 4]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from attacks.membership.lira import nanmedian_first_axis
from auditor.judge import stats
from auditor.judge.rankstats import index_counts

CASES = ((1_000, 0.1), (10_000, 0.1), (100_000, 0.1), (10_000, 0.5))  # (n, member fraction)
STATS = {"AUC": stats.auc_rows, "balanced accuracy": stats.balanced_accuracy_rows}
NEW_BLOCK = 50_000_000  # index elements per block of the new path (int64 draws + uint16 counts: ~500 MB)
OLD_BLOCK = 5_000_000  # the old path's resampled float matrices are copied several times over
REPEATS = 3  # the new path's steps are timed best of three
LIRA_SHAPES = ((16, 60_000, 2), (64, 60_000, 2), (256, 10_000, 1), (1_024, 2_000, 1))  # (K, N, Q)


def _blocks(reps: int, n: int, elements: int) -> list[int]:
    size = max(1, min(reps, elements // n))
    return [min(size, reps - s) for s in range(0, reps, size)]


def _timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def _best(fn, *args, repeats: int = REPEATS):
    """``fn(*args)`` and its shortest time over ``repeats`` runs (the machine is shared)."""
    result, best = _timed(fn, *args)
    for _ in range(repeats - 1):
        best = min(best, _timed(fn, *args)[1])
    return result, best


def run_case(n: int, fraction: float, reps: int, budget: float, seed: int = 0) -> dict:
    """Seconds per replicate of the draws, the counts and both paths of each statistic for one case."""
    rng = np.random.default_rng(seed)
    n_pos = max(1, round(n * fraction))
    n_neg = n - n_pos
    pos, neg = rng.normal(0.5, 1.0, n_pos).round(3), rng.normal(0.0, 1.0, n_neg).round(3)  # some ties
    seconds = dict.fromkeys(["draws", "counts"] + [(name, "new") for name in STATS], 0.0)
    old_spent = dict.fromkeys(STATS, 0.0)
    old_per_rep = {name: [] for name in STATS}
    old_reps = dict.fromkeys(STATS, 0)
    draws = np.random.default_rng(seed + 1)
    for size in _blocks(reps, n, NEW_BLOCK):
        (ip, ineg), dt = _timed(
            lambda: (stats.bootstrap_indices(n_pos, size, draws), stats.bootstrap_indices(n_neg, size, draws))
        )
        seconds["draws"] += dt
        (pos_counts, neg_counts), dt = _best(lambda: (index_counts(ip, n_pos), index_counts(ineg, n_neg)))
        seconds["counts"] += dt
        for name, stat in STATS.items():
            new_values, dt = _best(stat.weighted, pos, neg, pos_counts, neg_counts)
            seconds[name, "new"] += dt
            start = 0
            for part in _blocks(size, n, OLD_BLOCK):
                if old_spent[name] >= budget:
                    break
                rows = slice(start, start + part)
                old_values, dt = _timed(lambda: stat(pos[ip[rows]], neg[ineg[rows]]))
                np.testing.assert_allclose(new_values[rows], old_values, rtol=0, atol=1e-12)
                old_spent[name] += dt
                old_per_rep[name].append(dt / part)
                old_reps[name] += part
                start += part
        ip = ineg = pos_counts = neg_counts = None  # free the block before drawing the next
    per_rep = {key: value / reps for key, value in seconds.items()}
    for name in STATS:
        per_rep[name, "old"] = min(old_per_rep[name])
    return {"n": n, "members": n_pos, "reps": reps, "old_reps": old_reps, **per_rep}


def _index_path(stat):
    """``stat`` without its weighted form: ``compare_scores`` then indexes and sorts every resample."""
    return lambda pos, neg: stat(pos, neg)


def metric_set(n: int, fraction: float, seed: int = 0) -> dict[str, float]:
    """Seconds for one attack's five ``compare_scores`` calls on three models, index path vs weighted.

    The calls of ``threshold`` (per signal), ``lira`` and ``rmia``: AUC with B = 1,000, balanced
    accuracy and TPR at 0.1 %, 1 % and 10 % FPR with B = 400; models unlearned, reference, original.
    """
    rng = np.random.default_rng(seed)
    n_pos = round(n * fraction)

    def model(shift: float) -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(shift, 1.0, n_pos).round(3), rng.normal(0.0, 1.0, n - n_pos).round(3)

    scores = {"unlearned": [model(0.3)], "reference": [model(0.0)], "original": [model(0.8)]}
    calls = [(stats.auc_rows, 1_000), (stats.balanced_accuracy_rows, 400)]
    calls += [(stats.tpr_at_fpr_rows(f), 400) for f in (0.001, 0.01, 0.1)]
    seconds, gaps = {}, {}
    for path in ("old", "new"):
        draws = np.random.default_rng(seed + 1)
        start = time.perf_counter()
        gaps[path] = [
            stats.compare_scores(
                stat if path == "new" else _index_path(stat), scores, reps=reps, level=0.95, rng=draws
            ).gap_samples
            for stat, reps in calls
        ]
        seconds[path] = time.perf_counter() - start
    for old, new in zip(gaps["old"], gaps["new"]):
        np.testing.assert_allclose(new, old, rtol=0, atol=1e-12)
    return seconds


def lira_medians(shape: tuple[int, int, int], seed: int = 0) -> dict[str, float]:
    """Seconds (best of three) for LiRA's IN and OUT medians over K shadows: ``np.nanmedian`` vs one sort."""
    rng = np.random.default_rng(seed)
    k, n, q = shape
    phi = rng.normal(size=shape)
    halves = rng.random((k // 2, n)) < 0.5
    inside = np.stack([halves, ~halves], axis=1).reshape(k, n)[:, :, None]  # complementary pairs, as LiRA's
    sides = [np.where(inside, phi, np.nan), np.where(~inside, phi, np.nan)]
    seconds, medians = {}, {}
    for path, median in (("old", lambda x: np.nanmedian(x, axis=0)), ("new", nanmedian_first_axis)):
        medians[path], seconds[path] = _best(lambda: [median(x) for x in sides])
    for old, new in zip(medians["old"], medians["new"]):
        np.testing.assert_array_equal(new, old)
    return seconds


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument(
        "--old-budget",
        type=float,
        default=4.0,
        help="Seconds of old-path timing per statistic and case before extrapolating.",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    results = [run_case(n, fraction, reps, args.old_budget) for reps in args.reps for n, fraction in CASES]
    print("Microseconds per replicate. draws: the index draws (the same in both paths); counts: draws to")
    print("counts, once per comparison and shared by every model compared; old: the row-wise statistic on")
    print("resampled score matrices; new: its weighted form.")
    for name in STATS:
        print(f"\n{name}:\n")
        print("| n | members | B | draws | counts | old | new | old / new | old / (counts + new) |")
        print("| --- " * 9 + "|")
        for r in results:
            timed = "" if r["old_reps"][name] == r["reps"] else f" ({r['old_reps'][name]:,} timed)"
            old, new = r[name, "old"], r[name, "new"]
            print(
                f"| {r['n']:,} | {r['members']:,} | {r['reps']:,} | {_us(r['draws'])} | "
                f"{_us(r['counts'])} | {_us(old)}{timed} | {_us(new)} | {old / new:.0f}x | "
                f"{old / (r['counts'] + new):.0f}x |"
            )
    print()
    big = max(args.reps)
    print(f"Growth with n of the cost per replicate (10 % members, B = {big:,}):")
    print()
    print("| step | 1k -> 10k | 10k -> 100k | ns per sample at 1k / 10k / 100k |")
    print("| --- | --- | --- | --- |")
    line = {r["n"]: r for r in results if r["reps"] == big and r["members"] == max(1, round(r["n"] * 0.1))}
    sizes = (1_000, 10_000, 100_000)
    for label, key in [("counts", "counts")] + [
        (f"{name} {path}", (name, path)) for name in STATS for path in ("old", "new")
    ]:
        c = [line[n][key] for n in sizes]
        per_sample = " / ".join(f"{v / n * 1e9:.1f}" for v, n in zip(c, sizes))
        print(f"| {label} | {c[1] / c[0]:.1f}x | {c[2] / c[1]:.1f}x | {per_sample} |")
    n, fraction = 10_000, 0.1
    attack = metric_set(n, fraction)
    print(
        f"\nOne attack's five compare_scores calls (AUC B = 1,000; balanced accuracy, TPR at 3 FPRs "
        f"B = 400), 3 models, n = {n:,} ({fraction:.0%} members): old {attack['old']:.2f} s, "
        f"new {attack['new']:.2f} s, {attack['old'] / attack['new']:.0f}x (same gap replicates)."
    )
    print("\nLiRA's medians over shadows (gaussian_fit), np.nanmedian vs one sort, same numbers:")
    print()
    print("| K shadows | N samples | Q queries | np.nanmedian s | one sort s | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for shape in LIRA_SHAPES:
        t = lira_medians(shape)
        print(
            f"| {shape[0]:,} | {shape[1]:,} | {shape[2]} | {t['old']:.3f} | {t['new']:.3f} | "
            f"{t['old'] / t['new']:.0f}x |"
        )
    print(
        f"\nOld-path figures marked '(k timed)' are per replicate over the first k replicates only; "
        f"total run {time.perf_counter() - start:.0f} s."
    )


if __name__ == "__main__":
    main()
