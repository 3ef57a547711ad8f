"""A conformance kit for unlearner and attack plugins, public for their authors.

A plugin author checks a method or an attack against the contract the audit relies on with one
call, the way scikit-learn's ``check_estimator`` checks an estimator::

    from auditor.testing import check_attack, check_unlearner

    def test_my_method_conforms():
        check_unlearner(MyMethod, params={"epochs": 1})

    def test_my_attack_conforms():
        check_attack(MyAttack, params={"shadows": 4})

Each check raises :class:`AssertionError` naming the plugin and what to fix. They run on a tiny,
deterministic audit world built by the engine's own functions (:func:`tiny_setup`): scikit-learn's
8x8 digits (shipped with scikit-learn, no download), the engine's splits, a small MLP trained with
the engine's trainer, two retrained references and a shadow store. The worlds are built once per
(forget kind, seed) and shared between calls, so checking every registered plugin takes seconds
of training, not minutes. Nothing here imports pytest.
"""

from __future__ import annotations

import atexit
import copy
import json
import math
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from pydantic import BaseModel, ValidationError
from torch import nn

from attacks.base import Attack, Figure, Measurement, MetricResult, Need, Table
from auditor.config import AuditConfig, DataConfig, ForgetConfig
from auditor.data.datasets import LoadedData, load_digits
from auditor.data.splits import Splits, base_splits, make_splits
from auditor.data.triggers import Trigger
from auditor.errors import AuditFailedError
from auditor.judge.verdict import CATEGORIES
from auditor.run.context import AuditContext, MethodRunner, MissingCapabilityError, UnlearnInputs
from auditor.seeding import derive_seed, numpy_rng
from auditor.train.architectures import architecture_differences, has_nonfinite, model_factory, state_digest
from auditor.train.cache import ModelCache
from auditor.train.core import Recipe
from auditor.train.executors import LocalExecutor
from auditor.train.shadows import ShadowStore, shadow_group
from auditor.train.trainer import Trainer, TrainRequest
from auditor.types import FORGET_KINDS
from unlearners.base import ForgetRequest, Unlearner

__all__ = [
    "TINY_RECIPE",
    "TinyWorld",
    "check_attack",
    "check_unlearner",
    "tiny_audit_context",
    "tiny_setup",
]

TINY_RECIPE = Recipe(epochs=8, batch_size=64, optimizer="adam", lr=0.003, weight_decay=0.0, schedule="cosine")
"""The tiny world's training recipe: an MLP on digits reaches about 95 % test accuracy in 8 epochs."""

ARCH = "mlp"
FORGET_CLASSES = (3,)  # class forgetting
FORGET_FRACTION = 0.1  # random and indices forgetting: this share of the training split
BACKDOOR_CANARIES, BACKDOOR_TARGET = 40, 0  # backdoor forgetting
FIGURE_KINDS = ("roc", "histogram", "curve")  # what auditor.report.plots draws
CHEAP_CONTROLS = ("head_bias", "label_noise", "head_rows", "head_finetune")  # in order of preference


# --------------------------------------------------------------------------------------------------
# The tiny world


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
    """An :class:`~auditor.run.context.AuditContext` over the tiny world, as the pipeline builds one.

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


# --------------------------------------------------------------------------------------------------
# Shared helpers of the checks


def _fail(what: str, problem: str) -> AssertionError:
    return AssertionError(f"{what}: {problem}")


def _resolve_params(cls: type, what: str, params: BaseModel | Mapping[str, Any] | None) -> BaseModel:
    """``params`` validated by ``cls.Params`` (None: its defaults)."""
    model: type[BaseModel] = cls.Params  # type: ignore[attr-defined]
    if isinstance(params, model):
        return params
    if isinstance(params, BaseModel):
        raise ValueError(
            f"{what}: params is a {type(params).__name__}, not a {model.__name__}; pass one, or a dict"
        )
    try:
        return model.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise ValueError(
            f"{what}: the params given to the check are invalid for {model.__name__}: {exc}"
        ) from None


@contextmanager
def _global_rng(seed: int) -> Iterator[None]:
    """Run with torch's, NumPy's and ``random``'s global generators seeded to ``seed``; restore them after.

    The checks run a plugin twice under different global seeds: a plugin that draws from a global
    generator instead of the seeded ones it is given then gives different results.
    """
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


def _json_problem(value: Any, path: str) -> str | None:
    """Where ``value`` holds something :func:`json.dumps` with ``allow_nan=False`` refuses, or None."""
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value!r} (write None, or a finite number)"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) and key is not None:
                return f"{path} has a key of type {type(key).__name__} ({key!r}); use str keys"
            found = _json_problem(item, f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _json_problem(item, f"{path}[{i}]")
            if found:
                return found
        return None
    return (
        f"{path} is a {type(value).__module__}.{type(value).__qualname__} ({value!r:.60}); "
        "convert it with float(), int(), str() or .tolist()"
    )


def _check_json(what: str, value: Any, path: str) -> None:
    """``value`` is written to the evidence: json.dumps(allow_nan=False) must take it."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        where = _json_problem(value, path) or f"{path}: {exc}"
        raise _fail(what, f"{where}; the evidence is JSON written with allow_nan=False") from None


def _first_difference(a: Any, b: Any, path: str) -> str | None:
    """The path of the first place two JSON-like values differ, with both values, or None."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if list(a) != list(b):
            return f"{path} has keys {list(a)} then {list(b)}"
        for key in a:
            found = _first_difference(a[key], b[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"{path} has {len(a)} items then {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    try:
        same = bool(a == b) or (
            isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
        )
    except (TypeError, ValueError):  # arrays and other values without a plain truth value
        same = repr(a) == repr(b)
    return None if same else f"{path} is {a!r:.60} then {b!r:.60}"


def _check_text_attrs(cls: type, what: str, names: tuple[str, ...]) -> None:
    """Each class attribute in ``names`` is a non-empty string."""
    for attr in names:
        value = getattr(cls, attr, None)
        if not isinstance(value, str) or not value.strip():
            raise _fail(what, f"declares no {attr} (got {value!r}); set the class attribute {attr} = '...'")


def _check_name(cls: type, what: str) -> None:
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name or any(c.isspace() or c in ".:" for c in name):
        raise _fail(
            what,
            f"name {name!r} must be a non-empty string without spaces, dots or colons (it names the plugin "
            "in configs and prefixes its metric keys); set name = 'my_plugin'",
        )


def _check_params_class(cls: type, what: str) -> None:
    """``cls.Params`` is a pydantic model that forbids unknown keys and builds from its defaults."""
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise _fail(
            what, f"Params is {params!r}, not a pydantic model; declare class {cls.__name__}(Base[MyParams])"
        )
    if params.model_config.get("extra") != "forbid":
        raise _fail(
            what,
            f"{params.__name__} accepts unknown keys, so a misspelt parameter would be ignored silently; "
            "subclass the plugin base's Params (model_config extra='forbid')",
        )
    try:
        defaults = params()
    except ValidationError as exc:
        raise _fail(
            what, f"{params.__name__}() fails without arguments; give every field a default ({exc})"
        ) from None
    _check_json(what, defaults.model_dump(mode="json"), "Params().model_dump(mode='json')")


def _check_forget_kinds(kinds: object, what: str, attr: str) -> None:
    if not isinstance(kinds, frozenset) or not kinds or not kinds <= FORGET_KINDS:
        raise _fail(
            what,
            f"{attr} = {kinds!r} must be a non-empty frozenset of {', '.join(sorted(FORGET_KINDS))}",
        )


# --------------------------------------------------------------------------------------------------
# Unlearners


def check_unlearner(
    cls: type[Unlearner[Any]],
    *,
    params: BaseModel | Mapping[str, Any] | None = None,
    forget_kind: str = "class",
) -> None:
    """Check that an unlearning method keeps the contract the audit relies on.

    It declares ``name``, ``summary``, ``citation`` and a pydantic ``Params`` whose fields all have
    defaults; its ``supports`` is a subset of the four forget kinds; ``check(request)`` returns a
    list of strings; ``run()`` (never overridden) leaves the original untouched and returns a finite
    model of the same architecture; the same seed gives bitwise the same weights, reads and notes,
    whatever the global random generators hold; ``inputs.reads`` names only splits, with no more
    samples than they hold; ``inputs.notes`` are JSON-serialisable.

    Args:
        cls: The method's class.
        params: Its parameters (a ``cls.Params`` or a mapping; None: the defaults). Pass small ones
            (few epochs) to keep the check fast.
        forget_kind: The request to run it on; one of ``cls.supports``.

    Raises:
        AssertionError: The method breaks the contract; the message says what to fix.
        ValueError: ``params`` or ``forget_kind`` do not fit the method.
    """
    what = f"unlearner {getattr(cls, 'name', cls.__name__)!r} ({cls.__module__}.{cls.__qualname__})"
    _check_unlearner_declarations(cls, what)
    method = cls(_resolve_params(cls, what, params))
    _check_json(what, method.params.model_dump(mode="json"), "params.model_dump(mode='json')")
    _check_unlearner_check(method, what)
    if forget_kind not in cls.supports:
        raise ValueError(
            f"{what} supports {sorted(cls.supports)}, not {forget_kind!r}; pass forget_kind= one of them"
        )
    world = tiny_setup(forget_kind)
    problems = method.check(world.request())
    if problems:
        raise _fail(
            what,
            f"check() refuses the kit's {forget_kind} request ({world.request()}): {problems}; "
            "a method that supports a kind must serve such a small, ordinary request",
        )
    original = copy.deepcopy(world.original)
    first, inputs = _run_method(method, original, world, what, global_seed=1)
    _check_unlearned_model(first, original, world, what)
    _check_reads(inputs, world, what)
    _check_json(what, inputs.notes, "inputs.notes")
    second, again = _run_method(method, original, world, what, global_seed=2)
    _check_method_deterministic((first, inputs), (second, again), what)
    _check_run_not_overridden(cls, what)


def _check_run_not_overridden(cls: type[Unlearner[Any]], what: str) -> None:
    """``run()`` is the base class's: it hands the method a copy and checks the result.

    Checked last, so that a ``run()`` that breaks the contract is reported by what it breaks.
    """
    if cls.run is not Unlearner.run:
        raise _fail(
            what,
            "overrides run(), which copies the original and checks the result; implement unlearn() instead",
        )


def _check_unlearner_declarations(cls: type, what: str) -> None:
    """The class attributes: base class, texts, ``supports`` and ``Params``."""
    if not (isinstance(cls, type) and issubclass(cls, Unlearner)):
        raise AssertionError(f"{cls!r} is not a subclass of unlearners.base.Unlearner; subclass it")
    _check_name(cls, what)
    _check_text_attrs(cls, what, ("summary", "citation"))
    _check_forget_kinds(getattr(cls, "supports", None), what, "supports")
    _check_params_class(cls, what)


def _check_unlearner_check(method: Unlearner[Any], what: str) -> None:
    """``check(request)`` answers a list of strings for every kind the method supports."""
    for kind in sorted(method.supports):
        request = ForgetRequest(
            forget_kind=kind,
            num_classes=10,
            forget_classes=FORGET_CLASSES if kind == "class" else (),
            forget_fraction=FORGET_FRACTION if kind == "random" else None,
        )
        answer = method.check(request)
        if not isinstance(answer, list) or not all(isinstance(p, str) for p in answer):
            raise _fail(
                what, f"check({request}) returned {answer!r}; return a list of problem strings ([] if none)"
            )


def _run_method(
    method: Unlearner[Any], original: nn.Module, world: TinyWorld, what: str, *, global_seed: int
) -> tuple[nn.Module, UnlearnInputs]:
    """One run of the method on fresh inputs with the audit's seed, under the given global seed."""
    before = state_digest(original)
    inputs = world.inputs()
    try:
        with _global_rng(global_seed):
            model = method.run(original, inputs)
    except AuditFailedError as exc:  # run()'s own checks: the original modified, a non-finite result
        raise _fail(what, str(exc)) from exc
    except Exception as exc:
        raise _fail(what, f"run() raised {type(exc).__name__}: {exc}") from exc
    if state_digest(original) != before:
        raise _fail(what, "modified the original model in place; work on the copy unlearn() is given")
    return model, inputs


def _check_unlearned_model(model: object, original: nn.Module, world: TinyWorld, what: str) -> None:
    """The result is a finite module of the declared architecture, and not the original itself."""
    if not isinstance(model, nn.Module):
        raise _fail(what, f"returned {type(model).__name__}, not a torch.nn.Module")
    if model is original:
        raise _fail(what, "returned the original object itself; return the copy unlearn() is given")
    bad = has_nonfinite(model)
    if bad:
        raise _fail(what, f"produced non-finite weights in {', '.join(bad[:5])}; lower its learning rate")
    diffs = architecture_differences(model, world.model_factory)
    if diffs:
        raise _fail(
            what,
            f"returned another architecture than the original's ({'; '.join(diffs)}); "
            "attacks compare it with references of the declared one, so keep its layers and shapes",
        )
    from auditor.train.attest import attest

    try:  # the audit measures the model its state defines; the returned object must behave like it
        attest(model, world.model_factory, who=what, probe=world.inputs().probe_batch(), device=world.device)
    except AuditFailedError as exc:
        raise _fail(what, str(exc)) from exc


def _check_reads(inputs: UnlearnInputs, world: TinyWorld, what: str) -> None:
    """``inputs.reads`` names splits only, with at most as many samples as each holds."""
    known = {f.name for f in fields(Splits)}
    for name, count in inputs.reads.items():
        if name not in known:
            raise _fail(
                what,
                f"inputs.reads names {name!r}, not a split ({', '.join(sorted(known))}); read data only "
                "through inputs.forget(), inputs.retain() and inputs.population()",
            )
        size = len(getattr(world.splits, name))
        if not isinstance(count, int) or not 0 <= count <= size:
            raise _fail(what, f"inputs.reads[{name!r}] = {count!r}, but the split holds {size} samples")


def _check_method_deterministic(
    first: tuple[nn.Module, UnlearnInputs], second: tuple[nn.Module, UnlearnInputs], what: str
) -> None:
    """Two runs with one seed give the same weights, reads and notes."""
    (m1, in1), (m2, in2) = first, second
    if state_digest(m1) != state_digest(m2):
        differ = [
            k
            for k, v in m1.state_dict().items()
            if not torch.equal(v, m2.state_dict().get(k, torch.empty(0)))
        ]
        raise _fail(
            what,
            "is not deterministic: two runs with the same seed gave different weights "
            f"({', '.join(differ[:3])}); draw every random number from inputs.generator(purpose) or "
            "inputs.fresh_model(), never from torch's, NumPy's or random's global generators",
        )
    if in1.reads != in2.reads:
        raise _fail(what, f"read different data on two runs with one seed: {in1.reads} then {in2.reads}")
    diff = _first_difference(in1.notes, in2.notes, "inputs.notes")
    if diff:
        raise _fail(
            what,
            f"recorded different notes on two runs with one seed ({diff}); the evidence must be "
            "reproducible, so keep timings and other varying values out of inputs.note()",
        )


# --------------------------------------------------------------------------------------------------
# Attacks


class _Watched:
    """Forwards every attribute to the object it wraps and records that one was read."""

    def __init__(self, target: object) -> None:
        self._target = target
        self.used = False

    def __getattr__(self, name: str) -> Any:
        self.used = True
        return getattr(self._target, name)


@dataclass
class _Run:
    """One measurement of an attack, and what the kit gave it."""

    ctx: AuditContext
    measurement: Measurement
    record: dict[str, Any]
    watched: dict[Need, _Watched]


def check_attack(
    cls: type[Attack[Any]],
    *,
    params: BaseModel | Mapping[str, Any] | None = None,
    forget_kind: str = "class",
    method: MethodRunner | None = None,
) -> None:
    """Check that an attack keeps the contract the audit relies on.

    Declarations: ``name``, ``title``, ``summary``, ``citation``, ``threat_model`` and a pydantic
    ``Params`` with defaults; ``forget_kinds`` a subset of the four kinds (only ``backdoor`` when it
    requires the trigger); ``default_category`` and every metric's ``category`` among utility,
    forgetting, privacy and recoverability; every metric key prefixed ``<name>.``; ``default_gates``
    naming only metric keys. Measurement, on a context that provides exactly what ``requires``
    declares (no shadow store, method or trigger otherwise): it succeeds; it reports exactly
    ``metric_keys(kind)``, each on at least the unlearned model and the references and on no role
    the context lacks (the context also holds a deception control); it reads every capability it
    declares; its metrics, tables, details and figures are JSON-serialisable with
    ``allow_nan=False``; it leaves every audited model untouched; and a second run, under other
    global random seeds, gives the same record.

    Args:
        cls: The attack's class.
        params: Its parameters (a ``cls.Params`` or a mapping; None: the defaults). Pass small ones
            (few shadows, runs or steps) to keep the check fast.
        forget_kind: The request to measure; one of ``cls.forget_kinds`` (``backdoor`` for attacks
            that need the trigger).
        method: The method attacks with ``Need.METHOD`` re-run (default: the built-in ``noop``).

    Raises:
        AssertionError: The attack breaks the contract; the message says what to fix.
        ValueError: ``params`` or ``forget_kind`` do not fit the attack.
    """
    what = f"attack {getattr(cls, 'name', cls.__name__)!r} ({cls.__module__}.{cls.__qualname__})"
    _check_attack_declarations(cls, what)
    attack = cls(_resolve_params(cls, what, params))
    _check_json(what, attack.params.model_dump(mode="json"), "params.model_dump(mode='json')")
    for kind in sorted(cls.forget_kinds):
        _check_keys_and_gates(attack, kind, what)
    if forget_kind not in cls.forget_kinds:
        raise ValueError(
            f"{what} measures {sorted(cls.forget_kinds)}, not {forget_kind!r}; pass forget_kind= one of them"
        )
    world = tiny_setup(forget_kind)
    if method is None:
        from unlearners.noop import Noop

        # Unlearner declares name as a ClassVar, the protocol as an attribute: the same at run time.
        method = Noop()
    controls = tuple(c for c in CHEAP_CONTROLS if forget_kind in _control_kinds(c))[:1]
    with tempfile.TemporaryDirectory(prefix="unlearn-audit-kit-") as tmp:
        # Each run gets a copy of the world's model cache as it stands, so both find the same shadows
        # stored (and record the same trained/cached counts); the first run's new models are kept.
        caches = [Path(tmp) / "first", Path(tmp) / "second"]
        for cache_dir in caches:
            shutil.copytree(world.cache_dir, cache_dir)
        first = _measure(
            cls(attack.params), world, method, controls, what, cache_dir=caches[0], global_seed=1
        )
        _check_reported_keys(attack, first, what)
        _check_roles(first, what)
        _check_needs_read(first, what)
        _check_shapes(first.measurement, what)
        for part in ("metrics", "tables", "details", "figures"):
            _check_json(what, first.record[part], f"measure().{part}")
        second = _measure(
            cls(attack.params), world, method, controls, what, cache_dir=caches[1], global_seed=2
        )
        shutil.copytree(caches[0], world.cache_dir, dirs_exist_ok=True)
    diff = _first_difference(first.record, second.record, "measure()")
    if diff:
        raise _fail(
            what,
            f"is not deterministic: two runs on the same context gave different results ({diff}); draw "
            "every random number from ctx.rng(purpose), ctx.generator(purpose) or ctx.comparer(purpose), "
            "never from torch's, NumPy's or random's global generators",
        )


def _control_kinds(name: str) -> frozenset[str]:
    from auditor.run.controls import CONTROLS

    return CONTROLS[name].supports if name in CONTROLS else frozenset()


def _check_attack_declarations(cls: type, what: str) -> None:
    """The class attributes: base class, texts, ``Params``, ``requires``, ``forget_kinds``, category."""
    if not (isinstance(cls, type) and issubclass(cls, Attack)):
        raise AssertionError(f"{cls!r} is not a subclass of attacks.base.Attack; subclass it")
    _check_name(cls, what)
    _check_text_attrs(cls, what, ("title", "summary", "citation", "threat_model"))
    _check_params_class(cls, what)
    _check_forget_kinds(getattr(cls, "forget_kinds", None), what, "forget_kinds")
    if not isinstance(cls.requires, Need):
        raise _fail(
            what, f"requires = {cls.requires!r}; declare an attacks.base.Need flag (Need.NONE if nothing)"
        )
    if Need.TRIGGER in cls.requires and cls.forget_kinds != frozenset({"backdoor"}):
        raise _fail(
            what,
            f"requires Need.TRIGGER but forget_kinds = {sorted(cls.forget_kinds)}; only backdoor audits "
            "plant a trigger, so declare forget_kinds = frozenset({'backdoor'})",
        )
    if cls.default_category not in CATEGORIES:
        raise _fail(what, f"default_category {cls.default_category!r} is not one of {', '.join(CATEGORIES)}")


def _check_keys_and_gates(attack: Attack[Any], kind: str, what: str) -> None:
    """``metric_keys``, ``default_gates`` and ``category`` agree for ``kind``."""
    keys = attack.metric_keys(kind)
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise _fail(what, f"metric_keys({kind!r}) returned {keys!r}; return a non-empty list of str")
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise _fail(what, f"metric_keys({kind!r}) lists {dupes} more than once; every key must be unique")
    bad = [k for k in keys if not k.startswith(f"{attack.name}.") or k == f"{attack.name}."]
    if bad:
        raise _fail(
            what,
            f"metric keys {bad} do not start with '{attack.name}.'; prefix every key with the attack's name "
            "so gates and reports can tell attacks apart",
        )
    gates = attack.default_gates(kind)
    if not isinstance(gates, dict):
        raise _fail(
            what, f"default_gates({kind!r}) returned {type(gates).__name__}; return a dict key -> tolerance"
        )
    unknown = sorted(set(gates) - set(keys))
    if unknown:
        raise _fail(
            what, f"default_gates({kind!r}) names {unknown}, which metric_keys({kind!r}) does not report"
        )
    for key, tol in gates.items():
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not (math.isfinite(tol) and tol > 0):
            raise _fail(
                what, f"default_gates({kind!r})[{key!r}] = {tol!r}; a tolerance is a finite number > 0"
            )
    for key in keys:
        category = attack.category(key, kind)
        if category not in CATEGORIES:
            raise _fail(
                what, f"category({key!r}, {kind!r}) = {category!r}, not one of {', '.join(CATEGORIES)}"
            )


def _measure(
    attack: Attack[Any],
    world: TinyWorld,
    method: MethodRunner,
    controls: tuple[str, ...],
    what: str,
    *,
    cache_dir: Path,
    global_seed: int,
) -> _Run:
    """Measure on a context that provides exactly what the attack declares, and check it touched no model."""
    needs = type(attack).requires
    watched: dict[Need, _Watched] = {}
    if Need.SHADOWS in needs:
        watched[Need.SHADOWS] = _Watched(world.shadow_store(cache_dir))
    if Need.METHOD in needs:
        watched[Need.METHOD] = _Watched(method)
    if Need.TRIGGER in needs and world.trigger is not None:
        watched[Need.TRIGGER] = _Watched(world.trigger)
    ctx = tiny_audit_context(world=world, shadows=False, trigger=False, controls=controls)
    ctx.shadows = cast(ShadowStore | None, watched.get(Need.SHADOWS))
    ctx.method = cast(MethodRunner | None, watched.get(Need.METHOD))
    ctx.trigger = cast(Trigger | None, watched.get(Need.TRIGGER))
    before = {(role, i): state_digest(m) for role, ms in ctx.models().items() for i, m in enumerate(ms)}
    try:
        with _global_rng(global_seed):
            m = attack.measure(ctx)
    except Exception as exc:
        raise _fail(what, _measure_failure(exc, needs)) from exc
    for (role, i), digest in before.items():
        if state_digest(ctx.models()[role][i]) != digest:
            raise _fail(
                what,
                f"modified the {role} model's weights (model {i}) during measure(); work on a copy "
                "(copy.deepcopy) of any model it trains or edits",
            )
    if not isinstance(m, Measurement):
        raise _fail(what, f"measure() returned {type(m).__name__}; return an attacks.base.Measurement")
    record = {
        "metrics": [r.as_dict() if isinstance(r, MetricResult) else r for r in m.metrics],
        "tables": [t.as_dict() if isinstance(t, Table) else t for t in m.tables],
        "details": m.details,
        "figures": [f.as_dict() if isinstance(f, Figure) else f for f in m.figures],
    }
    return _Run(ctx, m, record, watched)


def _measure_failure(exc: Exception, needs: Need) -> str:
    """Why ``measure()`` raised, with a hint when it reached for something the context does not provide."""
    missing = [n for n in (Need.SHADOWS, Need.METHOD, Need.TRIGGER) if n not in needs]
    words = {
        Need.SHADOWS: "a shadow store",
        Need.METHOD: "the audited method",
        Need.TRIGGER: "a backdoor trigger",
    }
    given = f"requires = {needs!r}" if needs else "requires = Need.NONE"
    text = f"measure() raised {type(exc).__name__}: {exc}"
    if isinstance(exc, MissingCapabilityError) or (
        isinstance(exc, AttributeError) and "NoneType" in str(exc)
    ):
        return (
            f"{text}. It declares {given}, so the kit's context has no "
            f"{', '.join(words[n] for n in missing) or 'extras'}; declare what it needs in requires "
            "(e.g. requires = Need.SHADOWS | Need.METHOD), so that the config refuses audits that lack it"
        )
    if missing:
        return (
            f"{text}. The context holds exactly what it declares ({given}; no "
            f"{', '.join(words[n] for n in missing)}): if it needs one of them, declare it in requires; "
            "otherwise fix the error"
        )
    return text


def _check_reported_keys(attack: Attack[Any], run: _Run, what: str) -> None:
    """``measure()`` reports exactly ``metric_keys(kind)``, once each, as MetricResults."""
    kind = run.ctx.forget_kind
    metrics = run.measurement.metrics
    wrong = [type(r).__name__ for r in metrics if not isinstance(r, MetricResult)]
    if wrong:
        raise _fail(
            what, f"measure() reported metrics of type {wrong}; build each as an attacks.base.MetricResult"
        )
    reported = [r.key for r in metrics]
    declared = attack.metric_keys(kind)
    if sorted(reported) != sorted(declared):
        twice = sorted({k for k in reported if reported.count(k) > 1})
        raise _fail(
            what,
            f"metric_keys({kind!r}) disagrees with measure(): declared but not reported "
            f"{sorted(set(declared) - set(reported))}, reported but not declared "
            f"{sorted(set(reported) - set(declared))}"
            + (f", reported twice {twice}" if twice else "")
            + "; the gates are built from metric_keys, so it must list exactly what measure() reports",
        )


def _check_roles(run: _Run, what: str) -> None:
    """Every metric is measured on the unlearned model and the references, and on no role the context lacks.

    The original and the deception controls may go unmeasured (the verdict then records the gate as
    without a control), but a role the context does not have is a misspelling.
    """
    roles = set(run.ctx.models())
    for r in run.measurement.metrics:
        measured = set(r.comparison.per_model)
        missing = [role for role in ("unlearned", "reference") if role not in measured]
        if missing:
            raise _fail(
                what,
                f"metric {r.key!r} has no value for {missing}; every metric compares the unlearned model "
                "with the references (auditor.judge.stats.compare_proportions or compare_scores over ctx.models())",
            )
        unknown = sorted(measured - roles)
        if unknown:
            raise _fail(
                what,
                f"metric {r.key!r} reports roles {unknown} that the context does not have "
                f"({', '.join(sorted(roles))}); use the role names of ctx.models()",
            )


def _check_needs_read(run: _Run, what: str) -> None:
    """Every capability the attack declares in ``requires`` was read during ``measure()``."""
    for need, spy in run.watched.items():
        if not spy.used:
            raise _fail(
                what,
                f"declares {need!r} in requires but measure() never read it; drop the flag, or the config "
                "refuses audits that lack it for nothing",
            )


def _check_shapes(m: Measurement, what: str) -> None:
    """Tables and figures have the shapes the report draws."""
    for t in m.tables:
        if not isinstance(t, Table):
            raise _fail(
                what, f"measure() returned a table of type {type(t).__name__}; use attacks.base.Table"
            )
        bad = [i for i, row in enumerate(t.rows) if len(row) != len(t.columns)]
        if bad:
            raise _fail(
                what, f"table {t.title!r}: rows {bad[:5]} do not have {len(t.columns)} cells, one per column"
            )
    for f in m.figures:
        if not isinstance(f, Figure):
            raise _fail(
                what, f"measure() returned a figure of type {type(f).__name__}; use attacks.base.Figure"
            )
        if f.kind not in FIGURE_KINDS:
            raise _fail(
                what, f"figure {f.title!r} has kind {f.kind!r}; the report draws {', '.join(FIGURE_KINDS)}"
            )
        for s in f.series:
            extra = 1 if f.kind == "histogram" else 0
            if len(s.x) != len(s.y) + extra:
                raise _fail(
                    what,
                    f"figure {f.title!r}, series {s.label!r}: {len(s.x)} x values for {len(s.y)} y values; "
                    + (
                        "a histogram's x holds the bin edges, one more than y"
                        if extra
                        else "give one x per y"
                    ),
                )
