"""The audit configuration: a YAML file validated by pydantic v2 models.

Validation happens in three passes, and every problem from a pass is reported at once with its
dotted key path, a close-match suggestion for misspelt keys and names, and the YAML line:

1. the schema (types, ranges, unknown keys, method and attack names) of the whole file. It
   imports neither torch nor a plugin, so a config error in the file itself comes back in a
   fraction of a second; when it finds problems, validation stops there;
2. the names whose lists live in the engine (built-in architectures, deception controls) and
   each plugin's own parameters (``unlearner.params``, ``attacks[i].params``) against the
   plugin's ``Params`` model;
3. cross-field checks that need a valid config (the unlearner supports the forget kind, each
   attack's needs are met, gates name metrics that the configured attacks produce).

Data-dependent checks (dataset present, forget classes exist, the method accepts the request,
checkpoint fits the architecture, output folder writable) follow in :mod:`auditor.run.preflight`,
still before any training. Relative paths are resolved against the config file's folder.

The package has three layers:

* :mod:`auditor.config.schema`: the sections (pydantic models); knows no plugin;
* :mod:`auditor.config.load`: YAML reading, ``--set`` overrides, errors located by line;
* :mod:`auditor.config.checks`: the checks that import the plugin registries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from auditor.canonical import canonical_json
from auditor.config.checks import (
    NAME_CHECKS,
    all_metric_keys,
    cross_problems,
    engine_name_problems,
    plugin_problems,
    raw_plugin_problems,
    request_problems,
    requirement_problems,
)
from auditor.config.load import (
    MAX_ALIASES,
    MAX_EXPANDED_NODES,
    decode_config_bytes,
    duplicate_key_problems,
    expanded_size,
    importable_beside,
    parse_overrides,
    problems_from,
    read_config_file,
    read_yaml,
    set_dotted,
)
from auditor.config.overrides import apply_overrides
from auditor.config.schema import (
    DATASETS,
    FORGET_KINDS,
    REPORT_FORMATS,
    AttackConfig,
    AuditConfig,
    ConfigPath,
    DataConfig,
    ExecutionConfig,
    ForgetConfig,
    GateRule,
    GatesConfig,
    Mnist1dConfig,
    ModelConfig,
    ReferenceConfig,
    ReportConfig,
    Section,
    SigningConfig,
    TrainingConfig,
    TriggerConfig,
    UnlearnerConfig,
)
from auditor.errors import ConfigError, Problem

__all__ = [
    "DATASETS",
    "FORGET_KINDS",
    "MAX_ALIASES",
    "MAX_EXPANDED_NODES",
    "NAME_CHECKS",
    "REPORT_FORMATS",
    "AttackConfig",
    "AuditConfig",
    "ConfigPath",
    "DataConfig",
    "ExecutionConfig",
    "ForgetConfig",
    "GateRule",
    "GatesConfig",
    "Mnist1dConfig",
    "ModelConfig",
    "ReferenceConfig",
    "ReportConfig",
    "Section",
    "SigningConfig",
    "TrainingConfig",
    "TriggerConfig",
    "UnlearnerConfig",
    "all_metric_keys",
    "apply_overrides",
    "canonical_json",
    "cross_problems",
    "decode_config_bytes",
    "engine_name_problems",
    "duplicate_key_problems",
    "expanded_size",
    "importable_beside",
    "json_schema",
    "load_config",
    "parse_config",
    "parse_overrides",
    "plugin_problems",
    "problems_from",
    "raw_plugin_problems",
    "read_yaml",
    "request_problems",
    "requirement_problems",
    "set_dotted",
]


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
        cfg = AuditConfig.model_validate(data, context={"base_dir": base_dir, "names": NAME_CHECKS})
    except ValidationError as exc:
        # The file's own problems, found without importing torch or a plugin: they come back at once.
        # The plugins' parameters are checked once these are fixed (the next pass imports the plugins).
        raise ConfigError(known + problems_from(exc, AuditConfig, tree=tree), source=source) from None
    if known:
        raise ConfigError(known, source=source)
    problems = engine_name_problems(cfg, tree) + plugin_problems(cfg, tree)
    if not problems:
        problems = cross_problems(cfg, tree)
    if problems:
        raise ConfigError(problems, source=source)
    return cfg


def load_config(
    path: str | Path, *, overrides: dict[str, Any] | None = None, notes: list[str] | None = None
) -> AuditConfig:
    """Read, validate and resolve a YAML config file.

    Args:
        path: The YAML file (UTF-8).
        overrides: Dotted keys to set after reading, e.g. ``{"report.out": "runs/x"}``; list
            entries are addressed by index (``attacks.0.name``). An override that switches a
            choice drops the keys the old choice owned (:mod:`auditor.config.overrides`):
            ``unlearner.name=noop`` drops the file's ``unlearner.params``.
        notes: When given, one line per key an override dropped is appended to it.

    Raises:
        ConfigError: The file is unreadable, not UTF-8 YAML, over the alias limits, or invalid
            (every problem listed: duplicate keys and bad overrides included).
    """
    path = Path(path)
    tree, data = read_config_file(path)
    known = duplicate_key_problems(tree)
    if isinstance(data, dict) or data is None:
        data = data if isinstance(data, dict) else {}
        override_problems, dropped = apply_overrides(data, dict(overrides or {}))
        known += override_problems
        if notes is not None:
            notes += dropped
    importable_beside(path.resolve().parent)
    return parse_config(data, base_dir=path.resolve().parent, source=str(path), tree=tree, known=known)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file (``unlearn-audit config schema``)."""
    schema = AuditConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "unlearn-audit configuration"
    return schema
