"""``unlearn-audit plan``: what an audit can show before it runs, from its data sizes or a cheap pilot.

* :func:`size_plan` reads only the config and the splits preflight draws (no training): per gate of
  the configured battery what the sample sizes allow, and per claimed category whether any gate can
  be powered at all (:mod:`auditor.judge.planning`). ``run`` prints it first.
* :func:`pilot_plan` trains the original and the first k of the audit's own references (the same seeds,
  ``reference/0`` ... ``reference/{k-1}``, by the audit's one trainer, so the audit reuses them from the
  model cache), holds the last of them out as a stand-in for an honest unlearned model, runs the
  battery's attacks that need no shadow models and no method, and predicts each gate's tolerance, power
  and MDE at 80 % power for the configured reference count, with what would change an unpowered claim.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from attacks import ATTACKS
from attacks.base import Attack, Need
from auditor.config import AuditConfig
from auditor.data.datasets import LoadedData
from auditor.data.splits import Splits
from auditor.judge import planning
from auditor.judge.inference import GapEvidence
from auditor.judge.planning import CategoryOutlook, PilotEvidence, RuleParams, SizeCheck, Step
from auditor.judge.sensitivity import SELECTION_WORDS
from auditor.judge.verdict import CATEGORIES, CLAIMS, Gate, GateResult, resolve_gates
from auditor.run.preflight import Prepared
from auditor.run.progress import Progress

if TYPE_CHECKING:
    from auditor.plugin.context import AuditContext

CHANCE_RATES = {"records.exposed": ("records", "fpr"), "lira.exposure": ("lira", "exposure_fpr")}
"""Chance-rate gates: metric -> (attack, parameter) holding the share of records a retrain flags by design."""

DEFAULT_PILOT_REFERENCES = 6
"""References a pilot trains (one is held out as the honest stand-in; the per-record test needs 3 others)."""


@dataclass(frozen=True)
class Battery:
    """The configured battery as the verdict will gate it, known before anything is trained.

    Attributes:
        gates: Every gate, at its floor (before widening).
        rates: Chance-rate gate -> the share a retrain flags.
        attacks: Name -> the configured attack.
    """

    gates: list[Gate]
    rates: dict[str, float]
    attacks: dict[str, Attack[Any]]

    @property
    def family(self) -> int:
        return len(self.gates)

    def pilotable(self, name: str) -> bool:
        """Whether attack ``name`` runs in a pilot: it needs no shadow models, no method and no trigger."""
        return self.attacks[name].requires == Need.NONE


def battery(cfg: AuditConfig) -> Battery:
    """The gates the audit will judge (the config's rules, else the attacks' defaults), from the config alone."""
    kind = cfg.forget.kind
    attacks: dict[str, Attack[Any]] = {}
    keys: list[str] = []
    defaults: dict[str, float] = {}
    categories: dict[str, str] = {}
    fail_only: set[str] = set()
    for spec in cfg.attacks:
        cls = ATTACKS.get(spec.name)
        attack = cls(cls.Params.model_validate(spec.params))
        attacks[spec.name] = attack
        mine = attack.metric_keys(kind)
        keys += mine
        defaults.update(attack.default_gates(kind))
        categories.update({k: attack.category(k, kind) for k in mine})
        if attack.fail_only:
            fail_only.update(mine)
    rules = [(r.metric, r.tolerance) for r in cfg.gates.rules] if cfg.gates.rules is not None else None
    gates = resolve_gates(rules, defaults, keys, categories=categories, fail_only=fail_only)
    rates = {
        metric: float(getattr(attacks[name].params, param))
        for metric, (name, param) in CHANCE_RATES.items()
        if name in attacks
    }
    return Battery(gates, rates, attacks)


def sample_sizes(forget_kind: str, data: LoadedData, splits: Splits) -> dict[str, int]:
    """The sample sets the gates are computed on, and their sizes (see :mod:`auditor.judge.planning`).

    Non-members are the held-out samples (test and population) of the forget set's classes, as the
    attacks draw them when the method reads no population data.
    """
    y = data.y.numpy()
    classes = np.unique(y[splits.forget])
    held = np.union1d(splits.test, splits.population)
    of_class = np.isin(y[held], classes)
    test_forgotten = int(np.isin(y[splits.test], classes).sum())
    nonmember = (
        int(len(splits.decoys)) if forget_kind == "backdoor" and len(splits.decoys) else int(of_class.sum())
    )
    return {
        "train": int(len(splits.train)),
        planning.FORGET: int(len(splits.forget)),
        planning.RETAIN: int(len(splits.retain)),
        planning.TEST: int(len(splits.test)),
        "population": int(len(splits.population)),
        planning.TEST_FORGOTTEN: test_forgotten,
        planning.TEST_RETAINED: int(len(splits.test)) - test_forgotten,
        planning.NONMEMBER: nonmember,
        planning.HELDOUT_CLASS: int(of_class.sum()),
    }


def rules_of(cfg: AuditConfig, family: int) -> RuleParams:
    """The verdict's parameters for a plan."""
    return RuleParams(alpha=cfg.gates.alpha, family=family, multiplier=cfg.gates.seed_multiplier)


def reference_count(cfg: AuditConfig) -> int:
    """R: the supplied reference checkpoints, else ``reference.seeds``."""
    return len(cfg.reference.checkpoints) or cfg.reference.seeds


@dataclass(frozen=True)
class SizePlan:
    """What the data sizes alone say about the audit.

    Attributes:
        dataset: The dataset's name.
        forget_kind: The request's kind.
        sizes: Sample-set name -> count.
        references: R.
        family: The number of gates.
        alpha: ``gates.alpha``.
        claims: The categories a PASS needs.
        checks: Per gate, what the sizes allow.
        outlooks: Per category, whether any gate can be powered.
        erasure: The incomplete-erasure controls a PASS needs, against what the per-record gate needs to FAIL one.
    """

    dataset: str
    forget_kind: str
    sizes: dict[str, int]
    references: int
    family: int
    alpha: float
    claims: tuple[str, ...]
    checks: list[SizeCheck]
    outlooks: list[CategoryOutlook]
    erasure: list[str] = field(default_factory=list)

    @property
    def too_small(self) -> list[str]:
        """The claimed categories no gate of the battery can power at these sizes."""
        return [o.category for o in self.outlooks if o.claimed and o.outlook == "cannot"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "forget_kind": self.forget_kind,
            "sizes": self.sizes,
            "references": self.references,
            "family": self.family,
            "alpha": self.alpha,
            "claims": list(self.claims),
            "gates": [c.as_dict() for c in self.checks],
            "categories": [o.as_dict() for o in self.outlooks],
            "incomplete_erasure": self.erasure,
            "too_small": self.too_small,
        }


def size_plan(cfg: AuditConfig, prep: Prepared) -> SizePlan:
    """The plan from the data sizes alone (no training)."""
    kind = cfg.forget.kind
    bat = battery(cfg)
    sizes = sample_sizes(kind, prep.data, prep.splits)
    refs = reference_count(cfg)
    checks = [
        planning.size_check(
            g,
            forget_kind=kind,
            sizes=sizes,
            references=refs,
            alpha=cfg.gates.alpha,
            family=bat.family,
            multiplier=cfg.gates.seed_multiplier,
            rate=bat.rates.get(g.metric),
        )
        for g in bat.gates
    ]
    claims = CLAIMS.get(kind, ("utility", "forgetting", "privacy"))
    outlooks = [
        planning.size_outlook(c, checks, claimed=c in claims)
        for c in CATEGORIES
        if c in claims or any(k.category == c for k in checks)
    ]
    return SizePlan(
        prep.data.name,
        kind,
        sizes,
        refs,
        bat.family,
        cfg.gates.alpha,
        claims,
        checks,
        outlooks,
        _erasure_lines(cfg, bat, sizes, refs),
    )


def _erasure_lines(cfg: AuditConfig, bat: Battery, sizes: dict[str, int], refs: int) -> list[str]:
    """The required incomplete-erasure controls against the excess the per-record gate needs to FAIL one."""
    spec = cfg.gates.incomplete_erasure
    n = sizes.get(planning.FORGET, 0)
    if spec is None or not spec.require_largest or "records.exposed" not in bat.rates or n < 2:
        return []
    rate = bat.rates["records.exposed"]
    excess = planning.fail_excess(n, rate, references=refs, alpha=cfg.gates.alpha, family=bat.family)
    lines = []
    for selection, shares in (("random", spec.random), ("least_exposed", spec.least_exposed)):
        if not shares:
            continue
        kept = max(1, round(max(shares) * n))
        words = SELECTION_WORDS.get(selection, selection)
        line = (
            f"a PASS needs the control that keeps {kept} of {n} records ({words}) caught: records.exposed FAILs it "
            f"only with more than {excess:.1f} of them flagged beyond chance"
        )
        if kept <= excess:
            line += "; it cannot, even if every kept record is flagged, so another check must catch it"
        lines.append(line)
    return lines


# --------------------------------------------------------------------------------------------------
# The pilot


@dataclass(frozen=True)
class GatePlan:
    """One gate in a pilot plan.

    Attributes:
        gate: The gate at its floor.
        piloted: Whether the pilot measured it (else ``check`` is the sizes-only finding).
        predicted: The audit's judgement of an honest model with R references (tolerance, power, MDE at 80 %).
        retrain_sd: The pooled retrain SD of the pilot references.
        original_effect: The original's gap to the pilot references' mean.
        check: The sizes-only finding.
        original: The original's predicted evidence with R references.
    """

    gate: Gate
    piloted: bool
    predicted: GateResult | None
    retrain_sd: float | None
    original_effect: float | None
    check: SizeCheck
    original: GapEvidence | None = None

    def as_dict(self) -> dict[str, Any]:
        p = self.predicted
        return {
            "metric": self.gate.metric,
            "category": self.gate.category,
            "fail_only": self.gate.fail_only,
            "floor": self.gate.tolerance,
            "piloted": self.piloted,
            "retrain_sd": self.retrain_sd,
            "original_effect": self.original_effect,
            "tolerance": p.gate.tolerance if p else None,
            "powered": p.powered if p else None,
            "power_reason": p.power_reason if p else None,
            "mde_80": p.mde_80 if p else None,
            "original_status": p.control if p else None,
            "sizes_only": self.check.as_dict(),
        }


@dataclass(frozen=True)
class PilotPlan:
    """A pilot's predictions for the audit.

    Attributes:
        sizes: The sizes-only plan.
        pilot_references: k, the references the pilot trained (the first k of the audit's seeds).
        attacks: The attacks the pilot ran.
        gates: Per gate, the prediction.
        outlooks: Per category, the predicted power.
        steps: Per unpowered claimed category, what would make it powered.
        why_not: Per category, why no size would (the original's effect alone decides it).
        seconds: The pilot's wall time.
        errors: Attacks that did not complete in the pilot, and why (their gates are not piloted).
    """

    sizes: SizePlan
    pilot_references: int
    attacks: list[str]
    gates: list[GatePlan]
    outlooks: list[CategoryOutlook]
    steps: dict[str, list[Step]]
    why_not: dict[str, str]
    seconds: float
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pilot_references": self.pilot_references,
            "attacks": self.attacks,
            "errors": self.errors,
            "assumption": planning.ASSUMPTION,
            "gates": [g.as_dict() for g in self.gates],
            "categories": [o.as_dict() for o in self.outlooks],
            "what_would_change_it": {c: [s.as_dict() for s in steps] for c, steps in self.steps.items()},
            "why_not": self.why_not,
            "seconds": round(self.seconds, 1),
        }


def pilot_plan(cfg: AuditConfig, prep: Prepared, *, references: int, progress: Progress) -> PilotPlan:
    """Train the pilot, measure the shadow-free attacks and predict the audit (module docstring).

    Args:
        cfg: The audit's config.
        prep: Its preflight.
        references: k, the pilot references to train (at least 2; 4 or more for the per-record test).
        progress: The progress display.
    """
    from auditor.run.measure import run_attack

    t0 = time.perf_counter()
    sizes = size_plan(cfg, prep)
    bat = battery(cfg)
    runs, names = [], [n for n in bat.attacks if bat.pilotable(n)]
    with progress:
        ctx = _pilot_context(cfg, prep, references, progress)
        with progress.task("pilot attacks", len(names)) as update:
            for i, name in enumerate(names):
                runs.append(run_attack(bat.attacks[name], ctx))
                update(i + 1, len(names))
    evidence = {k: v for r in runs for k, v in r.evidence.items()}
    rules = rules_of(cfg, bat.family)
    refs = reference_count(cfg)
    gates = [
        _gate_plan(g, evidence.get(g.metric, {}), check, refs, rules, bat.rates.get(g.metric))
        for g, check in zip(bat.gates, sizes.checks)
    ]
    outlooks, steps, why_not = [], {}, {}
    for cat in [o.category for o in sizes.outlooks]:
        outlook = _pilot_outlook(cat, gates, claimed=cat in sizes.claims)
        outlooks.append(outlook)
        if outlook.claimed and outlook.outlook != "powered":
            mine = [g for g in gates if g.gate.category == cat and g.predicted is not None]
            honest = {
                g.gate.metric: g.predicted.evidence for g in mine if g.predicted and g.predicted.evidence
            }
            originals = {g.gate.metric: g.original for g in mine}
            steps[cat] = planning.steps_to_power(
                [g.gate for g in mine],
                honest,
                originals,
                target=cat,
                forget_kind=cfg.forget.kind,
                sizes=sizes.sizes,
                references=refs,
                rules=rules,
            )
            reason = planning.nothing_in_reach([g.gate for g in mine], originals)
            if reason:
                why_not[cat] = reason
    errors = {r.record["name"]: r.record["error"] for r in runs if r.record["error"]}
    seconds = time.perf_counter() - t0
    return PilotPlan(sizes, references, names, gates, outlooks, steps, why_not, seconds, errors)


def _pilot_context(cfg: AuditConfig, prep: Prepared, k: int, progress: Progress) -> AuditContext:
    """The attacks' context over the pilot: the original, k - 1 references and the held-out stand-in."""
    from auditor.run.models import attack_context, make_engine, original_model, reference_models

    engine = make_engine(cfg, prep, progress)
    original = original_model(cfg, prep, engine)
    if cfg.reference.checkpoints:
        pilot_cfg = cfg.model_copy(
            update={
                "reference": cfg.reference.model_copy(update={"checkpoints": cfg.reference.checkpoints[:k]})
            }
        )
    else:
        pilot_cfg = cfg.model_copy(update={"reference": cfg.reference.model_copy(update={"seeds": k})})
    refs = reference_models(pilot_cfg, prep, engine)
    if len(refs) < 2:
        from auditor.errors import ConfigError, Problem

        raise ConfigError([Problem("reference", "a pilot needs at least 2 references (3 or more is better)")])
    return attack_context(
        cfg,
        prep,
        engine,
        original=original.model,
        references=[m.model for m in refs[:-1]],
        unlearned=refs[-1].model,
        progress=progress,
    )


def _gate_plan(
    gate: Gate, ev: dict[str, Any], check: SizeCheck, refs: int, rules: RuleParams, rate: float | None
) -> GatePlan:
    """One gate's prediction from its pilot evidence (the sizes-only finding where the pilot has none).

    A chance-rate gate (``rate``) takes at least the binomial spread of records flagged independently at
    that rate (its pilot spread is wider where records are flagged together, as under class forgetting).
    """
    stand_in = ev.get("unlearned")
    if stand_in is None or not stand_in.training_randomness:
        return GatePlan(gate, False, None, None, None, check)
    n = next(iter(check.samples.values()), 0)
    spread = math.sqrt(rate * (1 - rate) / n) if rate is not None and n else None
    honest, original, sd = planning.predicted_evidence(
        PilotEvidence(stand_in, ev.get("original")), references=refs, spread=spread
    )
    predicted = planning.predict_gate(
        gate, honest, original, alpha=rules.alpha, family=rules.family, multiplier=rules.multiplier
    )
    return GatePlan(gate, True, predicted, sd, original.point if original else None, check, original)


def _pilot_outlook(category: str, gates: list[GatePlan], *, claimed: bool) -> CategoryOutlook:
    """One claim's predicted power from the piloted gates; unpiloted gates are named, not guessed."""
    mine = [g for g in gates if g.gate.category == category]
    powered = tuple(g.gate.metric for g in mine if g.predicted is not None and g.predicted.powered)
    unpiloted = [g.gate.metric for g in mine if not g.piloted and not g.gate.fail_only]
    if powered:
        return CategoryOutlook(category, claimed, "powered", powered, "powered: " + ", ".join(powered))
    if not mine:
        return CategoryOutlook(category, claimed, "cannot", (), "no check in this battery measures it")
    tried = [g for g in mine if g.predicted is not None and not g.gate.fail_only]
    why = "; ".join(
        f"{g.gate.metric}: {g.predicted.power_reason.split(':')[0]}" for g in tried[:3] if g.predicted
    )
    if unpiloted:
        text = "no piloted check is powered" + (f" ({why})" if why else "")
        text += "; not piloted (shadow models or the method needed): " + ", ".join(unpiloted)
        return CategoryOutlook(category, claimed, "unknown", tuple(unpiloted), text)
    return CategoryOutlook(
        category,
        claimed,
        "unpowered",
        tuple(g.gate.metric for g in tried),
        "not powered" + (f": {why}" if why else ""),
    )


# --------------------------------------------------------------------------------------------------
# In words

OUTLOOK_WORDS = {
    "powered": "can be powered",
    "depends": "depends on the original's effect",
    "cannot": "CANNOT be powered at these sizes",
    "unknown": "not known from the pilot",
    "unpowered": "NOT powered",
}


def _header(plan: SizePlan) -> str:
    s = plan.sizes
    held = (
        f", {s[planning.HELDOUT_CLASS]} held-out samples of the forgotten classes"
        if plan.forget_kind == "class"
        else f", {s[planning.NONMEMBER]} held-out non-members"
    )
    return (
        f"Plan ({plan.dataset}, forget kind {plan.forget_kind}): {s[planning.FORGET]} forget, {s[planning.RETAIN]} retain, "
        f"{s[planning.TEST]} test, {s['population']} population samples{held}; {plan.references} references; "
        f"{plan.family} gates (fail interval {planning.pct(planning.failure_level(plan.alpha, plan.family), 2)})"
    )


def _outlook_line(o: CategoryOutlook) -> str:
    claim = "claimed" if o.claimed else "not claimed"
    return f"  {o.category:<15} ({claim}): {o.text}"


def size_lines(plan: SizePlan, *, brief: bool = False) -> list[str]:
    """The sizes-only plan in words; ``brief`` (``run``'s first lines) keeps the gates that cannot be powered."""
    lines = [_header(plan)]
    checks = [
        c
        for c in plan.checks
        if not brief
        or (
            c.powerable is False
            and c.category in plan.claims
            and c.needs_effect is None
            and "FAIL" not in c.text
        )
    ]
    if checks:
        lines.append("From the data sizes alone (no training):")
        lines += [f"  {c.metric:<34} {c.category:<15} {c.text}" for c in checks]
    lines.append("Claims:")
    lines += [_outlook_line(o) for o in plan.outlooks]
    lines += [f"Incomplete erasure: {e}" for e in plan.erasure]
    if plan.too_small:
        lines.append(
            f"Too small to settle: {', '.join(plan.too_small)} cannot be shown at these sizes, so the audit can only "
            "FAIL or be INCONCLUSIVE."
        )
    else:
        lines.append(
            "Whether each claim is powered depends on the original's effect and the retrain spread: "
            "`unlearn-audit plan CONFIG --pilot` measures them on the original and a few references (reused by the audit)."
        )
    return lines


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def pilot_lines(plan: PilotPlan) -> list[str]:
    """The pilot's predictions in words."""
    k = plan.pilot_references
    lines = [_header(plan.sizes)] + [f"Incomplete erasure: {e}" for e in plan.sizes.erasure]
    lines.append(
        f"Pilot ({plan.seconds:.1f} s): the original and references 0-{k - 1} (the audit's own seeds, reused from the "
        f"model cache); reference {k - 1} stands in for an honest unlearned model against the other {k - 1}; "
        f"attacks {', '.join(plan.attacks)}."
    )
    lines += [f"Pilot attack {name} did not complete: {why}" for name, why in plan.errors.items()]
    lines.append(f"Predicted with {plan.sizes.references} references:")
    lines.append(
        f"  {'gate':<34} {'category':<15} {'retrain SD':>10} {'original':>9} {'tolerance':>10} {'powered':>8} {'MDE 80 %':>9}"
    )
    for g in plan.gates:
        p = g.predicted
        if p is None:
            lines.append(f"  {g.gate.metric:<34} {g.gate.category:<15} not piloted: {g.check.text}")
            continue
        powered = "fail-only" if g.gate.fail_only else "yes" if p.powered else "no"
        lines.append(
            f"  {g.gate.metric:<34} {g.gate.category:<15} {_fmt(g.retrain_sd, '10.4f')} "
            f"{_fmt(g.original_effect, '+9.3f')} {'±' + format(p.gate.tolerance, '.3f'):>10} {powered:>8} "
            f"{_fmt(p.mde_80, '9.3f')}"
        )
    lines.append("Claims (predicted):")
    lines += [_outlook_line(o) for o in plan.outlooks]
    for cat, steps in plan.steps.items():
        lines.append(f"What would change {cat}: " + _steps_words(steps, plan.why_not.get(cat)))
    if plan.steps:
        lines.append(f"(assuming {planning.ASSUMPTION}; more shadow models are not modelled)")
    unpowered = [o.category for o in plan.outlooks if o.claimed and o.outlook in ("unpowered", "cannot")]
    if unpowered:
        lines.append(
            f"Too small to settle as configured: {', '.join(unpowered)} is predicted unpowered, so the audit can only "
            "FAIL or be INCONCLUSIVE."
        )
    elif all(o.outlook == "powered" for o in plan.outlooks if o.claimed):
        lines.append(
            "Every claim is predicted powered: the audit can PASS, FAIL or be INCONCLUSIVE on the method's merits."
        )
    return lines


def _steps_words(steps: list[Step], why_not: str | None) -> str:
    reachable = [planning.step_words(s) + f" [{', '.join(s.gates)}]" for s in steps if s.value is not None]
    out = "; ".join(reachable) if reachable else "nothing within reach"
    unreached = [planning.step_words(s) for s in steps if s.value is None]
    if unreached:
        out += " (" + "; ".join(unreached) + ")"
    if why_not:
        out += f"; {why_not}"
    return out
