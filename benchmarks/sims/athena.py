"""Statistics review M4 (exp6_athena) against the new engine: Athena's type-I error for an honest server.

Athena's test (Sommer et al., PETS 2022; ``attacks.checks.backdoor.athena``) declares "not deleted" when
the unlearned model's trigger hits reach the threshold computed at q, the rate a model without the
canaries shows. The old engine plugged in q = the references' mean attack-success rate on the same
n queries, treated as known; the new engine (``attacks/checks/backdoor.py``) uses
``reference_rate_bound``: a one-sided (1 - alpha) upper bound on a retrain's rate, the larger of the
pooled Clopper-Pearson bound and a Student-t prediction bound over the references, and states a
type-I error of at most 2 alpha. An honest server's model is one more retrain. Nominal alpha = 1e-3.

Rows: R = 2 (the review) and 12 (the new default) references, n = 406 queries, true q = 0.002 /
0.005 / 0.01; then the same with seed-to-seed variation of q (each model's own rate drawn from a
Beta distribution with that mean and a coefficient of variation of 0.5). Columns: the plug-in (the
review's finding, reproduced), the engine's bound, and for comparison an exact conditional test that
needs no q (under H0 the unlearned model's hits given the pooled total s of the R + 1 models are
Binomial(s, 1 / (R + 1)); valid when the models share q).

Run: .venv/bin/python benchmarks/sims/athena.py   (about 60 s of CPU)
"""

from __future__ import annotations

import numpy as np
from _common import rate
from scipy import stats as sps

from attacks.checks.backdoor import athena, reference_rate_bound

N, ALPHA, P_KEPT = 406, 1e-3, 0.95


def trial(rng: np.random.Generator, q: float, r: int, cv: float) -> tuple[bool, bool, bool, bool]:
    if cv > 0:  # Beta(a, b) with mean q and coefficient of variation cv
        a_plus_b = (1 - q) / (q * cv**2) - 1
        rates = rng.beta(q * a_plus_b, (1 - q) * a_plus_b, size=r + 1)
    else:
        rates = np.full(r + 1, q)
    hits = rng.binomial(N, rates)
    refs, x = hits[:r], int(hits[r])
    q_hat = refs.sum() / (r * N)  # the references' mean ASR: the old plug-in
    plug = athena(N, q_hat, P_KEPT, ALPHA)
    plug_in = plug["threshold"] is not None and x >= plug["threshold"]
    bound = athena(N, reference_rate_bound([int(h) for h in refs], N, ALPHA), P_KEPT, ALPHA)
    engine = bound["threshold"] is not None and x >= bound["threshold"]
    s = int(hits.sum())
    conditional = s > 0 and sps.binom.sf(x - 1, s, 1 / (r + 1)) <= ALPHA
    return plug_in, engine, conditional, q_hat == 0


def main() -> None:
    rng = np.random.default_rng(20240608)
    trials = 10000
    print(
        f"Athena, n = {N} triggered queries, alpha = {ALPHA:g}; honest server (one more retrain); "
        f"{trials} trials per row; 'not deleted' rates ± Monte-Carlo SE (nominal {ALPHA:g}; the engine "
        f"states <= {2 * ALPHA:g})"
    )
    print(
        f"{'R':>3} {'true q':>7} {'q CV':>5} | {'P(q_hat = 0)':>14} | {'plug-in (old)':>16} | "
        f"{'upper bound (new)':>17} | {'conditional exact':>17}"
    )
    worst = {"plug": 0.0, "engine": 0.0}
    worst_common = 0.0
    for cv in (0.0, 0.5):
        for r in (2, 12):
            for q in (0.002, 0.005, 0.01):
                out = np.array([trial(rng, q, r, cv) for _ in range(trials)])
                p_plug, p_eng, p_cond = (float(out[:, k].mean()) for k in range(3))
                if r == 12:
                    worst["plug"] = max(worst["plug"], p_plug)
                    worst["engine"] = max(worst["engine"], p_eng)
                    if cv == 0:
                        worst_common = max(worst_common, p_plug)
                se = [np.sqrt(p * (1 - p) / trials) for p in (p_plug, p_eng, p_cond)]
                print(
                    f"{r:>3} {q:>7.3f} {cv:>5.1f} | {rate(out[:, 3]):>14} | {p_plug:.4f} ± {se[0]:.4f} | "
                    f"{p_eng:.5f} ± {se[1]:.5f} | {p_cond:.4f} ± {se[2]:.4f}"
                )
    print(
        f"\nconclusion: the plug-in q (old) declares an honest server 'not deleted' up to "
        f"{worst['plug']:.4f} of the time with 12 references ({worst['plug'] / ALPHA:.0f}x nominal; "
        f"{worst_common / ALPHA:.1f}x when every model shares q); the engine's upper bound on q keeps it "
        f"at {worst['engine']:.5f} at most with 12 references, within its stated 2 alpha, including "
        "seed-to-seed variation of q (conservatively: no false accusation was observed)."
    )


if __name__ == "__main__":
    main()
