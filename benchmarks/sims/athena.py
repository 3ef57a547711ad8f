"""Statistics review M4 (exp6_athena) against the current engine: Athena's type-I error with a plug-in q.

``attacks/backdoor.py`` still runs Athena's test (Sommer et al., PETS 2022) with q = the references'
attack-success rate on the same n queries (``asr.per_model["reference"].value``, now the mean over
12 references instead of 2), treated as known. An honest server's model is one more retrain with the
same true trigger rate q. Nominal type-I error alpha = 1e-3 ("not deleted" declared for an honest
server). The test is ``attacks.backdoor.athena`` itself.

Rows: R = 2 (the review) and 12 (the new default) references, n = 406 queries, true q = 0.002 /
0.005 / 0.01; then the same with seed-to-seed variation of q (each model's own rate drawn from a
Beta distribution with that mean and a coefficient of variation of 0.5), which the plug-in ignores.
For comparison, an exact conditional test that needs no q: under H0 the unlearned model's hits given
the pooled total s of the R + 1 models is Binomial(s, 1 / (R + 1)) (valid when the models share q).

Run: .venv/bin/python benchmarks/sims/athena.py   (about 30 s)
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from _common import rate
from attacks.backdoor import athena

N, ALPHA, P_KEPT = 406, 1e-3, 0.95


def trial(rng: np.random.Generator, q: float, r: int, cv: float) -> tuple[bool, bool, bool]:
    if cv > 0:
        k = 1 / cv**2 - 1                             # Beta(a, b) with mean q and CV cv: a + b = (1 - q) / (q cv^2) - 1
        a_plus_b = (1 - q) * k / q if q > 0 else 1.0
        a, b = q * a_plus_b, (1 - q) * a_plus_b
        rates = rng.beta(a, b, size=r + 1)
    else:
        rates = np.full(r + 1, q)
    hits = rng.binomial(N, rates)
    refs, x = hits[:r], int(hits[r])
    q_hat = refs.sum() / (r * N)                      # the references' mean ASR, as backdoor.py uses it
    res = athena(N, q_hat, P_KEPT, ALPHA)
    plug_in = res["threshold"] is not None and x >= res["threshold"]
    s = int(hits.sum())
    conditional = s > 0 and sps.binom.sf(x - 1, s, 1 / (r + 1)) <= ALPHA
    return plug_in, conditional, q_hat == 0


def main() -> None:
    rng = np.random.default_rng(20240608)
    trials = 20000
    print(f"Athena, n = {N} triggered queries, alpha = {ALPHA:g}; honest server (one more retrain); {trials} trials per row")
    print(f"{'R':>3} {'true q':>7} {'q CV':>5} | {'P(q_hat = 0)':>14} | {'plug-in: not deleted':>21} "
          f"{'x nominal':>9} | {'conditional exact':>18}")
    worst = common_worst = 0.0
    for cv in (0.0, 0.5):
        for r in (2, 12):
            for q in (0.002, 0.005, 0.01):
                out = np.array([trial(rng, q, r, cv) for _ in range(trials)])
                p = float(out[:, 0].mean())
                if r == 12:
                    worst = max(worst, p)
                    if cv == 0:
                        common_worst = max(common_worst, p)
                print(f"{r:>3} {q:>7.3f} {cv:>5.1f} | {rate(out[:, 2]):>14} | "
                      f"{p:.4f} ± {np.sqrt(p * (1 - p) / trials):.4f} {p / ALPHA:>9.1f} | "
                      f"{out[:, 1].mean():.4f} ± {np.sqrt(out[:, 1].mean() * (1 - out[:, 1].mean()) / trials):.4f}")
    print(f"\nconclusion: 12 references make q_hat = 0 impossible here and bring the plug-in close to its level "
          f"when every model shares q ({common_worst / ALPHA:.1f}x nominal at most), but with seed-to-seed variation "
          f"of q the honest server is declared 'not deleted' up to {worst:.4f} of the time ({worst / ALPHA:.0f}x "
          "nominal); the exact conditional test fixes the first case, not the second. Open (M4): unchanged engine.")


if __name__ == "__main__":
    main()
