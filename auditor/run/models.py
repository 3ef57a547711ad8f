"""The audit's models: the original, the references and the unlearned model, each attested.

Every model the audit measures is the one it signs: it is rebuilt from its own ``state_dict()`` in
the declared architecture (:func:`auditor.train.attest.attest`) and only that rebuilt instance is
scored. A method whose returned object behaves differently from its state is refused.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from auditor.config import AuditConfig
from auditor.plugin.context import AuditContext, UnlearnInputs
from auditor.run.preflight import Prepared
from auditor.run.progress import Progress
from auditor.seeding import derive_seed
from auditor.train.architectures import file_digest
from auditor.train.attest import Attested, attest, probe_batch
from auditor.train.cache import ModelCache, default_cache_dir
from auditor.train.core import Recipe
from auditor.train.executors import Executor, make_executor
from auditor.train.trainer import Trained, Trainer, TrainRequest
from unlearners import UNLEARNERS
from unlearners.base import Unlearner

UNLEARNED_FILE = "unlearned.pt"
"""The audited model's file beside the report (a ``state_dict``), when the audit ran the method."""


@dataclass(frozen=True)
class Engine:
    """What trains and attests the audit's models: the one trainer, its cache and the probe batch.

    Attributes:
        trainer: The audit's one trainer (:mod:`auditor.train.trainer`).
        cache: The model cache it reads and writes.
        probe: Inputs on which a returned model and its rebuilt state must agree (the forget set first).
    """

    trainer: Trainer
    cache: ModelCache
    probe: torch.Tensor

    @property
    def recipe(self) -> Recipe:
        return self.trainer.recipe


def make_engine(cfg: AuditConfig, prep: Prepared, progress: Progress) -> Engine:
    """The audit's trainer (with the configured cache and executor) and its probe batch."""
    cache = ModelCache(cfg.execution.cache_dir or default_cache_dir(), enabled=cfg.execution.cache)
    trainer = Trainer(
        data=prep.data,
        arch=cfg.model.arch,
        recipe=Recipe.from_fields(**cfg.training.model_dump()),
        factory=prep.factory,
        cache=cache,
        device=prep.device,
        executor=make_executor_for(cfg),
        display=progress,
    )
    return Engine(trainer, cache, probe_batch(prep.data.x, prep.splits.forget, prep.splits.retain))


def make_executor_for(cfg: AuditConfig) -> Executor:
    """The executor the config's ``execution`` section sets up (where batches of models train)."""
    ex = cfg.execution
    return make_executor(
        ex.executor,
        workers=ex.workers,
        address=ex.ray_address,
        cpus_per_task=ex.cpus_per_task,
        gpus_per_task=ex.gpus_per_task,
    )


@dataclass(frozen=True)
class AuditedModel:
    """One attested model and its provenance for the evidence.

    Attributes:
        role: ``original``, ``reference``, ``unlearned`` or ``control:<name>``.
        attested: The model rebuilt from its state, the state and its digest.
        info: Provenance (``source``, ``seed``, ``cache_key``; ``path`` and ``file_sha256`` for a file).
    """

    role: str
    attested: Attested
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> nn.Module:
        return self.attested.model

    @property
    def sha256(self) -> str:
        return self.attested.sha256

    def record(self, **extra: Any) -> dict[str, Any]:
        """The evidence's record of this model: its role, digest and provenance."""
        return {"role": self.role, **extra, "sha256": self.sha256, **self.info}


def _from_trained(role: str, trained: Trained, engine: Engine, prep: Prepared) -> AuditedModel:
    """An attested model from the trainer (it built the model from a state itself: no probe needed)."""
    attested = attest(trained.model, prep.factory, who=role, probe=None, device=prep.device)
    return AuditedModel(
        role, attested, {"source": trained.source, "seed": trained.seed, "cache_key": trained.key}
    )


def _from_checkpoint(role: str, key: str, path: Path, prep: Prepared) -> AuditedModel:
    """An attested model from a checkpoint preflight read and checked (``model.checkpoint``, ...)."""
    model = prep.factory()
    model.load_state_dict(prep.checkpoints[key])
    attested = attest(model, prep.factory, who=f"{key} ({path})", probe=None, device=prep.device)
    return AuditedModel(
        role, attested, {"source": "checkpoint", "path": str(path), "file_sha256": file_digest(path)}
    )


def original_model(cfg: AuditConfig, prep: Prepared, engine: Engine) -> AuditedModel:
    """The original: the supplied checkpoint, or trained on the training split (cached)."""
    if cfg.model.checkpoint is not None:
        return _from_checkpoint("original", "model.checkpoint", cfg.model.checkpoint, prep)
    trained = engine.trainer.train(prep.splits.train, derive_seed(cfg.seed, "original"), label="original")
    return _from_trained("original", trained, engine, prep)


def reference_models(cfg: AuditConfig, prep: Prepared, engine: Engine) -> list[AuditedModel]:
    """The references: the supplied checkpoints, or retrains on the retain set, one per seed (cached)."""
    if cfg.reference.checkpoints:
        return [
            _from_checkpoint("reference", f"reference.checkpoints.{i}", p, prep)
            for i, p in enumerate(cfg.reference.checkpoints)
        ]
    requests = [
        TrainRequest(prep.splits.retain, derive_seed(cfg.seed, f"reference/{i}"))
        for i in range(cfg.reference.seeds)
    ]
    return [
        _from_trained("reference", t, engine, prep)
        for t in engine.trainer.train_many(requests, label="reference")
    ]


@dataclass(frozen=True)
class Unlearned:
    """The unlearned model (attested), the method that produced it and what the evidence says of it.

    Attributes:
        model: The attested unlearned model.
        method: The method instance (None when a checkpoint was audited), wrapped so that attacks
            re-running it get attested models too.
        record: The evidence's ``method`` section.
        file_bytes: The bytes of ``unlearned.pt`` (the attested state), when the audit ran the method.
    """

    model: AuditedModel
    method: AttestingMethod | None
    record: dict[str, Any]
    file_bytes: bytes | None = None


def state_file_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """A ``state_dict`` as ``torch.save`` writes it (what ``unlearned.pt`` holds)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


class AttestingMethod:
    """The audited method as attacks see it: every model it returns is attested before use.

    U-LiRA, distinguishability and differencing re-run the method on shadow originals; they then
    measure the rebuilt state like the audit measures the unlearned model, never the object the
    method returned.
    """

    def __init__(
        self, method: Unlearner[Any], factory: Callable[[], nn.Module], device: torch.device
    ) -> None:
        self._method, self._factory, self._device = method, factory, device

    @property
    def name(self) -> str:
        return self._method.name

    def run(self, original: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        result = self._method.run(original, inputs)
        probe = inputs.probe_batch()
        return attest(
            result, self._factory, who=f"unlearner {self.name!r}", probe=probe, device=self._device
        ).model


def unlearned_model(
    cfg: AuditConfig, prep: Prepared, engine: Engine, original: AuditedModel, progress: Progress
) -> Unlearned:
    """Run the method on a copy of the original (or load the unlearned checkpoint), and attest the result."""
    if cfg.unlearner.checkpoint is not None:
        model = _from_checkpoint("unlearned", "unlearner.checkpoint", cfg.unlearner.checkpoint, prep)
        return Unlearned(model, None, _checkpoint_record(cfg))
    cls = UNLEARNERS.get(cfg.unlearner.name)  # type: ignore[arg-type]
    method = cls(cls.Params.model_validate(cfg.unlearner.params))
    seed = derive_seed(cfg.seed, "unlearn")
    with progress.task(f"unlearning ({cls.name})", 1) as update:
        inputs = unlearn_inputs(cfg, prep, engine.recipe, seed, progress=update)
        t = time.perf_counter()
        returned = method.run(original.model, inputs)
        runtime = time.perf_counter() - t
    attested = attest(
        returned, prep.factory, who=f"unlearner {cls.name!r}", probe=engine.probe, device=prep.device
    )
    record = {
        "name": cls.name,
        "source": "method",
        "summary": cls.summary,
        "citation": cls.citation,
        "doc": (cls.__doc__ or "").strip().split("\n\n")[0],
        "params": method.params.model_dump(mode="json"),
        "supports": sorted(cls.supports),
        "data_read": dict(inputs.reads),
        "reads_forget_samples": "forget" in inputs.reads,
        "diagnostics": dict(inputs.notes),  # what the method recorded with inputs.note()
        "runtime_s": round(runtime, 3),
        "architecture": _architecture(cfg),
    }
    file_bytes = state_file_bytes(attested.state)
    model = AuditedModel("unlearned", attested, {"source": "method", "seed": seed})
    return Unlearned(model, AttestingMethod(method, prep.factory, prep.device), record, file_bytes)


def _architecture(cfg: AuditConfig) -> dict[str, Any]:
    return {
        "declared": cfg.model.arch,
        "matches": True,
        "differences": [],
        "measured": "rebuilt from its state_dict in the declared architecture (load_state_dict, strict)",
    }


def _checkpoint_record(cfg: AuditConfig) -> dict[str, Any]:
    return {
        "name": None,
        "source": "checkpoint",
        "summary": "Audit of a model unlearned by the user's own pipeline.",
        "citation": None,
        "params": {},
        "data_read": None,
        "reads_forget_samples": None,
        "diagnostics": None,
        "runtime_s": None,
        "architecture": _architecture(cfg),
    }


def unlearn_inputs(
    cfg: AuditConfig, prep: Prepared, recipe: Recipe, seed: int, *, progress: Any = None
) -> UnlearnInputs:
    """The inputs a method (or a deception control) gets: the audit's data, splits and recipe."""
    return UnlearnInputs(
        data=prep.data,
        splits=prep.splits,
        forget_kind=cfg.forget.kind,
        forget_classes=tuple(cfg.forget.classes or ()),
        recipe=recipe,
        model_factory=prep.factory,
        device=prep.device,
        seed=seed,
        progress=progress,
    )


def attack_context(
    cfg: AuditConfig,
    prep: Prepared,
    engine: Engine,
    *,
    original: nn.Module,
    references: list[nn.Module],
    unlearned: nn.Module,
    progress: Progress,
    **extra: Any,
) -> AuditContext:
    """What the attacks see: the data, the attested models and the trainer (the audit's and the pilot's).

    ``extra`` carries what only the whole audit has (shadows, the method, controls, the reporting level).
    """
    return AuditContext(
        data=prep.data,
        splits=prep.splits,
        unlearned=unlearned,
        references=references,
        original=original,
        forget_kind=cfg.forget.kind,
        forget_classes=tuple(cfg.forget.classes or ()),
        recipe=engine.recipe,
        model_factory=prep.factory,
        device=prep.device,
        seed=cfg.seed,
        bootstrap=cfg.gates.bootstrap,
        progress=progress,
        trigger=prep.trigger,
        trainer=engine.trainer,
        **extra,
    )
