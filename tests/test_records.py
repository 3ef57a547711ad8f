"""The per-record test: each forget record against the references' own null for it."""

from __future__ import annotations

import numpy as np

from attacks.membership.records import benjamini_hochberg_q, flagged_by_role, p_values


def _world(rng, n=300, r=12):
    mu = rng.normal(2.0, 2.0, size=n)  # records differ in difficulty
    sd = rng.uniform(0.5, 2.0, size=n)  # and in how much retrains disagree on them
    refs = mu + sd * rng.normal(size=(r, n))
    return mu, sd, refs


def test_a_retrain_gets_uniform_p_values_and_flags_about_the_stated_rate():
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(200):
        mu, sd, refs = _world(rng)
        retrain = mu + sd * rng.normal(size=mu.size)
        shares.append((p_values(refs, retrain) < 0.05).mean())
    assert abs(np.mean(shares) - 0.05) < 0.005  # calibrated: the predictive t accounts for 12 references


def test_records_kept_in_training_are_flagged_and_the_references_show_the_chance_rate():
    rng = np.random.default_rng(1)
    mu, sd, refs = _world(rng)
    kept = rng.random(mu.size) < 0.25
    partial = mu + sd * rng.normal(size=mu.size) + np.where(kept, 2.0 * sd, 0.0)  # members are more confident
    flags = flagged_by_role({"reference": list(refs), "unlearned": [partial]}, 0.05)
    ref_rates = [f.mean() for f in flags["reference"]]
    assert 0.02 < np.mean(ref_rates) < 0.08  # each reference against the other eleven
    assert flags["unlearned"][0].mean() > np.mean(ref_rates) + 0.1
    assert flags["unlearned"][0][kept].mean() > 5 * flags["unlearned"][0][~kept].mean()


def test_benjamini_hochberg_q_values():
    p = np.array([0.001, 0.04, 0.03, 0.5])
    q = benjamini_hochberg_q(p)
    assert np.allclose(q, [0.004, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert (q >= p).all()
