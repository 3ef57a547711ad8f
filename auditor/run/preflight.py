"""Checks that need the data and the files the config points to, run before any training.

Everything found is reported at once (exit code 2): a missing dataset folder, inputs holding NaN
or infinity, a forget class the dataset lacks, an empty forget set or one that is the whole
training set, a checkpoint that does not fit the architecture or holds NaN or infinity, an output
folder that cannot be written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from auditor.config import AuditConfig, DataConfig, TriggerConfig, request_problems
from auditor.data.datasets import LoadedData, load_dataset
from auditor.data.splits import Splits, make_splits
from auditor.data.triggers import Trigger, choose_decoys, make_trigger, plant
from auditor.errors import ConfigError, Problem
from auditor.run.outputs import check_writable
from auditor.run.reproducible import source_date_epoch
from auditor.train.architectures import check_fits, model_factory, read_state_dict


@dataclass(frozen=True)
class Prepared:
    """What preflight establishes: the data, its splits, the model factory and the device."""

    data: LoadedData
    splits: Splits
    factory: Callable[[], nn.Module]
    device: torch.device
    checkpoints: dict[str, dict[str, torch.Tensor]]
    trigger: Trigger | None = None
    signing_key: Any = None  # auditor.evidence.sign.SigningKey when a key is configured
    source_date_epoch: int | None = None  # reproducible mode (auditor.run.reproducible)
    training_check: dict[str, Any] | None = None  # a user training function's determinism check
    id_salt: bytes | None = None  # salt of the evidence's digest of a request's record IDs (data.forget.ids)


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def preflight(cfg: AuditConfig, *, out: Path, source: str | None = None, sign: bool = True) -> Prepared:
    """Load the data, make the splits and check every referenced file.

    Raises:
        ConfigError: Listing every problem found.
    """
    problems: list[Problem] = []
    problems += check_writable(out)
    device = resolve_device(cfg.execution.device)
    problems += execution_problems(cfg, device)
    try:
        data = load_dataset(cfg.data)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems, source=source) from None
    problems += nonfinite_data_problems(data, cfg.data)
    splits, split_problems = make_splits(data, cfg.data, cfg.forget, cfg.seed)
    problems += split_problems
    if splits is not None:
        problems += declared_split_problems(cfg, splits)
    trigger = None
    if splits is not None:
        problems += request_problems(
            cfg, num_classes=data.num_classes, forget_fraction=len(splits.forget) / max(len(splits.train), 1)
        )
        if cfg.forget.kind == "backdoor":
            data, splits, trigger = plant_canaries(cfg, data, splits)
    factory, probe, model_problems = probe_model(cfg.model.arch, data)
    problems += model_problems

    training_check = None
    if cfg.training.function is not None and factory is not None and splits is not None and not problems:
        training_check, training_problems = check_training_function(cfg, data, splits, factory, device)
        problems += training_problems

    checkpoints, checkpoint_problems = read_checkpoints(cfg, probe)
    problems += checkpoint_problems
    epoch = None
    try:
        epoch = source_date_epoch()
    except ConfigError as exc:
        problems += exc.problems
    signing_key = None
    if cfg.report.signing.enabled and sign:
        try:
            signing_key = configured_key(cfg)
        except ConfigError as exc:
            problems += exc.problems
    if problems or splits is None or probe is None or factory is None:
        raise ConfigError(problems, source=source)
    id_salt = None
    if (
        cfg.forget.by_id
    ):  # the salt of the request's ID digest: random, or fixed by the run in reproducible mode
        from auditor.data.records import new_salt

        id_salt = new_salt(
            reproducible_from=None
            if epoch is None
            else f"{epoch}|{cfg.digest()}|{data.fingerprint}|{cfg.seed}"
        )
    return Prepared(
        data=data,
        splits=splits,
        factory=factory,
        device=device,
        checkpoints=checkpoints,
        trigger=trigger,
        signing_key=signing_key,
        source_date_epoch=epoch,
        training_check=training_check,
        id_salt=id_salt,
    )


def declared_split_problems(cfg: AuditConfig, splits: Splits) -> list[Problem]:
    """What a declared split rules out: a backdoor audit of a checkpoint trained elsewhere.

    Backdoor canaries are planted by the audit before it trains the original, so a
    ``model.checkpoint`` trained on a declared split never saw them.
    """
    if splits.source == "seeded" or cfg.forget.kind != "backdoor" or cfg.model.checkpoint is None:
        return []
    return [
        Problem(
            "forget.kind",
            "a backdoor audit plants its canaries before it trains the original, so model.checkpoint (your model, "
            "trained on the declared split) never saw them: erase records by ID or index instead, or remove "
            "model.checkpoint and let the audit train the original",
        )
    ]


def execution_problems(cfg: AuditConfig, device: torch.device) -> list[Problem]:
    """A problem when the configured device or executor is not available here."""
    problems = []
    if device.type == "cuda" and not torch.cuda.is_available():
        problems.append(
            Problem(
                "execution.device",
                f"{cfg.execution.device!r} requested but CUDA is not available; use device: cpu or auto",
            )
        )
    if cfg.execution.executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            problems.append(
                Problem(
                    "execution.executor",
                    "'ray' needs Ray, which is not installed: "
                    "pip install 'unlearn-audit[ray]', or use executor: "
                    "local or process",
                )
            )
    return problems


def plant_canaries(cfg: AuditConfig, data: LoadedData, splits: Splits) -> tuple[LoadedData, Splits, Trigger]:
    """Backdoor forgetting: the data with the trigger planted, the splits with the decoys, and the trigger.

    The decoys (triggered held-out non-members, as many as the canaries) leave the population.
    """
    trigger = make_trigger(
        cfg.forget.trigger or TriggerConfig(),
        target=int(cfg.forget.target or 0),
        image_shape=data.input_shape,
        data_max=float(data.x.max()),
        seed=cfg.seed,
    )
    decoys = choose_decoys(data, splits.population, len(splits.forget), trigger.target, cfg.seed)
    splits = replace(
        splits, population=np.setdiff1d(splits.population, decoys).astype(np.int64), decoys=decoys
    )
    return plant(data, np.union1d(splits.forget, decoys), trigger), splits, trigger


def probe_model(
    arch: str, data: LoadedData
) -> tuple[Callable[[], nn.Module] | None, nn.Module | None, list[Problem]]:
    """The model factory, one model built by it, and the problems under ``model.arch``.

    The model must map two inputs to ``(2, num_classes)`` logits. Factory and model are None when
    the architecture cannot be built for the data.
    """
    try:
        factory = model_factory(arch, input_shape=data.input_shape, num_classes=data.num_classes)
        probe = factory()
        with torch.no_grad():
            out_shape = tuple(probe.eval()(data.x[:2]).shape)
    except Exception as exc:  # a user's factory can fail in any way
        return (
            None,
            None,
            [
                Problem(
                    "model.arch",
                    f"cannot build {arch!r} for inputs {data.input_shape} with {data.num_classes} classes: {exc}",
                )
            ],
        )
    if out_shape != (min(2, len(data)), data.num_classes):
        return (
            factory,
            probe,
            [
                Problem(
                    "model.arch",
                    f"{arch!r} outputs shape {out_shape} for 2 inputs; expected (2, {data.num_classes}) logits",
                )
            ],
        )
    return factory, probe, []


def read_checkpoints(
    cfg: AuditConfig, probe: nn.Module | None
) -> tuple[dict[str, dict[str, torch.Tensor]], list[Problem]]:
    """The configured checkpoints that are readable, finite and fit the architecture, by config key.

    Also the problems with the others (none fit when ``probe``, the built model, is None).
    """
    checkpoints: dict[str, dict[str, torch.Tensor]] = {}
    problems: list[Problem] = []
    named = [("model.checkpoint", cfg.model.checkpoint), ("unlearner.checkpoint", cfg.unlearner.checkpoint)]
    named += [(f"reference.checkpoints.{i}", p) for i, p in enumerate(cfg.reference.checkpoints)]
    for key, path in named:
        if path is None:
            continue
        try:
            state = read_state_dict(Path(path), key=key)
        except ConfigError as exc:
            problems += exc.problems
            continue
        bad = nonfinite_problems(state, key=key, path=Path(path))
        problems += bad
        if probe is not None:
            fit = check_fits(probe, state, key=key, arch=cfg.model.arch)
            problems += fit
            if not fit and not bad:
                checkpoints[key] = state
    return checkpoints, problems


def check_training_function(
    cfg: AuditConfig, data: LoadedData, splits: Splits, factory: Callable[[], nn.Module], device: torch.device
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Digest the user's training function and check it is deterministic given its seed.

    The function is run three times on 256 training samples (:func:`auditor.train.plugin.check_deterministic`):
    twice with one seed from the same initial weights, which must give the same weights, and once
    with another seed. Returns the check's record for the evidence, or the problem under
    ``training.function``.
    """
    from auditor.train.core import Recipe
    from auditor.train.plugin import TrainingFunctionError, check_deterministic

    spec = cfg.training.function
    if spec is None:
        return None, []
    try:
        recipe = Recipe.from_fields(**cfg.training.model_dump())
        idx = torch.as_tensor(splits.train, dtype=torch.long)
        check = check_deterministic(
            spec, cfg.training.kwargs, factory, data.x[idx], data.y[idx], device=device
        )
    except TrainingFunctionError as exc:
        return None, [Problem("training.function", str(exc).removeprefix("training.function: "))]
    except Exception as exc:  # the user's function failed on its first run
        detail = (str(exc).splitlines() or [""])[0]
        return None, [
            Problem(
                "training.function",
                f"{spec!r} failed on 256 training samples: {type(exc).__name__}: {detail}",
            )
        ]
    return {"function": spec, "source_sha256": recipe.function_sha256, **check.as_dict()}, []


def nonfinite_problems(state: dict[str, torch.Tensor], *, key: str, path: Path) -> list[Problem]:
    """A problem when a checkpoint holds NaN or infinity (checked before anything trains on or against it)."""
    from auditor.train.cache import nonfinite_names

    bad = nonfinite_names(state)
    if not bad:
        return []
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    return [
        Problem(
            key,
            f"{path} holds non-finite values (NaN or inf) in {', '.join(bad[:3])}{more}; a model with "
            "such weights cannot be audited: re-export the checkpoint from a finite model",
        )
    ]


def nonfinite_data_problems(data: LoadedData, cfg: DataConfig) -> list[Problem]:
    """A problem when the dataset's inputs hold NaN or infinity (training on them gives NaN models)."""
    finite = (
        torch.isfinite(data.x.reshape(len(data), -1)).all(dim=1)
        if len(data)
        else torch.ones(0, dtype=torch.bool)
    )
    bad = torch.nonzero(~finite).flatten().tolist()
    if not bad:
        return []
    key = "data.path" if cfg.path is not None else "data.root" if cfg.root is not None else "data"
    return [
        Problem(
            key,
            f"dataset {data.name!r}: {len(bad)} of {len(data)} samples hold NaN or infinite input "
            f"values (e.g. sample {', '.join(map(str, bad[:3]))}); clean or drop them before the audit",
        )
    ]


def configured_key(cfg: AuditConfig):  # -> auditor.evidence.sign.SigningKey | None
    """The configured signing key (config paths, else ``UNLEARN_AUDIT_SIGNING_*``), or None."""
    import os

    s = cfg.report.signing
    env = {k: os.environ.get(f"UNLEARN_AUDIT_SIGNING_{k.upper()}") for k in ("key", "cert", "pkcs12")}
    key, cert, p12 = s.key or env["key"], s.cert or env["cert"], s.pkcs12 or env["pkcs12"]
    if not (key or cert or p12):
        return None
    from auditor.evidence.sign import load_signing_key

    return load_signing_key(
        key=Path(key) if key else None,
        cert=Path(cert) if cert else None,
        pkcs12_path=Path(p12) if p12 else None,
        passphrase_env=s.passphrase_env,
    )
