"""A content-addressed cache of trained models.

A model's key is the sha256 of everything that determines its weights: the dataset fingerprint,
the digest of the indices it was trained on, the architecture, the recipe, the seed and the torch
version. A second audit with another unlearner therefore reuses the original and the references.
Entries are written to a temporary file and renamed into place, so a crash never leaves a
truncated entry, and concurrent writers of the same key simply race to an identical file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from auditor.cache_admin import default_cache_dir
from auditor.config import canonical_json
from auditor.outputs import atomic_write_bytes


def cache_key(spec: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a model's training specification."""
    return hashlib.sha256(canonical_json({"kind": "trained-model/v1", "torch": torch.__version__, **spec})).hexdigest()


class ModelCache:
    """Trained-model store under ``root/models``; ``enabled=False`` makes it a pass-through."""

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = Path(root)
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.root / "models" / key[:2] / f"{key}.pt"

    def has(self, spec: dict[str, Any]) -> bool:
        """Whether a model for ``spec`` is stored (a corrupt entry still counts; it is retrained on read)."""
        return self.enabled and self._path(cache_key(spec)).is_file()

    def get_or_train(self, spec: dict[str, Any], factory: Callable[[], nn.Module],
                     train: Callable[[], nn.Module]) -> tuple[nn.Module, str, bool]:
        """The cached model for ``spec``, or ``train()``'s result (stored).

        Returns:
            (model, cache key, whether it came from the cache).
        """
        key = cache_key(spec)
        path = self._path(key)
        if self.enabled and path.is_file():
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                model = factory()
                model.load_state_dict(state)
                model.eval()
                self.hits += 1
                return model, key, True
            except Exception:  # an unreadable entry is retrained and overwritten
                path.unlink(missing_ok=True)
        model = train()
        self.misses += 1
        self.put(spec, model)
        return model, key, False

    def put(self, spec: dict[str, Any], model: nn.Module) -> str:
        """Store a trained model under its spec's key (atomically; a no-op when disabled).

        The weights are renamed into place before the spec beside them, so an entry that lists
        as present is complete; a run killed between the two leaves a usable model whose spec
        is rewritten by the next run that trains it.
        """
        key = cache_key(spec)
        if self.enabled:
            import io

            path = self._path(key)
            buf = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
            atomic_write_bytes(path, buf.getvalue())
            atomic_write_bytes(path.with_suffix(".json"), json.dumps(spec, sort_keys=True, indent=1).encode())
        return key
