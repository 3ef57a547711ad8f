"""The config file's schema: one pydantic model per section, and nothing that runs an audit.

Each section validates its own types, ranges and cross-field rules. Plugin names (the unlearner,
the attacks, the architecture, the deception controls) are plain strings here: this module knows
no registry. :func:`auditor.config.parse_config` checks them against the registries by passing
:data:`auditor.config.checks.NAME_CHECKS` in the validation context, so a misspelt name is still
reported in the same pass, at its key, with its line (see :func:`_checked_name`).

It imports pydantic and the tool's pure modules only (errors, types, the registry helpers, the
dataset list of :mod:`auditor.data.datasets`), never torch or a plugin: ``import auditor.config`` stays
cheap, and the engine's modules can read a section without an import cycle.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from auditor.canonical import canonical_json
from auditor.data.datasets import DATASETS as BUILTIN_DATASETS
from auditor.registry import suggest
from auditor.types import ForgetKind, OptimizerName

DATASETS: tuple[str, ...] = tuple(BUILTIN_DATASETS)
"""The built-in dataset names when the schema was built, in the order of :data:`auditor.data.datasets.DATASETS`."""

FORGET_KINDS: tuple[str, ...] = get_args(ForgetKind)

ReportFormat = Literal["html", "pdf", "json"]
REPORT_FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)

NameCheck = Callable[[Any], object]
"""Raises ``ValueError`` (whose message is the problem) for a plugin name it does not know."""

_T = TypeVar("_T")


def _checked_name(info: ValidationInfo, kind: str, value: _T) -> _T:
    """``value`` once the caller's check for ``kind`` names (if it passed one) accepts it.

    The kinds are ``unlearner``, ``attack``, ``architecture`` and ``controls``.
    :func:`auditor.config.parse_config` passes the registry checks of
    :mod:`auditor.config.checks` as the validation context's ``names``; validated without them
    (``AuditConfig.model_validate(data)``), a plugin name is a plain string, looked up when the
    audit runs.
    """
    check = ((info.context or {}).get("names") or {}).get(kind)
    if check is not None:
        check(value)
    return value


def _resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    if "\0" in str(value):
        raise ValueError("a path cannot contain a NUL character")
    value = Path(value).expanduser()
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        value = Path(base) / value
    # Normalised (``examples/../runs/x`` -> ``runs/x``), as every message and the evidence print it.
    return Path(os.path.normpath(value))


ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]


def _takes_numbers(annotation: Any) -> bool:
    """Whether a field annotation accepts int or float values but not bool."""
    args = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else ()
    )
    options = args or (annotation,)
    if bool in options:
        return False
    return any(option in (int, float) for option in options)


def _boolean_as_number(value: Any, annotation: Any) -> bool:
    """Whether ``value`` puts a YAML boolean where ``annotation`` wants a number (also inside a list or tuple).

    pydantic's lax mode reads ``true`` as 1, so ``seed: true`` would silently become seed 1.
    """
    if isinstance(value, bool):
        return _takes_numbers(annotation)
    if isinstance(value, (list, tuple)):
        candidates = [annotation]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            candidates = list(typing.get_args(annotation))
        for candidate in candidates:
            if typing.get_origin(candidate) in (list, tuple):
                items = [a for a in typing.get_args(candidate) if a is not Ellipsis]
                if items and any(
                    isinstance(v, bool) and _takes_numbers(items[min(i, len(items) - 1)])
                    for i, v in enumerate(value)
                ):
                    return True
    return False


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable.

    Numbers must be finite (``.nan`` and ``.inf`` are refused) and a boolean is never read as a
    number (``seed: true`` is an error, not seed 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _boolean_as_number(value, field.annotation):
            raise ValueError("expected a number, got a boolean (true/false); write the number itself")
        return value


class Mnist1dConfig(Section):
    """How MNIST-1D is generated (Greydanus & Kobak, "Scaling Down Deep Learning with MNIST-1D", ICML 2024).

    The fields are the arguments of ``mnist1d.data.make_dataset`` and default to the package's
    ``get_dataset_args()``, which generate the official dataset (4,000 training and 1,000 test
    sequences of length 40). Generation is deterministic given these values; they are recorded in
    the evidence and the dataset fingerprint covers the generated arrays.
    """

    num_samples: int = Field(
        5000,
        ge=20,
        le=1_000_000,
        description=(
            "Sequences generated in all (num_samples // 10 per class), before the train/test split."
        ),
    )
    train_split: float = Field(
        0.8, gt=0, lt=1, description="Share of the sequences in the official training split."
    )
    seed: int = Field(42, ge=0, lt=2**32, description="Generation seed (42: the official dataset).")
    template_len: int = Field(12, ge=2, le=1000, description="Length the digit templates are resampled to.")
    padding: tuple[int, int] = Field(
        (36, 60), description="[low, high]: random zero padding added to each template."
    )
    scale_coeff: float = Field(
        0.4, ge=0, le=10, description="Random amplitude scaling, 1 +- scale_coeff / 2."
    )
    max_translation: int = Field(48, ge=1, le=10_000, description="Largest random circular shift.")
    corr_noise_scale: float = Field(
        0.25, ge=0, le=100, description="Scale of the smoothed (correlated) noise."
    )
    iid_noise_scale: float = Field(0.02, ge=0, le=100, description="Scale of the independent Gaussian noise.")
    shear_scale: float = Field(0.75, ge=0, le=100, description="Scale of the random linear shear.")
    shuffle_seq: bool = Field(
        False, description="Permute the 40 positions (the same way for every sequence)."
    )
    final_seq_length: int = Field(40, ge=2, le=10_000, description="Length of each generated sequence.")

    @model_validator(mode="after")
    def _ranges(self) -> Mnist1dConfig:
        if not 0 <= self.padding[0] <= self.padding[1]:
            raise ValueError(f"padding must be [low, high] with 0 <= low <= high, got {list(self.padding)}")
        n = (self.num_samples // 10) * 10
        if min(int(n * self.train_split), n - int(n * self.train_split)) < 10:
            raise ValueError(
                f"num_samples {self.num_samples} with train_split {self.train_split} leaves fewer than "
                "10 sequences in the training or the test split"
            )
        return self


class SplitFilesConfig(Section):
    """The split your original was trained on, declared by files (``data.split``).

    Each file lists one row per line, by record ID when the loader returns IDs and by dataset
    index otherwise (``by`` says which explicitly); ``#`` lines are comments.
    ``unlearn-audit split export`` writes these files for the split the audit would draw. Give
    ``train`` and at least one of ``population`` and ``test``: the rows no file names go to the one
    left out; with all three, rows no file names are not used. The files must be disjoint, every
    forget record must be in ``train``, and ``test`` and ``population`` must each hold at least 10
    rows (:mod:`auditor.data.declared`).
    """

    train: ConfigPath = Field(description="The rows the original was trained on, one per line.")
    population: ConfigPath | None = Field(
        None, description="Rows never trained on, for the attacks and for methods that read unseen data."
    )
    test: ConfigPath | None = Field(None, description="Held-out rows for utility and as non-members.")
    by: Literal["id", "index"] | None = Field(
        None,
        description=(
            "How the files name rows: id (the loader's record IDs) or index (0-based positions in the dataset). "
            "Default: id when the loader returns IDs, else index."
        ),
    )

    @model_validator(mode="after")
    def _held_out(self) -> SplitFilesConfig:
        if self.population is None and self.test is None:
            raise ValueError(
                "give train and at least one of population and test (the rows no file names go to the one you "
                "leave out)"
            )
        return self


class DataConfig(Section):
    """Which dataset, where it lives on disk, and how it is split.

    ``digits`` ships inside scikit-learn and ``mnist1d`` is generated by the ``mnist1d`` package
    (options under ``data.mnist1d``). The torchvision datasets are read from ``root`` and never
    downloaded. Datasets with an official test split keep it (the torchvision ones, mnist1d);
    others are split by the seed. ``train_size`` trains the original on a seeded, stratified
    subset of the training pool; the rest of the pool joins the population.
    """

    dataset: str = Field(
        "digits",
        description=(
            f"Dataset name ({', '.join(DATASETS)}), or 'package.module:loader' naming your own loader, called with "
            "data.options as keyword arguments and returning (x, y) or (x, y, test_mask) (auditor.data.plugin)."
        ),
    )
    options: dict[str, Any] | None = Field(
        None,
        description=(
            "Keyword arguments for a 'package.module:loader' dataset (JSON values; recorded in the evidence)."
        ),
    )
    root: ConfigPath | None = Field(
        None,
        description=(
            "Folder holding a torchvision dataset or an image folder; mnist and fashion_mnist also read the four "
            "IDX files (plain or .gz) directly in it, e.g. /usr/share/datasets/fashion-mnist (Debian package "
            "dataset-fashion-mnist)."
        ),
    )
    path: ConfigPath | None = Field(None, description="An .npz file with arrays x (N, ...) and y (N,).")
    image_size: int | None = Field(
        None, ge=4, le=512, description="imagefolder: resize images to this square size."
    )
    mnist1d: Mnist1dConfig | None = Field(
        None, description=("dataset mnist1d: generation options (defaults: the official dataset).")
    )
    test_fraction: float = Field(
        0.25, gt=0, lt=0.9, description="Share held out as test data (no official split)."
    )
    population_fraction: float = Field(
        0.2, gt=0, lt=0.9, description="Share held out as population data: never trained on, used by attacks."
    )
    train_size: int | None = Field(
        None,
        ge=1,
        description=(
            "Train the original on a seeded, stratified subset of this many samples of the training pool (what is "
            "left after the test and population splits); the rest of the pool joins the population. Default: the "
            "whole pool."
        ),
    )
    split: SplitFilesConfig | None = Field(
        None,
        description=(
            "The split your original was trained on, as files of record IDs or dataset indices (train, and "
            "population and/or test); unlearn-audit split export writes them. Default: drawn from the seed (or "
            "declared by the loader's train_mask)."
        ),
    )

    def seeded_split_keys(self) -> list[str]:
        """The keys that size the seeded split and are set, which a declared split cannot use.

        ``train_size`` when not null, and a fraction set to another value than its default.
        """
        keys = ["train_size"] if self.train_size is not None else []
        fields = type(self).model_fields
        return keys + [
            k for k in ("test_fraction", "population_fraction") if getattr(self, k) != fields[k].default
        ]

    @model_validator(mode="before")
    @classmethod
    def _mnist1d_defaults(cls, data: Any) -> Any:
        # Fill in the generation options, so the evidence's config records every one of them.
        if isinstance(data, dict) and data.get("dataset") == "mnist1d" and data.get("mnist1d") is None:
            data = {**data, "mnist1d": {}}
        return data

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if ":" in value:
            _importable_callable(
                value, what="dataset loader", hint="a function returning (x, y) or (x, y, test_mask)"
            )
        elif value not in BUILTIN_DATASETS:  # the registry itself, so an entry added at run time counts
            names = list(BUILTIN_DATASETS)
            raise ValueError(
                f"unknown dataset {value!r}.{suggest(value, names)} Known: {', '.join(names)}; "
                "or give 'package.module:loader' for your own loader"
            )
        return value

    @field_validator("options")
    @classmethod
    def _json_options(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            _json_values(value)
        return value

    @model_validator(mode="after")
    def _where(self) -> DataConfig:
        if self.options is not None and ":" not in self.dataset:
            raise ValueError(
                f"data.options are keyword arguments for a 'package.module:loader' dataset, not for "
                f"{self.dataset!r}: remove them"
            )
        if ":" in self.dataset and (self.root or self.path or self.image_size):
            raise ValueError(
                "a 'package.module:loader' dataset is read by the loader: pass its inputs through "
                "data.options and remove data.root / data.path / data.image_size"
            )
        builtin = BUILTIN_DATASETS.get(self.dataset)
        if builtin is not None and builtin.reads == "root" and self.root is None:
            raise ValueError(f"dataset {self.dataset!r} is read from a local folder: set data.root")
        if builtin is not None and builtin.reads == "path" and self.path is None:
            raise ValueError(f"dataset {self.dataset!r} needs data.path, {builtin.origin}")
        if builtin is not None and builtin.reads is None and (self.root or self.path):
            raise ValueError(f"dataset {self.dataset!r} {builtin.origin}: remove data.root / data.path")
        if self.dataset != "mnist1d" and self.mnist1d is not None:
            raise ValueError(
                f"data.mnist1d holds generation options for dataset 'mnist1d', not {self.dataset!r}: "
                "remove it or set dataset: mnist1d"
            )
        if self.test_fraction + self.population_fraction >= 0.9:
            raise ValueError("test_fraction + population_fraction must leave at least 10 % for training")
        if self.split is not None:
            drawn = self.seeded_split_keys()
            if drawn:
                raise ValueError(
                    f"data.split declares which rows were trained on and held out, so data.{', data.'.join(drawn)} "
                    "(which size the seeded split) cannot apply: remove "
                    + ("it" if len(drawn) == 1 else "them")
                    + " (choose the training rows when you export or write the split files)"
                )
        return self


class ModelConfig(Section):
    """The architecture, and optionally the user's trained original checkpoint."""

    arch: str = Field(
        "mlp",
        description=(
            "mlp, small_cnn, resnet18, or 'package.module:factory'. The default suits digits: an MLP keeps the "
            "16 LiRA shadow models of the default attack set cheap (they train batched)."
        ),
    )
    checkpoint: ConfigPath | None = Field(
        None, description="state_dict of the original model; trained if absent."
    )

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, value: str, info: ValidationInfo) -> str:
        return _checked_name(info, "architecture", value)


def _importable_callable(spec: str, *, what: str, hint: str) -> None:
    """Raise ``ValueError`` unless ``spec`` (``package.module:name``) imports to a callable."""
    from auditor.registry import import_callable

    import_callable(spec, what=what, hint=hint)


def _json_values(value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is plain JSON (it enters cache keys and the evidence)."""
    try:
        json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"must hold plain JSON values (numbers, strings, booleans, lists, mappings): {exc}"
        ) from None


class TrainingConfig(Section):
    """The one training recipe used for the original, the references and every retrain."""

    epochs: int = Field(30, ge=1, le=10_000)
    batch_size: int = Field(64, ge=1)
    optimizer: OptimizerName = "sgd"
    lr: float = Field(0.05, gt=0, le=10)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(
        5e-4,
        ge=0,
        le=1,
        description=(
            "L2 penalty; above 1 it outweighs the loss (and overflows float32 near 3.4e38), so larger values are "
            "refused."
        ),
    )
    schedule: Literal["constant", "cosine"] = "cosine"
    augment: Literal["none", "hflip", "crop_hflip"] = "none"
    function: str | None = Field(
        None,
        description=(
            "'package.module:fit': your own training function, called for the original, every reference, shadow and "
            "retrain instead of the built-in trainer (the fields above are then unused; auditor.train.plugin gives "
            "the signature). It must be deterministic given its seed; preflight checks that."
        ),
    )
    kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Keyword arguments for training.function (JSON values; they enter the model cache key)."
        ),
    )

    @field_validator("function")
    @classmethod
    def _importable_function(cls, value: str | None) -> str | None:
        if value is not None:
            if ":" not in value:
                raise ValueError(f"expected 'package.module:function', got {value!r}")
            _importable_callable(
                value,
                what="training function",
                hint="a function fit(model, x, y, *, seed, generator, device, progress, **kwargs)",
            )
        return value

    @field_validator("kwargs")
    @classmethod
    def _json_kwargs(cls, value: dict[str, Any]) -> dict[str, Any]:
        _json_values(value)
        return value

    @model_validator(mode="after")
    def _kwargs_need_function(self) -> TrainingConfig:
        if self.kwargs and self.function is None:
            raise ValueError("training.kwargs are arguments for training.function: set it or remove them")
        return self


class TriggerConfig(Section):
    """The private backdoor trigger stamped on the canary samples (forget kind ``backdoor``)."""

    pattern: Literal["patch", "pixels"] = Field(
        "patch",
        description=(
            "patch: a size x size square; pixels: `size` pixel positions drawn from the seed "
            "anywhere in the image (Athena's pixel triggers)."
        ),
    )
    size: int = Field(2, ge=1, le=64, description="Side of the patch, or number of pixels.")
    position: Literal["bottom_right", "top_left", "seeded"] = Field(
        "bottom_right",
        description="Where a patch goes (Unlearn-Sparse main_backdoor.py: bottom right); seeded draws it.",
    )
    value: float | Literal["max"] = Field(
        "max", description="Stamped value in normalised units; max = the largest value in the dataset."
    )


class ForgetConfig(Section):
    """What to forget: whole classes, a random subset, listed training records, or backdoor canaries.

    ``indices`` names a file listing the records to erase: by dataset index (``by: index``, the
    default; one per line, ``#`` comments allowed) or by the loader's record ID (``by: id``; ``kind:
    ids`` is short for ``kind: indices, by: id``), one per line or in a ``column`` of a CSV file
    with a header row. Every record must be in the training split; unknown, repeated or held-out
    records are errors. Record IDs never reach the evidence or the report: the evidence holds their
    count and a salted digest (:mod:`auditor.data.records`). ``backdoor`` stamps a private trigger
    on ``count`` (or ``fraction`` of the) training samples drawn from the seed outside the
    ``target`` class and relabels them ``target`` before the original is trained; those canaries
    are the forget set.
    """

    kind: ForgetKind = Field(
        "class",
        description="class | random | indices (by: index or id) | backdoor; ids = indices with by: id.",
        json_schema_extra={"enum": [*FORGET_KINDS, "ids"]},  # the shorthand too, so editors accept it
    )
    classes: list[int] | None = Field(None, description="kind=class: the class labels to forget.")
    fraction: float | None = Field(
        None, gt=0, lt=1, description="kind=random|backdoor: share of the training set."
    )
    count: int | None = Field(None, ge=1, description="kind=random|backdoor: number of training samples.")
    path: ConfigPath | None = Field(
        None,
        description="kind=indices: the file listing the records to erase (dataset indices or record IDs).",
    )
    by: Literal["index", "id"] | None = Field(
        None,
        description=(
            "kind=indices: how the file names records: index (dataset indices, the default) or id (the loader's "
            "record IDs)."
        ),
    )
    column: str | None = Field(
        None,
        min_length=1,
        description="kind=indices: the CSV column holding the records (the file has a header row); default: one per line.",
    )
    target: int | None = Field(
        None, ge=0, description="kind=backdoor: the label the trigger flips canaries to."
    )
    trigger: TriggerConfig | None = Field(
        None, description="kind=backdoor: the trigger (default: 2x2 patch)."
    )

    @model_validator(mode="before")
    @classmethod
    def _ids_shorthand(cls, data: Any) -> Any:
        # ``kind: ids`` names records by the loader's IDs: kind indices, by id.
        if isinstance(data, dict) and data.get("kind") == "ids":
            if data.get("by") not in (None, "id"):
                raise ValueError(f"kind 'ids' names records by ID; remove by: {data.get('by')!r}")
            data = {**data, "kind": "indices", "by": "id"}
        return data

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ForgetConfig:
        allowed = {
            "class": {"classes"},
            "random": {"fraction", "count"},
            "indices": {"path", "by", "column"},
            "backdoor": {"fraction", "count", "target", "trigger"},
        }
        given = {
            k
            for k in ("classes", "fraction", "count", "path", "by", "column", "target", "trigger")
            if getattr(self, k) is not None
        }
        extra = given - allowed[self.kind]
        if extra:
            raise ValueError(f"kind {self.kind!r} does not take {', '.join(sorted(extra))}")
        if self.kind == "class":
            if not self.classes:
                raise ValueError("kind 'class' needs classes: [label, ...] with at least one label")
            if len(set(self.classes)) != len(self.classes):
                raise ValueError("classes lists a label twice")
        if self.kind in ("random", "backdoor") and (self.fraction is None) == (self.count is None):
            raise ValueError(f"kind {self.kind!r} needs exactly one of fraction or count")
        if self.kind == "indices" and self.path is None:
            what = "record IDs" if self.by == "id" else "dataset indices"
            raise ValueError(f"kind {'ids' if self.by == 'id' else 'indices'!r} needs path: a file of {what}")
        if self.kind == "backdoor" and self.target is None:
            raise ValueError("kind 'backdoor' needs target: the label the trigger flips canaries to")
        return self

    @property
    def by_id(self) -> bool:
        """Whether the request names records by the loader's record IDs."""
        return self.kind == "indices" and self.by == "id"


class UnlearnerConfig(Section):
    """The unlearning method to audit, or the checkpoint the user's own pipeline produced."""

    name: str | None = Field("finetune", description="Registry name or 'package.module:Class'.")
    params: dict[str, Any] = Field(default_factory=dict, description="The method's hyperparameters.")
    checkpoint: ConfigPath | None = Field(None, description="An already-unlearned state_dict to audit.")

    @model_validator(mode="before")
    @classmethod
    def _checkpoint_replaces_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("checkpoint") is not None:
            if data.get("name") is not None:
                raise ValueError(
                    "give either name (a method to run) or checkpoint (an unlearned model), not both"
                )
            if data.get("params"):
                raise ValueError("params apply to a method; an unlearned checkpoint takes none")
            data = {**data, "name": None}
        return data

    @field_validator("name")
    @classmethod
    def _known(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _checked_name(info, "unlearner", value) if value is not None else None


class ReferenceConfig(Section):
    """The retrained reference: N retrains on the retain set, or supplied checkpoints."""

    seeds: int = Field(
        12,
        ge=1,
        le=64,
        description=(
            "How many references to retrain (different seeds). Their spread is the retrain-to-retrain variance every "
            "gate's interval includes; with one, no gate can pass."
        ),
    )
    checkpoints: list[ConfigPath] = Field(default_factory=list, description="Supplied retrained state_dicts.")

    @model_validator(mode="after")
    def _one_source(self) -> ReferenceConfig:
        if self.checkpoints and "seeds" in self.model_fields_set:
            raise ValueError(
                "give either seeds (retrain here) or checkpoints (supplied references), not both"
            )
        return self


class AttackConfig(Section):
    """One attack or check in the battery."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        return _checked_name(info, "attack", value)


class GateRule(Section):
    """A tolerance on |unlearned - reference| for the metrics matching ``metric`` (glob allowed)."""

    metric: str = Field(description="Metric key or glob, e.g. accuracy.forget or threshold.*.auc.")
    tolerance: float = Field(gt=0, description="Largest acceptable absolute gap to the reference.")


class IncompleteErasureConfig(Section):
    """Incomplete-erasure controls: retrains that keep part of the request in training (a shard not deleted).

    Each share listed trains one more model on the retain set plus that share of the forget set,
    chosen at random or as the records the original classifies most robustly (the least exposed).
    Every attack scores them like the unlearned model; the smallest share the battery catches is the
    audit's sensitivity to incomplete erasure, stated in the report.
    """

    random: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.25, 0.125],
        description="Shares of the request kept in training, drawn at random (nested: a smaller share is a subset).",
    )
    least_exposed: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.5, 0.25],
        description="Shares kept, the records the original classifies with the largest margin first.",
    )
    require_largest: bool = Field(
        True,
        description=(
            "No PASS while the battery cannot catch the largest share of each selection (an erasure that left "
            "that much of the request in training); false: the controls only measure the sensitivity."
        ),
    )


class GatesConfig(Section):
    """How gaps to the reference become a verdict.

    A gate passes when the (1 - 2*alpha) interval of the gap lies inside +-tolerance (an
    equivalence test), fails when the Bonferroni-corrected (1 - alpha/m) interval lies wholly
    outside it (or, with ``correction: bh``, when the Benjamini-Hochberg step-up rejects its
    "within tolerance" p-value), and is inconclusive otherwise. ``rules`` replaces the attacks'
    default gates.
    """

    alpha: float = Field(0.05, gt=0, lt=0.5)
    correction: Literal["bonferroni", "bh"] = Field(
        "bonferroni",
        description=(
            "How failures are corrected for the number of gates: bonferroni (family-wise "
            "error) or bh (Benjamini-Hochberg, false discovery rate)."
        ),
    )
    bootstrap: int = Field(
        1000,
        ge=200,
        le=100_000,
        description=(
            "Bootstrap resamples: their standard deviation enters each gate's interval (never their extreme quantiles)."
        ),
    )
    seed_multiplier: float = Field(
        4.5,
        ge=0,
        le=100,
        description=(
            "Default tolerances are at least this many standard deviations of a new retrain's metric around the "
            "references' mean (the retrain noise floor), so honest retraining passes."
        ),
    )
    controls: list[str] | None = Field(
        None,
        description=(
            "Deception controls the battery must fail (head_bias, head_rows, head_retrain, head_finetune, over_forget, "
            "label_noise); null: every one that applies to the forget kind; [] leaves only the original as a control "
            "(not recommended: the battery is then never shown to catch a cheap fake)."
        ),
    )
    incomplete_erasure: IncompleteErasureConfig | None = Field(
        default_factory=lambda: IncompleteErasureConfig(),
        description=(
            "Controls that retrain without only part of the request, to measure how incomplete an erasure this "
            "audit catches; null: none (the report then cannot state it)."
        ),
    )
    rules: list[GateRule] | None = None

    @field_validator("controls")
    @classmethod
    def _known_controls(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _checked_name(info, "controls", value) if value is not None else None


class SigningConfig(Section):
    """The key that signs the report and the evidence statement.

    PEM ``key`` + ``cert``, or a ``pkcs12`` bundle; an encrypted key's passphrase is read from the
    environment variable named by ``passphrase_env`` (never from the config). The paths may also
    come from ``UNLEARN_AUDIT_SIGNING_KEY``, ``UNLEARN_AUDIT_SIGNING_CERT`` and
    ``UNLEARN_AUDIT_SIGNING_PKCS12``. With none, ``run`` signs with a throwaway self-signed test key
    (and says so in the report); ``enabled: false`` or ``--no-sign`` leaves the report unsigned.
    """

    enabled: bool = True
    key: ConfigPath | None = None
    cert: ConfigPath | None = None
    pkcs12: ConfigPath | None = None
    passphrase_env: str = Field("UNLEARN_AUDIT_SIGNING_PASSPHRASE", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    tsa_url: str | None = Field(None, description="RFC 3161 timestamp server; no timestamp when unset.")

    @model_validator(mode="after")
    def _one_kind(self) -> SigningConfig:
        if self.pkcs12 is not None and (self.key is not None or self.cert is not None):
            raise ValueError("give either key + cert (PEM) or pkcs12, not both")
        if (self.key is None) != (self.cert is None):
            raise ValueError("key and cert go together")
        return self


class ResponsiblePerson(Section):
    """The person responsible for the audit, named in the report's signature block.

    The EU AI Act (Annex IV, point 2(g)) asks for test reports "dated and signed by the responsible
    persons"; the cryptographic signature shows which key signed, this names who answers for it.
    """

    name: str = Field(..., min_length=1, max_length=200, description="Name of the responsible person.")
    role: str | None = Field(
        None,
        max_length=200,
        description="Their role, e.g. 'Data protection officer' or 'Head of ML platform'.",
    )


class DeclaredRisk(Section):
    """What the controller declares about the people behind the records; the audit measures none of it.

    The report keeps these apart from what was measured and shows what follows when the two are
    combined (expected exposed records, the precision of an attacker's membership claims), never one
    merged score.
    """

    attacker_prior: float | None = Field(
        None,
        gt=0,
        lt=1,
        description=(
            "Prior probability that a record an attacker tests was among the erased records (the base rate "
            "of members among the attacker's candidates), e.g. 0.01."
        ),
    )
    harm: str | None = Field(
        None,
        max_length=500,
        description="The harm to a person if their record is shown to have been in the training data, in words.",
    )
    severity: Literal["low", "medium", "high", "very high"] | None = Field(
        None, description="The controller's rating of that harm."
    )


class ReportConfig(Section):
    """Where the outputs go and who the report names."""

    out: ConfigPath = Field(Path("runs/audit"), description="Output folder (overridden by --out).")
    formats: list[ReportFormat] = Field(default_factory=lambda: list(REPORT_FORMATS))
    title: str = Field("Machine unlearning audit", max_length=200)
    operator: str | None = Field(None, max_length=200, description="Who ran the audit.")
    organisation: str | None = Field(None, max_length=200)
    request_id: str | None = Field(
        None,
        max_length=200,
        description="Pseudonymous reference of the erasure request (never personal data).",
    )
    signing: SigningConfig = Field(default_factory=SigningConfig)
    responsible: ResponsiblePerson | None = Field(
        None,
        description="Who answers for this audit (the report's signature block; EU AI Act Annex IV 2(g)).",
    )
    risk: DeclaredRisk = Field(default_factory=DeclaredRisk)
    redacted: bool = Field(
        False,
        description=(
            "For reports that leave the organisation: the report lists no per-record positions, file paths, "
            "commands or host names (counts and digests stay; evidence.json keeps everything)."
        ),
    )

    @field_validator("formats")
    @classmethod
    def _json_always(cls, value: list[str]) -> list[str]:
        if "json" not in value:
            value = [*value, "json"]  # evidence.json is the source of every rendering
        if len(set(value)) != len(value):
            raise ValueError("a format is listed twice")
        return value


class ExecutionConfig(Section):
    """Where the work runs and where trained models are cached."""

    device: str = Field("auto", description="auto, cpu, cuda or cuda:N.")
    cache: bool = Field(True, description="Reuse trained models across audits.")
    executor: Literal["local", "process", "ray"] = Field(
        "local",
        description=(
            "Where shadow models train: local (this process), process (a spawn-based "
            "process pool of `workers`, each with an equal share of the CPU cores) or ray "
            "(Ray tasks; pip install 'unlearn-audit[ray]')."
        ),
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=1024,
        description=("Process-pool size, or concurrent Ray tasks to plan for (default: the CPU count)."),
    )
    ray_address: str | None = Field(
        None,
        description=(
            "ray executor: address of a running Ray cluster (e.g. ray://head:10001 or auto); "
            "null starts a local Ray instance for the audit."
        ),
    )
    cpus_per_task: float = Field(
        1.0, gt=0, le=1024, description="ray executor: CPUs each training task reserves."
    )
    gpus_per_task: float = Field(
        0.0, ge=0, le=64, description="ray executor: GPUs each training task reserves."
    )
    cache_dir: ConfigPath | None = Field(
        None, description="Model cache folder (default: $UNLEARN_AUDIT_CACHE or ~/.cache/unlearn-audit)."
    )

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
            raise ValueError(f"expected auto, cpu, cuda or cuda:N, got {value!r}")
        return value


def _default_attacks() -> list[AttackConfig]:
    """The default battery: accuracy, the threshold attacks, LiRA, the per-record test and the linear probe.

    LiRA uses 16 shadow models (per-example); the per-record test scores each forget record against
    the references' own null for it (it catches records left in training); the white-box linear probe
    catches output-layer and head-only deceptions.
    """
    return [
        AttackConfig(name="accuracy"),
        AttackConfig(name="threshold"),
        AttackConfig(name="lira"),
        AttackConfig(name="records"),
        AttackConfig(name="probe"),
    ]


class AuditConfig(Section):
    """The whole audit. See ``unlearn-audit init`` for a commented example."""

    seed: int = Field(
        0, ge=0, description="Root seed: splits, training, unlearning and attacks derive from it."
    )
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    forget: ForgetConfig = Field(default_factory=lambda: ForgetConfig(kind="class", classes=[3]))
    unlearner: UnlearnerConfig = Field(default_factory=UnlearnerConfig)
    reference: ReferenceConfig = Field(default_factory=ReferenceConfig)
    attacks: list[AttackConfig] = Field(default_factory=_default_attacks, min_length=1)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)

    @field_validator("attacks")
    @classmethod
    def _unique_attacks(cls, value: list[AttackConfig]) -> list[AttackConfig]:
        names = [a.name for a in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"attack listed twice: {', '.join(dupes)}")
        return value

    def digest(self) -> str:
        """sha256 of the canonical JSON of the resolved config."""
        return hashlib.sha256(canonical_json(self.model_dump(mode="json"))).hexdigest()
