"""The shadow-model store: models trained with the target's recipe on random halves of a pool.

Shadows come in complementary pairs: pair j draws a random half H_j of the candidate pool (from
the seed), shadow 2j trains on H_j and shadow 2j+1 on the rest. So for any even K every
candidate is IN for exactly K/2 shadows (the LiRA design, ``pkeep = 0.5``: Carlini et al., S&P
2022, ``research/mi_lira_2021/train.py``), and growing K from 16 to 32 keeps the first 16
shadows, which the content-addressed model cache then reuses.

The candidate pool is every sample of the dataset (train, test and population), so every forget
sample and every held-out non-member is IN for half the shadows. Shadows are trained by the one
trainer with the audit's recipe; only the data differs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from auditor.data.datasets import LoadedData
from auditor.data.splits import Splits
from auditor.data.tensors import take
from auditor.seeding import derive_seed, numpy_rng
from auditor.train.core import ProgressFn, Recipe, predict_logits
from auditor.train.trainer import BATCH_CHUNK, Trainer, TrainRequest

__all__ = ["BATCH_CHUNK", "ShadowSet", "ShadowStore", "pair_membership", "shadow_group"]


def pair_membership(
    n: int, pairs: int, seed: int, size: int | None = None, group: np.ndarray | None = None
) -> np.ndarray:
    """``(2 * pairs, n)`` boolean IN matrix: row 2j is a random half, row 2j+1 its complement.

    With ``size`` below half the pool, each row keeps a random ``size`` of its half, so every shadow
    trains on as many samples as the audited model (LiRA's shadows mimic the target's training
    set; statistics review M3.3) and the two rows of a pair stay disjoint. Row pair j depends
    only on (seed, j), so adding pairs never changes earlier rows.

    ``group`` (the samples of a forgotten class, or a backdoor's canaries) moves as one block: in
    each pair one row holds the whole group and the other none of it, alternating between pairs.
    A group sample's OUT shadows then never saw any member of its group, which is what retraining
    without the group gives; with per-sample halves they saw half of it, and a constant logit shift
    on the group looked like forgetting to online LiRA (statistics review M3.1).
    """
    in_group = np.zeros(n, dtype=bool)
    if group is not None and len(group):
        in_group[np.asarray(group, dtype=np.int64)] = True
    rest = np.nonzero(~in_group)[0]
    g = int(in_group.sum())
    rows = []
    for j in range(pairs):
        rng = numpy_rng(seed, f"shadow-pair/{j}")
        order = rest[rng.permutation(rest.size)] if g else rng.permutation(n)
        m = order.size
        first, second = order[: m // 2], order[m // 2 :]
        if size is not None and size < n // 2:
            keep_first, keep_second = (
                (size - g, size) if j % 2 == 0 else (size, size - g)
            )  # the group fills the rest
            first, second = first[: max(keep_first, 0)], second[: max(keep_second, 0)]
        a, b = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        a[first], b[second] = True, True
        if g:
            (a if j % 2 == 0 else b)[in_group] = True
        rows += [a, b]
    return np.stack(rows) if rows else np.zeros((0, n), dtype=bool)


@dataclass(frozen=True)
class ShadowSet:
    """K trained shadow models and which pool samples each was trained on.

    Attributes:
        models: The shadows, in eval mode.
        membership: ``(K, N)`` boolean: ``membership[k, i]`` is True when shadow k trained on
            dataset sample i (the pool is the whole dataset).
        cache_keys: Model-cache key of each shadow.
        trained: How many were trained in this run (the rest came from the cache).
    """

    models: tuple[nn.Module, ...]
    membership: np.ndarray
    cache_keys: tuple[str, ...]
    trained: int
    training_path: str = "sequential"

    def membership_digest(self) -> str:
        """sha256 of the packed membership matrix (which samples were IN for which shadow)."""
        return hashlib.sha256(np.packbits(self.membership, axis=1).tobytes()).hexdigest()

    def record(self, recipe: Recipe) -> dict[str, object]:
        """What the evidence records about the shadows."""
        return {
            "count": len(self.models),
            "recipe": recipe.as_dict(),
            "recipe_sha256": hashlib.sha256(repr(sorted(recipe.as_dict().items())).encode()).hexdigest(),
            "membership_sha256": self.membership_digest(),
            "pool": "every dataset sample",
            "design": (
                "disjoint pairs drawn from complementary halves, each shadow of the target's training size "
                "where half the pool allows (each sample IN for at most K/2 shadows)"
            ),
            "trained_now": self.trained,
            "from_cache": len(self.models) - self.trained,
            "training_path": self.training_path,
        }


class ShadowStore:
    """Shadow models for one audit, obtained from the one trainer (trained, or read from the cache).

    Args:
        trainer: The audit's trainer (its data, recipe, architecture, cache and executor).
        seed: The audit's root seed.
        train_size: The audited model's training-set size; shadows train on as many samples when
            half the pool is larger.
        group: Dataset indices that move IN or OUT together (a forgotten class, backdoor canaries);
            see :func:`pair_membership`.
    """

    def __init__(
        self,
        *,
        trainer: Trainer,
        seed: int,
        train_size: int | None = None,
        group: np.ndarray | None = None,
    ) -> None:
        self.trainer = trainer
        self.data, self.recipe, self.device = trainer.data, trainer.recipe, trainer.device
        self.train_size = train_size
        self.group = None if group is None or len(group) == 0 else np.asarray(group, dtype=np.int64)
        self.seed = seed
        self._sets: dict[int, ShadowSet] = {}

    def not_estimable(self) -> str | None:
        """Why these shadows cannot mimic the audited model for this request, or None when they can.

        A group (every sample of a forgotten class in the dataset, or a backdoor's trigger samples) moves
        IN or OUT as one block (:func:`pair_membership`). When it is more than half a shadow's training
        size, an IN shadow would train on little but the group (on Fashion-MNIST with 5,000 training
        images, the 7,000 images of one class and nothing else), unlike the audited model, which saw
        the class in its share of the data; such shadows calibrate nothing, and can diverge.
        """
        if self.group is None or self.train_size is None or 2 * len(self.group) <= self.train_size:
            return None
        return (
            f"not estimable: the request's group ({len(self.group):,} samples of the dataset move IN or OUT "
            f"together) is more than half a shadow's training size ({self.train_size:,}), so a shadow cannot "
            "mimic the audited model on it; the request's own gates (accuracy, probe) judge it"
        )

    def get(self, count: int, *, progress: ProgressFn | None = None) -> ShadowSet:
        """The first ``count`` shadows (``count`` even)."""
        if count % 2:
            raise ValueError(f"shadow count must be even (complementary pairs), got {count}")
        if count in self._sets:
            return self._sets[count]
        membership = pair_membership(len(self.data), count // 2, self.seed, self.train_size, self.group)
        requests = [
            TrainRequest(np.flatnonzero(membership[k]), derive_seed(self.seed, f"shadow/{k}"))
            for k in range(count)
        ]
        got = self.trainer.train_many(
            requests, role="shadow", label="shadow model", progress=progress or (lambda d, t: None)
        )
        trained = sum(t.source == "trained" for t in got)
        path = self.trainer.last_path if trained else "cache"
        result = ShadowSet(tuple(t.model for t in got), membership, tuple(t.key for t in got), trained, path)
        self._sets[count] = result
        return result

    @torch.no_grad()
    def logits(self, shadows: ShadowSet, indices: np.ndarray, *, flip: bool = False) -> torch.Tensor:
        """``(K, len(indices), classes)`` logits of every shadow on the given samples.

        Repeated indices (LiRA's targets list a sample once per role it plays) are run through
        each shadow once; a sample's logits do not depend on its batch, so the rows are the same.
        """
        unique, inverse = np.unique(np.asarray(indices), return_inverse=True)
        x = take(self.data, unique).x
        if flip:
            x = x.flip(-1)
        at = torch.as_tensor(inverse.reshape(-1), dtype=torch.long)
        return torch.stack([predict_logits(m, x, device=self.device)[at] for m in shadows.models])


def shadow_group(
    forget_kind: str, data: LoadedData, splits: Splits, classes: tuple[int, ...]
) -> np.ndarray | None:
    """The samples LiRA's shadows must take IN or OUT as one block for this request.

    Every sample of the forgotten classes, or every sample carrying the backdoor's trigger
    (canaries and decoys); None for the erasure of individual records, whose samples are IN or
    OUT one by one (see :func:`pair_membership`).
    """
    if forget_kind == "class" and classes:
        return np.nonzero(np.isin(data.y.numpy(), np.asarray(classes)))[0]
    if forget_kind == "backdoor":  # canaries and decoys: every sample that carries the trigger
        return np.union1d(splits.forget, splits.decoys).astype(np.int64)
    return None
