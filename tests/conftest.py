"""Shared fixtures: a per-session model cache, tiny data, and helpers to write configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml


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
