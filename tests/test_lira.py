"""LiRA and the shadow store: a leaky model is caught, a retrained one is not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from attacks.membership.lira import Lira, LiraParams, gaussian_fit, lira_scores, nanmedian_first_axis
from auditor.plugin.context import AuditContext, take
from auditor.train.architectures import init_model
from auditor.train.cache import ModelCache
from auditor.train.core import train_model
from auditor.train.shadows import ShadowStore, pair_membership
from auditor.train.trainer import Trainer
from tests.helpers import RECIPE
from tests.test_attacks import _noisy_task

FAST = replace(RECIPE, epochs=25, batch_size=32, lr=0.005)


def test_pair_membership_balances_and_grows():
    m4 = pair_membership(101, 2, seed=0)
    m8 = pair_membership(101, 4, seed=0)
    assert m4.shape == (4, 101) and (m4.sum(0) == 2).all()  # every sample IN for exactly K/2
    assert (m8[:4] == m4).all() and (m8.sum(0) == 4).all()  # growing K keeps the first shadows
    assert abs(int(m4[0].sum()) - 50) <= 1


def test_gaussian_fit_and_scores_by_hand():
    phi = np.array([[[3.0]], [[1.0]], [[5.0]], [[-1.0]]])  # K=4 shadows, N=1, Q=1
    inside = np.array([[True], [False], [True], [False]])
    mu_in, sd_in, mu_out, sd_out = gaussian_fit(phi, inside, fixed=False)
    assert (mu_in[0, 0], sd_in[0, 0], mu_out[0, 0], sd_out[0, 0]) == (4.0, 1.0, 0.0, 1.0)
    fit = (mu_in, sd_in, mu_out, sd_out)
    online = lira_scores(np.array([[4.0]]), fit, variant="online", offline_test="one_sided")
    assert online[0] == pytest.approx(0.5 * 16)  # log N(4;4,1) - log N(4;0,1) = 8
    offline = lira_scores(np.array([[0.0]]), fit, variant="offline", offline_test="one_sided")
    assert offline[0] == pytest.approx(np.log(0.5))


@pytest.mark.parametrize("k", [1, 4, 7, 16, 600])  # numpy: a masked sort below 600 rows, a loop from 600
def test_nanmedian_first_axis_equals_numpy(k):
    rng = np.random.default_rng(k)
    x = rng.normal(size=(k, 40, 2)).round(1)  # ties
    x[rng.random(x.shape) < 0.4] = np.nan  # odd and even counts per slice
    x[:, 0] = np.nan  # an all-NaN slice
    x[0, 1, 0], x[-1, 2, 1] = np.inf, -np.inf
    with pytest.warns(RuntimeWarning, match="All-NaN"):
        expected = np.nanmedian(x, axis=0)
    np.testing.assert_array_equal(nanmedian_first_axis(x), expected)


@pytest.mark.parametrize("name", ["lira", "rmia", "shadow_mia", "ulira", "differencing"])
def test_params_reject_odd_shadow_counts(name):
    from attacks import ATTACKS

    params = ATTACKS.get(name).Params
    with pytest.raises(ValueError, match="must be even .* got 15; use 14 or 16"):
        params(shadows=15)
    assert params(shadows=16).shadows == 16


def _trainer(data, factory, cache):
    return Trainer(
        data=data, arch="mlp", recipe=FAST, factory=factory, cache=cache, device=torch.device("cpu")
    )


@pytest.fixture(scope="module")
def leaky_setup(tmp_path_factory):
    data, splits, factory = _noisy_task()

    def fit(indices, seed):
        split = take(data, indices)
        return train_model(
            init_model(factory, seed),
            split.x,
            split.y,
            recipe=FAST,
            generator=torch.Generator().manual_seed(seed),
        )

    store = ShadowStore(
        trainer=_trainer(data, factory, ModelCache(tmp_path_factory.mktemp("shadows"))), seed=0
    )
    return data, splits, factory, store, fit(splits.train, 11), fit(splits.retain, 12), fit(splits.retain, 13)


def test_lira_catches_a_leaky_model_and_beats_the_threshold_attack(leaky_setup):
    data, splits, factory, store, leaky, reference, retrained = leaky_setup

    def ctx(unlearned):
        return AuditContext(
            data=data,
            splits=splits,
            unlearned=unlearned,
            references=[reference],
            original=leaky,
            forget_kind="random",
            forget_classes=(),
            recipe=FAST,
            model_factory=factory,
            device=torch.device("cpu"),
            seed=0,
            bootstrap=300,
            shadows=store,
        )

    attack = Lira(LiraParams(shadows=8))
    caught = attack.measure(ctx(leaky))
    auc = next(m for m in caught.metrics if m.key == "lira.auc").comparison
    assert auc.per_model["unlearned"].value > 0.8 and auc.gap.ci[0] > 0.2
    clean = attack.measure(ctx(retrained))
    auc = next(m for m in clean.metrics if m.key == "lira.auc").comparison
    assert auc.gap.ci[0] < 0 < auc.gap.ci[1]
    power = caught.details["power_on_original"]
    assert power["lira_auc"] > power["loss_threshold_auc"] > 0.5
    assert caught.details["shadows"]["count"] == 8 and caught.details["variance"].startswith("fixed")
    assert store.get(8).trained == 8
    assert store.get(8).training_path.startswith("batched")  # the MLP shadows were trained with torch.func
    # a second store over the same cache trains nothing new
    again = ShadowStore(trainer=_trainer(data, factory, store.trainer.cache), seed=0)
    assert again.get(8).trained == 0 and again.get(8).training_path == "cache"


def test_rmia_scores_by_sorting_match_the_pairwise_definition():
    from attacks.membership.rmia import rmia_scores

    rng = np.random.default_rng(0)
    rx, rz = rng.lognormal(size=50), rng.lognormal(size=300)
    pairwise = (rx[:, None] / rz[None, :] > 2.0).mean(axis=1)
    np.testing.assert_allclose(rmia_scores(rx, rz, 2.0), pairwise)


def test_rmia_catches_a_leaky_model(leaky_setup):
    from attacks.membership.rmia import Rmia, RmiaParams

    data, splits, factory, store, leaky, reference, retrained = leaky_setup

    def ctx(unlearned):
        return AuditContext(
            data=data,
            splits=splits,
            unlearned=unlearned,
            references=[reference],
            original=leaky,
            forget_kind="random",
            forget_classes=(),
            recipe=FAST,
            model_factory=factory,
            device=torch.device("cpu"),
            seed=0,
            bootstrap=300,
            shadows=store,
        )

    attack = Rmia(RmiaParams(shadows=8, population=300))
    caught = next(m for m in attack.measure(ctx(leaky)).metrics if m.key == "rmia.auc").comparison
    assert caught.per_model["unlearned"].value > 0.8 and caught.gap.ci[0] > 0.2
    result = attack.measure(ctx(retrained))
    clean = next(m for m in result.metrics if m.key == "rmia.auc").comparison
    assert clean.gap.ci[0] < 0 < clean.gap.ci[1]
    # under random forgetting every held-out sample is a non-member: z takes half, disjoint from the scored ones
    assert 0.0 <= result.details["a"] <= 1.0 and 100 < result.details["population_z"] <= 300


def test_shadow_mia_catches_a_leaky_model(leaky_setup):
    from attacks.membership.shadow_mia import ShadowMia, ShadowMiaParams

    data, splits, factory, store, leaky, reference, retrained = leaky_setup

    def ctx(unlearned):
        return AuditContext(
            data=data,
            splits=splits,
            unlearned=unlearned,
            references=[reference],
            original=leaky,
            forget_kind="random",
            forget_classes=(),
            recipe=FAST,
            model_factory=factory,
            device=torch.device("cpu"),
            seed=0,
            bootstrap=300,
            shadows=store,
        )

    attack = ShadowMia(ShadowMiaParams(shadows=8, classifier="logistic"))
    result = attack.measure(ctx(leaky))
    caught = next(m for m in result.metrics if m.key == "shadow_mia.auc").comparison
    assert caught.per_model["unlearned"].value > 0.75 and caught.gap.ci[0] > 0.15
    clean = next(m for m in attack.measure(ctx(retrained)).metrics if m.key == "shadow_mia.auc").comparison
    assert clean.gap.ci[0] < 0 < clean.gap.ci[1]
    # the attack model never trained on the samples it scores
    audited = np.union1d(splits.forget, ctx(leaky).nonmember_indices())
    assert result.details["attack_training_rows"] == 8 * (len(data) - len(audited))


def test_ulira_separates_noop_from_retrain(leaky_setup):
    """U-LiRA against a calibrated retrain null (statistics review M5): each reference is scored against
    the other references, so the gap has retrain-to-retrain variance; noop fails, a retrain does not."""
    from attacks.distinguishers.ulira import Ulira, UliraParams
    from auditor.judge.verdict import FAIL, Gate, judge, widen_to_noise
    from unlearners.noop import Noop
    from unlearners.retrain import Retrain

    data, splits, factory, store, leaky, reference, retrained = leaky_setup
    refs = [reference] + [
        train_model(
            init_model(factory, s),
            take(data, splits.retain).x,
            take(data, splits.retain).y,
            recipe=FAST,
            generator=torch.Generator().manual_seed(s),
        )
        for s in (14, 15, 16)
    ]

    def ctx(unlearned, method):
        return AuditContext(
            data=data,
            splits=splits,
            unlearned=unlearned,
            references=refs,
            original=leaky,
            forget_kind="random",
            forget_classes=(),
            recipe=FAST,
            model_factory=factory,
            device=torch.device("cpu"),
            seed=0,
            bootstrap=300,
            shadows=store,
            method=method,
        )

    def status(comp):
        ev = comp.evidence["unlearned"]
        gate = widen_to_noise(Gate("ulira.auc", 0.05, "default", "privacy"), ev, multiplier=4.5)
        return judge(gate, comp.evidence, alpha=0.05, family=10)

    attack = Ulira(UliraParams(shadows=8))
    noop = attack.measure(ctx(leaky, Noop()))
    auc = next(m for m in noop.metrics if m.key == "ulira.auc").comparison
    assert auc.per_model["unlearned"].value > 0.8 and auc.gap.value > 0.2
    assert auc.evidence["unlearned"].training_randomness and status(auc).status == FAIL
    assert noop.details["method_distinguishability"]["mean_auc"] > 0.8
    clean = attack.measure(ctx(retrained, Retrain()))
    auc = next(m for m in clean.metrics if m.key == "ulira.auc").comparison
    assert abs(auc.gap.value) < 0.1 and status(auc).status != FAIL
    assert abs(auc.per_model["reference"].value - 0.5) < 0.1  # the retrain null sits near 0.5
    assert abs(clean.details["method_distinguishability"]["mean_auc"] - 0.5) < 0.15


def test_ulira_needs_a_method_not_a_checkpoint(write_config):
    from auditor.config import load_config
    from auditor.errors import ConfigError

    with pytest.raises(ConfigError, match="needs unlearner.name"):
        load_config(write_config({"unlearner": {"checkpoint": "u.pt"}, "attacks": [{"name": "ulira"}]}))


def test_distinguishability_bounds_and_challenge_metric():
    from attacks.distinguishers.distinguishability import challenge_epsilon, challenge_points, split_epsilon

    rng = np.random.default_rng(0)
    same = split_epsilon(rng.normal(0, 1, 64), rng.normal(0, 1, 64), delta=1e-5, alpha=0.05, rng=rng)
    apart = split_epsilon(rng.normal(5, 1, 64), rng.normal(0, 1, 64), delta=1e-5, alpha=0.05, rng=rng)
    assert same < 0.5 and apart > 1.5
    # perfectly separated: the challenge caps at 50; a point mass against a spread is "too peaky"
    assert challenge_epsilon(rng.normal(9, 0.5, 32), rng.normal(0, 0.5, 32), delta=1e-5) == 50.0
    assert challenge_epsilon(np.full(32, 1.0), rng.normal(0, 1, 32), delta=1e-5) == 50.0
    assert challenge_epsilon(rng.normal(0, 1, 64), rng.normal(0, 1, 64), delta=1e-5) < 1.5
    assert challenge_points(np.array([0.0, 0.7, 50.0]), 512) == pytest.approx((1 + 0.5 + 0) / 3)


def test_distinguishability_separates_noop_from_retrain(leaky_setup):
    from attacks.distinguishers.distinguishability import Distinguishability, DistinguishabilityParams
    from unlearners.noop import Noop
    from unlearners.retrain import Retrain

    data, splits, factory, store, leaky, reference, retrained = leaky_setup

    def ctx(unlearned, method):
        return AuditContext(
            data=data,
            splits=splits,
            unlearned=unlearned,
            references=[reference],
            original=leaky,
            forget_kind="random",
            forget_classes=(),
            recipe=FAST,
            model_factory=factory,
            device=torch.device("cpu"),
            seed=0,
            bootstrap=300,
            shadows=store,
            method=method,
        )

    attack = Distinguishability(DistinguishabilityParams(runs=16, max_examples=60))
    noop = attack.measure(ctx(leaky, Noop()))
    eps = next(m for m in noop.metrics if m.key == "distinguishability.epsilon_mean").comparison
    assert eps.gap.ci[0] > 0.3
    clean = attack.measure(ctx(retrained, Retrain()))
    eps = next(m for m in clean.metrics if m.key == "distinguishability.epsilon_mean").comparison
    assert eps.per_model["unlearned"].value < 0.2
    assert clean.details["epsilon_ceiling"] == pytest.approx(noop.details["epsilon_ceiling"])


def test_differencing_exposes_deletions_when_both_versions_are_published(leaky_setup):
    """Chen et al.'s point: with the original published next to the unlearned model, even exact
    retraining reveals which samples were deleted; the gate therefore compares with the
    (original, retrained) pair."""
    from attacks.membership.differencing import Differencing, DifferencingParams
    from unlearners.retrain import Retrain

    data, splits, factory, store, leaky, reference, retrained = leaky_setup
    ctx = AuditContext(
        data=data,
        splits=splits,
        unlearned=retrained,
        references=[reference],
        original=leaky,
        forget_kind="random",
        forget_classes=(),
        recipe=FAST,
        model_factory=factory,
        device=torch.device("cpu"),
        seed=0,
        bootstrap=300,
        shadows=store,
        method=Retrain(),
    )
    result = Differencing(DifferencingParams(shadows=8, classifier="logistic")).measure(ctx)
    auc = next(m for m in result.metrics if m.key == "differencing.auc").comparison
    assert auc.per_model["unlearned"].value > 0.65 and auc.per_model["reference"].value > 0.65
    assert auc.gap.ci[0] < 0 < auc.gap.ci[1]
    assert result.details["attack_training_positives"] > 0


def test_a_forgotten_group_moves_in_and_out_of_the_shadows_as_one_block():
    """Class or backdoor forgetting (statistics review M3.1): every OUT shadow of a group sample saw
    none of the group, every IN shadow all of it; training sizes stay the target's; pairs stay disjoint."""
    group = np.arange(20, 35)
    m = pair_membership(200, 4, seed=3, size=60, group=group)
    in_group = m[:, group]
    assert np.all(in_group.all(axis=1) | (~in_group).all(axis=1))  # all or nothing per shadow
    assert in_group.all(axis=1).sum() == 4  # IN for half of the shadows
    assert np.all(m.sum(axis=1) == 60)
    assert not np.any(m[0::2] & m[1::2])
    # the erasure of individual records keeps the per-sample halves (and the cached shadows)
    assert np.array_equal(
        pair_membership(200, 4, seed=3, size=60), pair_membership(200, 4, seed=3, size=60, group=None)
    )


def test_shadows_refuse_a_group_that_would_crowd_out_their_training_set():
    # Fashion-MNIST with 5,000 training images: one class is 7,000 images of the dataset. An IN shadow
    # would train on that class alone, unlike the audited model: LiRA says not estimable instead.
    from types import SimpleNamespace

    from auditor.train.shadows import ShadowStore

    trainer = SimpleNamespace(data=list(range(70_000)), recipe=None, device="cpu")
    crowded = ShadowStore(trainer=trainer, seed=0, train_size=5_000, group=np.arange(7_000))
    assert crowded.not_estimable() is not None and "7,000" in crowded.not_estimable()
    fits = ShadowStore(trainer=trainer, seed=0, train_size=5_000, group=np.arange(2_000))
    assert fits.not_estimable() is None
    assert ShadowStore(trainer=trainer, seed=0, train_size=5_000).not_estimable() is None
