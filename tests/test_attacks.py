"""Attacks: a leaky model is caught, a retrained one is not."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from attacks import ATTACKS
from attacks.base import Need, Params
from attacks.membership.base import MembershipAttack, MembershipScores
from attacks.signals import entropy, logit_confidence, loss, modified_entropy, probabilities, true_class_prob
from auditor.config import DataConfig, ForgetConfig
from auditor.data.datasets import make_loaded
from auditor.data.splits import make_splits
from auditor.plugin.context import AuditContext, MissingCapabilityError, take
from auditor.train.architectures import init_model, model_factory
from auditor.train.core import train_model
from tests.helpers import RECIPE, context, models, trained


def _noisy_task():
    """A task that can only be fitted by memorising: features carry half the label, noise the rest."""
    rng = np.random.default_rng(0)
    n = 900
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 1, (n, 1, 4, 4)).astype(np.float32)
    x[:, 0, 0, 0] += y  # a weak real signal
    flip = rng.random(n) < 0.4
    y = np.where(flip, rng.integers(0, 4, n), y)
    data = make_loaded("npz", x, y)
    splits, _ = make_splits(
        data, DataConfig(dataset="npz", path="unused.npz"), ForgetConfig(kind="random", fraction=0.2), 0
    )
    return data, splits, model_factory("mlp", input_shape=data.input_shape, num_classes=4)


def _fit(data, indices, factory, seed):
    split = take(data, indices)
    recipe = replace(RECIPE, epochs=80, batch_size=32, lr=0.003)
    return train_model(
        init_model(factory, seed),
        split.x,
        split.y,
        recipe=recipe,
        generator=torch.Generator().manual_seed(seed),
    )


def _gap(result, key):
    return next(m for m in result.metrics if m.key == key).comparison


def test_signals_agree_with_definitions():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    y = torch.tensor([0, 2])
    p = torch.softmax(logits.double(), 1).numpy()
    np.testing.assert_allclose(loss(logits, y), -np.log(p[[0, 1], [0, 2]]))
    np.testing.assert_allclose(true_class_prob(logits, y), p[[0, 1], [0, 2]])
    cool = torch.softmax(logits.double() / 2.0, 1).numpy()
    np.testing.assert_allclose(probabilities(logits, temperature=2.0), cool)
    np.testing.assert_allclose(true_class_prob(logits, y, temperature=2.0), cool[[0, 1], [0, 2]])
    big = torch.tensor([[1000.0, 0.0]])  # max-subtracted: no overflow
    assert probabilities(big)[0, 0] == 1.0 and probabilities(big).dtype == np.float64
    np.testing.assert_allclose(entropy(logits, y), -(p * np.log(p)).sum(1))
    np.testing.assert_allclose(
        logit_confidence(logits, y), np.log(p[[0, 1], [0, 2]] / (1 - p[[0, 1], [0, 2]]))
    )
    # modified entropy, Song & Mittal eq. 4, by hand for the uniform row with y = 2
    hand = -(1 - 1 / 3) * np.log(1 / 3) - 2 * (1 / 3) * np.log(1 - 1 / 3)
    assert modified_entropy(logits, y)[1] == pytest.approx(hand)


def test_threshold_catches_a_leaky_model_and_not_a_retrained_one():
    attack = ATTACKS.get("threshold")()
    data, splits, factory = _noisy_task()
    leaky = _fit(data, splits.train, factory, 11)  # trained on the forget samples, memorised them
    reference = _fit(data, splits.retain, factory, 12)
    retrained = _fit(data, splits.retain, factory, 13)

    def ctx(unlearned):
        return AuditContext(
            data=data,
            splits=splits,
            unlearned=unlearned,
            references=[reference],
            original=leaky,
            forget_kind="random",
            forget_classes=(),
            recipe=RECIPE,
            model_factory=factory,
            device=torch.device("cpu"),
            seed=0,
            bootstrap=300,
        )

    caught = attack.measure(ctx(leaky))
    comp = _gap(caught, "threshold.loss.auc")
    assert comp.per_model["unlearned"].value > 0.75
    assert comp.gap.ci[0] > 0.15  # the gap to the reference is clearly positive
    clean = attack.measure(ctx(retrained))
    comp = _gap(clean, "threshold.loss.auc")
    assert comp.gap.ci[0] < 0 < comp.gap.ci[1]  # indistinguishable from retraining
    assert abs(comp.per_model["unlearned"].value - 0.5) < 0.1


def test_threshold_reports_not_estimable_tpr_and_is_json_safe():
    attack = ATTACKS.get("threshold")(ATTACKS.get("threshold").Params(signals=["loss"]))
    original, reference = models()
    result = attack.measure(context(original))
    low = _gap(result, "threshold.loss.tpr@fpr=0.001")
    assert low.per_model["unlearned"].value is None and "not estimable" in low.per_model["unlearned"].note
    assert set(attack.metric_keys("class")) == {m.key for m in result.metrics}
    json.dumps([m.as_dict() for m in result.metrics], allow_nan=False)


def test_accuracy_check_separates_noop_from_retrain():
    check = ATTACKS.get("accuracy")()
    original, reference = models()
    noop = check.measure(context(original))
    assert _gap(noop, "accuracy.forget").gap.ci[0] > 0.8
    retrain = trained("retain", 3)
    same = check.measure(context(retrain))
    assert _gap(same, "accuracy.forget").gap.value == pytest.approx(0.0, abs=0.02)
    assert abs(_gap(same, "accuracy.test_retained_classes").gap.value) < 0.05
    assert set(check.metric_keys("class")) == {m.key for m in noop.metrics}
    assert noop.tables[0].columns[0] == "class" and any("(forgotten)" in r[0] for r in noop.tables[0].rows)


class _LossAttack(MembershipAttack[Params]):
    """What a new membership attack writes: class attributes and one scores() method."""

    name = "loss_mia"
    title = "Loss attack"
    summary = "The loss threshold, as a third party would write it."
    citation = "Yeom et al., CSF 2018."
    threat_model = "Black-box adversary with outputs and labels."
    label = "loss"

    def scores(self, ctx, rng):
        members, held = ctx.split("forget"), ctx.split("nonmember")
        pairs = {
            role: [
                (-loss(ctx.logits(m, "forget"), members.y), -loss(ctx.logits(m, "nonmember"), held.y))
                for m in ms
            ]
            for role, ms in ctx.models().items()
        }
        return MembershipScores(pairs, details={"members": len(members)}, roc_title="ROC of the loss attack")


def test_a_new_membership_attack_is_one_scores_method():
    attack = _LossAttack()
    original, _ = models()
    result = attack.measure(context(original))
    keys = ["loss_mia.auc", "loss_mia.balanced_accuracy"] + [
        f"loss_mia.tpr@fpr={f}" for f in ("0.001", "0.01", "0.1")
    ]
    assert attack.metric_keys("class") == keys == [m.key for m in result.metrics]
    assert attack.default_gates("class") == {}  # no gate_tolerance parameter: reported, not gated
    assert result.metrics[0].label == "AUC (loss)" and result.details == {
        "members": len(context(original).split("forget"))
    }
    assert [f.title for f in result.figures] == ["ROC of the loss attack"]
    # the same statistic as the threshold attack's loss block (other resamples: another purpose)
    threshold = ATTACKS.get("threshold")(ATTACKS.get("threshold").Params(signals=["loss"])).measure(
        context(original)
    )
    ours, theirs = _gap(result, "loss_mia.auc"), _gap(threshold, "threshold.loss.auc")
    assert {r: e.value for r, e in ours.per_model.items()} == {
        r: e.value for r, e in theirs.per_model.items()
    }


EXPECTED_NEEDS = {
    "lira": Need.SHADOWS,
    "rmia": Need.SHADOWS,
    "shadow_mia": Need.SHADOWS,
    "ulira": Need.SHADOWS | Need.METHOD,
    "differencing": Need.SHADOWS | Need.METHOD,
    "distinguishability": Need.SHADOWS | Need.METHOD,
    "backdoor": Need.TRIGGER,
}


@pytest.mark.parametrize("name", sorted(ATTACKS.names()))
def test_attacks_declare_what_they_need(name):
    cls = ATTACKS.get(name)
    assert cls.requires == EXPECTED_NEEDS.get(name, Need.NONE)
    assert cls.forget_kinds == (
        {"backdoor"} if name == "backdoor" else {"class", "random", "indices", "backdoor"}
    )
    assert not hasattr(cls, "needs_method")  # the Need flags replaced it


@pytest.mark.parametrize(
    ("name", "missing"),
    [("lira", "shadow"), ("ulira", "unlearner.name"), ("backdoor", "forget.kind: backdoor")],
)
def test_a_missing_capability_is_named_before_any_work(name, missing):
    original, _ = models()
    with pytest.raises(MissingCapabilityError, match=missing):
        ATTACKS.get(name)().measure(context(original))
