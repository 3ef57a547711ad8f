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
from auditor.types import control_name

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
    mde_80: float | None = None
    mde_80_records: float | None = None
    keeps_original: float | None = None
    blocks_pass: bool = False

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
            "mde_80": self.mde_80,
            "mde_80_records": self.mde_80_records,
            "keeps_original_effect": self.keeps_original,
            "blocks_pass": self.blocks_pass,
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
        name: judge_evidence(gate, e, alpha=alpha, family=family)
        for role, e in evidence.items()
        if (name := control_name(role)) is not None
    }
    mde = t + ev.half_width(diff_level)
    powered, why = _power(gate, ev, evidence.get("original"), original, mde, alpha)
    keeps, blocks = keeps_effect(gate, j.status, ev, evidence.get("original"), level=diff_level)
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
        mde_80=mde_at_power(ev, t, level=diff_level),
        keeps_original=keeps,
        blocks_pass=blocks,
    )


POWER = 0.8
"""The power at which a gate's minimum detectable effect is stated."""


def mde_at_power(ev: GapEvidence, tolerance: float, *, level: float, power: float = POWER) -> float:
    """The smallest |gap| this gate FAILs with probability ``power``.

    A FAIL needs the ``level`` interval (the Bonferroni one) wholly beyond the tolerance, so a model
    whose true gap is delta FAILs when its estimate exceeds ``t + h``. The estimate varies around delta
    with the binding reading's standard deviation (the method's own training randomness, as a
    retrain's, and the evaluation samples), so the FAIL probability is ``power`` at
    ``delta = t + h + z_power * sd`` (normal approximation). The coin-flip point ``t + h`` is
    :attr:`GateResult.mde`, kept for comparison (adversarial review 2: it is not a power figure).
    """
    return float(tolerance + ev.half_width(level) + sps.norm.ppf(power) * ev.sd_total)


def keeps_effect(
    gate: Gate, status: str, ev: GapEvidence, original: GapEvidence | None, *, level: float
) -> tuple[float | None, bool]:
    """How much of the original's gap the unlearned model keeps, and whether that blocks a PASS.

    An undecided gate whose gap keeps more than half of the original's gap (same sign) blocks a PASS,
    powered or not (issue 29: a gate the verdict calls unpowered still saw the model sit nearer the
    original than retraining). To keep honest retrains passing, it blocks only when half the
    original's gap lies beyond the prediction interval of one more retrain at ``level`` (the
    Bonferroni level): an honest retrain then keeps that much with probability at most
    ``(1 - level) / 2`` per gate.
    """
    if original is None or gate.fail_only or gate.category == "utility":  # the original is the ideal utility
        return None, False
    if not math.isfinite(original.point) or original.point == 0:
        return None, False
    share = ev.point / original.point
    if not ev.training_randomness:
        return share, False
    blocks = status == INCONCLUSIVE and share > 0.5 and abs(original.point) / 2 > ev.seed_half_width(level)
    return share, blocks


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


@dataclass(frozen=True)
class Outcome:
    """What the verdict rule found, before any wording: the status and the facts that decided it.

    Attributes:
        status: pass, fail or inconclusive.
        reason: Which rule decided: ``failed``, ``attack_errors``, ``unearned`` (a claimed category has no
            powered passing gate), ``undecided`` (a powered gate is undecided), ``keeps_effect`` (an
            undecided gate keeps most of the original's effect), ``uncaught`` (a required control is
            caught by no gate) or ``earned``.
        failed: Gates that failed.
        missing: Claimed categories without a powered passing gate.
        undecided: Powered gates of claimed categories that are undecided.
        keeps_effect: Undecided gates whose gap keeps most of the original's effect.
        uncaught: Required controls that no gate fails.
    """

    status: str
    reason: str
    failed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()
    keeps_effect: tuple[str, ...] = ()
    uncaught: tuple[str, ...] = ()


def caught_by(results: list[GateResult], control: str) -> list[str]:
    """The gates that fail deception control ``control``."""
    return [r.gate.metric for r in results if (j := r.controls.get(control)) is not None and j.status == FAIL]


def verdict_rule(
    results: list[GateResult],
    *,
    claims: tuple[str, ...],
    attack_errors: list[str],
    required_controls: list[str],
) -> Outcome:
    """The verdict rule alone (module docstring): FAIL on any failed gate, PASS only when earned."""
    failed = tuple(r.gate.metric for r in results if r.status == FAIL)
    if failed:
        return Outcome(FAIL, "failed", failed=failed)
    if attack_errors:
        return Outcome(INCONCLUSIVE, "attack_errors")
    missing = tuple(
        c for c in claims if not any(r.powered and r.status == PASS and r.gate.category == c for r in results)
    )
    if missing:
        return Outcome(INCONCLUSIVE, "unearned", missing=missing)
    undecided = tuple(
        r.gate.metric for r in results if r.powered and r.status == INCONCLUSIVE and r.gate.category in claims
    )
    if undecided:
        return Outcome(INCONCLUSIVE, "undecided", undecided=undecided)
    keeps = tuple(r.gate.metric for r in results if r.blocks_pass)
    if keeps:
        return Outcome(INCONCLUSIVE, "keeps_effect", keeps_effect=keeps)
    uncaught = tuple(name for name in required_controls if not caught_by(results, name))
    if uncaught:
        return Outcome(INCONCLUSIVE, "uncaught", uncaught=uncaught)
    return Outcome(PASS, "earned")


def verdict_words(
    outcome: Outcome,
    results: list[GateResult],
    *,
    claims: tuple[str, ...],
    controls: list[str],
    forget_count: int | None,
    settle: str | None = None,
) -> tuple[str, str]:
    """The verdict's headline and statement in words, from the rule's outcome.

    ``settle`` is what would settle an INCONCLUSIVE verdict, in words (:mod:`auditor.judge.planning`); it
    replaces the generic advice of an undecided verdict and ends the statement of the others.
    """
    headline, statement = _words(
        outcome, results, claims=claims, controls=controls, forget_count=forget_count
    )
    if settle and outcome.status == INCONCLUSIVE:
        statement = f"{statement.removesuffix(' ' + UNDECIDED_ADVICE)} {settle}"
    return headline, statement


UNDECIDED_ADVICE = "More forget samples or more references may settle it."


def _words(
    outcome: Outcome,
    results: list[GateResult],
    *,
    claims: tuple[str, ...],
    controls: list[str],
    forget_count: int | None,
) -> tuple[str, str]:
    by_metric = {r.gate.metric: r for r in results}
    if outcome.reason == "failed":
        cats = sorted({by_metric[m].gate.category for m in outcome.failed}, key=CATEGORIES.index)
        return (
            f"FAIL: the unlearned model differs from retraining ({', '.join(cats)})",
            f"{len(outcome.failed)} of {len(results)} gated checks show a gap to the retrained references beyond "
            f"tolerance, with training randomness included: {', '.join(outcome.failed)}.",
        )
    if outcome.reason == "attack_errors":
        return (
            "INCONCLUSIVE: the battery is incomplete",
            "No completed check failed, but the battery is incomplete.",
        )
    if outcome.reason == "unearned":
        first = outcome.missing[0]
        on = f" on {forget_count} forget samples" if forget_count else ""
        if not any(r.powered for r in results if r.gate.category == first):
            headline = (
                f"INCONCLUSIVE: {first}: no check in this battery separates the original from retraining{on}"
            )
        else:
            headline = (
                f"INCONCLUSIVE: {first}: every check that separates the original from retraining is undecided"
            )
        return headline, (
            "No check failed, but the audit claims "
            + ", ".join(claims)
            + " for this request and cannot show "
            + ", ".join(outcome.missing)
            + ": "
            + "; ".join(f"{c}: {_why_unearned(c, results)}" for c in outcome.missing)
            + ". A pass in a category needs a gate that catches the original and passes."
        )
    if outcome.reason == "undecided":
        return (
            f"INCONCLUSIVE: powered check(s) undecided ({', '.join(outcome.undecided)})",
            "These checks can catch a model that forgot nothing and can certify one that equals retraining, "
            "yet the unlearned model's interval straddles their tolerance: it may hold part of what the "
            f"original holds. {UNDECIDED_ADVICE}",
        )
    if outcome.reason == "keeps_effect":
        shares = ", ".join(
            f"{m} ({by_metric[m].keeps_original:.0%} of the original's gap)" for m in outcome.keeps_effect
        )
        return (
            f"INCONCLUSIVE: undecided check(s) keep most of what the original holds ({', '.join(outcome.keeps_effect)})",
            f"No check failed, but on {shares} the unlearned model sits nearer the original than retraining, "
            "further than an honest retrain strays by chance, and the interval cannot settle it: the model may hold "
            "part of what the original holds. A pass needs every such check settled.",
        )
    if outcome.reason == "uncaught":
        return (
            "INCONCLUSIVE: the battery cannot catch the deception control(s) " + ", ".join(outcome.uncaught),
            "No check failed, but no gate fails "
            + ", ".join(outcome.uncaught)
            + ", fakes of unlearning built "
            "from the original or retrains that keep part of the request; a battery that would pass them cannot "
            "license a pass. Add a check that catches them (probe or relearn for output-layer and head-only "
            "edits, accuracy for over-forgetting, more forget samples or references for incomplete erasure).",
        )
    parts = [
        f"{c} ({', '.join(r.gate.metric for r in results if r.powered and r.status == PASS and r.gate.category == c)})"
        for c in claims
    ]
    return (
        "PASS: equivalent to retraining within the stated tolerances on every powered check",
        "Per claim, a check that fails the original passes the unlearned model: "
        + "; ".join(parts)
        + f". Every deception control ({', '.join(controls) or 'none'}) is failed by at least one check. "
        "Equivalence is within the tolerances shown, with training randomness included, against these "
        "attacks at this sample size; it is empirical evidence, not a proof of unlearning.",
    )


def overall(
    results: list[GateResult],
    *,
    attack_errors: list[str],
    forget_kind: str = "class",
    controls: list[str] | None = None,
    forget_count: int | None = None,
    required_controls: list[str] | None = None,
    sensitivity: dict[str, Any] | None = None,
    settle: str | None = None,
) -> dict[str, Any]:
    """The overall verdict record: the rule's status, its wording, and the per-category and per-control record.

    Args:
        results: Every gate's judgement.
        attack_errors: Attacks that did not complete.
        forget_kind: The request's kind (which claims it makes).
        controls: Every control scored (deception and incomplete-erasure).
        forget_count: Records in the forget set.
        required_controls: The controls the battery must catch for a PASS (default: all of ``controls``).
        sensitivity: :func:`sensitivity`'s record, when incomplete-erasure controls were scored.
        settle: What would settle an INCONCLUSIVE verdict, in words (:func:`verdict_words`).
    """
    claims = CLAIMS.get(forget_kind, ("utility", "forgetting", "privacy"))
    controls = controls or []
    required = controls if required_controls is None else required_controls
    outcome = verdict_rule(results, claims=claims, attack_errors=attack_errors, required_controls=required)
    headline, statement = verdict_words(
        outcome, results, claims=claims, controls=required, forget_count=forget_count, settle=settle
    )
    if outcome.reason == "attack_errors":
        headline = f"INCONCLUSIVE: attack(s) {', '.join(attack_errors)} did not complete"
    record: dict[str, Any] = {
        "status": outcome.status,
        "headline": headline,
        "statement": statement,
        "counts": {s: sum(r.status == s for r in results) for s in (PASS, FAIL, INCONCLUSIVE)},
        "power": {
            "gates_catching_original": [r.gate.metric for r in results if r.control == FAIL],
            "gates_without_control": [r.gate.metric for r in results if r.control is None],
            "powered": [r.gate.metric for r in results if r.powered],
            "keeps_original_effect": [r.gate.metric for r in results if r.blocks_pass],
        },
        "claims": list(claims),
        "categories": {cat: _category_record(cat, results, claims) for cat in CATEGORIES},
        "controls": {
            name: {"caught_by": caught_by(results, name), "required": name in required} for name in controls
        },
    }
    if sensitivity is not None:
        record["sensitivity"] = sensitivity
    return record


def _category_record(cat: str, results: list[GateResult], claims: tuple[str, ...]) -> dict[str, Any]:
    gates = [r for r in results if r.gate.category == cat]
    powered = [r for r in gates if r.powered]
    earned = [r for r in powered if r.status == PASS]
    rec: dict[str, Any] = {
        "claimed": cat in claims,
        "gates": [r.gate.metric for r in gates],
        "powered": [r.gate.metric for r in powered],
        "passed_powered": [r.gate.metric for r in earned],
        "failed": [r.gate.metric for r in gates if r.status == FAIL],
        "undecided_powered": [r.gate.metric for r in powered if r.status == INCONCLUSIVE],
        "description": CATEGORY_WORDS[cat],
    }
    rec["status"] = (
        FAIL if rec["failed"] else PASS if earned and not rec["undecided_powered"] else INCONCLUSIVE
    )
    return rec


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
