"""A content-addressed cache of trained models.

A model's key is the sha256 of everything that determines its weights: the dataset fingerprint,
the digest of the indices it was trained on, the architecture, the recipe, the seed and the torch
version. A second audit with another unlearner therefore reuses the original and the references.
Entries are written to a temporary file and renamed into place, so a crash never leaves a
truncated entry, and concurrent writers of the same key simply race to an identical file.

Each entry holds the state_dict together with its content digest
(:func:`auditor.train.architectures.state_digest`: sha256 over the tensors in sorted key order), in one file so
that the two can never disagree through a torn write. A read re-computes the digest and checks the
weights are finite; an entry that is unreadable, lacks a digest, does not match it, holds NaN or
infinity, or does not fit the architecture is *corrupt*: it is retrained, the entry is replaced,
and :attr:`ModelCache.corrupt` records it for the evidence. The digest catches a flipped bit or a
value edited in place; someone who can write to the cache can also rewrite the digest, which is
why the evidence records each model's own sha256 (signed with the report).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import torch
from torch import nn

from auditor.canonical import canonical_json
from auditor.files import atomic_write_bytes
from auditor.train.architectures import arch_key, nonfinite_names
from auditor.train.cache_admin import default_cache_dir

if TYPE_CHECKING:
    from auditor.data.datasets import LoadedData
    from auditor.train.core import Recipe

ENTRY_FORMAT = "unlearn-audit/cache-entry/v2"


def index_digest(indices: Iterable[int] | np.ndarray) -> str:
    """sha256 of the training indices, in order, as comma-separated decimals: the one encoding."""
    return hashlib.sha256(
        ",".join(map(str, np.asarray(indices, dtype=np.int64).tolist())).encode()
    ).hexdigest()


@dataclass(frozen=True)
class TrainSpec:
    """Everything that determines a trained model's weights; its canonical JSON names its cache entry.

    Every model the audit trains (the original, the references, shadows, the retrains attacks ask
    for) is keyed by one of these, so two callers that train the same model find the same entry:
    ``distinguishability``'s first retrains are the audit's references.

    Attributes:
        data: The dataset fingerprint.
        indices: :func:`index_digest` of the training indices.
        arch: The architecture's cache name (:func:`auditor.train.architectures.arch_key`).
        input_shape: One sample's shape.
        num_classes: Classes of the dataset.
        recipe: ``Recipe.as_dict()``.
        seed: Seeds the initialisation and the batch order.
        role: ``shadow``, ``shadow-retrain``, ...; None for the audit's original and references,
            whose keys predate roles.
    """

    data: str
    indices: str
    arch: str
    input_shape: tuple[int, ...]
    num_classes: int
    recipe: Mapping[str, Any]
    seed: int
    role: str | None = None

    @classmethod
    def of(
        cls,
        data: LoadedData,
        *,
        indices: Iterable[int] | np.ndarray,
        arch: str,
        recipe: Recipe,
        seed: int,
        role: str | None = None,
    ) -> TrainSpec:
        """The spec of a model of architecture ``arch`` trained on ``data[indices]`` with ``recipe``."""
        return cls(
            data=data.fingerprint,
            indices=index_digest(indices),
            arch=arch_key(arch),
            input_shape=tuple(data.input_shape),
            num_classes=int(data.num_classes),
            recipe=recipe.as_dict(),
            seed=int(seed),
            role=role,
        )

    def as_dict(self) -> dict[str, Any]:
        """The spec as stored beside the entry and hashed into its key."""
        out = {
            "data": self.data,
            "indices": self.indices,
            "arch": self.arch,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "recipe": dict(self.recipe),
            "seed": self.seed,
        }
        return out if self.role is None else {"role": self.role, **out}


Spec: TypeAlias = "TrainSpec | Mapping[str, Any]"
"""What the cache accepts: a :class:`TrainSpec`, or its dict (as stored beside an entry)."""


def _fields(spec: Spec) -> dict[str, Any]:
    return spec.as_dict() if isinstance(spec, TrainSpec) else dict(spec)


def cache_key(spec: Spec) -> str:
    """sha256 of the canonical JSON of a model's training specification.

    ``v2`` entries carry a content digest; ``v1`` entries (bare state_dicts) live under other keys
    and are never read (``unlearn-audit cache prune`` removes them).
    """
    return hashlib.sha256(
        canonical_json({"kind": "trained-model/v2", "torch": torch.__version__, **_fields(spec)})
    ).hexdigest()


@dataclass(frozen=True)
class CorruptEntry:
    """A cache entry that failed verification and was retrained."""

    key: str
    reason: str
    role: str | None = None
    seed: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "reason": self.reason, "role": self.role, "seed": self.seed}


def entry_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """The bytes of a cache entry: ``{"format", "sha256", "state_dict"}`` saved by ``torch.save``."""
    import io

    from auditor.train.architectures import state_digest

    state = {k: v.detach().cpu() for k, v in state.items()}
    buf = io.BytesIO()
    torch.save({"format": ENTRY_FORMAT, "sha256": state_digest(state), "state_dict": state}, buf)
    return buf.getvalue()


def verify_entry(obj: Any) -> tuple[dict[str, torch.Tensor] | None, str | None]:
    """The verified state_dict of a loaded entry, or None and why it is corrupt.

    Args:
        obj: What ``torch.load(path, weights_only=True)`` returned for the entry.
    """
    from auditor.train.architectures import state_digest

    if (
        not isinstance(obj, dict)
        or obj.get("format") != ENTRY_FORMAT
        or not isinstance(obj.get("sha256"), str)
    ):
        return None, "no content digest (not an entry this version wrote)"
    state = obj.get("state_dict")
    if (
        not isinstance(state, dict)
        or not state
        or not all(isinstance(v, torch.Tensor) for v in state.values())
    ):
        return None, "holds no state_dict"
    if state_digest(state) != obj["sha256"]:
        return None, "content digest mismatch (the weights changed after they were stored)"
    bad = nonfinite_names(state)
    if bad:
        return None, f"non-finite values (NaN or inf) in {', '.join(bad[:3])}"
    return state, None


class ModelCache:
    """Trained-model store under ``root/models``; ``enabled=False`` makes it a pass-through.

    Attributes:
        hits: Entries read and verified.
        misses: Models trained (absent or corrupt entries).
        corrupt: Entries that failed verification and were retrained, in the order found.
    """

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = Path(root)
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self.corrupt: list[CorruptEntry] = []

    def _path(self, key: str) -> Path:
        return self.root / "models" / key[:2] / f"{key}.pt"

    def has(self, spec: Spec) -> bool:
        """Whether a model for ``spec`` is stored (a corrupt entry still counts; it is retrained on read)."""
        return self.enabled and self._path(cache_key(spec)).is_file()

    def _read(self, path: Path, factory: Callable[[], nn.Module]) -> tuple[nn.Module | None, str | None]:
        """The verified model stored at ``path``, or None and why the entry is corrupt."""
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for damaged files
            return None, f"unreadable ({type(exc).__name__})"
        state, reason = verify_entry(obj)
        if state is None:
            return None, reason
        try:
            model = factory()
            model.load_state_dict(state)
        except Exception as exc:  # a valid entry for another architecture (a key collision) is not usable
            return None, f"does not fit the architecture ({type(exc).__name__})"
        return model.eval(), None

    def get_or_train(
        self,
        spec: Spec,
        factory: Callable[[], nn.Module],
        train: Callable[[], nn.Module],
        *,
        role: str | None = None,
    ) -> tuple[nn.Module, str, bool]:
        """The cached model for ``spec`` (verified), or ``train()``'s result (stored).

        A corrupt entry is recorded in :attr:`corrupt` (with ``role``, default the spec's), removed,
        retrained and stored again.

        Returns:
            (model, cache key, whether it came from the cache).
        """
        key = cache_key(spec)
        path = self._path(key)
        if self.enabled and path.is_file():
            model, reason = self._read(path, factory)
            if model is not None:
                self.hits += 1
                return model, key, True
            self.corrupt.append(
                CorruptEntry(
                    key, reason or "corrupt", role or _fields(spec).get("role"), _fields(spec).get("seed")
                )
            )
            path.unlink(missing_ok=True)
        model = train()
        self.misses += 1
        self.put(spec, model)
        return model, key, False

    def record(self) -> dict[str, Any]:
        """What the evidence records about the cache."""
        return {
            "dir": str(self.root),
            "enabled": self.enabled,
            "hits": self.hits,
            "misses": self.misses,
            "corrupt_retrained": len(self.corrupt),
            "corrupt": [c.as_dict() for c in self.corrupt],
        }

    def put(self, spec: Spec, model: nn.Module) -> str:
        """Store a trained model under its spec's key (atomically; a no-op when disabled).

        The weights (with their digest) are renamed into place before the spec beside them, so an
        entry that lists as present is complete; a run killed between the two leaves a usable model
        whose spec is rewritten by the next run that trains it. A model with non-finite weights
        is never stored.
        """
        key = cache_key(spec)
        state = model.state_dict()
        if self.enabled and not nonfinite_names(state):
            path = self._path(key)
            atomic_write_bytes(path, entry_bytes(state))
            atomic_write_bytes(
                path.with_suffix(".json"), json.dumps(_fields(spec), sort_keys=True, indent=1).encode()
            )
        return key


__all__ = [
    "CorruptEntry",
    "ModelCache",
    "cache_key",
    "default_cache_dir",
    "entry_bytes",
    "nonfinite_names",
    "verify_entry",
]
