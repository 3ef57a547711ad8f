"""The one trainer: the only code that turns a :class:`~auditor.train.cache.TrainSpec` into a model.

Every model an audit trains, the original, the references, the deception controls that retrain,
LiRA's shadows, the retrains attacks ask for and the conformance kit's models, comes from
:meth:`Trainer.train_many`. So the seeds are derived in one place (``<seed>/init`` for the initial
weights, ``<seed>/train`` for the batch order and augmentation), the cache is read and written in
one place, and two callers asking for the same (data, indices, architecture, recipe, seed) get one
cache entry with one digest: a reference and an attack's retrain of the same spec are the same
model by construction, not because two closures written apart happen to agree (design review 2,
section 3).

Models that are not in the cache train together when they can: batched over stacked parameters
(:mod:`auditor.train.batched`) in chunks of :data:`BATCH_CHUNK`, through the configured executor
(:mod:`auditor.train.executors`), each chunk stored as soon as it finishes so a killed run resumes
from it. Batched and one-at-a-time training give the same weights for the same seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from torch import nn

from auditor.errors import AuditFailedError
from auditor.seeding import derive_seed, torch_generator
from auditor.train.architectures import init_model
from auditor.train.cache import ModelCache, TrainSpec, cache_key, nonfinite_names
from auditor.train.core import ProgressFn, Recipe, train_model
from auditor.train.executors import Executor, LocalExecutor, ModelJob, split_groups

if TYPE_CHECKING:
    from auditor.data.datasets import LoadedData

BATCH_CHUNK = 16
"""Models trained at once on the batched path; each chunk is cached as soon as it finishes."""


class TaskDisplay(Protocol):
    """What the trainer needs of a progress display: a bar per phase (``auditor.run.progress.Progress``)."""

    def task(self, description: str, total: int) -> AbstractContextManager[ProgressFn]:
        """A context whose value is the ``(done, total)`` callback of a new bar."""
        ...


@contextmanager
def _silent(description: str, total: int) -> Iterator[ProgressFn]:
    yield lambda done, tot: None


@dataclass(frozen=True)
class TrainRequest:
    """One model to obtain: the dataset indices it trains on and its seed.

    Attributes:
        indices: Sorted dataset indices of its training samples.
        seed: Seeds its initial weights (``<seed>/init``) and its batch order (``<seed>/train``).
    """

    indices: np.ndarray
    seed: int


@dataclass(frozen=True)
class Trained:
    """A model the trainer returned, and where it came from.

    Attributes:
        model: The model, in eval mode, on the trainer's device.
        spec: Its training spec.
        key: Its model-cache key.
        source: ``trained`` (in this call) or ``cache``.
    """

    model: nn.Module
    spec: TrainSpec
    key: str
    source: str

    @property
    def seed(self) -> int:
        return self.spec.seed


class Trainer:
    """Trains (or reads from the model cache) models of one architecture and recipe on one dataset.

    Args:
        data: The dataset.
        arch: The architecture's config name (``mlp``, ``package.module:factory``).
        recipe: The training recipe.
        factory: Fresh, randomly initialised models of the architecture.
        cache: The model cache.
        device: Where to train and where returned models live.
        executor: Where batches of models train (default: this process).
        display: Progress bars (default: none).
    """

    def __init__(
        self,
        *,
        data: LoadedData,
        arch: str,
        recipe: Recipe,
        factory: Callable[[], nn.Module],
        cache: ModelCache,
        device: torch.device,
        executor: Executor | None = None,
        display: TaskDisplay | None = None,
    ) -> None:
        self.data, self.arch, self.recipe, self.factory = data, arch, recipe, factory
        self.cache, self.device = cache, device
        self.executor = executor or LocalExecutor()
        self._task: Callable[[str, int], AbstractContextManager[ProgressFn]] = (
            display.task if display is not None else _silent
        )
        self.last_path = "cache"

    def spec(self, indices: np.ndarray, seed: int, *, role: str | None = None) -> TrainSpec:
        """The training spec of a model trained on ``data[indices]`` with ``seed``."""
        return TrainSpec.of(
            self.data, indices=indices, arch=self.arch, recipe=self.recipe, seed=seed, role=role
        )

    def job(self, request: TrainRequest) -> ModelJob:
        """The executor job of one request: its samples and the seeds derived from its seed."""
        idx = torch.as_tensor(np.asarray(request.indices), dtype=torch.long)
        return ModelJob(
            self.arch,
            tuple(self.data.input_shape),
            self.data.num_classes,
            self.data.x[idx],
            self.data.y[idx],
            derive_seed(request.seed, "init"),
            derive_seed(request.seed, "train"),
        )

    def train(self, indices: np.ndarray, seed: int, *, role: str | None = None, label: str) -> Trained:
        """One model (see :meth:`train_many`); trained alone it shows per-epoch progress."""
        return self.train_many([TrainRequest(np.asarray(indices), seed)], role=role, label=label)[0]

    def train_many(
        self,
        requests: Sequence[TrainRequest],
        *,
        role: str | None = None,
        label: str,
        progress: ProgressFn | None = None,
    ) -> list[Trained]:
        """The models for ``requests``, in order: from the cache, else trained (and stored).

        Args:
            requests: What to train.
            role: The cache role (``shadow``, ``shadow-retrain``, ``control``); None for the
                audit's original and references (whose keys predate roles), and for any retrain
                that must be the very model a reference is.
            label: What the models are, in words, for progress and errors (``reference``).
            progress: A ``(done, total)`` callback over the models; without one, the trainer's
                display shows a bar.

        Raises:
            AuditFailedError: Training diverged (non-finite weights): the recipe is to blame.
        """
        specs = [self.spec(r.indices, r.seed, role=role) for r in requests]
        total = len(requests)
        missing = [i for i, s in enumerate(specs) if not self.cache.has(s)]
        fresh: dict[int, nn.Module] = {}
        if missing:
            if progress is None:
                with self._task(self._describe(label, len(missing), total), len(missing)) as update:
                    fresh = self._train_missing(requests, specs, missing, label=label, progress=update)
            else:
                fresh = self._train_missing(requests, specs, missing, label=label, progress=progress)
        else:
            self.last_path = "cache"
        out = []
        for i, (request, spec) in enumerate(zip(requests, specs)):
            if i in fresh:
                out.append(Trained(fresh[i].to(self.device).eval(), spec, cache_key(spec), "trained"))
                continue

            def fit(
                request: TrainRequest = request,
            ) -> nn.Module:  # only for an entry that turned out corrupt
                return self._fit_one(request, label=label, progress=None)

            who = label if total == 1 else f"{label} {i + 1}/{total}"
            model, key, hit = self.cache.get_or_train(spec, self.factory, fit, role=who)
            _check_finite(model, label)
            out.append(Trained(model.to(self.device).eval(), spec, key, "cache" if hit else "trained"))
        return out

    @staticmethod
    def _describe(label: str, missing: int, total: int) -> str:
        plural = "" if missing == 1 else "s"
        return f"training {missing} {label}{plural}" + (
            f" ({total - missing} cached)" if missing < total else ""
        )

    def _fit_one(self, request: TrainRequest, *, label: str, progress: ProgressFn | None) -> nn.Module:
        """One model with the trainer's recipe: the same weights as the batched path gives it."""
        idx = torch.as_tensor(np.asarray(request.indices), dtype=torch.long)
        model = init_model(self.factory, derive_seed(request.seed, "init"))
        epochs = max(self.recipe.epochs, 1)
        model = train_model(
            model,
            self.data.x[idx],
            self.data.y[idx],
            recipe=self.recipe,
            generator=torch_generator(request.seed, "train"),
            device=self.device,
            progress=(lambda d, t: progress(d * epochs // max(t, 1), epochs)) if progress else None,
        )
        _check_finite(model, label)
        return model

    def _train_missing(
        self,
        requests: Sequence[TrainRequest],
        specs: list[TrainSpec],
        missing: list[int],
        *,
        label: str,
        progress: ProgressFn,
    ) -> dict[int, nn.Module]:
        """Train the missing models, batched in chunks through the executor when the architecture allows."""
        if len(missing) == 1 and isinstance(self.executor, LocalExecutor):
            i = missing[0]
            self.last_path = "sequential (one model to train)"
            model = self._fit_one(requests[i], label=label, progress=progress)
            self.cache.put(specs[i], model)
            progress(1, 1)
            return {i: model}
        batchable, how = self._batchable(requests, missing)
        groups = split_groups(missing, batchable=batchable, chunk=BATCH_CHUNK, workers=self.executor.workers)
        jobs = [[self.job(requests[i]) for i in g] for g in groups]
        out: dict[int, nn.Module] = {}
        done = 0
        for gi, states in self.executor.run(jobs, self.recipe, str(self.device)):
            for i, state in zip(groups[gi], states):
                model = self.factory()
                model.load_state_dict(state)
                _check_finite(model, label)
                self.cache.put(specs[i], model)
                out[i] = model.eval()
            done += len(groups[gi])
            progress(done, len(missing))
        self.last_path = f"{how}; executor: {self.executor.describe()}"
        return out

    def _batchable(self, requests: Sequence[TrainRequest], missing: list[int]) -> tuple[bool, str]:
        """Whether the missing models can train batched, and the path in words (for the evidence)."""
        from auditor.train.batched import can_batch, steps_per_epoch

        if len(missing) < 2:
            return False, "sequential (one model to train)"
        if not self.recipe.batchable:
            return False, "sequential (a user training function; only the built-in trainer batches)"
        if not can_batch(self.factory()):
            return False, "sequential (the architecture has BatchNorm buffers or dropout)"
        if len({steps_per_epoch(len(requests[i].indices), self.recipe.batch_size) for i in missing}) != 1:
            return False, "sequential (subsets need different numbers of steps)"
        return (
            True,
            f"batched (torch.func vmap over stacked parameters, up to {BATCH_CHUNK} models at a time)",
        )


def _check_finite(model: nn.Module, label: str) -> None:
    """Stop with a clear error when training diverged (NaN or inf weights).

    The inputs were checked finite in preflight, so the recipe is to blame, not a later step.
    """
    bad = nonfinite_names(model.state_dict())
    if bad:
        raise AuditFailedError(
            f"training the {label} with the training section's recipe diverged: non-finite "
            f"weights in {', '.join(bad[:3])}. Lower training.lr (or training.weight_decay) "
            "and run again."
        )


check_finite = _check_finite
"""Public name of the divergence check (the pipeline's tests call it)."""
