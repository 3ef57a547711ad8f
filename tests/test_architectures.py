"""Architectures, checkpoints and the model cache."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from auditor.errors import ConfigError
from auditor.train.architectures import load_checkpoint, model_factory, state_digest
from auditor.train.cache import ModelCache


@pytest.mark.parametrize("arch", ["mlp", "small_cnn", "resnet18"])
def test_architectures_give_logits(arch):
    make = model_factory(arch, input_shape=(3, 16, 16), num_classes=7)
    assert make()(torch.zeros(2, 3, 16, 16)).shape == (2, 7)


def test_resnet18_has_the_cifar_stem():
    model = model_factory("resnet18", input_shape=(3, 32, 32), num_classes=10)()
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)


def test_user_factory_by_import_path():
    make = model_factory("tests.plugins:tiny_linear", input_shape=(1, 8, 8), num_classes=10)
    assert make()(torch.zeros(1, 1, 8, 8)).shape == (1, 10)


def test_checkpoint_mismatch_names_missing_and_unexpected_keys(tmp_path):
    make = model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)
    other = model_factory("small_cnn", input_shape=(1, 8, 8), num_classes=10)()
    path = tmp_path / "wrong.pt"
    torch.save(other.state_dict(), path)
    with pytest.raises(ConfigError) as info:
        load_checkpoint(make, path, key="model.checkpoint", arch="mlp")
    msg = info.value.problems[0].message
    assert info.value.problems[0].path == "model.checkpoint"
    assert "missing keys: net.1.bias, net.1.weight" in msg and "unexpected keys: features.0.bias" in msg
    good = tmp_path / "good.pt"
    torch.save({"state_dict": make().state_dict()}, good)  # a common wrapper is accepted
    assert isinstance(load_checkpoint(make, good, key="model.checkpoint", arch="mlp"), nn.Module)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(
        model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)(), path
    )  # a whole module, not a state_dict
    with pytest.raises(ConfigError, match="weights_only=True"):
        load_checkpoint(
            model_factory("mlp", input_shape=(1, 8, 8), num_classes=10),
            path,
            key="model.checkpoint",
            arch="mlp",
        )


def test_state_digest_tracks_weights_only():
    a = model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)()
    b = model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)()
    b.load_state_dict(a.state_dict())
    assert state_digest(a) == state_digest(b)
    with torch.no_grad():
        next(b.parameters())[0, 0] += 1e-3
    assert state_digest(a) != state_digest(b)


def test_cache_reuses_by_content_and_writes_atomically(tmp_path):
    cache = ModelCache(tmp_path)
    make = model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)
    calls = []

    def train():
        calls.append(1)
        return make()

    spec = {"data": "d", "seed": 1}
    m1, key, hit1 = cache.get_or_train(spec, make, train)
    m2, key2, hit2 = cache.get_or_train(spec, make, train)
    _, key3, _ = cache.get_or_train({"data": "d", "seed": 2}, make, train)
    assert (hit1, hit2, len(calls)) == (False, True, 2) and key == key2 != key3
    assert state_digest(m1) == state_digest(m2)
    assert not list(tmp_path.rglob("*.tmp"))
    (tmp_path / "models" / key[:2] / f"{key}.pt").write_bytes(b"truncated")  # a corrupt entry is retrained
    _, _, hit = cache.get_or_train(spec, make, train)
    assert hit is False and len(calls) == 3


def test_train_spec_keys_the_audits_models_as_the_pipeline_always_has():
    import hashlib

    import numpy as np

    from auditor.data.datasets import make_loaded
    from auditor.train.cache import TrainSpec, cache_key, index_digest
    from auditor.train.core import Recipe

    rng = np.random.default_rng(0)
    data = make_loaded("toy", rng.normal(size=(30, 5)).astype(np.float32), np.arange(30) % 3)
    recipe = Recipe(epochs=2, batch_size=8, optimizer="sgd", lr=0.1, weight_decay=0.0, schedule="constant")
    idx = np.array([0, 4, 7, 29], dtype=np.int32)
    legacy = {  # the dict pipeline._spec built before TrainSpec: the original's and references' keys
        "data": data.fingerprint,
        "indices": hashlib.sha256(",".join(map(str, list(idx))).encode()).hexdigest(),
        "arch": "mlp",
        "input_shape": list(data.input_shape),
        "num_classes": 3,
        "recipe": recipe.as_dict(),
        "seed": 7,
    }
    spec = TrainSpec.of(data, indices=idx, arch="mlp", recipe=recipe, seed=7)
    assert spec.as_dict() == legacy and cache_key(spec) == cache_key(legacy)
    assert index_digest(idx) == index_digest(list(map(int, idx)))  # one encoding, whatever the dtype
    shadow = TrainSpec.of(data, indices=idx, arch="mlp", recipe=recipe, seed=7, role="shadow")
    assert cache_key(shadow) != cache_key(spec) and shadow.as_dict()["role"] == "shadow"
