"""The evidence record's schema: one pydantic model that every writer and reader validates against.

``evidence.json`` is what a report renders and what the signature covers. The pipeline validates
the record it built before anything is written or signed, so a record with a missing, misspelt or
extra field stops the run with the field's path (a bug in the tool, exit code 3) instead of being
signed. Validation never rewrites the record: the bytes written and signed are the pipeline's own.
Readers (``unlearn-audit report``) stay lenient, so records written by earlier releases, which lack
newer fields, still render.

The top level and the records a reader relies on (the run, the data, the models, the method, each
attack and metric, each gate, the verdict) are typed and forbid unknown keys. What an attack
measures beyond its metrics (``details``, ``tables``, ``figures``) and the intervals inside a metric
stay free-form JSON objects, because each attack defines its own. ``Evidence.model_json_schema()``
is the published schema (``unlearn-audit config schema --evidence``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.errors import AuditFailedError

SCHEMA = "unlearn-audit/evidence/v1"
"""The ``schema`` string of every evidence record this version writes."""

Status = Literal["pass", "fail", "inconclusive"]
JSONObject = dict[str, Any]


class _Record(BaseModel):
    """A part of the record: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolRecord(_Record):
    """The tool that wrote the record."""

    name: Literal["unlearn-audit"]
    version: str


class ResponsibleRecord(_Record):
    """The person responsible for the audit (``report.responsible``), for the signature block."""

    name: str
    role: str | None = None


class RunRecord(_Record):
    """When, by whom and from which config the audit ran."""

    id: str
    started_utc: str
    finished_utc: str
    title: str | None
    operator: str | None
    organisation: str | None
    request_id: str | None
    config_path: str | None
    command: str | None
    source_date_epoch: int | None
    reproducible: JSONObject | None = None  # reproducible mode: what moved to run-log.json
    responsible: ResponsibleRecord | None = None  # report.responsible; absent in older records


class DataRecord(_Record):
    """The dataset, its split and the forget request."""

    dataset: str
    fingerprint: str
    num_classes: int
    input_shape: list[int]
    split_sha256: str
    split_source: Literal["seeded", "loader", "files"] | None = (
        None  # absent in records before declared splits
    )
    source: JSONObject
    counts: dict[str, int]
    forget: JSONObject  # with ``ids`` ({count, salt, salted_sha256}) when the request named record IDs


class ModelsRecord(_Record):
    """The audited models' digests and provenance."""

    original: JSONObject
    unlearned: JSONObject
    references: list[JSONObject]
    digest_method: str
    training_function: JSONObject | None = None


class MethodRecord(_Record):
    """The unlearning method (or the checkpoint audited instead), and what data it read."""

    name: str | None
    source: Literal["method", "checkpoint"]
    summary: str
    citation: str | None
    doc: str | None = None
    params: JSONObject
    supports: list[str] | None = None
    data_read: dict[str, int] | None
    reads_forget_samples: bool | None
    diagnostics: JSONObject | None = None  # absent in records written before inputs.note() existed
    runtime_s: float | None = None  # absent in reproducible mode
    architecture: JSONObject


class ControlRecord(_Record):
    """One deception control the battery must fail."""

    name: str
    role: str
    description: str
    sha256: str
    runtime_s: float | None = None
    kind: Literal["deception", "incomplete_erasure"] | None = None  # absent in records before 0.2
    selection: Literal["random", "least_exposed"] | None = None
    kept_fraction: float | None = None
    kept_records: int | None = None


class MetricRecord(_Record):
    """One metric on every model, with the gap to the references."""

    key: str
    label: str
    higher: str
    values: dict[str, JSONObject]
    reference_spread: float | None
    gap: JSONObject | None


class AttackRecord(_Record):
    """One attack's measurements (or the error that stopped it)."""

    name: str
    title: str
    summary: str
    citation: str
    threat_model: str
    params: JSONObject
    metrics: list[MetricRecord]
    tables: list[JSONObject]
    figures: list[JSONObject]
    details: JSONObject
    error: str | None
    traceback: str | None = None  # the last frames of a crashed attack
    runtime_s: float | None = None


class GateRecord(_Record):
    """One gate's judgement."""

    metric: str
    tolerance: float | None
    source: str
    tolerance_floor: float | None
    category: str
    fail_only: bool
    gap: float | None
    equivalence_ci: list[float] | None
    equivalence_level: float | None
    difference_ci: list[float] | None
    difference_level: float | None
    p_beyond_tolerance: float | None
    status: Status
    reason: str
    powered: bool
    power_reason: str | None
    minimum_detectable_effect: float | None
    mde_80: float | None = None  # absent in records before 0.2
    mde_80_records: float | None = None
    keeps_original_effect: float | None = None
    blocks_pass: bool | None = None
    retrain_sd: float | None
    inference: JSONObject | None
    control: JSONObject | None
    controls: JSONObject | None


class GatesRecord(_Record):
    """The gate family, its error-rate rules and every gate's judgement."""

    alpha: float
    correction: str
    family_size: int
    family: list[str]
    pass_rule: str
    fail_rule: str
    bootstrap: int
    seed_multiplier: float
    results: list[GateRecord]


class VerdictRecord(_Record):
    """The audit's verdict, its claims and the power behind them."""

    status: Status
    headline: str
    statement: str
    counts: dict[str, int]
    power: JSONObject
    claims: list[str]
    categories: dict[str, JSONObject]
    controls: JSONObject | list[JSONObject] | None
    sensitivity: JSONObject | None = (
        None  # how incomplete an erasure the audit catches (incomplete-erasure controls)
    )
    next_steps: list[JSONObject] | None = None  # INCONCLUSIVE: the sizes or references that would settle it


class CacheRecord(_Record):
    """The model cache the run used (its counters are absent in reproducible mode)."""

    dir: str | None
    enabled: bool
    hits: int | None = None
    misses: int | None = None
    corrupt_retrained: int | None = None
    corrupt: list[JSONObject] | None = None


class RecordsTable(_Record):
    """Per-record exposure of the forget records (the ``records`` attack), records named by position only."""

    statistic: str
    fpr: float
    q: float
    n: int
    flagged: int
    expected_by_chance: float
    chance_range: list[int]
    references_flagged: list[int]
    individually_exposed: int
    original_flagged: int | None
    positions: str
    rows: list[JSONObject]


class Evidence(_Record):
    """The whole evidence record (``evidence.json``), as the pipeline writes and signs it."""

    schema_: Literal["unlearn-audit/evidence/v1"] = Field(alias="schema")
    tool: ToolRecord
    run: RunRecord
    config: JSONObject
    config_sha256: str
    config_file_sha256: str | None
    seed: int
    environment: JSONObject
    data: DataRecord
    models: ModelsRecord
    method: MethodRecord
    controls: list[ControlRecord]
    attacks: list[AttackRecord]
    gates: GatesRecord
    verdict: VerdictRecord
    cache: CacheRecord
    records: RecordsTable | None = None  # per-record exposure, when the ``records`` attack ran
    timings: dict[str, float] | None = None  # absent in reproducible mode
    signing: JSONObject | None = None  # added once the signing key is known


def validate_evidence(record: dict[str, Any]) -> Evidence:
    """``record`` checked against :class:`Evidence` (it is not changed).

    Raises:
        AuditFailedError: The record does not match the schema; the message lists each field's
            path and what is wrong with it. The pipeline calls this on its own record, so a
            mismatch is a bug in the tool (or a plugin returning the wrong shape), never the user's.
    """
    try:
        return Evidence.model_validate(record)
    except ValidationError as exc:
        raise schema_error(exc) from None


@contextmanager
def schema_errors() -> Iterator[None]:
    """Turn a part of the record that does not match the schema into :func:`schema_error`'s one-line error."""
    try:
        yield
    except ValidationError as exc:
        raise schema_error(exc) from None


def schema_error(exc: ValidationError) -> AuditFailedError:
    """The one-line error for a record that does not match the schema: each field's path and what is wrong."""
    where = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:10])
    return AuditFailedError(
        f"the evidence record does not match its schema ({SCHEMA}): {where}. This is a bug in "
        "unlearn-audit or in a plugin's record; please report it with the config that produced it"
    )
