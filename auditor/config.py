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


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Mnist1dConfig(Section):
    """How MNIST-1D is generated (Greydanus & Kobak, "Scaling Down Deep Learning with MNIST-1D", ICML 2024).

    The fields are the arguments of ``mnist1d.data.make_dataset`` and default to the package's
    ``get_dataset_args()``, which generate the official dataset (4,000 training and 1,000 test
    sequences of length 40). Generation is deterministic given these values; they are recorded in
    the evidence and the dataset fingerprint covers the generated arrays.
    """

    num_samples: int = Field(5000, ge=20, le=1_000_000, description=(
        "Sequences generated in all (num_samples // 10 per class), before the train/test split."))
    train_split: float = Field(0.8, gt=0, lt=1, description="Share of the sequences in the official training split.")
    seed: int = Field(42, ge=0, lt=2**32, description="Generation seed (42: the official dataset).")
    template_len: int = Field(12, ge=2, le=1000, description="Length the digit templates are resampled to.")
    padding: tuple[int, int] = Field((36, 60), description="[low, high]: random zero padding added to each template.")
    scale_coeff: float = Field(0.4, ge=0, le=10, description="Random amplitude scaling, 1 +- scale_coeff / 2.")
    max_translation: int = Field(48, ge=1, le=10_000, description="Largest random circular shift.")
    corr_noise_scale: float = Field(0.25, ge=0, le=100, description="Scale of the smoothed (correlated) noise.")
    iid_noise_scale: float = Field(0.02, ge=0, le=100, description="Scale of the independent Gaussian noise.")
    shear_scale: float = Field(0.75, ge=0, le=100, description="Scale of the random linear shear.")
    shuffle_seq: bool = Field(False, description="Permute the 40 positions (the same way for every sequence).")
    final_seq_length: int = Field(40, ge=2, le=10_000, description="Length of each generated sequence.")

    @model_validator(mode="after")
    def _ranges(self) -> Mnist1dConfig:
        if not 0 <= self.padding[0] <= self.padding[1]:
            raise ValueError(f"padding must be [low, high] with 0 <= low <= high, got {list(self.padding)}")
        n = (self.num_samples // 10) * 10
        if min(int(n * self.train_split), n - int(n * self.train_split)) < 10:
            raise ValueError(f"num_samples {self.num_samples} with train_split {self.train_split} leaves fewer than "
                             "10 sequences in the training or the test split")
        return self


class DataConfig(Section):
    """Which dataset, where it lives on disk, and how it is split.

    ``digits`` ships inside scikit-learn and ``mnist1d`` is generated by the ``mnist1d`` package
    (options under ``data.mnist1d``). The torchvision datasets are read from ``root`` and never
    downloaded. Datasets with an official test split keep it (the torchvision ones, mnist1d);
    others are split by the seed. ``train_size`` trains the original on a seeded, stratified
    subset of the training pool; the rest of the pool joins the population.
    """

    dataset: Literal[DATASETS] = Field("digits", description="Dataset name.")  # type: ignore[valid-type]
    root: ConfigPath | None = Field(None, description=(
        "Folder holding a torchvision dataset or an image folder; mnist and fashion_mnist also read the four "
        "IDX files (plain or .gz) directly in it, e.g. /usr/share/datasets/fashion-mnist (Debian package "
        "dataset-fashion-mnist)."))
    path: ConfigPath | None = Field(None, description="An .npz file with arrays x (N, ...) and y (N,).")
    image_size: int | None = Field(None, ge=4, le=512, description="imagefolder: resize images to this square size.")
    mnist1d: Mnist1dConfig | None = Field(None, description=(
        "dataset mnist1d: generation options (defaults: the official dataset)."))
    test_fraction: float = Field(0.25, gt=0, lt=0.9, description="Share held out as test data (no official split).")
    population_fraction: float = Field(
        0.2, gt=0, lt=0.9, description="Share held out as population data: never trained on, used by attacks."
    )
    train_size: int | None = Field(None, ge=1, description=(
        "Train the original on a seeded, stratified subset of this many samples of the training pool (what is "
        "left after the test and population splits); the rest of the pool joins the population. Default: the "
        "whole pool."))

    @model_validator(mode="before")
    @classmethod
    def _mnist1d_defaults(cls, data: Any) -> Any:
        # Fill in the generation options, so the evidence's config records every one of them.
        if isinstance(data, dict) and data.get("dataset") == "mnist1d" and data.get("mnist1d") is None:
            data = {**data, "mnist1d": {}}
        return data

    @model_validator(mode="after")
    def _where(self) -> DataConfig:
        needs_root = self.dataset in TORCHVISION_DATASETS or self.dataset == "imagefolder"
        if needs_root and self.root is None:
            raise ValueError(f"dataset {self.dataset!r} is read from a local folder: set data.root")
        if self.dataset == "npz" and self.path is None:
            raise ValueError("dataset 'npz' needs data.path, a .npz file with arrays 'x' and 'y'")
        if self.dataset == "digits" and (self.root or self.path):
            raise ValueError("dataset 'digits' ships with scikit-learn: remove data.root / data.path")
        if self.dataset == "mnist1d" and (self.root or self.path):
            raise ValueError("dataset 'mnist1d' is generated (options under data.mnist1d): remove data.root / data.path")
        if self.dataset != "mnist1d" and self.mnist1d is not None:
            raise ValueError(f"data.mnist1d holds generation options for dataset 'mnist1d', not {self.dataset!r}: "
                             "remove it or set dataset: mnist1d")
        if self.test_fraction + self.population_fraction >= 0.9:
            raise ValueError("test_fraction + population_fraction must leave at least 10 % for training")
        return self


class ModelConfig(Section):
    """The architecture, and optionally the user's trained original checkpoint."""

    arch: str = Field("mlp", description=(
        "mlp, small_cnn, resnet18, or 'package.module:factory'. The default suits digits: an MLP keeps the "
        "16 LiRA shadow models of the default attack set cheap (they train batched)."))
    checkpoint: ConfigPath | None = Field(None, description="state_dict of the original model; trained if absent.")

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, value: str) -> str:
        from auditor.models import ARCHITECTURES

        if ":" not in value and value not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {value!r}.{suggest(value, sorted(ARCHITECTURES))} "
                f"Known: {', '.join(sorted(ARCHITECTURES))}; or give 'package.module:factory'."
            )
        return value


class TrainingConfig(Section):
    """The one training recipe used for the original, the references and every retrain."""

    epochs: int = Field(30, ge=1, le=10_000)
    batch_size: int = Field(64, ge=1)
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = Field(0.05, gt=0, le=10)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(5e-4, ge=0)
    schedule: Literal["constant", "cosine"] = "cosine"
    augment: Literal["none", "hflip", "crop_hflip"] = "none"


class TriggerConfig(Section):
    """The private backdoor trigger stamped on the canary samples (forget kind ``backdoor``)."""

    pattern: Literal["patch", "pixels"] = Field(
        "patch", description=("patch: a size x size square; pixels: `size` pixel positions drawn from the seed "
                              "anywhere in the image (Athena's pixel triggers)."))
    size: int = Field(2, ge=1, le=64, description="Side of the patch, or number of pixels.")
    position: Literal["bottom_right", "top_left", "seeded"] = Field(
        "bottom_right", description="Where a patch goes (Unlearn-Sparse main_backdoor.py: bottom right); seeded draws it.")
    value: float | Literal["max"] = Field(
        "max", description="Stamped value in normalised units; max = the largest value in the dataset.")


class ForgetConfig(Section):
    """What to forget: whole classes, a random subset, listed training samples, or backdoor canaries.

    ``indices`` names a text file with one dataset index per line (``#`` comments allowed); every
    index must fall in the training split. ``backdoor`` stamps a private trigger on ``count`` (or
    ``fraction`` of the) training samples drawn from the seed outside the ``target`` class and
    relabels them ``target`` before the original is trained; those canaries are the forget set.
    """

    kind: Literal[FORGET_KINDS] = "class"  # type: ignore[valid-type]
    classes: list[int] | None = Field(None, description="kind=class: the class labels to forget.")
    fraction: float | None = Field(None, gt=0, lt=1, description="kind=random|backdoor: share of the training set.")
    count: int | None = Field(None, ge=1, description="kind=random|backdoor: number of training samples.")
    path: ConfigPath | None = Field(None, description="kind=indices: file of dataset indices, one per line.")
    target: int | None = Field(None, ge=0, description="kind=backdoor: the label the trigger flips canaries to.")
    trigger: TriggerConfig | None = Field(None, description="kind=backdoor: the trigger (default: 2x2 patch).")

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ForgetConfig:
        allowed = {"class": {"classes"}, "random": {"fraction", "count"}, "indices": {"path"},
                   "backdoor": {"fraction", "count", "target", "trigger"}}
        given = {k for k in ("classes", "fraction", "count", "path", "target", "trigger") if getattr(self, k) is not None}
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
                raise ValueError("give either name (a method to run) or checkpoint (an unlearned model), not both")
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

    seeds: int = Field(12, ge=1, le=64, description=(
        "How many references to retrain (different seeds). Their spread is the retrain-to-retrain variance every "
        "gate's interval includes; with one, no gate can pass."))
    checkpoints: list[ConfigPath] = Field(default_factory=list, description="Supplied retrained state_dicts.")

    @model_validator(mode="after")
    def _one_source(self) -> ReferenceConfig:
        if self.checkpoints and "seeds" in self.model_fields_set:
            raise ValueError("give either seeds (retrain here) or checkpoints (supplied references), not both")
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
        "bonferroni", description=("How failures are corrected for the number of gates: bonferroni (family-wise "
                                   "error) or bh (Benjamini-Hochberg, false discovery rate)."))
    bootstrap: int = Field(1000, ge=200, le=100_000, description=(
        "Bootstrap resamples: their standard deviation enters each gate's interval (never their extreme quantiles)."))
    seed_multiplier: float = Field(4.5, ge=0, le=100, description=(
        "Default tolerances are at least this many standard deviations of a new retrain's metric around the "
        "references' mean (the retrain noise floor), so honest retraining passes."))
    controls: list[str] | None = Field(None, description=(
        "Deception controls the battery must fail (head_bias, head_rows, head_retrain, head_finetune, over_forget, "
        "label_noise); null: every one that applies to the forget kind; [] leaves only the original as a control "
        "(not recommended: the battery is then never shown to catch a cheap fake)."))
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
        None, max_length=200, description="Pseudonymous reference of the erasure request (never personal data)."
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
        "local", description=("Where shadow models train: local (this process), process (a spawn-based "
                              "process pool of `workers`, each with an equal share of the CPU cores) or ray "
                              "(Ray tasks; pip install 'unlearn-audit[ray]')."))
    workers: int | None = Field(None, ge=1, le=1024, description=(
        "Process-pool size, or concurrent Ray tasks to plan for (default: the CPU count)."))
    ray_address: str | None = Field(None, description=(
        "ray executor: address of a running Ray cluster (e.g. ray://head:10001 or auto); "
        "null starts a local Ray instance for the audit."))
    cpus_per_task: float = Field(1.0, gt=0, le=1024, description="ray executor: CPUs each training task reserves.")
    gpus_per_task: float = Field(0.0, ge=0, le=64, description="ray executor: GPUs each training task reserves.")
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
    white-box linear probe that catches output-layer and head-only deceptions."""
    return [AttackConfig(name="accuracy"), AttackConfig(name="threshold"), AttackConfig(name="lira"),
            AttackConfig(name="probe")]


class AuditConfig(Section):
    """The whole audit. See ``unlearn-audit init`` for a commented example."""

    seed: int = Field(0, ge=0, description="Root seed: splits, training, unlearning and attacks derive from it.")
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
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


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
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                current = arg
            elif typing.get_origin(arg) is list:
                current = arg
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def problems_from(exc: ValidationError, model: type[BaseModel], *, prefix: tuple[Any, ...] = (),
                  tree: yaml.Node | None = None) -> list[Problem]:
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
            msg = msg[len("Value error, "):]
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
    raw = {"unlearner": {"name": cfg.unlearner.name, "params": cfg.unlearner.params},
           "attacks": [{"name": a.name, "params": a.params} for a in cfg.attacks]}
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
        entries.append((("unlearner", "params"), resolve(UNLEARNERS, unlearner), unlearner.get("params") or {}))
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
            problems.append(Problem(
                "forget.kind",
                f"unlearner {cfg.unlearner.name!r} does not support {cfg.forget.kind!r} forgetting; "
                f"it supports: {', '.join(sorted(method.supports))}",
                _yaml_line(tree, ("forget", "kind")),
            ))
    if cfg.gates.controls:
        from auditor.controls import CONTROLS

        for i, name in enumerate(cfg.gates.controls):
            if cfg.forget.kind not in CONTROLS[name].supports:
                problems.append(Problem(
                    f"gates.controls.{i}",
                    f"control {name!r} does not apply to {cfg.forget.kind!r} forgetting (it applies to: "
                    f"{', '.join(sorted(CONTROLS[name].supports))}); remove it, or leave gates.controls unset to use "
                    "every control that applies",
                    _yaml_line(tree, ("gates", "controls", i)),
                ))
    for i, attack in enumerate(cfg.attacks):
        if ATTACKS.get(attack.name).needs_method and cfg.unlearner.name is None:
            problems.append(Problem(
                f"attacks.{i}.name",
                f"attack {attack.name!r} re-runs the unlearning method on shadow models, so it needs unlearner.name; "
                "an audit of an unlearned checkpoint cannot use it",
                _yaml_line(tree, ("attacks", i, "name")),
            ))
    metrics = all_metric_keys(cfg)
    for i, rule in enumerate(cfg.gates.rules or []):
        if not fnmatch.filter(metrics, rule.metric):
            problems.append(Problem(
                f"gates.rules.{i}.metric",
                f"{rule.metric!r} matches no metric of the configured attacks.{suggest(rule.metric, metrics)} "
                f"Metrics: {', '.join(metrics)}",
                _yaml_line(tree, ("gates", "rules", i, "metric")),
            ))
    return problems


def all_metric_keys(cfg: AuditConfig) -> list[str]:
    """Every metric key the configured attacks will report, for gate validation."""
    from attacks import ATTACKS

    keys: list[str] = []
    for attack in cfg.attacks:
        plugin = ATTACKS.get(attack.name)
        keys += plugin(plugin.Params.model_validate(attack.params)).metric_keys(cfg.forget.kind)
    return keys


def parse_config(data: Any, *, base_dir: Path | None = None, source: str | None = None,
                 tree: yaml.Node | None = None) -> AuditConfig:
    """Validate an already-parsed mapping. Raises :class:`ConfigError` listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([Problem("", f"expected a mapping of sections at the top level, got {type(data).__name__}")],
                          source=source)
    try:
        cfg = AuditConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = problems_from(exc, AuditConfig, tree=tree)
        # Plugin params are still checked for every entry whose name resolved.
        raise ConfigError(problems + _raw_plugin_problems(data, tree), source=source) from None
    problems = _plugin_problems(cfg, tree)
    if not problems:
        problems = _cross_problems(cfg, tree)
    if problems:
        raise ConfigError(problems, source=source)
    return cfg


def load_config(path: str | Path, *, overrides: dict[str, Any] | None = None) -> AuditConfig:
    """Read, validate and resolve a YAML config file.

    Args:
        path: The YAML file.
        overrides: Dotted keys to set after reading, e.g. ``{"report.out": "runs/x"}``.

    Raises:
        ConfigError: The file is unreadable, not YAML, or invalid (every problem listed).
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read the config file: {exc.strerror or exc}")], source=source) from None
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem("", f"not valid YAML: {detail}", line)], source=source) from None
    for key, value in (overrides or {}).items():
        data = _set_dotted(data if isinstance(data, dict) else {}, key, value)
    return parse_config(data, base_dir=path.resolve().parent, source=source, tree=tree)


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return data


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file (``unlearn-audit config schema``)."""
    schema = AuditConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "unlearn-audit configuration"
    return schema
