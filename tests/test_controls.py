"""Deception controls: each fake does what it claims, keeps the architecture, and touches only what it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attacks.checks.probe import penultimate_features
from auditor.judge.stats import exposure_outcomes
from auditor.run.controls import build_controls
from auditor.train.architectures import architecture_differences
from tests.helpers import accuracy, digits_setup, inputs, models
from unlearners.deceptive import CONTROLS, applicable


def _controls(original, names, kind: str = "class"):
    _, _, factory = digits_setup(kind)
    return build_controls(
        original,
        names,
        inputs_for=lambda s: inputs(kind, seed=s),
        seed=0,
        factory=factory,
        probe=inputs(kind).probe_batch(),
        device=torch.device("cpu"),
    )


def _build(name: str, kind: str = "class"):
    original, _ = models(kind)
    return original, _controls(original, [name], kind)[0].model


def test_applicable_controls_by_forget_kind():
    assert applicable("class") == list(CONTROLS)
    assert applicable("random") == ["head_retrain", "head_finetune", "over_forget", "label_noise"]
    assert applicable("class", ["head_bias", "over_forget"]) == ["head_bias", "over_forget"]


@pytest.mark.parametrize("name", ["head_bias", "head_rows", "head_retrain"])
def test_output_layer_fakes_forget_in_the_output_and_keep_every_feature(name):
    original, fake = _build(name)
    data, splits, factory = digits_setup("class")
    x = data.x[torch.as_tensor(splits.forget)]
    assert accuracy(fake, "forget") == 0.0 < accuracy(original, "forget")
    assert np.array_equal(
        penultimate_features(fake, x, device=torch.device("cpu")),
        penultimate_features(original, x, device=torch.device("cpu")),
    )
    assert architecture_differences(fake, factory) == []


def test_over_forgetting_and_label_noise_push_forget_accuracy_far_down():
    for kind in ("class", "random"):
        original, over = _build("over_forget", kind)
        _, noisy = _build("label_noise", kind)
        assert accuracy(over, "forget", kind) <= 0.5 * accuracy(original, "test", kind)
        assert accuracy(noisy, "forget", kind) < accuracy(original, "forget", kind) - 0.3


def test_controls_never_touch_the_original():
    original, _ = models("class")
    before = {k: v.clone() for k, v in original.state_dict().items()}
    _controls(original, list(CONTROLS))
    assert all(torch.equal(before[k], v) for k, v in original.state_dict().items())


def test_architecture_differences_are_named():
    _, _, factory = digits_setup("class")
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    diffs = architecture_differences(other, factory)
    assert diffs and any(d.startswith("missing") for d in diffs)


def test_exposure_is_calibrated_on_the_retrains_and_catches_a_leaking_minority():
    rng = np.random.default_rng(0)
    refs = [rng.normal(0, 1, 500) for _ in range(12)]
    honest = rng.normal(0, 1, 500)
    leaky = honest.copy()
    leaky[:50] = 10.0  # 10 % of the forget set exposed with certainty
    out = exposure_outcomes({"unlearned": [honest], "original": [leaky], "reference": refs}, 0.01)
    assert abs(np.mean([r.mean() for r in out["reference"]]) - 0.01) < 0.005
    assert out["unlearned"][0].mean() < 0.03
    assert out["original"][0].mean() > 0.1


def test_a_control_that_does_not_apply_is_a_config_error(write_config):
    from auditor.config import load_config
    from auditor.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"gates.controls.0 \(line \d+\): control .head_bias. does not apply"
    ):
        load_config(
            write_config(
                {"forget": {"kind": "random", "fraction": 0.1}, "gates": {"controls": ["head_bias"]}}
            )
        )
    with pytest.raises(ConfigError, match="unknown control"):
        load_config(write_config({"gates": {"controls": ["head_bais"]}}))
