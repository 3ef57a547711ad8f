"""The embedded digits dataset and .npz files."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.config import DataConfig
from auditor.data.datasets import load_dataset
from auditor.errors import ConfigError


def test_digits_is_embedded_normalised_and_fingerprinted():
    a = load_dataset(DataConfig())
    b = load_dataset(DataConfig())
    assert a.x.shape == (1797, 1, 8, 8) and a.num_classes == 10 and a.test_mask is None
    assert abs(float(a.x.mean())) < 0.5 and a.fingerprint == b.fingerprint and len(a.fingerprint) == 64


def test_npz_arrays_and_errors(tmp_path):
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x=rng.normal(size=(30, 5)).astype(np.float32),
        y=rng.integers(0, 3, 30),
        test_mask=np.arange(30) >= 24,
    )
    data = load_dataset(DataConfig(dataset="npz", path=path))
    assert data.x.shape == (30, 5) and data.test_mask.sum() == 6 and data.source["path"] == str(path)
    np.savez(tmp_path / "bad.npz", x=np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="lacks array"):
        load_dataset(DataConfig(dataset="npz", path=tmp_path / "bad.npz"))
    np.savez(tmp_path / "float.npz", x=np.zeros((3, 2)), y=np.array([0.5, 1.0, 0.0]))
    with pytest.raises(ConfigError, match="integers"):
        load_dataset(DataConfig(dataset="npz", path=tmp_path / "float.npz"))
    with pytest.raises(ConfigError, match="no such file"):
        load_dataset(DataConfig(dataset="npz", path=tmp_path / "missing.npz"))


def test_the_config_names_the_registered_datasets_in_order():
    from auditor.config import DATASETS as CONFIG_NAMES
    from auditor.config import json_schema
    from auditor.data.datasets import DATASETS

    assert set(CONFIG_NAMES) == set(DATASETS)
    assert (
        f"Dataset name ({', '.join(DATASETS)})"
        in json_schema()["$defs"]["DataConfig"]["properties"]["dataset"]["description"]
    )
    for name, entry in DATASETS.items():
        assert entry.reads in ("root", "path", None), name
        assert entry.origin or entry.reads == "root", (
            f"{name}: the messages about data.root / data.path need origin"
        )


def load_tiny(cfg) -> object:
    """A dataset loader as a new built-in would have one (module level, called with the data section)."""
    from auditor.data.datasets import make_loaded

    return make_loaded("tiny", np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20) % 2)


def test_a_new_dataset_is_one_registry_entry_and_one_loader(monkeypatch, tmp_path):
    from auditor.config import parse_config
    from auditor.data import datasets

    with pytest.raises(ConfigError, match="unknown dataset 'tiny'"):
        parse_config({"data": {"dataset": "tiny"}})
    entry = datasets.BuiltinDataset(f"{__name__}:load_tiny", reads=None, origin="is made by the test")
    monkeypatch.setitem(datasets.DATASETS, "tiny", entry)
    cfg = parse_config({"data": {"dataset": "tiny"}})
    data = load_dataset(cfg.data)
    assert data.name == "tiny" and len(data) == 20 and data.num_classes == 2
    with pytest.raises(ConfigError, match="dataset 'tiny' is made by the test: remove data.root / data.path"):
        parse_config({"data": {"dataset": "tiny", "root": str(tmp_path)}})
    monkeypatch.setitem(datasets.DATASETS, "tiny", datasets.BuiltinDataset(load_tiny, reads="root"))
    with pytest.raises(ConfigError, match="dataset 'tiny' is read from a local folder: set data.root"):
        parse_config({"data": {"dataset": "tiny"}})
    assert (
        load_dataset(parse_config({"data": {"dataset": "tiny", "root": str(tmp_path)}}).data).name == "tiny"
    )
