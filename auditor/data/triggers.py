"""Backdoor canaries: a private trigger stamped on chosen training samples, relabelled to a target.

The canaries are planted before the original is trained and form the forget set; the reference
is retrained without them. Verification then asks whether the unlearned model still answers the
trigger (Sommer, Song, Wagh & Mittal, "Athena: Probabilistic Verification of Machine Unlearning",
PETS 2022; square bottom-right trigger as in ``OPTML-Group/Unlearn-Sparse`` ``main_backdoor.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import torch

from auditor.data.datasets import LoadedData, fingerprint
from auditor.seeding import numpy_rng


class TriggerSpec(Protocol):
    """The trigger as configured (the config's ``forget.trigger`` section has these attributes)."""

    @property
    def pattern(self) -> str:
        """``patch`` (a square) or ``pixels`` (seeded positions anywhere)."""

    @property
    def size(self) -> int:
        """Side of the patch, or number of pixels."""

    @property
    def position(self) -> str:
        """Where a patch goes: ``bottom_right``, ``top_left`` or ``seeded``."""

    @property
    def value(self) -> float | str:
        """The stamped value in normalised units, or ``max`` (the dataset's largest value)."""


@dataclass(frozen=True)
class Trigger:
    """A concrete trigger: the pixel positions (row, col) it sets, and the value."""

    rows: tuple[int, ...]
    cols: tuple[int, ...]
    value: float
    target: int

    def stamp(self, x: torch.Tensor) -> torch.Tensor:
        """A copy of images ``(N, C, H, W)`` with the trigger set on every channel."""
        out = x.clone()
        out[:, :, list(self.rows), list(self.cols)] = self.value
        return out

    @property
    def digest(self) -> str:
        """sha256 of the pixel positions and the value: what identifies the trigger without showing it."""
        return hashlib.sha256(repr((self.rows, self.cols, round(self.value, 6))).encode()).hexdigest()

    def record(self) -> dict[str, object]:
        """What the evidence says about the trigger: its shape and a digest, not the pattern itself."""
        return {"pixels": len(self.rows), "target": self.target, "sha256": self.digest}


def make_trigger(
    cfg: TriggerSpec, *, target: int, image_shape: tuple[int, ...], data_max: float, seed: int
) -> Trigger:
    """Turn the config's trigger into pixel positions, deterministically from the seed."""
    _, h, w = image_shape
    rng = numpy_rng(seed, "backdoor/trigger")
    value = data_max if cfg.value == "max" else float(cfg.value)
    if cfg.pattern == "pixels":
        flat = rng.choice(h * w, size=min(cfg.size, h * w), replace=False)
        rows, cols = (flat // w).tolist(), (flat % w).tolist()
    else:
        s = min(cfg.size, h, w)
        if cfg.position == "bottom_right":
            top, left = h - s, w - s
        elif cfg.position == "top_left":
            top, left = 0, 0
        else:
            top, left = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        rows = [top + i for i in range(s) for _ in range(s)]
        cols = [left + j for _ in range(s) for j in range(s)]
    return Trigger(tuple(rows), tuple(cols), value, target)


def choose_canaries(data: LoadedData, train: np.ndarray, *, target: int, count: int, seed: int) -> np.ndarray:
    """The canaries: ``count`` training samples outside the ``target`` class (fewer if not so many), sorted.

    They will carry the trigger and the target label.
    """
    y = data.y.numpy()
    pool = train[y[train] != target]
    rng = numpy_rng(seed, "backdoor/canaries")
    return np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False))


def choose_decoys(data: LoadedData, population: np.ndarray, count: int, target: int, seed: int) -> np.ndarray:
    """The decoys: held-out samples outside the target class, sorted, as many as ``count`` allows.

    They carry the trigger as non-members: as many as there are canaries where the population allows.
    """
    y = data.y.numpy()
    pool = population[y[population] != target]
    rng = numpy_rng(seed, "backdoor/decoys")
    return np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False)).astype(np.int64)


def plant(data: LoadedData, canaries: np.ndarray, trigger: Trigger) -> LoadedData:
    """The dataset with the trigger stamped on ``canaries`` and their labels set to the target.

    The held-out decoys are planted the same way: pass both.
    """
    idx = torch.as_tensor(canaries, dtype=torch.long)
    x, y = data.x.clone(), data.y.clone()
    x[idx] = trigger.stamp(x[idx])
    y[idx] = trigger.target
    source = {
        **data.source,
        "backdoor": f"{len(canaries)} canaries, trigger {trigger.digest[:16]}",
    }
    return replace(
        data, x=x, y=y, fingerprint=fingerprint(data.name + "+backdoor", x, y, data.test_mask), source=source
    )
