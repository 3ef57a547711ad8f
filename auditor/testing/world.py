"""The tiny audit world the conformance kit runs plugins on (scikit-learn's digits, a small MLP)."""

from __future__ import annotations

import atexit
import copy
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from auditor.config import AuditConfig, DataConfig, ForgetConfig
from auditor.data.datasets import LoadedData, load_digits
from auditor.data.splits import Splits, base_splits, make_splits
from auditor.data.triggers import Trigger
from auditor.plugin.context import AuditContext, MethodRunner, UnlearnInputs
from auditor.seeding import derive_seed, numpy_rng
from auditor.train.architectures import model_factory
from auditor.train.cache import ModelCache
from auditor.train.core import Recipe
from auditor.train.executors import LocalExecutor
from auditor.train.shadows import ShadowStore, shadow_group
from auditor.train.trainer import Trainer, TrainRequest
from auditor.types import FORGET_KINDS
from unlearners.base import ForgetRequest

TINY_RECIPE = Recipe(epochs=8, batch_size=64, optimizer="adam", lr=0.003, weight_decay=0.0, schedule="cosine")
"""The tiny world's training recipe: an MLP on digits reaches about 95 % test accuracy in 8 epochs."""

ARCH = "mlp"
FORGET_CLASSES = (3,)  # class forgetting
FORGET_FRACTION = 0.1  # random and indices forgetting: this share of the training split
BACKDOOR_CANARIES, BACKDOOR_TARGET = 40, 0  # backdoor forgetting
FIGURE_KINDS = ("roc", "histogram", "curve")  # what auditor.report.plots draws
CHEAP_CONTROLS = ("head_bias", "label_noise", "head_rows", "head_finetune")  # in order of preference


@dataclass(frozen=True)
class TinyWorld:
    """A small audit world: data, splits, a trained original, retrained references, the recipe.

    Its models are shared by every caller of :func:`tiny_setup` with the same arguments: treat them
    as read-only (:func:`tiny_audit_context` hands attacks copies, and the checks verify that
    plugins leave the models they are given untouched).

    Attributes:
        forget_kind: ``class``, ``random``, ``indices`` or ``backdoor``.
        data: The dataset (under backdoor forgetting, with the trigger planted on the canaries and
            decoys).
        splits: The engine's splits for this request.
        forget_classes: The forgotten labels (class forgetting), else empty.
        forget_fraction: The forget set's share of the training split (random forgetting), else None.
        recipe: The training recipe of every model here.
        arch: The architecture name (``mlp``).
        model_factory: Fresh models of that architecture.
        original: Trained on the training split.
        references: Retrained on the retain split, one per seed.
        retrained: One more retrain (another seed): the audited model of :func:`tiny_audit_context`
            when no method is given, as an honest unlearner would produce.
        trigger: The planted backdoor trigger (backdoor forgetting), else None.
        device: Where everything runs (the CPU).
        seed: The root seed.
        cache_dir: The model cache of this world's shadow models (a temporary folder, removed at exit).
    """

    forget_kind: str
    data: LoadedData
    splits: Splits
    forget_classes: tuple[int, ...]
    forget_fraction: float | None
    recipe: Recipe
    arch: str
    model_factory: Callable[[], nn.Module]
    original: nn.Module
    references: tuple[nn.Module, ...]
    retrained: nn.Module
    trigger: Trigger | None
    device: torch.device
    seed: int
    cache_dir: Path
    _controls: dict[str, nn.Module] = field(default_factory=dict, repr=False, compare=False)

    def request(self) -> ForgetRequest:
        """The forget request, as :meth:`unlearners.base.Unlearner.check` sees it."""
        return ForgetRequest(
            forget_kind=self.forget_kind,
            num_classes=self.data.num_classes,
            forget_classes=self.forget_classes,
            forget_fraction=self.forget_fraction,
        )

    def inputs(self, seed: int | None = None) -> UnlearnInputs:
        """Fresh inputs for one run of a method (seeded like the audit's run of the method by default)."""
        return UnlearnInputs(
            data=self.data,
            splits=self.splits,
            forget_kind=self.forget_kind,
            forget_classes=self.forget_classes,
            recipe=self.recipe,
            model_factory=self.model_factory,
            device=self.device,
            seed=derive_seed(self.seed, "unlearn") if seed is None else seed,
        )

    def shadow_store(self, cache_dir: Path | None = None) -> ShadowStore:
        """A new shadow store over this world, cached in ``cache_dir`` (default: the world's own).

        The shadows train (batched over stacked parameters) the first time a count is asked for and
        are read back from the cache afterwards, as fresh copies for every store.
        """
        return ShadowStore(
            trainer=self.trainer(cache_dir or self.cache_dir),
            seed=self.seed,
            train_size=int(len(self.splits.train)),
            group=shadow_group(self.forget_kind, self.data, self.splits, self.forget_classes),
        )

    def trainer(self, cache_dir: Path | None = None) -> Trainer:
        """The engine's one trainer over this world, caching in ``cache_dir`` (None: no cache)."""
        return _trainer(self.data, self.model_factory, cache_dir)

    def control(self, name: str) -> nn.Module:
        """A copy of the deception control ``name`` (:mod:`auditor.run.controls`), built once per world."""
        from auditor.run.controls import build_controls

        if name not in self._controls:
            (built,) = build_controls(
                self.original,
                [name],
                inputs_for=self.inputs,
                seed=self.seed,
                factory=self.model_factory,
                probe=self.inputs().probe_batch(),
                device=self.device,
            )
            self._controls[name] = built.model.eval()
        return copy.deepcopy(self._controls[name])


def tiny_setup(forget_kind: str = "class", *, seed: int = 0, references: int = 2) -> TinyWorld:
    """The tiny audit world for ``forget_kind``, built once per argument tuple and then shared.

    Digits (1,797 8x8 images, 10 classes) split by :func:`auditor.data.splits.make_splits`; the forget
    request is class 3, a random 10 % of the training split, the same 10 % listed as indices, or
    40 backdoor canaries relabelled 0 (planted as the pipeline plants them). The original, the
    references and one more retrain are trained by :func:`auditor.train.executors.train_group` with
    :data:`TINY_RECIPE`, seeded as the pipeline seeds them. A few seconds on one CPU core.

    Args:
        forget_kind: ``class``, ``random``, ``indices`` or ``backdoor``.
        seed: The root seed of splits, models and shadows.
        references: Reference retrains (2 by default: attacks such as ``distance`` need two).

    Raises:
        ValueError: An unknown forget kind, or fewer than one reference.
    """
    if forget_kind not in FORGET_KINDS:
        raise ValueError(f"forget_kind {forget_kind!r} is not one of {', '.join(sorted(FORGET_KINDS))}")
    if references < 1:
        raise ValueError(f"references={references}: a world needs at least one reference retrain")
    return _build_world(forget_kind, seed, references)


@cache
def _build_world(forget_kind: str, seed: int, references: int) -> TinyWorld:
    data = load_digits(DataConfig())
    splits, forget_classes, fraction, trigger, data = _splits(data, forget_kind, seed)
    factory = model_factory(ARCH, input_shape=data.input_shape, num_classes=data.num_classes)
    original = _train(data, factory, splits.train, [derive_seed(seed, "original")])[0]
    seeds = [derive_seed(seed, f"reference/{i}") for i in range(references)]
    retrains = _train(data, factory, splits.retain, [*seeds, derive_seed(seed, "kit/retrained")])
    cache_dir = Path(tempfile.mkdtemp(prefix=f"unlearn-audit-kit-{forget_kind}-"))
    atexit.register(shutil.rmtree, cache_dir, ignore_errors=True)
    return TinyWorld(
        forget_kind=forget_kind,
        data=data,
        splits=splits,
        forget_classes=forget_classes,
        forget_fraction=fraction,
        recipe=TINY_RECIPE,
        arch=ARCH,
        model_factory=factory,
        original=original,
        references=tuple(retrains[:-1]),
        retrained=retrains[-1],
        trigger=trigger,
        device=torch.device("cpu"),
        seed=seed,
        cache_dir=cache_dir,
    )


def _splits(
    data: LoadedData, forget_kind: str, seed: int
) -> tuple[Splits, tuple[int, ...], float | None, Trigger | None, LoadedData]:
    """The engine's splits for the kit's request of ``forget_kind`` (and the planted data under backdoor)."""
    cfg = DataConfig()
    with tempfile.TemporaryDirectory(prefix="unlearn-audit-kit-") as tmp:
        if forget_kind == "class":
            forget = ForgetConfig(kind="class", classes=list(FORGET_CLASSES))
        elif forget_kind == "random":
            forget = ForgetConfig(kind="random", fraction=FORGET_FRACTION)
        elif forget_kind == "indices":  # a seeded 10 % of the training split, listed in a file
            train, _, _ = base_splits(data, cfg, seed)
            rng = numpy_rng(seed, "kit/indices")
            listed = rng.choice(train, size=round(FORGET_FRACTION * len(train)), replace=False)
            path = Path(tmp) / "forget.txt"
            path.write_text("".join(f"{i}\n" for i in sorted(listed.tolist())), encoding="utf-8")
            forget = ForgetConfig(kind="indices", path=path)
        else:
            forget = ForgetConfig(kind="backdoor", count=BACKDOOR_CANARIES, target=BACKDOOR_TARGET)
        splits, problems = make_splits(data, cfg, forget, seed)
    if splits is None or problems:  # pragma: no cover - the kit's own requests are valid
        raise RuntimeError(f"the tiny {forget_kind} world has invalid splits: {problems}")
    trigger = None
    if forget_kind == "backdoor":  # planted as the pipeline plants them, on canaries and decoys
        from auditor.run.preflight import plant_canaries

        audit = AuditConfig.model_validate({"seed": seed, "data": cfg, "forget": forget})
        data, splits, trigger = plant_canaries(audit, data, splits)
    classes = FORGET_CLASSES if forget_kind == "class" else ()
    fraction = FORGET_FRACTION if forget_kind == "random" else None
    return splits, classes, fraction, trigger, data


def _trainer(data: LoadedData, factory: Callable[[], nn.Module], cache_dir: Path | None) -> Trainer:
    """The engine's one trainer with :data:`TINY_RECIPE` (no cache when ``cache_dir`` is None)."""
    return Trainer(
        data=data,
        arch=ARCH,
        recipe=TINY_RECIPE,
        factory=factory,
        cache=ModelCache(cache_dir or Path(tempfile.gettempdir()), enabled=cache_dir is not None),
        device=torch.device("cpu"),
        executor=LocalExecutor(),
    )


def _train(
    data: LoadedData, factory: Callable[[], nn.Module], indices: np.ndarray, seeds: list[int]
) -> list[nn.Module]:
    """Models trained on ``indices``, one per seed, by the engine's one trainer (batched when it can)."""
    trainer = _trainer(data, factory, None)
    got = trainer.train_many([TrainRequest(np.asarray(indices), s) for s in seeds], label="kit model")
    return [t.model for t in got]


def tiny_audit_context(
    forget_kind: str = "class",
    *,
    world: TinyWorld | None = None,
    unlearned: nn.Module | None = None,
    method: MethodRunner | None = None,
    shadows: bool | ShadowStore = True,
    trigger: bool = True,
    controls: tuple[str, ...] = (),
    bootstrap: int = 200,
    seed: int = 0,
) -> AuditContext:
    """An :class:`~auditor.plugin.context.AuditContext` over the tiny world, as the pipeline builds one.

    The context holds copies of the world's models, so an attack cannot change the shared world.

    Args:
        forget_kind: The world's forget kind (ignored when ``world`` is given).
        world: The world (default: ``tiny_setup(forget_kind, seed=seed)``).
        unlearned: The audited model (default: what ``method`` makes of the original, else the
            world's extra retrain).
        method: The audited method (:class:`unlearners.base.Unlearner`), for attacks that re-run it
            (``Need.METHOD``); None leaves the context without one, as a checkpoint audit is.
        shadows: True for a shadow store over the world's cache, a store of your own, or False
            for none (``Need.SHADOWS`` attacks then fail).
        trigger: Whether the context carries the world's backdoor trigger (backdoor worlds only).
        controls: Deception controls to score beside the audited model (:data:`auditor.run.controls.CONTROLS`).
        bootstrap: Bootstrap resamples of every comparison (small, for speed).
        seed: The root seed of the world (ignored when ``world`` is given).
    """
    world = world or tiny_setup(forget_kind, seed=seed)
    population_is_clean = True
    if unlearned is None and method is not None:
        inputs = world.inputs()
        unlearned = method.run(copy.deepcopy(world.original), inputs)
        population_is_clean = "population" not in inputs.reads
    if unlearned is None:
        unlearned = world.retrained
    store = shadows if isinstance(shadows, ShadowStore) else world.shadow_store() if shadows else None
    return AuditContext(
        data=world.data,
        splits=world.splits,
        unlearned=copy.deepcopy(unlearned).eval(),
        references=[copy.deepcopy(m) for m in world.references],
        original=copy.deepcopy(world.original),
        forget_kind=world.forget_kind,
        forget_classes=world.forget_classes,
        recipe=world.recipe,
        model_factory=world.model_factory,
        device=world.device,
        seed=world.seed,
        bootstrap=bootstrap,
        population_is_clean=population_is_clean,
        shadows=store,
        method=method,
        trigger=world.trigger if trigger else None,
        controls={name: world.control(name) for name in controls},
    )
