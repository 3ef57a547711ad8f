"""Checks beyond membership: relearn time, probe, distances. A head-only "unlearner" that hides the
class but keeps the features must be caught; a retrained model must not."""

from __future__ import annotations

import numpy as np
import pytest

from attacks.checks.distance import Distance, activation_distance, js_divergence
from attacks.checks.probe import Probe, penultimate_features
from attacks.checks.relearn import Relearn, RelearnParams
from tests.helpers import context, inputs, models, trained
from tests.plugins import HeadOnlyUnlearner


def _metric(result, key):
    return next(m for m in result.metrics if m.key == key).comparison


@pytest.fixture(scope="module")
def head_only():
    original, _ = models()
    return HeadOnlyUnlearner().run(original, inputs())


@pytest.fixture(scope="module")
def second_retrain():
    return trained("retain", 3)


def test_js_and_activation_distance_by_hand():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    q = np.array([[0.0, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(js_divergence(p, q), [np.log(2.0), 0.0], atol=1e-12)
    np.testing.assert_allclose(activation_distance(p, q), [np.sqrt(2.0), 0.0])
    from scipy.spatial.distance import jensenshannon

    r = np.random.default_rng(0).dirichlet(np.ones(5), size=(2, 4))
    np.testing.assert_allclose(js_divergence(r[0], r[1]), jensenshannon(r[0], r[1], axis=1) ** 2)


def test_head_only_unlearner_matches_forget_accuracy_but_fails_relearn(head_only, second_retrain):
    from attacks.checks.accuracy import AccuracyCheck

    _, reference = models()
    acc = _metric(AccuracyCheck().measure(context(head_only)), "accuracy.forget")
    assert acc.per_model["unlearned"].value == acc.per_model["reference"].value == 0.0
    attack = Relearn(RelearnParams(seeds=3))
    fooled = attack.measure(context(head_only, references=[reference]))
    gap = _metric(fooled, "relearn.log2_steps").gap
    assert gap.ci[1] < -0.5  # relearns much faster than a model that never saw the class
    assert fooled.details["anamnesis_index"] < 0.7
    honest = attack.measure(context(second_retrain, references=[reference]))
    assert abs(_metric(honest, "relearn.log2_steps").gap.value) < 0.5
    assert honest.details["curves_seed0"]["unlearned"][0] < 0.5
    assert (
        len(honest.details["steps"]["unlearned"]) == 3 and len(honest.details["steps"]["reference"]) == 1
    )  # once per reference


def test_probe_reads_the_features(head_only):
    original, reference = models()
    x = inputs().retain().x[:5]
    import torch

    assert np.allclose(
        penultimate_features(head_only, x, device=torch.device("cpu")),
        penultimate_features(original, x, device=torch.device("cpu")),
    )
    result = Probe().measure(context(head_only))
    probe = _metric(result, "probe.forget_accuracy")
    # the hidden class is still perfectly decodable from the unlearned model's features
    assert probe.per_model["unlearned"].value >= probe.per_model["reference"].value
    assert probe.per_model["unlearned"].value > 0.9 and result.details["held_out_forget_class_samples"] > 0


def test_distance_catches_noop_and_not_a_retrain(second_retrain):
    original, reference = models()
    other_reference = trained("retain", 4)
    refs = [reference, other_reference]
    noop = Distance().measure(context(original, references=refs))
    assert _metric(noop, "distance.js").gap.ci[0] > 0.1
    assert _metric(noop, "distance.zrf").gap.ci[1] < 0
    clean = Distance().measure(context(second_retrain, references=refs))
    assert abs(_metric(clean, "distance.js").gap.value) < 0.05
    one_ref = Distance().measure(context(second_retrain, references=[reference]))
    assert _metric(one_ref, "distance.js").gap.value is None  # needs two reference seeds
