"""From gaps to a verdict: claims by category, each earned by a gate with power.

Every gate has a metric, a tolerance t and a category, the claim it is evidence for:
**utility** (retain and test accuracy), **forgetting** (behaviour on the forgotten data),
**privacy** (membership leakage of the forget set) and **recoverability** (white-box: can the
forgotten data be decoded or relearned from the weights). The interval of a gap
``d = metric(model) - mean metric(references)`` includes the randomness of training as well as of
the samples (:class:`auditor.judge.inference.GapEvidence`).

Per gate, for the unlearned model:

* **pass** when the (1 - 2 alpha) interval lies inside (-t, t): the two one-sided tests
  (Schuirmann 1987); the overall pass is an intersection-union test that needs no correction
  (Berger 1982);
* **fail** when the (1 - 2 alpha / m) interval lies wholly outside [-t, t], m the number of gates:
  under |d| <= t only one tail can reject, so each gate fails an equivalent model with probability
  at most alpha / m and the family with at most alpha (Bonferroni; review m2);
* **inconclusive** otherwise. Over-forgetting (d far below zero) fails like under-forgetting.

Every gate is also judged, by the same rule, on the **original** and on each **deception
control** (:mod:`auditor.run.controls`). A gate is **powered** for its claim when it fails the original,
its tolerance is below half of the original's effect (it could detect a method that removed only
half of what the original holds), and its equivalence interval is narrower than its tolerance (it
could certify a model equal to retraining at this sample size); a utility gate is powered when its
minimum detectable effect is at most twice its tolerance. Gates that are one-sided lower bounds (``fail_only``) can fail but
never pass or show power.

The verdict:

1. **FAIL** if any gate fails.
2. **INCONCLUSIVE** if an attack did not complete, if a claimed category has no powered gate
   that passes (the headline names the category), if a powered gate in a claimed category is
   undecided (the model may hold part of what the original holds), or if some deception control
   is failed by no gate (the battery cannot catch that fake, so its passes are no evidence; the
   headline names it).
3. **PASS** otherwise: equivalence to retraining within the stated tolerances on every powered
   check, per category, with every control caught. Nothing more is claimed.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field, replace
from typing import Any

from scipy import stats as sps

from auditor.judge.inference import GapEvidence

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
CATEGORIES = ("utility", "forgetting", "privacy", "recoverability")

# The claims an audit makes, by forget kind. Class and backdoor removal is a claim about a group's
# behaviour and about the weights (the group must not be decodable or quickly relearned); an erasure
# of individual records is a claim about their membership. Other categories are reported and can
# fail the audit, but a PASS does not need them.
CLAIMS: dict[str, tuple[str, ...]] = {
    "class": ("utility", "forgetting", "recoverability"),
    "random": ("utility", "forgetting", "privacy"),
    "indices": ("utility", "forgetting", "privacy"),
    "backdoor": ("utility", "forgetting"),
}

CATEGORY_WORDS = {
    "utility": "accuracy on retained and test data",
    "forgetting": "behaviour on the forgotten data",
    "privacy": "membership leakage of the forget set",
    "recoverability": "whether the forgotten data can be decoded or relearned from the weights",
}


@dataclass(frozen=True)
class Gate:
    """A resolved gate: one metric, its tolerance, and the claim it is evidence for.

    Attributes:
        metric: Dotted metric key.
        tolerance: t on |gap|.
        source: ``default`` (the attack's floor, widened to the retrain noise floor) or ``config``.
        category: utility, forgetting, privacy or recoverability.
        fail_only: The metric can fail a model but never pass one (a lower bound).
        floor: The attack's or config's tolerance before any widening.
    """

    metric: str
    tolerance: float
    source: str
    category: str = "privacy"
    fail_only: bool = False
    floor: float | None = None


@dataclass(frozen=True)
class Judgement:
    """One model's gap judged by a gate."""

    status: str
    gap: float | None
    equivalence_ci: tuple[float, float] | None
    difference_ci: tuple[float, float] | None
    p_beyond: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "gap": self.gap,
            "equivalence_ci": list(self.equivalence_ci) if self.equivalence_ci else None,
            "difference_ci": list(self.difference_ci) if self.difference_ci else None,
            "p_beyond_tolerance": self.p_beyond,
        }


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate, with the intervals it was judged on, its power and its controls."""

    gate: Gate
    status: str
    reason: str
    gap: float | None
    equivalence_ci: tuple[float, float] | None
    equivalence_level: float
    difference_ci: tuple[float, float] | None
    difference_level: float
    p_beyond: float | None = None
    control: str | None = None  # the original judged by this gate; None: not measured
    control_gap: float | None = None
    control_ci: tuple[float, float] | None = None
    controls: dict[str, Judgement] = field(default_factory=dict)  # deception control name -> judgement
    powered: bool = False
    power_reason: str = ""
    mde: float | None = None
    seed_sd: float | None = None
    evidence: GapEvidence | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.gate.metric,
            "tolerance": self.gate.tolerance,
            "source": self.gate.source,
            "tolerance_floor": self.gate.floor,
            "category": self.gate.category,
            "fail_only": self.gate.fail_only,
            "gap": self.gap,
            "equivalence_ci": list(self.equivalence_ci) if self.equivalence_ci else None,
            "equivalence_level": self.equivalence_level,
            "difference_ci": list(self.difference_ci) if self.difference_ci else None,
            "difference_level": self.difference_level,
            "p_beyond_tolerance": self.p_beyond,
            "status": self.status,
            "reason": self.reason,
            "powered": self.powered,
            "power_reason": self.power_reason,
            "minimum_detectable_effect": self.mde,
            "retrain_sd": self.seed_sd,
            "inference": self.evidence.as_dict() if self.evidence is not None else None,
            "control": {
                "status": self.control,
                "gap": self.control_gap,
                "difference_ci": list(self.control_ci) if self.control_ci else None,
                "catches_original": self.control == FAIL,
            },
            "controls": {name: j.as_dict() for name, j in self.controls.items()},
        }


def resolve_gates(
    rules: list[tuple[str, float]] | None,
    defaults: dict[str, float],
    metric_keys: list[str],
    *,
    categories: dict[str, str] | None = None,
    fail_only: set[str] | None = None,
) -> list[Gate]:
    """Expand configured rules (globs) over the metric keys, or use the attacks' defaults.

    A metric matched by several rules takes the last matching rule.
    """
    categories = categories or {}
    fail_only = fail_only or set()

    def gate(key: str, tol: float, source: str) -> Gate:
        return Gate(key, tol, source, categories.get(key, "privacy"), key in fail_only, tol)

    if rules is None:
        return [gate(k, t, "default") for k, t in defaults.items()]
    chosen: dict[str, float] = {}
    for pattern, tol in rules:
        for key in fnmatch.filter(metric_keys, pattern):
            chosen[key] = tol
    return [gate(k, chosen[k], "config") for k in metric_keys if k in chosen]


MAX_WIDENING = 3.0


def widen_to_noise(gate: Gate, evidence: GapEvidence | None, *, multiplier: float) -> Gate:
    """A default gate's tolerance, widened to the retrain noise.

    At least ``multiplier`` retrain standard deviations, at most :data:`MAX_WIDENING` times the
    attack's floor.

    An honest retrain differs from the references' mean by about one such deviation, so a
    tolerance near it would fail honest retraining (statistics review M1); the multiplier leaves
    room for the interval's own width. The cap keeps a noisy metric from passing models that leak
    (a tolerance of 0.2 AUC passes models exposing a tenth of the forget set): where retraining is
    noisier than that, the gate stays inconclusive and is not powered. Configured tolerances are
    kept as given.
    """
    if gate.source != "default" or evidence is None or not evidence.training_randomness:
        return gate
    widened = max(gate.tolerance, multiplier * evidence.seed_term)
    return replace(gate, tolerance=min(widened, MAX_WIDENING * gate.tolerance))


def _p_beyond(ev: GapEvidence, t: float) -> float:
    """p-value of H0: |gap| <= t (one tail can reject).

    Student t with Welch-Satterthwaite degrees of freedom, so that it agrees with the intervals
    when retrain noise dominates.
    """
    if ev.sd_total == 0:
        return 0.0 if abs(ev.point) > t else 1.0
    z = (abs(ev.point) - t) / ev.sd_total
    return float(sps.norm.sf(z) if math.isinf(ev.df) else sps.t.sf(z, ev.df))


def judge_evidence(gate: Gate, ev: GapEvidence | None, *, alpha: float, family: int) -> Judgement:
    """The pass / fail / inconclusive rule on one model's gap."""
    if ev is None or not math.isfinite(ev.point):
        return Judgement(INCONCLUSIVE, None, None, None, None)
    t = gate.tolerance
    eq = ev.interval(1.0 - 2.0 * alpha)
    diff = ev.interval(1.0 - 2.0 * alpha / max(family, 1))
    if diff[0] > t or diff[1] < -t:
        status = FAIL
    elif -t < eq[0] and eq[1] < t and ev.training_randomness and not gate.fail_only:
        status = PASS
    else:
        status = INCONCLUSIVE
    return Judgement(status, ev.point, eq, diff, _p_beyond(ev, t))


def judge(
    gate: Gate,
    evidence: dict[str, GapEvidence],
    *,
    alpha: float,
    family: int,
    note: str | None = None,
    correction: str = "bonferroni",
) -> GateResult:
    """Judge one gate on the unlearned model, the original and every deception control.

    With ``correction="bh"`` the unlearned model's gate decides only pass or inconclusive here;
    :func:`apply_bh` then fails the gates the step-up rejects. Controls always use Bonferroni.
    """
    eq_level, diff_level = 1.0 - 2.0 * alpha, 1.0 - 2.0 * alpha / max(family, 1)
    ev = evidence.get("unlearned")
    t = gate.tolerance
    if ev is None:
        why = note or "the gap is not estimable at this sample size"
        return GateResult(
            gate, INCONCLUSIVE, why, None, None, eq_level, None, diff_level, power_reason="not measured"
        )
    j = judge_evidence(gate, ev, alpha=alpha, family=family)
    if correction == "bh" and j.status == FAIL:
        j = replace(j, status=INCONCLUSIVE)
    eq, diff = j.equivalence_ci, j.difference_ci
    assert eq is not None and diff is not None
    if j.status == FAIL:
        side = "more" if diff[0] > t else "less"
        reason = (
            f"the {diff_level:.2%} interval of the gap [{diff[0]:+.3f}, {diff[1]:+.3f}] lies outside ±{t:.3g}: "
            f"the unlearned model scores {side} than retraining does"
        )
    elif j.status == PASS:
        reason = f"the {eq_level:.0%} interval of the gap [{eq[0]:+.3f}, {eq[1]:+.3f}] lies inside ±{t:.3g}"
    elif gate.fail_only:
        reason = (
            f"a one-sided measure (no calibrated retrain null): it can only fail; the {diff_level:.2%} "
            f"interval [{diff[0]:+.3f}, {diff[1]:+.3f}] is not outside ±{t:.3g}"
        )
    elif not ev.training_randomness:
        reason = (
            "one reference model cannot show retrain-to-retrain variance, so equivalence cannot be shown; "
            "set reference.seeds >= 2 (12 is the default)"
        )
    else:
        reason = (
            f"the {eq_level:.0%} interval [{eq[0]:+.3f}, {eq[1]:+.3f}] is not inside ±{t:.3g}, and the "
            f"{diff_level:.2%} interval [{diff[0]:+.3f}, {diff[1]:+.3f}] is not outside it: more samples "
            "or more references are needed"
        )
    original = judge_evidence(gate, evidence.get("original"), alpha=alpha, family=family)
    controls = {
        role.split(":", 1)[1]: judge_evidence(gate, e, alpha=alpha, family=family)
        for role, e in evidence.items()
        if role.startswith("control:")
    }
    mde = t + ev.half_width(diff_level)
    powered, why = _power(gate, ev, evidence.get("original"), original, mde, alpha)
    return GateResult(
        gate,
        j.status,
        reason,
        ev.point,
        eq,
        eq_level,
        diff,
        diff_level,
        j.p_beyond,
        control=original.status if evidence.get("original") is not None else None,
        control_gap=original.gap,
        control_ci=original.difference_ci,
        controls=controls,
        powered=powered,
        power_reason=why,
        mde=mde,
        seed_sd=ev.seed_sd,
        evidence=ev,
    )


def _power(
    gate: Gate,
    ev: GapEvidence,
    original_ev: GapEvidence | None,
    original: Judgement,
    mde: float,
    alpha: float,
) -> tuple[bool, str]:
    """Whether a gate can support its category's claim, and why (or why not)."""
    t = gate.tolerance
    if gate.fail_only:
        return False, "one-sided measure: evidence for FAIL only"
    if not ev.training_randomness:
        return False, "no retrain-to-retrain variance (one reference)"
    if gate.category == "utility":
        if mde <= 2 * t:
            return True, f"detects a utility change of {mde:.3g} (at most twice the tolerance)"
        return (
            False,
            f"could only detect a utility change of {mde:.3g}, more than twice the tolerance ±{t:.3g}",
        )
    if original_ev is None:
        return False, "the original was not measured"
    effect = abs(original_ev.point)
    if t >= effect / 2:
        return False, (
            f"the tolerance ±{t:.3g} is not below half of the original's effect {effect:.3g}: it could "
            "not detect a method that removed only half of what the original holds"
        )
    if original.status != FAIL:
        return (
            False,
            f"does not fail the original at this sample size (the original's gap {original_ev.point:+.3g})",
        )
    if ev.half_width(1.0 - 2.0 * alpha) >= t:
        return False, (
            f"its {1 - 2 * alpha:.0%} interval (±{ev.half_width(1.0 - 2.0 * alpha):.3g}) is wider than the "
            f"tolerance ±{t:.3g}: it could not certify even a model equal to retraining"
        )
    return True, f"fails the original (gap {original_ev.point:+.3g}, tolerance ±{t:.3g})"


def apply_bh(results: list[GateResult], *, alpha: float) -> list[GateResult]:
    """Benjamini-Hochberg over the whole family instead of Bonferroni for failures.

    The step-up runs over every gate's p-value of "the gap lies within ±tolerance" (review m1:
    not over a data-selected subfamily). It controls the false discovery rate under independence
    or positive regression dependence (Benjamini & Hochberg 1995; Benjamini & Yekutieli 2001);
    gates that share samples need not satisfy either, which the report states.
    """
    from auditor.judge.stats import benjamini_hochberg

    ps = [r.p_beyond if r.p_beyond is not None else 1.0 for r in results]
    reject = benjamini_hochberg(ps, alpha)
    out = []
    for r, rejected in zip(results, reject):
        if rejected and r.status != FAIL and r.gap is not None:
            side = "more" if r.gap > 0 else "less"
            r = replace(
                r,
                status=FAIL,
                reason=(
                    f"p = {r.p_beyond:.4g} that the gap lies within ±{r.gate.tolerance:.3g}, rejected by the "
                    f"Benjamini-Hochberg step-up at FDR {alpha:g} over all {len(results)} gates: the unlearned model "
                    f"scores {side} than retraining does"
                ),
            )
        out.append(r)
    return out


def overall(
    results: list[GateResult],
    *,
    attack_errors: list[str],
    forget_kind: str = "class",
    controls: list[str] | None = None,
    forget_count: int | None = None,
) -> dict[str, Any]:
    """The overall verdict, its headline, statement, and the per-category and per-control record."""
    claims = CLAIMS.get(forget_kind, ("utility", "forgetting", "privacy"))
    controls = controls or []
    by_cat: dict[str, dict[str, Any]] = {}
    for cat in CATEGORIES:
        gates = [r for r in results if r.gate.category == cat]
        powered = [r for r in gates if r.powered]
        earned = [r for r in powered if r.status == PASS]
        by_cat[cat] = {
            "claimed": cat in claims,
            "gates": [r.gate.metric for r in gates],
            "powered": [r.gate.metric for r in powered],
            "passed_powered": [r.gate.metric for r in earned],
            "failed": [r.gate.metric for r in gates if r.status == FAIL],
            "undecided_powered": [r.gate.metric for r in powered if r.status == INCONCLUSIVE],
            "description": CATEGORY_WORDS[cat],
        }
        by_cat[cat]["status"] = (
            FAIL
            if by_cat[cat]["failed"]
            else PASS
            if earned and not by_cat[cat]["undecided_powered"]
            else INCONCLUSIVE
        )
    caught = {
        name: [
            r.gate.metric
            for r in results
            if r.controls.get(name, Judgement(INCONCLUSIVE, None, None, None, None)).status == FAIL
        ]
        for name in controls
    }
    original_caught = [r.gate.metric for r in results if r.control == FAIL]
    failed = [r for r in results if r.status == FAIL]
    counts = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, INCONCLUSIVE)}
    missing = [c for c in claims if not by_cat[c]["passed_powered"]]
    undecided = [m for c in claims for m in by_cat[c]["undecided_powered"]]
    uncaught = [name for name, gates in caught.items() if not gates]
    if failed:
        status = FAIL
        cats = sorted({r.gate.category for r in failed}, key=CATEGORIES.index)
        headline = f"FAIL: the unlearned model differs from retraining ({', '.join(cats)})"
        statement = (
            f"{len(failed)} of {len(results)} gated checks show a gap to the retrained references beyond "
            f"tolerance, with training randomness included: {', '.join(r.gate.metric for r in failed)}."
        )
    elif attack_errors:
        status = INCONCLUSIVE
        headline = f"INCONCLUSIVE: attack(s) {', '.join(attack_errors)} did not complete"
        statement = "No completed check failed, but the battery is incomplete."
    elif missing:
        status = INCONCLUSIVE
        first = missing[0]
        on = f" on {forget_count} forget samples" if forget_count else ""
        if not any(r.powered for r in results if r.gate.category == first):
            headline = (
                f"INCONCLUSIVE: {first}: no check in this battery separates the original from retraining{on}"
            )
        else:
            headline = (
                f"INCONCLUSIVE: {first}: every check that separates the original from retraining is undecided"
            )
        statement = (
            "No check failed, but the audit claims " + ", ".join(claims) + " for this request and cannot "
            "show "
            + ", ".join(missing)
            + ": "
            + "; ".join(f"{c}: {_why_unearned(c, results)}" for c in missing)
            + ". A pass in a category needs a gate that catches the original and passes."
        )
    elif undecided:
        status = INCONCLUSIVE
        headline = f"INCONCLUSIVE: powered check(s) undecided ({', '.join(undecided)})"
        statement = (
            "These checks can catch a model that forgot nothing and can certify one that equals retraining, "
            "yet the unlearned model's interval straddles their tolerance: it may hold part of what the "
            "original holds. More forget samples or more references would settle it."
        )
    elif uncaught:
        status = INCONCLUSIVE
        headline = "INCONCLUSIVE: the battery cannot catch the deception control(s) " + ", ".join(uncaught)
        statement = (
            "No check failed, but no gate fails " + ", ".join(uncaught) + ", cheap fakes of unlearning built "
            "from the original; a battery that would pass them cannot license a pass. Add a check that "
            "catches them (probe or relearn for output-layer and head-only edits, accuracy for over-forgetting)."
        )
    else:
        status = PASS
        parts = [f"{c} ({', '.join(by_cat[c]['passed_powered'])})" for c in claims]
        headline = "PASS: equivalent to retraining within the stated tolerances on every powered check"
        statement = (
            "Per claim, a check that fails the original passes the unlearned model: "
            + "; ".join(parts)
            + f". Every deception control ({', '.join(controls) or 'none'}) is failed by at least one check. "
            "Equivalence is within the tolerances shown, with training randomness included, against these "
            "attacks at this sample size; it is empirical evidence, not a proof of unlearning."
        )
    power = {
        "gates_catching_original": original_caught,
        "gates_without_control": [r.gate.metric for r in results if r.control is None],
        "powered": [r.gate.metric for r in results if r.powered],
    }
    return {
        "status": status,
        "headline": headline,
        "statement": statement,
        "counts": counts,
        "power": power,
        "claims": list(claims),
        "categories": by_cat,
        "controls": {name: {"caught_by": gates} for name, gates in caught.items()},
    }


def _why_unearned(category: str, results: list[GateResult]) -> str:
    gates = [r for r in results if r.gate.category == category]
    if not gates:
        return "no check in this battery measures it"
    powered = [r for r in gates if r.powered]
    if not powered:
        return (
            "no check in this battery separates the original from retraining ("
            + "; ".join(f"{r.gate.metric}: {r.power_reason}" for r in gates[:3])
            + ")"
        )
    return "every powered check is undecided: " + ", ".join(r.gate.metric for r in powered)


def rules_text(alpha: float, family: int, correction: str = "bonferroni") -> tuple[str, str]:
    """The pass and fail rules in words, for the report."""
    pass_rule = (
        f"pass: the {1 - 2 * alpha:.0%} interval of the gap, training randomness included, lies inside "
        f"±tolerance (TOST at alpha = {alpha:g}); the audit passes when, for every claim its forget kind "
        "makes, a gate that fails the original passes, no gate fails, no powered gate is undecided, and "
        "every deception control is failed by at least one gate"
    )
    if correction == "bh":
        fail_rule = (
            f"fail: the p-value of 'the gap lies within ±tolerance' is rejected by the Benjamini-Hochberg "
            f"step-up over all {family} gates (false discovery rate {alpha:g}); otherwise inconclusive"
        )
    else:
        fail_rule = (
            f"fail: the {1 - 2 * alpha / max(family, 1):.2%} interval lies wholly outside ±tolerance "
            f"(Bonferroni over the {family} gates, family-wise alpha = {alpha:g}, one tail per gate); "
            "otherwise inconclusive"
        )
    return pass_rule, fail_rule


@dataclass(frozen=True)
class MeasuredAttack:
    """What the verdict reads of one attack's run.

    Attributes:
        name: The attack's registry name.
        keys: Every metric key it reports, in order.
        default_gates: Metric key -> the attack's smallest default tolerance.
        categories: Metric key -> the claim it is evidence for.
        fail_only: Its metrics can fail a model but never pass one.
        metrics: Metric key -> the metric's evidence record (``MetricResult.as_dict()``).
        evidence: Metric key -> role -> :class:`~auditor.judge.inference.GapEvidence`.
        error: Why the attack did not complete, or None.
    """

    name: str
    keys: tuple[str, ...]
    default_gates: dict[str, float]
    categories: dict[str, str]
    fail_only: bool
    metrics: dict[str, dict[str, Any]]
    evidence: dict[str, dict[str, GapEvidence]]
    error: str | None


@dataclass(frozen=True)
class Decision:
    """The gates, each one's judgement, and the verdict record."""

    gates: list[Gate]
    results: list[GateResult]
    verdict: dict[str, Any]


def decide(
    measured: list[MeasuredAttack],
    *,
    rules: list[tuple[str, float]] | None,
    alpha: float,
    correction: str,
    seed_multiplier: float,
    forget_kind: str,
    controls: list[str],
    forget_count: int,
) -> Decision:
    """Turn the attacks' measurements into gates, judgements and the verdict.

    The gates are the config's rules, else the attacks' defaults (:func:`resolve_gates`); each
    default is widened to the retrain noise (:func:`widen_to_noise`), judged two-sided against the
    references (:func:`judge`), corrected for the family (Bonferroni, or Benjamini-Hochberg with
    :func:`apply_bh`), and the gates combine into the verdict by :func:`overall`.

    Args:
        measured: Each attack's run, in the config's order.
        rules: The config's ``gates.rules`` as (metric glob, tolerance), or None for the defaults.
        alpha: The family-wise error rate.
        correction: ``bonferroni`` or ``bh``.
        seed_multiplier: Retrain standard deviations a default tolerance is widened to.
        forget_kind: The request's forget kind (which claims it makes).
        controls: The deception controls that were scored.
        forget_count: Samples in the forget set.
    """
    keys = [k for m in measured for k in m.keys]
    defaults = {k: v for m in measured for k, v in m.default_gates.items()}
    categories = {k: v for m in measured for k, v in m.categories.items()}
    fail_only = {k for m in measured if m.fail_only for k in m.keys}
    gates = resolve_gates(rules, defaults, keys, categories=categories, fail_only=fail_only)
    metric_by_key = {k: v for m in measured for k, v in m.metrics.items()}
    evidence_by_key = {k: v for m in measured for k, v in m.evidence.items()}
    results = []
    for gate in gates:
        metric = metric_by_key.get(gate.metric)
        gap = (metric or {}).get("gap") or {}
        note = gap.get("note") or (None if metric else "the attack that reports this metric did not complete")
        ev = evidence_by_key.get(gate.metric, {})
        widened = widen_to_noise(gate, ev.get("unlearned"), multiplier=seed_multiplier)
        results.append(judge(widened, ev, alpha=alpha, family=len(gates), note=note, correction=correction))
    if correction == "bh":
        results = apply_bh(results, alpha=alpha)
    verdict = overall(
        results,
        attack_errors=[m.name for m in measured if m.error],
        forget_kind=forget_kind,
        controls=controls,
        forget_count=forget_count,
    )
    return Decision(gates, results, verdict)
