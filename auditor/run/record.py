"""Record: the evidence record built from typed parts (:mod:`auditor.evidence.model`).

Each section is a pydantic record, validated as it is built, so a missing or misspelt field stops
the run where the section is made instead of after a whole dict literal was assembled. The record
is dumped with the keys that were set, in the schema's order: what is written, signed and
rendered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor.canonical import canonical_json
from auditor.config import AuditConfig
from auditor.data import provenance
from auditor.evidence.model import (
    SCHEMA,
    AttackRecord,
    CacheRecord,
    ControlRecord,
    DataRecord,
    Evidence,
    GatesRecord,
    MethodRecord,
    ModelsRecord,
    ResponsibleRecord,
    RunRecord,
    ToolRecord,
    VerdictRecord,
    schema_errors,
)
from auditor.judge.decision import Decision
from auditor.judge.verdict import rules_text
from auditor.run.controls import BuiltControl, PartialErasure
from auditor.run.environment import capture
from auditor.run.measure import AttackRun
from auditor.run.models import UNLEARNED_FILE, AuditedModel, Unlearned
from auditor.run.preflight import Prepared
from auditor.types import control_role
from auditor.version import __version__

DIGEST_METHOD = "sha256 over (name, dtype, shape, bytes) of the state_dict in sorted key order"


@dataclass(frozen=True)
class RunInfo:
    """When and how the audit ran (the evidence's ``run`` section and the config digests).

    Attributes:
        run_id: The run's id (derived from the inputs in reproducible mode).
        started: Start time (seconds since 1970; the fixed epoch in reproducible mode).
        finished: End of the measurement.
        config_path: The YAML file the config came from.
        command: The command line.
        config_json: The resolved config as JSON values.
        config_sha256: sha256 of its canonical JSON.
    """

    run_id: str
    started: float
    finished: float
    config_path: Path | None
    command: str | None
    config_json: dict[str, Any]
    config_sha256: str


def config_digest(cfg: AuditConfig) -> tuple[dict[str, Any], str]:
    """The resolved config as JSON values, and the sha256 of its canonical JSON."""
    config_json = cfg.model_dump(mode="json")
    return config_json, hashlib.sha256(canonical_json(config_json)).hexdigest()


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_record(cfg: AuditConfig, info: RunInfo, epoch: int | None) -> RunRecord:
    """The ``run`` section: the run's id, times, operator and request."""
    path = info.config_path
    return RunRecord(
        id=info.run_id,
        started_utc=_utc(info.started),
        finished_utc=_utc(info.finished),
        title=cfg.report.title,
        operator=cfg.report.operator,
        organisation=cfg.report.organisation,
        request_id=cfg.report.request_id,
        responsible=ResponsibleRecord(**cfg.report.responsible.model_dump())
        if cfg.report.responsible
        else None,
        config_path=str(path) if path else None,
        command=info.command or (f"unlearn-audit run {path}" if path else None),
        source_date_epoch=epoch,
    )


def data_record(cfg: AuditConfig, prep: Prepared) -> DataRecord:
    """The ``data`` section: the dataset, its split and where it came from, and the forget request.

    Never its records' IDs (:func:`auditor.data.provenance.data_record`).
    """
    trigger = prep.trigger.record() if prep.trigger is not None else None
    return DataRecord(
        **provenance.data_record(prep.data, prep.splits, cfg.forget, trigger=trigger, id_salt=prep.id_salt)
    )


def models_record(
    prep: Prepared, original: AuditedModel, references: list[AuditedModel], unlearned: Unlearned
) -> ModelsRecord:
    """The ``models`` section: each attested model's digest and provenance."""
    extra: dict[str, Any] = {}
    if unlearned.file_bytes is not None:  # written beside the report: its file digest is signed too
        extra = {"file": UNLEARNED_FILE, "file_sha256": hashlib.sha256(unlearned.file_bytes).hexdigest()}
    return ModelsRecord(
        original=original.record(),
        unlearned={**unlearned.model.record(), **extra},
        references=[m.record(index=i) for i, m in enumerate(references)],
        digest_method=DIGEST_METHOD,
        training_function=prep.training_check,
    )


def controls_record(built: list[BuiltControl], partials: list[PartialErasure]) -> list[ControlRecord]:
    """The ``controls`` section: each control, its kind and its attested digest."""
    by_name = {p.name: p for p in partials}
    out = []
    for c in built:
        p = by_name.get(c.name)
        extra: dict[str, Any] = {"kind": "deception"}
        if p is not None:
            extra = {
                "kind": "incomplete_erasure",
                "selection": p.selection,
                "kept_fraction": p.kept_fraction,
                "kept_records": int(len(p.kept)),
            }
        out.append(
            ControlRecord(
                name=c.name,
                role=control_role(c.name),
                description=c.description,
                sha256=c.sha256,
                runtime_s=c.runtime_s,
                **extra,
            )
        )
    return out


def gates_record(cfg: AuditConfig, decision: Decision) -> GatesRecord:
    """The ``gates`` section: the family, its rules and every gate's judgement."""
    pass_rule, fail_rule = rules_text(cfg.gates.alpha, len(decision.gates), cfg.gates.correction)
    return GatesRecord.model_validate(
        {
            "alpha": cfg.gates.alpha,
            "correction": cfg.gates.correction,
            "family_size": len(decision.gates),
            "family": [g.metric for g in decision.gates],
            "pass_rule": pass_rule,
            "fail_rule": fail_rule,
            "bootstrap": cfg.gates.bootstrap,
            "seed_multiplier": cfg.gates.seed_multiplier,
            "results": [r.as_dict() for r in decision.results],
        }
    )


def build_evidence(
    cfg: AuditConfig,
    prep: Prepared,
    info: RunInfo,
    *,
    original: AuditedModel,
    references: list[AuditedModel],
    unlearned: Unlearned,
    controls: list[BuiltControl],
    partials: list[PartialErasure],
    runs: list[AttackRun],
    decision: Decision,
    cache: dict[str, Any],
    timings: dict[str, float],
) -> dict[str, Any]:
    """The evidence record (without ``signing``, added once the key is known), as JSON values.

    Raises:
        AuditFailedError: A part does not match the schema (a bug, or a plugin's malformed record).
    """
    with schema_errors():
        evidence = Evidence.model_validate(
            {
                "schema": SCHEMA,
                "tool": ToolRecord(name="unlearn-audit", version=__version__),
                "run": run_record(cfg, info, prep.source_date_epoch),
                "config": info.config_json,
                "config_sha256": info.config_sha256,
                "config_file_sha256": _file_sha256(info.config_path),
                "seed": cfg.seed,
                "environment": capture(str(prep.device)),
                "data": data_record(cfg, prep),
                "models": models_record(prep, original, references, unlearned),
                "method": MethodRecord.model_validate(unlearned.record),
                "controls": controls_record(controls, partials),
                "attacks": [AttackRecord.model_validate(_without_table(r.record)) for r in runs],
                "gates": gates_record(cfg, decision),
                "verdict": VerdictRecord.model_validate(decision.verdict),
                "cache": CacheRecord.model_validate(cache),
                **_records_table(runs),
                "timings": {k: round(v, 3) for k, v in timings.items()},
            }
        )
    return evidence.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _file_sha256(path: Path | None) -> str | None:
    from auditor.train.architectures import file_digest

    return file_digest(path) if path else None


def _without_table(record: dict[str, Any]) -> dict[str, Any]:
    """An attack's record without its per-record table, which the evidence keeps once, at the top level."""
    details = record.get("details") or {}
    if "per_record" not in details:
        return record
    return {**record, "details": {k: v for k, v in details.items() if k != "per_record"}}


def _records_table(runs: list[AttackRun]) -> dict[str, Any]:
    """``{"records": ...}``: the per-record exposure table of the ``records`` attack, when it ran."""
    for r in runs:
        table = (r.record.get("details") or {}).get("per_record")
        if table is not None:
            return {"records": table}
    return {}
