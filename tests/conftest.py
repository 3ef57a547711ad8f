"""Shared fixtures: a per-session model cache, tiny data, and helpers to write configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One model cache for the whole run, so models shared by tests train once."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(cache_dir, monkeypatch):
    monkeypatch.setenv("UNLEARN_AUDIT_CACHE", str(cache_dir))


@pytest.fixture
def write_config(tmp_path):
    """Write a config mapping (or raw text) to tmp_path and return its path."""

    def write(data, name: str = "audit.yaml") -> Path:
        path = tmp_path / name
        path.write_text(
            data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8"
        )
        return path

    return write


def tiny_config(**sections) -> dict:
    """A fast digits audit (MLP, few epochs) for CLI and pipeline tests."""
    cfg = {
        "seed": 0,
        "data": {"dataset": "digits"},
        "model": {"arch": "mlp"},
        "training": {"epochs": 8, "batch_size": 64, "optimizer": "adam", "lr": 0.003, "weight_decay": 0.0},
        "forget": {"kind": "class", "classes": [3]},
        "unlearner": {"name": "noop"},
        "reference": {"seeds": 1},
        "attacks": [{"name": "accuracy"}, {"name": "threshold", "params": {"signals": ["loss"]}}],
        "gates": {"bootstrap": 300},
        "report": {"formats": ["json"]},
    }
    for key, value in sections.items():
        cfg[key] = value
    return cfg
