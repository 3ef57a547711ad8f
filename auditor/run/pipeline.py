"""``run_audit``: the audit as its steps, and nothing else.

1. **prepare**: preflight (data, splits, files, output folder; :mod:`auditor.run.preflight`);
2. **models**: the original (checkpoint or trained, cached), the references (retrained on the
   retain set, cached, or supplied) and the unlearned model (the method run on a copy of the
   original, or a supplied checkpoint), each rebuilt from the state it attests
   (:mod:`auditor.run.models`);
3. **controls**: the deception controls (:mod:`auditor.run.controls`);
4. **measure**: every attack on every model (:mod:`auditor.run.measure`);
5. **decide**: gates and verdict (:func:`auditor.judge.verdict.decide`);
6. **record**: the evidence record from typed parts (:mod:`auditor.run.record`);
7. **publish**: the signed statement, the reports, ``unlearned.pt`` and the evidence, staged and
   moved into place atomically (:mod:`auditor.run.publish`, :mod:`auditor.run.outputs`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from auditor.config import AuditConfig
from auditor.judge.decision import Decision, decide
from auditor.judge.sensitivity import PartialControl
from auditor.plugin.context import AuditContext
from auditor.run.controls import (
    BuiltControl,
    PartialErasure,
    build_controls,
    build_partial_erasures,
    partial_erasures,
    robustness_order,
)
from auditor.run.measure import AttackRun, run_attacks, shadow_store
from auditor.run.models import (
    AuditedModel,
    Engine,
    Unlearned,
    attack_context,
    make_engine,
    original_model,
    reference_models,
    unlearn_inputs,
    unlearned_model,
)
from auditor.run.outputs import Staging
from auditor.run.plan import sample_sizes
from auditor.run.preflight import Prepared, preflight
from auditor.run.progress import Progress
from auditor.run.publish import publish, to_json
from auditor.run.record import RunInfo, build_evidence, config_digest
from auditor.run.reproducible import run_id as reproducible_run_id
from auditor.run.reproducible import split_volatile
from auditor.seeding import derive_seed
from unlearners.deceptive import applicable as applicable_controls

REPORTED_LEVEL = 0.95
"""Confidence level of the intervals reported per model (the gates use their own levels)."""


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


def run_audit(
    cfg: AuditConfig,
    *,
    out: Path | None = None,
    config_path: Path | None = None,
    progress: Progress | None = None,
    command: str | None = None,
    sign: bool = True,
    on_prepared: Callable[[Prepared], None] | None = None,
) -> AuditOutcome:
    """Run the whole audit and write its outputs.

    Args:
        cfg: A validated config.
        out: Output folder (default ``cfg.report.out``).
        config_path: The YAML file the config came from (its bytes are hashed into the evidence).
        progress: Progress display (default: on when stderr is a terminal).
        command: The command line, recorded in the evidence.
        sign: False leaves the report unsigned (``--no-sign``).
        on_prepared: Called with preflight's result before anything is trained (``run`` prints the
            sizes-only plan there: :func:`auditor.run.plan.size_plan`).

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
    if on_prepared is not None:
        on_prepared(prep)
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


@dataclass
class _Clock:
    """Phase durations, in seconds, as the evidence's ``timings`` records them, and when the run started."""

    timings: dict[str, float]
    started: float

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.timings[phase] = time.perf_counter() - t


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
    """The audit's steps: models, controls, measure, decide, record, publish."""
    clock = _Clock({}, t_start)
    torch.manual_seed(derive_seed(cfg.seed, "global"))
    engine = make_engine(cfg, prep, progress)
    with clock("train_original_s"):
        original = original_model(cfg, prep, engine)
    with clock("reference_s"):
        references = reference_models(cfg, prep, engine)
    with clock("unlearn_s"):
        unlearned = unlearned_model(cfg, prep, engine, original, progress)
    with clock("controls_s"):
        control_names = applicable_controls(cfg.forget.kind, cfg.gates.controls)
        built = _controls(cfg, prep, engine, original, control_names, progress)
        partials = _partials(cfg, prep, original)
        built += build_partial_erasures(
            partials,
            trainer=engine.trainer,
            retain=prep.splits.retain,
            seed=cfg.seed,
            factory=prep.factory,
            device=prep.device,
        )
    with clock("attacks_s"):
        ctx = _context(cfg, prep, engine, original, references, unlearned, built, progress)
        runs = run_attacks(cfg, ctx, progress)
    sizes = {
        **sample_sizes(cfg.forget.kind, prep.data, prep.splits),
        "nonmember": len(ctx.nonmember_indices()),
    }
    decision = _decide(
        cfg, runs, control_names, partials, forget_count=int(len(prep.splits.forget)), sizes=sizes
    )
    info = _run_info(cfg, prep, run_id=run_id, t_start=t_start, config_path=config_path, command=command)
    evidence = build_evidence(
        cfg,
        prep,
        info,
        original=original,
        references=references,
        unlearned=unlearned,
        controls=built,
        partials=partials,
        runs=runs,
        decision=decision,
        cache=engine.cache.record(),
        timings=clock.timings,
    )
    return _publish(
        cfg, prep, staging, progress, evidence, clock, unlearned=unlearned, config_path=config_path, sign=sign
    )


def _publish(
    cfg: AuditConfig,
    prep: Prepared,
    staging: Staging,
    progress: Progress,
    evidence: dict[str, Any],
    clock: _Clock,
    *,
    unlearned: Unlearned,
    config_path: Path | None,
    sign: bool,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Sign, render and stage every output; what is measured after signing goes to run-log.json."""
    volatile = None
    if prep.source_date_epoch is not None:
        evidence, volatile = split_volatile(evidence)
    with clock("report_s"):
        evidence = publish(
            cfg,
            prep,
            staging,
            progress,
            evidence,
            unlearned_bytes=unlearned.file_bytes,
            config_path=config_path,
            sign=sign,
        )
    clock.timings["total_s"] = time.time() - clock.started
    rounded = {k: round(v, 3) for k, v in clock.timings.items()}
    # evidence.json is exactly what was signed (``verify`` compares it with the signed statement), so
    # the durations known only after signing, report_s and total_s, go to run-log.json with the rest.
    log = volatile if volatile is not None else {}
    log["timings"] = rounded
    staging.write_bytes("run-log.json", (to_json(log) + "\n").encode())
    staging.write_bytes("evidence.json", (to_json(evidence) + "\n").encode())
    return evidence, rounded


def _run_info(
    cfg: AuditConfig,
    prep: Prepared,
    *,
    run_id: str,
    t_start: float,
    config_path: Path | None,
    command: str | None,
) -> RunInfo:
    """The run's id and times (fixed in reproducible mode) and the config's digest."""
    config_json, config_sha256 = config_digest(cfg)
    started, finished = t_start, time.time()
    epoch = prep.source_date_epoch
    if epoch is not None:  # reproducible mode: the date and the run id are fixed
        started = finished = float(epoch)
        run_id = reproducible_run_id(
            epoch=epoch, config_sha256=config_sha256, data_fingerprint=prep.data.fingerprint, seed=cfg.seed
        )
    return RunInfo(run_id, started, finished, config_path, command, config_json, config_sha256)


def _controls(
    cfg: AuditConfig,
    prep: Prepared,
    engine: Engine,
    original: AuditedModel,
    names: list[str],
    progress: Progress,
) -> list[BuiltControl]:
    """The deception controls that apply to the request, built from the original and attested."""
    with progress.task("deception controls", 1):
        return build_controls(
            original.model,
            names,
            seed=cfg.seed,
            inputs_for=lambda s: unlearn_inputs(cfg, prep, engine.recipe, s),
            factory=prep.factory,
            probe=engine.probe,
            device=prep.device,
        )


def _context(
    cfg: AuditConfig,
    prep: Prepared,
    engine: Engine,
    original: AuditedModel,
    references: list[AuditedModel],
    unlearned: Unlearned,
    built: list[BuiltControl],
    progress: Progress,
) -> AuditContext:
    """What the attacks see: only attested models, the data, the trainer and the shadows."""
    return attack_context(
        cfg,
        prep,
        engine,
        original=original.model,
        references=[m.model for m in references],
        unlearned=unlearned.model.model,
        progress=progress,
        level=REPORTED_LEVEL,
        population_is_clean="population" not in (unlearned.record.get("data_read") or {}),
        shadows=shadow_store(cfg, prep, engine.trainer),
        method=unlearned.method,
        controls={c.name: c.model for c in built},
    )


def _partials(cfg: AuditConfig, prep: Prepared, original: AuditedModel) -> list[PartialErasure]:
    """The incomplete-erasure controls the config asks for (none when ``gates.incomplete_erasure`` is null)."""
    spec = cfg.gates.incomplete_erasure
    if spec is None:
        return []
    forget = prep.splits.forget
    idx = torch.as_tensor(forget, dtype=torch.long)
    order = robustness_order(original.model, prep.data.x[idx], prep.data.y[idx], prep.device)
    return partial_erasures(
        forget, random=spec.random, least_exposed=spec.least_exposed, order=order, seed=cfg.seed
    )


def _decide(
    cfg: AuditConfig,
    runs: list[AttackRun],
    deceptions: list[str],
    partials: list[PartialErasure],
    *,
    forget_count: int,
    sizes: dict[str, int] | None = None,
) -> Decision:
    """The gates, each one's judgement, the sensitivity and the verdict: :func:`auditor.judge.decision.decide`."""
    kind = cfg.forget.kind
    spec = cfg.gates.incomplete_erasure
    largest = {
        sel: max(p.kept_fraction for p in partials if p.selection == sel)
        for sel in {p.selection for p in partials}
    }
    required_shares = largest if spec is not None and spec.require_largest else {}
    required = deceptions + [p.name for p in partials if required_shares.get(p.selection) == p.kept_fraction]
    return decide(
        [r.measured(kind) for r in runs],
        rules=[(r.metric, r.tolerance) for r in cfg.gates.rules] if cfg.gates.rules is not None else None,
        alpha=cfg.gates.alpha,
        correction=cfg.gates.correction,
        seed_multiplier=cfg.gates.seed_multiplier,
        forget_kind=kind,
        controls=deceptions + [p.name for p in partials],
        forget_count=forget_count,
        required_controls=required,
        partial=[PartialControl(p.name, p.selection, p.kept_fraction, len(p.kept)) for p in partials],
        required_shares=required_shares,
        sample_sizes=sizes,
    )
