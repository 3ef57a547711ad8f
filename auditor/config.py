"""The audit configuration: a YAML file validated by pydantic v2 models.

Validation happens in three passes, and every problem from a pass is reported at once with its
dotted key path, a close-match suggestion for misspelt keys and names, and the YAML line:

1. the schema (types, ranges, unknown keys) of the whole file;
2. each plugin's own parameters (``unlearner.params``, ``attacks[i].params``) against the
   plugin's ``Params`` model;
3. cross-field checks that need a valid config (the unlearner supports the forget kind, gates
   name metrics that the configured attacks produce).

Data-dependent checks (dataset present, forget classes exist, checkpoint fits the architecture,
output folder writable) follow in :mod:`auditor.preflight`, still before any training.
Relative paths are resolved against the config file's folder.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from auditor.errors import ConfigError, PluginNotFoundError, Problem
from auditor.registry import suggest

TORCHVISION_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn")
DATASETS = ("digits", "mnist1d", *TORCHVISION_DATASETS, "imagefolder", "npz")
FORGET_KINDS = ("class", "random", "indices", "backdoor")
REPORT_FORMATS = ("html", "pdf", "json")


def _resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    if "\0" in str(value):
        raise ValueError("a path cannot contain a NUL character")
    value = Path(value).expanduser()
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        value = Path(base) / value
    return value


ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]


def _registered(package: str, name: str) -> str:
    """``name`` if the plugin registry of ``package`` (attacks or unlearners) resolves it."""
    import importlib

    registry = getattr(importlib.import_module(package), package.upper())
    try:
        registry.get(name)
    except PluginNotFoundError as exc:
        raise ValueError(exc.message) from None
    return name


def _takes_numbers(annotation: Any) -> bool:
    """Whether a field annotation accepts int or float values but not bool."""
    import typing

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
    import typing

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
            "data.options as keyword arguments and returning (x, y) or (x, y, test_mask) (auditor.dataset_plugin)."
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
        elif value not in DATASETS:
            raise ValueError(
                f"unknown dataset {value!r}.{suggest(value, list(DATASETS))} Known: {', '.join(DATASETS)}; "
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
        needs_root = self.dataset in TORCHVISION_DATASETS or self.dataset == "imagefolder"
        if needs_root and self.root is None:
            raise ValueError(f"dataset {self.dataset!r} is read from a local folder: set data.root")
        if self.dataset == "npz" and self.path is None:
            raise ValueError("dataset 'npz' needs data.path, a .npz file with arrays 'x' and 'y'")
        if self.dataset == "digits" and (self.root or self.path):
            raise ValueError("dataset 'digits' ships with scikit-learn: remove data.root / data.path")
        if self.dataset == "mnist1d" and (self.root or self.path):
            raise ValueError(
                "dataset 'mnist1d' is generated (options under data.mnist1d): remove data.root / data.path"
            )
        if self.dataset != "mnist1d" and self.mnist1d is not None:
            raise ValueError(
                f"data.mnist1d holds generation options for dataset 'mnist1d', not {self.dataset!r}: "
                "remove it or set dataset: mnist1d"
            )
        if self.test_fraction + self.population_fraction >= 0.9:
            raise ValueError("test_fraction + population_fraction must leave at least 10 % for training")
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
    def _known_arch(cls, value: str) -> str:
        from auditor.models import ARCHITECTURES

        if ":" not in value and value not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {value!r}.{suggest(value, sorted(ARCHITECTURES))} "
                f"Known: {', '.join(sorted(ARCHITECTURES))}; or give 'package.module:factory'."
            )
        if ":" in value:
            _importable_factory(value)
        return value


def _importable_callable(spec: str, *, what: str, hint: str) -> None:
    """Raise ``ValueError`` unless ``spec`` (``package.module:name``) imports to a callable."""
    from auditor.registry import import_callable

    import_callable(spec, what=what, hint=hint)


def _json_values(value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is plain JSON (it enters cache keys and the evidence)."""
    import json

    try:
        json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"must hold plain JSON values (numbers, strings, booleans, lists, mappings): {exc}"
        ) from None


def _importable_factory(spec: str) -> None:
    """Raise ``ValueError`` unless ``spec`` (``package.module:factory``) imports to a callable."""
    _importable_callable(
        spec,
        what="architecture",
        hint="a function that returns a torch.nn.Module (or use one of mlp, resnet18, small_cnn)",
    )


class TrainingConfig(Section):
    """The one training recipe used for the original, the references and every retrain."""

    epochs: int = Field(30, ge=1, le=10_000)
    batch_size: int = Field(64, ge=1)
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
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
            "retrain instead of the built-in trainer (the fields above are then unused; auditor.training_plugin gives "
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
    """What to forget: whole classes, a random subset, listed training samples, or backdoor canaries.

    ``indices`` names a text file with one dataset index per line (``#`` comments allowed); every
    index must fall in the training split. ``backdoor`` stamps a private trigger on ``count`` (or
    ``fraction`` of the) training samples drawn from the seed outside the ``target`` class and
    relabels them ``target`` before the original is trained; those canaries are the forget set.
    """

    kind: Literal[FORGET_KINDS] = "class"  # type: ignore[valid-type]
    classes: list[int] | None = Field(None, description="kind=class: the class labels to forget.")
    fraction: float | None = Field(
        None, gt=0, lt=1, description="kind=random|backdoor: share of the training set."
    )
    count: int | None = Field(None, ge=1, description="kind=random|backdoor: number of training samples.")
    path: ConfigPath | None = Field(None, description="kind=indices: file of dataset indices, one per line.")
    target: int | None = Field(
        None, ge=0, description="kind=backdoor: the label the trigger flips canaries to."
    )
    trigger: TriggerConfig | None = Field(
        None, description="kind=backdoor: the trigger (default: 2x2 patch)."
    )

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ForgetConfig:
        allowed = {
            "class": {"classes"},
            "random": {"fraction", "count"},
            "indices": {"path"},
            "backdoor": {"fraction", "count", "target", "trigger"},
        }
        given = {
            k
            for k in ("classes", "fraction", "count", "path", "target", "trigger")
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
            raise ValueError("kind 'indices' needs path: a file of dataset indices")
        if self.kind == "backdoor" and self.target is None:
            raise ValueError("kind 'backdoor' needs target: the label the trigger flips canaries to")
        return self


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
    def _known(cls, value: str | None) -> str | None:
        return _registered("unlearners", value) if value is not None else None


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
    def _known(cls, value: str) -> str:
        return _registered("attacks", value)


class GateRule(Section):
    """A tolerance on |unlearned - reference| for the metrics matching ``metric`` (glob allowed)."""

    metric: str = Field(description="Metric key or glob, e.g. accuracy.forget or threshold.*.auc.")
    tolerance: float = Field(gt=0, description="Largest acceptable absolute gap to the reference.")


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
    rules: list[GateRule] | None = None

    @field_validator("controls")
    @classmethod
    def _known_controls(cls, value: list[str] | None) -> list[str] | None:
        from auditor.controls import CONTROLS

        unknown = [v for v in value or [] if v not in CONTROLS]
        if unknown:
            raise ValueError(f"unknown control(s) {', '.join(unknown)}: choose from {', '.join(CONTROLS)}")
        return value


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


class ReportConfig(Section):
    """Where the outputs go and who the report names."""

    out: ConfigPath = Field(Path("runs/audit"), description="Output folder (overridden by --out).")
    formats: list[Literal[REPORT_FORMATS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(REPORT_FORMATS)
    )
    title: str = Field("Machine unlearning audit", max_length=200)
    operator: str | None = Field(None, max_length=200, description="Who ran the audit.")
    organisation: str | None = Field(None, max_length=200)
    request_id: str | None = Field(
        None,
        max_length=200,
        description="Pseudonymous reference of the erasure request (never personal data).",
    )
    signing: SigningConfig = Field(default_factory=SigningConfig)

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
    """accuracy, the population threshold attacks, LiRA with 16 shadow models (per-example), and the
    white-box linear probe that catches output-layer and head-only deceptions.
    """
    return [
        AttackConfig(name="accuracy"),
        AttackConfig(name="threshold"),
        AttackConfig(name="lira"),
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


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8, NaN rejected: the bytes every digest is taken over."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


# --------------------------------------------------------------------------------------------------
# Loading and error reporting


def _yaml_line(root: yaml.Node | None, loc: tuple[Any, ...], *, key: bool = False) -> int | None:
    """1-based line of the node at ``loc`` in a composed YAML tree (the key's line if ``key``)."""
    node = root
    line = None
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line
            last = i == len(loc) - 1
            line = (match[0] if key and last else match[1]).start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line if line is not None else (node.start_mark.line + 1 if node is not None else None)


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that holds the keys at ``loc`` (for close-match suggestions)."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
        for arg in typing.get_args(current) or ():
            if isinstance(arg, type) and issubclass(arg, BaseModel) or typing.get_origin(arg) is list:
                current = arg
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def problems_from(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    prefix: tuple[Any, ...] = (),
    tree: yaml.Node | None = None,
) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into located, human-sized problems."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        full = prefix + loc
        path = ".".join(str(p) for p in full)
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            hint = suggest(str(loc[-1]), sorted(parent.model_fields)) if parent else ""
            allowed = f" Allowed keys: {', '.join(sorted(parent.model_fields))}." if parent else ""
            msg = f"unknown key {loc[-1]!r}.{hint}{allowed if not hint else ''}"
            out.append(Problem(path, msg, _yaml_line(tree, full, key=True)))
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "literal_error" and isinstance(err.get("input"), str):
            expected = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
            msg += suggest(err["input"], expected)
        elif "input" in err and err["type"] not in ("missing", "value_error", "model_type"):
            shown = repr(err["input"])
            msg += f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
        out.append(Problem(path, msg, _yaml_line(tree, full)))
    return out


def _plugin_problems(cfg: AuditConfig, tree: yaml.Node | None) -> list[Problem]:
    """Validate each plugin's params against its own schema."""
    raw = {
        "unlearner": {"name": cfg.unlearner.name, "params": cfg.unlearner.params},
        "attacks": [{"name": a.name, "params": a.params} for a in cfg.attacks],
    }
    return _raw_plugin_problems(raw, tree)


def _raw_plugin_problems(data: dict[str, Any], tree: yaml.Node | None) -> list[Problem]:
    """Validate the params of every plugin entry in a raw mapping whose name resolves."""
    from attacks import ATTACKS
    from unlearners import UNLEARNERS

    def resolve(registry: Any, entry: Any) -> Any:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None
        try:
            return registry.get(entry["name"])
        except PluginNotFoundError:
            return None

    problems: list[Problem] = []
    entries: list[tuple[tuple[Any, ...], Any, Any]] = []
    unlearner = data.get("unlearner")
    if resolve(UNLEARNERS, unlearner) is not None:
        entries.append(
            (("unlearner", "params"), resolve(UNLEARNERS, unlearner), unlearner.get("params") or {})
        )
    attacks = data.get("attacks")
    for i, attack in enumerate(attacks if isinstance(attacks, list) else []):
        if resolve(ATTACKS, attack) is not None:
            entries.append((("attacks", i, "params"), resolve(ATTACKS, attack), attack.get("params") or {}))
    for prefix, plugin, params in entries:
        try:
            plugin.Params.model_validate(params)
        except ValidationError as exc:
            problems += problems_from(exc, plugin.Params, prefix=prefix, tree=tree)
    return problems


def _cross_problems(cfg: AuditConfig, tree: yaml.Node | None) -> list[Problem]:
    """Checks across sections, run only when every section is valid on its own."""
    from attacks import ATTACKS
    from unlearners import UNLEARNERS

    problems = []
    if cfg.unlearner.name is not None:
        method = UNLEARNERS.get(cfg.unlearner.name)
        if cfg.forget.kind not in method.supports:
            problems.append(
                Problem(
                    "forget.kind",
                    f"unlearner {cfg.unlearner.name!r} does not support {cfg.forget.kind!r} forgetting; "
                    f"it supports: {', '.join(sorted(method.supports))}",
                    _yaml_line(tree, ("forget", "kind")),
                )
            )
    if cfg.gates.controls:
        from auditor.controls import CONTROLS

        for i, name in enumerate(cfg.gates.controls):
            if cfg.forget.kind not in CONTROLS[name].supports:
                problems.append(
                    Problem(
                        f"gates.controls.{i}",
                        f"control {name!r} does not apply to {cfg.forget.kind!r} forgetting (it applies to: "
                        f"{', '.join(sorted(CONTROLS[name].supports))}); remove it, or leave gates.controls unset to use "
                        "every control that applies",
                        _yaml_line(tree, ("gates", "controls", i)),
                    )
                )
    for i, attack in enumerate(cfg.attacks):
        if ATTACKS.get(attack.name).needs_method and cfg.unlearner.name is None:
            problems.append(
                Problem(
                    f"attacks.{i}.name",
                    f"attack {attack.name!r} re-runs the unlearning method on shadow models, so it needs unlearner.name; "
                    "an audit of an unlearned checkpoint cannot use it",
                    _yaml_line(tree, ("attacks", i, "name")),
                )
            )
    metrics = all_metric_keys(cfg)
    for i, rule in enumerate(cfg.gates.rules or []):
        if not fnmatch.filter(metrics, rule.metric):
            problems.append(
                Problem(
                    f"gates.rules.{i}.metric",
                    f"{rule.metric!r} matches no metric of the configured attacks.{suggest(rule.metric, metrics)} "
                    f"Metrics: {', '.join(metrics)}",
                    _yaml_line(tree, ("gates", "rules", i, "metric")),
                )
            )
    return problems


def all_metric_keys(cfg: AuditConfig) -> list[str]:
    """Every metric key the configured attacks will report, for gate validation."""
    from attacks import ATTACKS

    keys: list[str] = []
    for attack in cfg.attacks:
        plugin = ATTACKS.get(attack.name)
        keys += plugin(plugin.Params.model_validate(attack.params)).metric_keys(cfg.forget.kind)
    return keys


def parse_config(
    data: Any,
    *,
    base_dir: Path | None = None,
    source: str | None = None,
    tree: yaml.Node | None = None,
    known: list[Problem] | None = None,
) -> AuditConfig:
    """Validate an already-parsed mapping. Raises :class:`ConfigError` listing every problem.

    Args:
        data: The parsed YAML (a mapping, or None for an empty file).
        base_dir: Folder that relative paths resolve against.
        source: The file name, for messages.
        tree: The composed YAML tree, for line numbers.
        known: Problems found before validation (duplicate keys, bad ``--set`` items); they are
            reported together with the validator's own.
    """
    known = list(known or [])
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            known
            + [Problem("", f"expected a mapping of sections at the top level, got {type(data).__name__}")],
            source=source,
        )
    try:
        cfg = AuditConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = problems_from(exc, AuditConfig, tree=tree)
        # Plugin params are still checked for every entry whose name resolved.
        raise ConfigError(known + problems + _raw_plugin_problems(data, tree), source=source) from None
    problems = _plugin_problems(cfg, tree)
    if not problems:
        problems = _cross_problems(cfg, tree)
    if known or problems:
        raise ConfigError(known + problems, source=source)
    return cfg


# --------------------------------------------------------------------------------------------------
# Reading YAML safely
#
# ``yaml.safe_load`` executes no code, but it expands aliases: a 530-byte file of ten nested
# ``&a [*a, *a, ...]`` levels ("billion laughs") describes 10^10 values, and validating it exhausts
# memory. Configs are small, so aliases stay allowed within two limits, checked on the composed
# node graph before any Python object is built: at most MAX_ALIASES alias uses, and at most
# MAX_EXPANDED_NODES nodes once every alias is expanded (each scalar, list and mapping counts as
# one). A recursive alias (a value containing itself) is refused.

MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _YamlLimitError(yaml.YAMLError):
    """A document that breaks one of the alias limits."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that stops composing after :data:`MAX_ALIASES` alias uses."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_uses = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_uses += 1
            if self.alias_uses > MAX_ALIASES:
                raise _YamlLimitError(
                    f"more than {MAX_ALIASES} alias uses (*name); configs this tool reads need "
                    "far fewer: write the values out",
                    self.peek_event().start_mark,
                )
        return super().compose_node(parent, index)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node | None, *, limit: int = MAX_EXPANDED_NODES) -> int:
    """Nodes in ``root`` with every alias expanded, counted without expanding anything.

    Shared (aliased) nodes are counted once per use through a memo, so the count costs one visit
    per distinct node. Counting stops just past ``limit``.

    Raises:
        _YamlLimitError: A node contains itself through an alias (a recursive structure).
    """
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in active:
            raise _YamlLimitError(
                "a recursive alias (a value that contains itself); write the values out", node.start_mark
            )
        active.add(key)
        total = 1
        for child in _children(node):
            total += size(child)
            if total > limit:
                break
        active.discard(key)
        memo[key] = min(total, limit + 1)
        return memo[key]

    return 0 if root is None else size(root)


def duplicate_key_problems(root: yaml.Node | None) -> list[Problem]:
    """A problem for every mapping key given twice (YAML keeps the last value without a word)."""
    problems: list[Problem] = []
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                walk(child, (*path, str(i)))
            return
        if not isinstance(node, yaml.MappingNode):
            return
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                ident, line = (key.tag, key.value), key.start_mark.line + 1
                if ident in first:
                    problems.append(
                        Problem(
                            ".".join((*path, name)),
                            f"duplicate key {name!r} (first on line "
                            f"{first[ident]}): YAML keeps only the last value; remove one of them",
                            line,
                        )
                    )
                else:
                    first[ident] = line
            walk(value, (*path, name))

    if root is not None:
        walk(root, ())
    return problems


def read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Compose, check and construct one YAML document with the alias limits above.

    Returns:
        (the composed node tree, for line numbers; the constructed data).

    Raises:
        ConfigError: Not valid YAML, too deeply nested, or over an alias limit (one problem, located
            by line when known).
    """
    loader = None
    try:
        loader = _ConfigLoader(text)  # the reader already refuses control characters here
        tree = loader.get_single_node()
        if expanded_size(tree) > MAX_EXPANDED_NODES:
            raise _YamlLimitError(
                f"aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?); "
                "write the values out or use fewer aliases"
            )
        data = loader.construct_document(tree) if tree is not None else None
    except _YamlLimitError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError([Problem("", f"YAML refused: {exc.problem}", line)]) from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a multi-line str()
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        raise ConfigError(
            [
                Problem(
                    "",
                    f"not valid YAML: character #x{exc.character:04x} is not allowed "
                    "(a control character); remove it",
                    line,
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(str(getattr(exc, "problem", None) or exc).split())  # always one line
        raise ConfigError([Problem("", f"not valid YAML: {detail}", line)]) from None
    except RecursionError:
        raise ConfigError(
            [Problem("", "not usable YAML: nested too deeply; flatten the structure")]
        ) from None
    except (
        Exception
    ) as exc:  # a tagged scalar that does not convert (!!int x, !!timestamp x) fails in many ways
        detail = " ".join(str(exc).split())
        raise ConfigError([Problem("", f"not valid YAML: {type(exc).__name__}: {detail}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return tree, data


def decode_config_bytes(raw: bytes) -> str:
    """The text of a config file, which must be UTF-8 (a UTF-8 byte-order mark is allowed).

    Raises:
        ConfigError: UTF-16/UTF-32 text or bytes that are not UTF-8 (says where and how to fix it).
    """
    import codecs

    wide = {
        codecs.BOM_UTF32_LE: "UTF-32",
        codecs.BOM_UTF32_BE: "UTF-32",
        codecs.BOM_UTF16_LE: "UTF-16",
        codecs.BOM_UTF16_BE: "UTF-16",
    }
    for bom, name in wide.items():
        if raw.startswith(bom):
            raise ConfigError([Problem("", f"the file is {name} text; save it as UTF-8")])
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ConfigError(
            [
                Problem(
                    "",
                    "the file holds NUL bytes (UTF-16 text or a binary file?); save it as UTF-8 text",
                    line,
                )
            ]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [
                Problem(
                    "",
                    f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} cannot "
                    "be decoded; save the file as UTF-8",
                    line,
                )
            ]
        ) from None


def load_config(path: str | Path, *, overrides: dict[str, Any] | None = None) -> AuditConfig:
    """Read, validate and resolve a YAML config file.

    Args:
        path: The YAML file (UTF-8).
        overrides: Dotted keys to set after reading, e.g. ``{"report.out": "runs/x"}``; list
            entries are addressed by index (``attacks.0.name``).

    Raises:
        ConfigError: The file is unreadable, not UTF-8 YAML, over the alias limits, or invalid
            (every problem listed: duplicate keys and bad overrides included).
    """
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [Problem("", f"cannot read the config file: {exc.strerror or exc}")], source=source
        ) from None
    try:
        tree, data = read_yaml(decode_config_bytes(raw))
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=source) from None
    known = duplicate_key_problems(tree)
    if isinstance(data, dict) or data is None:
        data = data if isinstance(data, dict) else {}
        for key, value in (overrides or {}).items():
            known += set_dotted(data, key, value)
    importable_beside(path.resolve().parent)
    return parse_config(data, base_dir=path.resolve().parent, source=source, tree=tree, known=known)


def importable_beside(folder: Path) -> None:
    """Let ``package.module:name`` references (model.arch, training.function, a dataset loader, plugins)
    name modules that sit next to the config file, as the user's own package usually does.

    The folder goes at the *end* of ``sys.path``, so it never shadows an installed package or the
    standard library; spawned worker processes inherit it.
    """
    import sys

    entry = str(folder)
    if entry not in sys.path:
        sys.path.append(entry)


_OVERRIDE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*")


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--set``) as a mapping of dotted keys to YAML-parsed values.

    Raises:
        ConfigError: Listing every item that is not ``KEY=VALUE``, whose key is not a dotted path of
            names and list indices, or whose value is not valid YAML (the alias limits apply).
    """
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(
                Problem("--set", f"expected KEY=VALUE, got {item!r}; e.g. --set unlearner.name=retrain")
            )
            continue
        if not _OVERRIDE_KEY.fullmatch(key):
            problems.append(
                Problem(
                    key,
                    f"--set {item!r}: the key must be dotted names and list indices, e.g. "
                    "training.epochs or attacks.0.name",
                )
            )
            continue
        try:
            out[key] = read_yaml(raw)[1]
        except ConfigError as exc:
            detail = exc.problems[0].message
            problems.append(Problem(key, f"--set {item!r}: {detail}; quote the value or fix the YAML"))
    if problems:
        raise ConfigError(problems, source="--set")
    return out


def set_dotted(data: dict[str, Any], key: str, value: Any) -> list[Problem]:
    """Set ``data[a][b]...`` for the dotted ``key`` (integer parts index lists); the problems that stop it.

    Missing mappings on the way are created; an existing scalar or a list index out of range is a
    problem (the config is left unchanged).
    """
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[:depth]) or "the config"
        if isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        elif isinstance(node, list) and part.isdigit():
            index = int(part)
            if index >= len(node):
                return [
                    Problem(
                        key,
                        f"--set {key}: {where} has {len(node)} entr{'y' if len(node) == 1 else 'ies'}, "
                        f"so index {index} does not exist; add the entry in the config file",
                    )
                ]
            if last:
                node[index] = value
            else:
                node = node[index]
        else:
            shown = repr(node)
            shown = shown[:40] + "..." if len(shown) > 40 else shown
            kind = "a list (use an index, e.g. .0)" if isinstance(node, list) else f"the value {shown}"
            return [Problem(key, f"--set {key}: {where} is {kind}, not a section, so it has no key {part!r}")]
    return []


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file (``unlearn-audit config schema``)."""
    schema = AuditConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "unlearn-audit configuration"
    return schema
