"""The embedded digits dataset and .npz files."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.config import DataConfig
from auditor.datasets import load_dataset
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
