"""MNIST-1D: generated deterministically from the config's options, fingerprinted, never downloaded."""

from __future__ import annotations

import random

import numpy as np
import pytest

from auditor.config import DataConfig, Mnist1dConfig, parse_config
from auditor.data.datasets import load_dataset
from auditor.errors import ConfigError

pytest.importorskip("mnist1d", reason="the mnist1d package is a dependency: pip install -e .")

SMALL = {"num_samples": 200}


def _load(**options):
    return load_dataset(DataConfig(dataset="mnist1d", mnist1d=Mnist1dConfig(**{**SMALL, **options})))


def test_deterministic_with_the_official_split():
    a, b = _load(), _load()
    assert a.fingerprint == b.fingerprint and np.array_equal(a.x.numpy(), b.x.numpy())
    assert a.x.shape == (200, 40) and a.input_shape == (40,) and a.num_classes == 10
    assert a.test_mask is not None and int(a.test_mask.sum()) == 40 and not a.test_mask[:160].any()
    assert np.bincount(a.y.numpy(), minlength=10).tolist() == [20] * 10
    assert "num_samples=200" in a.source["options"] and "mnist1d=" in a.source["versions"]


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 43},
        {"num_samples": 210},
        {"iid_noise_scale": 0.05},
        {"shuffle_seq": True},
        {"train_split": 0.7},
    ],
)
def test_fingerprint_covers_every_option(change):
    assert _load(**change).fingerprint != _load().fingerprint


def test_global_random_state_is_left_alone():
    np.random.seed(7)
    random.seed(7)
    _load()
    after = (np.random.rand(), random.random())
    np.random.seed(7)
    random.seed(7)
    assert after == (np.random.rand(), random.random())


def test_never_downloads(monkeypatch):
    import mnist1d.data

    def refuse(*args, **kwargs):
        raise AssertionError("get_dataset (the download path) must not be called")

    monkeypatch.setattr(mnist1d.data, "get_dataset", refuse)
    assert len(_load()) == 200


def test_config_fills_defaults_and_rejects_misplaced_options():
    cfg = parse_config({"data": {"dataset": "mnist1d"}})
    assert cfg.data.mnist1d == Mnist1dConfig() and cfg.data.mnist1d.seed == 42
    assert cfg.model_dump(mode="json")["data"]["mnist1d"]["num_samples"] == 5000  # recorded in the evidence
    with pytest.raises(ConfigError, match="data.mnist1d holds generation options"):
        parse_config({"data": {"dataset": "digits", "mnist1d": {"seed": 1}}})
    with pytest.raises(ConfigError) as info:
        parse_config({"data": {"dataset": "mnist1d", "mnist1d": {"padding": [60, 36], "num_samples": 5}}})
    paths = {p.path for p in info.value.problems}
    assert paths == {"data.mnist1d.num_samples"} or "data.mnist1d" in paths
    with pytest.raises(ConfigError, match="unknown key 'sead'"):
        parse_config({"data": {"dataset": "mnist1d", "mnist1d": {"sead": 1}}})
    with pytest.raises(ConfigError, match="is generated"):
        parse_config({"data": {"dataset": "mnist1d", "root": "/tmp"}})


def test_mlp_runs_on_it():
    import torch

    from auditor.train.architectures import model_factory

    data = _load()
    model = model_factory("mlp", input_shape=data.input_shape, num_classes=data.num_classes)()
    assert model(data.x[:3]).shape == (3, 10)
    with pytest.raises(ValueError, match="small_cnn needs image inputs"):
        model_factory("small_cnn", input_shape=data.input_shape, num_classes=10)()
    assert torch.isfinite(data.x).all()
