"""What unlearners and attacks are given: the data, the models, the recipe, seeded generators.

The context a plugin receives, at the bottom of the engine: it imports nothing above ``train/`` and
``judge/``, so attacks and methods never depend on the orchestration that calls them.

:class:`UnlearnInputs` hands an unlearning method its data through accessors that record what
was read, so the evidence states which data the method actually touched (e.g. that UNSIR never
read the forget samples). :class:`AuditContext` hands attacks the audited models and splits, and
caches their predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from torch import nn

from auditor.data.datasets import LoadedData
from auditor.data.splits import Splits
from auditor.data.tensors import SplitData, take
from auditor.judge.stats import Comparison, compare_proportions, compare_scores
from auditor.seeding import derive_seed, numpy_rng, torch_generator
from auditor.train.core import ProgressFn, Recipe, predict_logits, train_model
from auditor.types import control_role

if TYPE_CHECKING:  # only for annotations: the context sits below the shadows, the display and the triggers
    from auditor.data.triggers import Trigger
    from auditor.run.progress import Progress
    from auditor.train.shadows import ShadowStore
    from auditor.train.trainer import Trainer

FULL_PASS_BYTES = 256 << 20
"""Largest logits array (samples x classes x 4 bytes) kept per model for :meth:`AuditContext.logits_at`."""


def no_progress(done: int, total: int) -> None:
    """The progress callback when nothing displays progress."""


class MissingCapabilityError(RuntimeError):
    """An attack asked the context for something this audit does not provide.

    The config checks refuse such an audit before any training (``Attack.requires``), so this is
    raised only when an attack is run by hand on a context built without it.
    """


class MethodRunner(Protocol):
    """What attacks that re-run the audited method see of it (an :class:`unlearners.base.Unlearner`)."""

    @property
    def name(self) -> str:
        """The method's registry name."""
        ...

    def run(self, original: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        """Unlearn a copy of ``original`` with ``inputs``."""
        ...


class UnlearnInputs:
    """Everything an unlearning method may use, with a record of which data it read.

    Args:
        data: The dataset.
        splits: The splits.
        forget_kind: ``class``, ``random``, ``indices`` or ``backdoor``.
        forget_classes: The labels being forgotten (class forgetting), else empty.
        recipe: The original model's training recipe.
        model_factory: Builds a fresh model of the audited architecture.
        device: Where to compute.
        seed: The root seed for this run of the method.
        progress: Callback ``(done, total)``; a no-op unless a display is attached.

    Attributes:
        reads: Split name -> the most samples of it the method read.
        notes: Diagnostics the method recorded with :meth:`note` (which step size a sweep chose,
            why a loop stopped); the pipeline writes them to the evidence under
            ``method.diagnostics``.
    """

    def __init__(
        self,
        *,
        data: LoadedData,
        splits: Splits,
        forget_kind: str,
        forget_classes: tuple[int, ...],
        recipe: Recipe,
        model_factory: Callable[[], nn.Module],
        device: torch.device,
        seed: int,
        progress: ProgressFn | None = None,
    ) -> None:
        self._data = data
        self._splits = splits
        self.forget_kind = forget_kind
        self.forget_classes = forget_classes
        self.recipe = recipe
        self.model_factory = model_factory
        self.device = device
        self.seed = seed
        self.num_classes = data.num_classes
        self.input_shape = data.input_shape
        self.progress: ProgressFn = progress if progress is not None else no_progress
        self.reads: dict[str, int] = {}
        self.notes: dict[str, Any] = {}

    def note(self, key: str, value: Any) -> None:
        """Record a diagnostic for the evidence (JSON-serialisable: numbers, strings, lists, dicts)."""
        self.notes[key] = value

    def _read(self, name: str, indices: np.ndarray) -> SplitData:
        self.reads[name] = max(self.reads.get(name, 0), int(len(indices)))
        return take(self._data, indices)

    def forget(self) -> SplitData:
        """The forget samples (recorded: the method reads the data it must forget)."""
        return self._read("forget", self._splits.forget)

    def retain(self, *, max_samples: int | None = None) -> SplitData:
        """The retain set, or a seeded random subset of ``max_samples`` of it."""
        idx = self._splits.retain
        if max_samples is not None and max_samples < len(idx):
            rng = numpy_rng(self.seed, "retain-subset")
            idx = np.sort(rng.choice(idx, size=max_samples, replace=False))
        return self._read("retain", idx)

    def population(self) -> SplitData:
        """Unseen third-party data from the same distribution (never trained on)."""
        return self._read("population", self._splits.population)

    def probe_batch(self) -> torch.Tensor:
        """Inputs on which the audit checks that a returned model behaves like its own state.

        Not a read of the data by the method: :func:`auditor.train.attest.probe_batch` of the splits.
        """
        from auditor.train.attest import probe_batch

        return probe_batch(self._data.x, self._splits.forget, self._splits.retain)

    def counts(self) -> dict[str, int]:
        """Sizes of the splits (reading sizes is not reading data)."""
        return self._splits.counts()

    def generator(self, purpose: str) -> torch.Generator:
        """A CPU generator seeded for ``purpose`` within this run."""
        return torch_generator(self.seed, purpose)

    def fresh_model(self, purpose: str = "init") -> nn.Module:
        """A randomly initialised model of the audited architecture, seeded for ``purpose``."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.seed, purpose))
            return self.model_factory()

    def train(
        self, model: nn.Module, split: SplitData, *, recipe: Recipe | None = None, purpose: str = "train"
    ) -> nn.Module:
        """Train with the audit's one trainer (the original's recipe unless another is given)."""
        return train_model(
            model,
            split.x,
            split.y,
            recipe=recipe or self.recipe,
            generator=self.generator(purpose),
            device=self.device,
            progress=self.progress,
        )


@dataclass
class AuditContext:
    """The audited models and data, as attacks see them.

    Attributes:
        data: The dataset.
        splits: The splits.
        unlearned: The model under audit.
        references: Models retrained without the forget set (one per seed).
        original: The model before unlearning.
        forget_kind: ``class``, ``random``, ``indices`` or ``backdoor``.
        forget_classes: Labels forgotten (class forgetting).
        recipe: The training recipe.
        model_factory: Fresh models of the audited architecture.
        device: Where to compute.
        seed: Root seed of the audit.
        bootstrap: Bootstrap resamples for intervals.
        level: Confidence level of reported intervals.
        population_is_clean: No audited model read the population split, so it may serve as
            non-member data.
        shadows: The shadow-model store (:class:`auditor.train.shadows.ShadowStore`).
        progress: The progress display, for long phases inside attacks.
        method: The unlearning method under audit, for attacks that re-run it on shadow models.
        trigger: The backdoor trigger, under backdoor forgetting.
        controls: Deception controls (:mod:`auditor.run.controls`), name -> model: cheap fakes of
            unlearning that every attack scores like the unlearned model, so the verdict can
            require the battery to fail each of them.
        trainer: The audit's one trainer (:mod:`auditor.train.trainer`), for :meth:`retrain`.
    """

    data: LoadedData
    splits: Splits
    unlearned: nn.Module
    references: list[nn.Module]
    original: nn.Module
    forget_kind: str
    forget_classes: tuple[int, ...]
    recipe: Recipe
    model_factory: Callable[[], nn.Module]
    device: torch.device
    seed: int
    bootstrap: int = 1000
    level: float = 0.95
    population_is_clean: bool = True
    shadows: ShadowStore | None = None  # for attacks calibrated with shadow models (Need.SHADOWS)
    progress: Progress | None = None  # for long phases inside attacks
    method: MethodRunner | None = None  # the audited method; None when a checkpoint was audited (Need.METHOD)
    trigger: Trigger | None = None  # under backdoor forgetting (Need.TRIGGER)
    controls: dict[str, nn.Module] = field(default_factory=dict)
    trainer: Trainer | None = None  # the audit's one trainer, for retrains attacks ask for (ctx.retrain)
    # (id(model), flip) -> (model, logits): the model is kept so that its id cannot be reused
    _logits: dict[tuple[int, bool], tuple[nn.Module, torch.Tensor]] = field(default_factory=dict, repr=False)
    _splits: dict[str, SplitData] = field(default_factory=dict, repr=False)

    def split(self, name: str) -> SplitData:
        """``forget``, ``retain``, ``test``, ``population``, ``train`` or ``nonmember`` (gathered once)."""
        if name not in self._splits:
            indices = self.nonmember_indices() if name == "nonmember" else getattr(self.splits, name)
            self._splits[name] = take(self.data, indices)
        return self._splits[name]

    def models(self) -> dict[str, list[nn.Module]]:
        """Role -> models.

        ``unlearned``, ``reference`` (every seed), ``original``, and one ``control:<name>`` role
        per deception control.
        """
        roles = {
            "unlearned": [self.unlearned],
            "reference": list(self.references),
            "original": [self.original],
        }
        roles.update({control_role(name): [m] for name, m in self.controls.items()})
        return roles

    def logits(self, model: nn.Module, split: str) -> torch.Tensor:
        """Logits of ``model`` on a split (see :meth:`logits_at`)."""
        return self.logits_at(model, self.split(split).indices)

    def logits_at(self, model: nn.Module, indices: np.ndarray, *, flip: bool = False) -> torch.Tensor:
        """Logits of ``model`` on the samples at ``indices`` (horizontally flipped with ``flip``).

        Every model is run once over the whole dataset and every attack reads its rows from that
        pass: the splits overlap (the non-members hold the test split, LiRA's power check every
        training sample), so computing them split by split ran most samples through each model
        several times. A sample's logits do not depend on the batch it is computed in (eval mode),
        so the numbers are those of a pass over the split alone. Above :data:`FULL_PASS_BYTES` of
        logits per model the rows asked for are computed on demand instead.
        """
        indices = np.asarray(indices)
        n, classes = int(self.data.y.shape[0]), int(self.data.num_classes)
        if n * classes * 4 > FULL_PASS_BYTES:
            x = take(self.data, indices).x
            return predict_logits(model, x.flip(-1) if flip else x, device=self.device)
        key = (id(model), flip)
        if key not in self._logits:
            x = self.data.x.flip(-1) if flip else self.data.x
            self._logits[key] = (model, predict_logits(model, x, device=self.device))
        return self._logits[key][1][torch.as_tensor(indices, dtype=torch.long)]

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[ProgressFn]:
        """A progress bar for a long phase inside an attack (a no-op without a display)."""
        if self.progress is None:
            yield lambda done, tot: None
        else:
            with self.progress.task(description, total) as update:
                yield update

    def unlearn_inputs(self, splits: Splits, seed: int) -> UnlearnInputs:
        """Inputs for running the audited method on other splits (a shadow model's, say)."""
        return UnlearnInputs(
            data=self.data,
            splits=splits,
            forget_kind=self.forget_kind,
            forget_classes=self.forget_classes,
            recipe=self.recipe,
            model_factory=self.model_factory,
            device=self.device,
            seed=seed,
        )

    def generator(self, purpose: str) -> torch.Generator:
        """A torch generator seeded for ``purpose`` (the same purpose gives the same stream)."""
        return torch_generator(self.seed, purpose)

    def rng(self, purpose: str) -> np.random.Generator:
        """A NumPy generator seeded for ``purpose``."""
        return numpy_rng(self.seed, purpose)

    def comparer(self, purpose: str) -> Comparer:
        """The audit's comparisons bound to its bootstrap size, level and a generator for ``purpose``.

        Every metric of one attack should share one comparer (one purpose), so its resamples are
        drawn from one stream in metric order, as before the comparer existed.
        """
        return Comparer(reps=self.bootstrap, level=self.level, rng=self.rng(purpose))

    def shadow_store(self) -> ShadowStore:
        """The shadow models (attacks that declare ``Need.SHADOWS``)."""
        if self.shadows is None:
            raise MissingCapabilityError(
                "this attack needs shadow models and the context has no shadow store; build the context "
                "with shadows=auditor.train.shadows.ShadowStore(...) (the audit pipeline always does)"
            )
        return self.shadows

    def audited_method(self) -> MethodRunner:
        """The unlearning method under audit (attacks that declare ``Need.METHOD``)."""
        if self.method is None:
            raise MissingCapabilityError(
                "this attack re-runs the unlearning method and the audit has none (unlearner.checkpoint "
                "audits a finished model); name unlearner.name, or drop the attack"
            )
        return self.method

    def retrain(self, indices: np.ndarray, *, seed: int, role: str | None) -> nn.Module:
        """A model trained on ``data[indices]`` with the audit's recipe by the audit's one trainer.

        ``role`` is the cache role (``shadow-retrain``); None keys it as the references are keyed,
        so a retrain of the retain set with a reference's seed *is* that reference.
        """
        trainer = self.trainer if self.trainer is not None else self.shadow_store().trainer
        return trainer.train(indices, seed, role=role, label=role or "retrain").model

    def backdoor_trigger(self) -> Trigger:
        """The planted trigger (attacks that declare ``Need.TRIGGER``, under ``forget.kind: backdoor``)."""
        if self.trigger is None:
            raise MissingCapabilityError(
                "this attack tests a backdoor trigger and the audit planted none; it needs forget.kind: backdoor"
            )
        return self.trigger

    def nonmember_indices(self) -> np.ndarray:
        """The membership non-members: held-out samples of the forget set's classes.

        Under backdoor forgetting they are the decoys, which carry the trigger like the canaries.
        Otherwise the test split, plus the population split when no audited model touched it (a method that
        reads third-party data, such as distribution matching, makes it unusable as non-members).
        """
        if self.forget_kind == "backdoor" and len(self.splits.decoys):
            return self.splits.decoys
        held = self.splits.test
        if self.population_is_clean:
            held = np.union1d(held, self.splits.population)
        y = self.data.y.numpy()
        classes = np.unique(y[self.splits.forget])
        return held[np.isin(y[held], classes)]

    def nonmember_source(self) -> str:
        """Which splits :meth:`nonmember_indices` draws from, in words."""
        if self.forget_kind == "backdoor" and len(self.splits.decoys):
            return (
                "held-out decoys: population samples outside the target class carrying the trigger and the "
                "target label, never trained on"
            )
        return (
            "test and population splits"
            if self.population_is_clean
            else "test split (the method read the population split)"
        ) + ", same classes as the forget set"


@dataclass(frozen=True)
class Comparer:
    """The audit's comparisons with its bootstrap size, level and one seeded generator bound once.

    Wraps :func:`auditor.judge.stats.compare_scores` and :func:`~auditor.judge.stats.compare_proportions`.

    Attributes:
        reps: Bootstrap resamples.
        level: Confidence level of the reported intervals.
        rng: The generator every comparison of this comparer draws from, in call order.
    """

    reps: int
    level: float
    rng: np.random.Generator

    def scores(
        self,
        stat: Callable[[np.ndarray, np.ndarray], np.ndarray],
        pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]],
        *,
        max_reps: int | None = None,
        min_negatives_needed: int = 1,
    ) -> Comparison:
        """Compare a row-wise membership statistic over (member, non-member) score pairs per role.

        Args:
            stat: Row-wise statistic, e.g. :func:`auditor.judge.stats.auc_rows`.
            pairs: Role -> one (member scores, non-member scores) pair per model.
            max_reps: Cap on the resamples (for statistics that are slow or only displayed).
            min_negatives_needed: Below this many non-members the statistic is not estimable.
        """
        reps = self.reps if max_reps is None else min(self.reps, max_reps)
        return compare_scores(
            stat, pairs, reps=reps, level=self.level, rng=self.rng, min_negatives_needed=min_negatives_needed
        )

    def proportions(self, values: dict[str, list[np.ndarray]]) -> Comparison:
        """Compare per-sample outcomes (0/1 or real) on the same samples, role by role."""
        return compare_proportions(values, reps=self.reps, level=self.level, rng=self.rng)
