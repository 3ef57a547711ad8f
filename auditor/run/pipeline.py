"""``run_audit``: the steps of DESIGN.md's data flow, and nothing else.

1. preflight (data, splits, files, output folder); 2. the original model (checkpoint or trained,
cached); 3. the references (retrained on the retain set, cached, or supplied); 4. the unlearned
model (the method run on a copy of the original, or a supplied checkpoint); 5. the attacks;
6. gates and verdict; 7. evidence, reports, atomic publication.
"""

from __future__ import annotations

import hashlib
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attacks import ATTACKS
from attacks.base import Attack
from auditor.canonical import canonical_json
from auditor.config import AuditConfig
from auditor.data.splits import manifest_digest, manifest_text
from auditor.errors import AuditFailedError
from auditor.evidence.model import SCHEMA, validate_evidence
from auditor.judge.inference import evidence_from_replicates
from auditor.judge.verdict import Gate, GateResult, MeasuredAttack, decide, rules_text
from auditor.run.context import AuditContext, UnlearnInputs, take
from auditor.run.controls import applicable as applicable_controls
from auditor.run.controls import build_controls
from auditor.run.environment import capture
from auditor.run.outputs import Staging
from auditor.run.preflight import Prepared, preflight
from auditor.run.progress import Progress
from auditor.run.reproducible import run_id as reproducible_run_id
from auditor.run.reproducible import split_volatile
from auditor.seeding import derive_seed, torch_generator
from auditor.train.architectures import (
    architecture_differences,
    file_digest,
    init_model,
    state_digest,
)
from auditor.train.cache import ModelCache, TrainSpec, default_cache_dir
from auditor.train.core import Recipe, train_model
from auditor.train.executors import Executor, make_executor
from auditor.train.shadows import ShadowStore, shadow_group
from auditor.version import __version__
from unlearners import UNLEARNERS


@dataclass(frozen=True)
class AuditOutcome:
    """What ``run_audit`` returns: the verdict, the evidence and where the files went."""

    status: str
    evidence: dict[str, Any]
    files: dict[str, Path]
    timings: dict[str, float]

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "pass" else 1


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_trained(model: nn.Module, role: str) -> None:
    """Stop with a clear error when training with the audit's recipe diverged (NaN or inf weights).

    The inputs were checked finite in preflight, so the recipe is to blame, not a later step.
    """
    from auditor.train.cache import nonfinite_names

    bad = nonfinite_names(model.state_dict())
    if bad:
        raise AuditFailedError(
            f"training the {role} with the training section's recipe diverged: non-finite "
            f"weights in {', '.join(bad[:3])}. Lower training.lr (or training.weight_decay) "
            "and run again."
        )


class _Trainer:
    """Trains (or fetches from the cache) models that share the audit's recipe and data."""

    def __init__(self, cfg: AuditConfig, prep: Prepared, cache: ModelCache, progress: Progress) -> None:
        self.cfg, self.prep, self.cache, self.progress = cfg, prep, cache, progress
        self.recipe = Recipe.from_fields(**cfg.training.model_dump())

    def _spec(self, indices: Any, seed: int) -> TrainSpec:
        return TrainSpec.of(
            self.prep.data, indices=indices, arch=self.cfg.model.arch, recipe=self.recipe, seed=seed
        )

    def train_many(self, role: str, indices: Any, seeds: list[int]) -> list[tuple[nn.Module, dict[str, Any]]]:
        """Several models on the same data with different seeds, each stored in the cache.

        The ones not in the cache train together, batched over stacked parameters when the
        architecture allows (the same weights as one at a time: :func:`auditor.train.executors.train_group`),
        16 at a time.
        """
        from auditor.train.cache import cache_key
        from auditor.train.executors import ModelJob, train_group

        specs = [self._spec(indices, s) for s in seeds]
        missing = [i for i, spec in enumerate(specs) if not self.cache.has(spec)]
        fresh: dict[int, nn.Module] = {}
        if len(missing) > 1:
            data = self.prep.data
            split = take(data, indices)
            jobs = [
                ModelJob(
                    self.cfg.model.arch,
                    tuple(data.input_shape),
                    data.num_classes,
                    split.x,
                    split.y,
                    derive_seed(seeds[i], "init"),
                    derive_seed(seeds[i], "train"),
                )
                for i in missing
            ]
            with self.progress.task(f"training {len(missing)} {role}s", len(missing)) as update:
                for start in range(0, len(missing), 16):
                    chunk = missing[start : start + 16]
                    states = train_group(jobs[start : start + 16], self.recipe, str(self.prep.device))
                    for i, state in zip(chunk, states):
                        model = self.prep.factory()
                        model.load_state_dict(state)
                        _check_trained(model, f"{role} {i + 1}/{len(seeds)}")
                        self.cache.put(specs[i], model)
                        fresh[i] = model
                    update(start + len(chunk), len(missing))
        out = []
        for i, seed in enumerate(seeds):
            if i in fresh:
                out.append(
                    (
                        fresh[i].to(self.prep.device).eval(),
                        {"source": "trained", "seed": seed, "cache_key": cache_key(specs[i])},
                    )
                )
            else:
                out.append(self.train(f"{role} {i + 1}/{len(seeds)}", indices, seed))
        return out

    def train(self, role: str, indices: Any, seed: int) -> tuple[nn.Module, dict[str, Any]]:
        data = self.prep.data
        spec = self._spec(indices, seed)
        split = take(data, indices)

        def fit() -> nn.Module:
            with self.progress.task(f"training {role}", self.recipe.epochs) as update:
                model = init_model(self.prep.factory, derive_seed(seed, "init"))
                return train_model(
                    model,
                    split.x,
                    split.y,
                    recipe=self.recipe,
                    generator=torch_generator(seed, "train"),
                    device=self.prep.device,
                    progress=lambda d, t: update(d * self.recipe.epochs // t, self.recipe.epochs),
                )

        model, key, hit = self.cache.get_or_train(spec, self.prep.factory, fit, role=role)
        _check_trained(model, role)
        return model.to(self.prep.device).eval(), {
            "source": "cache" if hit else "trained",
            "seed": seed,
            "cache_key": key,
        }

    def load(self, key: str, path: Path) -> tuple[nn.Module, dict[str, Any]]:
        model = self.prep.factory()
        model.load_state_dict(self.prep.checkpoints[key])
        return model.to(self.prep.device).eval(), {
            "source": "checkpoint",
            "path": str(path),
            "file_sha256": file_digest(path),
        }


def run_audit(
    cfg: AuditConfig,
    *,
    out: Path | None = None,
    config_path: Path | None = None,
    progress: Progress | None = None,
    command: str | None = None,
    sign: bool = True,
) -> AuditOutcome:
    """Run the whole audit and write its outputs.

    Args:
        cfg: A validated config.
        out: Output folder (default ``cfg.report.out``).
        config_path: The YAML file the config came from (its bytes are hashed into the evidence).
        progress: Progress display (default: on when stderr is a terminal).
        command: The command line, recorded in the evidence.
        sign: False leaves the report unsigned (``--no-sign``).

    Returns:
        The outcome; ``exit_code`` is 0 for pass, 1 for fail or inconclusive.

    Raises:
        ConfigError: Preflight found problems (nothing was trained or written).
        AuditFailedError: A component failed; nothing that looks like a report is left behind.
    """
    progress = progress or Progress(enabled=False)
    t_start = time.time()
    out = Path(out or cfg.report.out)
    prep = preflight(cfg, out=out, source=str(config_path) if config_path else None, sign=sign)
    run_id = uuid.uuid4().hex[:16]
    staging = Staging(out, run_id)
    try:
        with progress:
            evidence, timings = _audit(
                cfg,
                prep,
                staging,
                progress,
                run_id=run_id,
                t_start=t_start,
                config_path=config_path,
                command=command,
                sign=sign,
            )
        files = staging.publish()
    except BaseException:
        staging.discard()
        raise
    return AuditOutcome(evidence["verdict"]["status"], evidence, files, timings)


def _audit(
    cfg: AuditConfig,
    prep: Prepared,
    staging: Staging,
    progress: Progress,
    *,
    run_id: str,
    t_start: float,
    config_path: Path | None,
    command: str | None,
    sign: bool,
) -> tuple[dict[str, Any], dict[str, float]]:
    timings: dict[str, float] = {}
    torch.manual_seed(derive_seed(cfg.seed, "global"))
    cache = ModelCache(cfg.execution.cache_dir or default_cache_dir(), enabled=cfg.execution.cache)
    trainer = _Trainer(cfg, prep, cache, progress)
    splits, data = prep.splits, prep.data

    t = time.perf_counter()
    if cfg.model.checkpoint is not None:
        original, original_info = trainer.load("model.checkpoint", cfg.model.checkpoint)
    else:
        original, original_info = trainer.train("original", splits.train, derive_seed(cfg.seed, "original"))
    timings["train_original_s"] = time.perf_counter() - t

    t = time.perf_counter()
    references, reference_info = _references(cfg, trainer, splits.retain)
    timings["reference_s"] = time.perf_counter() - t

    t = time.perf_counter()
    method_record = _unlearn(cfg, prep, trainer, original, progress)
    unlearned = method_record.pop("_model")
    method = method_record.pop("_method")
    arch_diffs = architecture_differences(unlearned, prep.factory)
    method_record["architecture"] = {
        "declared": cfg.model.arch,
        "matches": not arch_diffs,
        "differences": arch_diffs,
    }
    timings["unlearn_s"] = time.perf_counter() - t

    t = time.perf_counter()
    control_names = applicable_controls(cfg.forget.kind, cfg.gates.controls)
    with progress.task("deception controls", 1):
        built = build_controls(
            original,
            control_names,
            seed=cfg.seed,
            inputs_for=lambda s: UnlearnInputs(
                data=data,
                splits=splits,
                forget_kind=cfg.forget.kind,
                forget_classes=tuple(cfg.forget.classes or ()),
                recipe=trainer.recipe,
                model_factory=prep.factory,
                device=prep.device,
                seed=s,
            ),
        )
    timings["controls_s"] = time.perf_counter() - t

    t = time.perf_counter()
    ctx = AuditContext(
        data=data,
        splits=splits,
        unlearned=unlearned,
        references=references,
        original=original,
        forget_kind=cfg.forget.kind,
        forget_classes=tuple(cfg.forget.classes or ()),
        recipe=trainer.recipe,
        model_factory=prep.factory,
        device=prep.device,
        seed=cfg.seed,
        bootstrap=cfg.gates.bootstrap,
        level=0.95,
        population_is_clean="population" not in (method_record.get("data_read") or {}),
        shadows=ShadowStore(
            data=data,
            recipe=trainer.recipe,
            factory=prep.factory,
            arch=cfg.model.arch,
            cache=cache,
            device=prep.device,
            seed=cfg.seed,
            executor=_executor(cfg),
            train_size=int(len(splits.train)),
            group=shadow_group(cfg.forget.kind, data, splits, tuple(cfg.forget.classes or ())),
        ),
        progress=progress,
        method=method,
        trigger=prep.trigger,
        controls={c.name: c.model.to(prep.device).eval() for c in built},
        architecture_differences=tuple(arch_diffs),
    )
    attacks: list[tuple[Attack, dict[str, Any], dict[str, Any]]] = []  # (attack, record, gap samples by key)
    with progress.task("attacks", len(cfg.attacks)) as update:
        for i, spec in enumerate(cfg.attacks):
            cls = ATTACKS.get(spec.name)
            attack = cls(cls.Params.model_validate(spec.params))
            attacks.append((attack, *_run_attack(attack, ctx)))
            update(i + 1, len(cfg.attacks))
    timings["attacks_s"] = time.perf_counter() - t

    gates, results, verdict = _gates_and_verdict(
        cfg, attacks, control_names, forget_count=int(len(splits.forget))
    )
    pass_rule, fail_rule = rules_text(cfg.gates.alpha, len(gates), cfg.gates.correction)

    t_wall = t_start
    finished = time.time()
    config_json = cfg.model_dump(mode="json")
    config_sha256 = hashlib.sha256(canonical_json(config_json)).hexdigest()
    epoch = prep.source_date_epoch
    if epoch is not None:  # reproducible mode: the date and the run id are fixed
        t_start = finished = float(epoch)
        run_id = reproducible_run_id(
            epoch=epoch, config_sha256=config_sha256, data_fingerprint=data.fingerprint, seed=cfg.seed
        )
    evidence: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": {"name": "unlearn-audit", "version": __version__},
        "run": {
            "id": run_id,
            "started_utc": _utc(t_start),
            "finished_utc": _utc(finished),
            "title": cfg.report.title,
            "operator": cfg.report.operator,
            "organisation": cfg.report.organisation,
            "request_id": cfg.report.request_id,
            "responsible": cfg.report.responsible.model_dump(mode="json") if cfg.report.responsible else None,
            "config_path": str(config_path) if config_path else None,
            "command": command or (f"unlearn-audit run {config_path}" if config_path else None),
            "source_date_epoch": epoch,
        },
        "config": config_json,
        "config_sha256": config_sha256,
        "config_file_sha256": file_digest(config_path) if config_path else None,
        "seed": cfg.seed,
        "environment": capture(str(prep.device)),
        "data": {
            "dataset": data.name,
            "fingerprint": data.fingerprint,
            "num_classes": data.num_classes,
            "input_shape": list(data.input_shape),
            "split_sha256": splits.digest(),
            "source": data.source,
            "counts": {"total": len(data), **splits.counts()},
            "forget": {
                "kind": cfg.forget.kind,
                "classes": cfg.forget.classes,
                "fraction": cfg.forget.fraction,
                "trigger": prep.trigger.record() if prep.trigger is not None else None,
                "count": int(len(splits.forget)),
                "manifest_sha256": manifest_digest(splits.forget),
                "manifest_file": "forget_manifest.txt",
            },
        },
        "models": {
            "original": {"role": "original", "sha256": state_digest(original), **original_info},
            "unlearned": {
                "role": "unlearned",
                "sha256": state_digest(unlearned),
                **method_record.pop("_model_info"),
            },
            "references": [
                {"role": "reference", "index": i, "sha256": state_digest(m), **info}
                for i, (m, info) in enumerate(zip(references, reference_info))
            ],
            "digest_method": "sha256 over (name, dtype, shape, bytes) of the state_dict in sorted key order",
            # the user's training function (training.function): its name, source digest and determinism check
            "training_function": prep.training_check,
        },
        "method": method_record,
        "controls": [
            {
                "name": c.name,
                "role": f"control:{c.name}",
                "description": c.description,
                "sha256": state_digest(c.model),
                "runtime_s": c.runtime_s,
            }
            for c in built
        ],
        "attacks": [record for _, record, _ in attacks],
        "gates": {
            "alpha": cfg.gates.alpha,
            "correction": cfg.gates.correction,
            "family_size": len(gates),
            "family": [g.metric for g in gates],
            "pass_rule": pass_rule,
            "fail_rule": fail_rule,
            "bootstrap": cfg.gates.bootstrap,
            "seed_multiplier": cfg.gates.seed_multiplier,
            "results": [r.as_dict() for r in results],
        },
        "verdict": verdict,
        "cache": cache.record(),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }

    volatile = None
    if epoch is not None:
        evidence, volatile = split_volatile(evidence)
    t = time.perf_counter()
    staging.write_text("forget_manifest.txt", manifest_text(splits.forget))
    signing_key = _signing_key(cfg, prep, staging, sign=sign)
    evidence["signing"] = signing_key.record() if signing_key is not None else {"mode": "unsigned"}
    validate_evidence(evidence)  # the record matches its published schema before it is written or signed
    attachments = {
        "evidence.json": (_json(evidence).encode(), "The evidence record this report renders", "Data")
    }
    if signing_key is not None:
        envelope_bytes = _signed_statement(evidence, signing_key, config_path)
        staging.write_bytes("evidence.intoto.json", envelope_bytes)
        attachments["evidence.intoto.json"] = (
            envelope_bytes,
            "DSSE-signed in-toto statement over the evidence",
            "Data",
        )
    _render(cfg, evidence, staging, progress, signing_key=signing_key, attachments=attachments)
    timings["report_s"] = time.perf_counter() - t
    timings["total_s"] = time.time() - t_wall
    rounded = {k: round(v, 3) for k, v in timings.items()}
    # evidence.json is exactly what was signed (``verify`` compares it with the signed statement), so
    # the durations known only after signing, report_s and total_s, go to run-log.json with the rest.
    log = volatile if volatile is not None else {}
    log["timings"] = rounded
    staging.write_bytes("run-log.json", (_json(log) + "\n").encode())
    staging.write_bytes("evidence.json", (_json(evidence) + "\n").encode())
    return evidence, rounded


def _references(
    cfg: AuditConfig, trainer: _Trainer, retain: Any
) -> tuple[list[nn.Module], list[dict[str, Any]]]:
    """The reference models and their records: the supplied checkpoints, or retrains on ``retain``."""
    if cfg.reference.checkpoints:
        loaded = [
            trainer.load(f"reference.checkpoints.{i}", p) for i, p in enumerate(cfg.reference.checkpoints)
        ]
    else:
        seeds = [derive_seed(cfg.seed, f"reference/{i}") for i in range(cfg.reference.seeds)]
        loaded = trainer.train_many("reference", retain, seeds)
    return [m for m, _ in loaded], [info for _, info in loaded]


def _executor(cfg: AuditConfig) -> Executor:
    """The executor the config's ``execution`` section sets up (where shadow models train)."""
    ex = cfg.execution
    return make_executor(
        ex.executor,
        workers=ex.workers,
        address=ex.ray_address,
        cpus_per_task=ex.cpus_per_task,
        gpus_per_task=ex.gpus_per_task,
    )


def _measured(attack: Attack, record: dict[str, Any], evidence: dict[str, Any], kind: str) -> MeasuredAttack:
    """What the verdict reads of one attack's run: its keys, default gates and categories, and results."""
    keys = tuple(attack.metric_keys(kind))
    return MeasuredAttack(
        name=record["name"],
        keys=keys,
        default_gates=attack.default_gates(kind),
        categories={k: attack.category(k, kind) for k in keys},
        fail_only=attack.fail_only,
        metrics={m["key"]: m for m in record["metrics"]},
        evidence=evidence,
        error=record["error"],
    )


def _gates_and_verdict(
    cfg: AuditConfig,
    attacks: list[tuple[Attack, dict[str, Any], dict[str, Any]]],
    control_names: list[str],
    *,
    forget_count: int,
) -> tuple[list[Gate], list[GateResult], dict[str, Any]]:
    """The gates, each one's judgement, and the verdict: :func:`auditor.judge.verdict.decide` on the runs."""
    kind = cfg.forget.kind
    measured = [
        _measured(attack, record, metric_evidence, kind) for attack, record, metric_evidence in attacks
    ]
    decision = decide(
        measured,
        rules=[(r.metric, r.tolerance) for r in cfg.gates.rules] if cfg.gates.rules is not None else None,
        alpha=cfg.gates.alpha,
        correction=cfg.gates.correction,
        seed_multiplier=cfg.gates.seed_multiplier,
        forget_kind=kind,
        controls=control_names,
        forget_count=forget_count,
    )
    return decision.gates, decision.results, decision.verdict


def _signed_statement(evidence: dict[str, Any], signing_key: Any, config_path: Path | None) -> bytes:
    """The DSSE envelope (``evidence.intoto.json``) of the in-toto statement over the evidence."""
    from auditor.evidence.sign import dsse_sign, statement

    envelope = dsse_sign(canonical_json(statement(evidence, config_path=config_path)), signing_key)
    return (_json(envelope) + "\n").encode()


def _render(
    cfg: AuditConfig,
    evidence: dict[str, Any],
    staging: Staging,
    progress: Progress,
    *,
    signing_key: Any,
    attachments: dict[str, tuple[bytes, str, str]],
) -> None:
    """Write report.html and report.pdf (the PDF signed when there is a key), as ``report.formats`` lists."""
    if "html" not in cfg.report.formats and "pdf" not in cfg.report.formats:
        return
    from auditor.report.render import render_html, render_pdf

    with progress.task("rendering report", 2) as update:
        html = render_html(evidence)
        if "html" in cfg.report.formats:
            staging.write_text("report.html", html)
        update(1, 2)
        if "pdf" in cfg.report.formats:
            pdf = render_pdf(html, evidence=evidence, attachments=attachments)
            if signing_key is not None:
                from auditor.evidence.sign import sign_pdf

                pdf = sign_pdf(
                    pdf,
                    signing_key,
                    reason="Machine-unlearning audit attestation",
                    name=cfg.report.operator,
                    tsa_url=cfg.report.signing.tsa_url,
                )
            staging.write_bytes("report.pdf", pdf)
        update(2, 2)


def _signing_key(cfg: AuditConfig, prep: Prepared, staging: Staging, *, sign: bool) -> Any:
    """The configured key, a throwaway test key (its certificates written beside the report), or None."""
    if not (sign and cfg.report.signing.enabled):
        return None
    if prep.signing_key is not None:
        return prep.signing_key
    from cryptography.hazmat.primitives import serialization

    from auditor.evidence.sign import generate_test_pki

    key, ca = generate_test_pki(common_name="unlearn-audit throwaway test signer")
    staging.write_bytes("signer-test.cert.pem", key.cert.public_bytes(serialization.Encoding.PEM))
    staging.write_bytes("signer-test-ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    return key


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False)


def _unlearn(
    cfg: AuditConfig, prep: Prepared, trainer: _Trainer, original: nn.Module, progress: Progress
) -> dict[str, Any]:
    """Run the method (or load the unlearned checkpoint); the record says what data it read."""
    if cfg.unlearner.checkpoint is not None:
        model, info = trainer.load("unlearner.checkpoint", cfg.unlearner.checkpoint)
        bad = [
            n for n, v in model.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()
        ]
        if bad:
            raise AuditFailedError(
                f"unlearner.checkpoint holds non-finite weights (NaN or inf) in {', '.join(bad[:5])}"
            )
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
            "_model": model,
            "_model_info": info,
            "_method": None,
        }
    cls = UNLEARNERS.get(cfg.unlearner.name)  # type: ignore[arg-type]
    method = cls(cls.Params.model_validate(cfg.unlearner.params))
    seed = derive_seed(cfg.seed, "unlearn")
    with progress.task(f"unlearning ({cls.name})", 1) as update:
        inputs = UnlearnInputs(
            data=prep.data,
            splits=prep.splits,
            forget_kind=cfg.forget.kind,
            forget_classes=tuple(cfg.forget.classes or ()),
            recipe=trainer.recipe,
            model_factory=prep.factory,
            device=prep.device,
            seed=seed,
            progress=update,
        )
        t = time.perf_counter()
        model = method.run(original, inputs)
        runtime = time.perf_counter() - t
    return {
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
        "_model": model.to(prep.device).eval(),
        "_model_info": {"source": "method", "seed": seed},
        "_method": method,
    }


def _evidence(comparison: Any) -> dict[str, Any]:
    """Role -> gap evidence of one metric.

    For a comparison that carries none, the sample-only evidence of the unlearned and original
    gaps (one reference: it cannot show equivalence).
    """
    if comparison.evidence:
        return dict(comparison.evidence)
    out: dict[str, Any] = {}
    ref = comparison.per_model.get("reference")
    if comparison.gap.value is None or ref is None or ref.value is None:
        return out
    out["unlearned"] = evidence_from_replicates(comparison.gap.value, comparison.gap_samples, [ref.value])
    orig = comparison.per_model.get("original")
    if comparison.control_samples is not None and orig is not None and orig.value is not None:
        out["original"] = evidence_from_replicates(
            orig.value - ref.value, comparison.control_samples, [ref.value]
        )
    return out


def _run_attack(attack: Attack, ctx: AuditContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """Measure one attack; a crash is recorded and the battery goes on."""
    t = time.perf_counter()
    record: dict[str, Any] = {
        "name": attack.name,
        "title": attack.title,
        "summary": attack.summary,
        "citation": attack.citation,
        "threat_model": attack.threat_model,
        "params": attack.params.model_dump(mode="json"),
        "metrics": [],
        "tables": [],
        "figures": [],
        "details": {},
        "error": None,
    }
    samples: dict[str, Any] = {}
    try:
        if attack.white_box and ctx.architecture_differences:
            raise RuntimeError(
                "the unlearned model is not the declared architecture ("
                + "; ".join(ctx.architecture_differences)
                + "): a white-box check would compare "
                "different networks, so it refuses; audit the model under its own architecture"
            )
        m = attack.measure(ctx)
        record["metrics"] = [r.as_dict() for r in m.metrics]
        record["tables"] = [tb.as_dict() for tb in m.tables]
        record["details"] = m.details
        record["figures"] = [f.as_dict() for f in m.figures]
        samples = {r.key: _evidence(r.comparison) for r in m.metrics}
    except Exception as exc:  # recorded in the evidence; the verdict becomes inconclusive
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=6)
    record["runtime_s"] = round(time.perf_counter() - t, 3)
    return record, samples
