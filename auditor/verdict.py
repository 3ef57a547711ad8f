"""From gaps to a verdict: two-sided gates against the retrained reference.

For each gate with tolerance t on the gap d = metric(unlearned) - metric(reference):

* **pass** when the (1 - 2 alpha) bootstrap interval of d lies inside (-t, t). This is the
  two-one-sided-tests (TOST) equivalence procedure at level alpha (Schuirmann, 1987). The overall
  pass needs every gate to pass, an intersection-union test, which needs no multiplicity
  correction (Berger, 1982).
* **fail** when the (1 - alpha / m) interval of d lies wholly outside [-t, t], m being the number
  of gates: Bonferroni over the family, so the chance that a run equivalent to retraining fails
  any gate stays below alpha.
* **inconclusive** otherwise, or when d is not estimable at this sample size.

Over-forgetting (d far below zero) fails exactly like under-forgetting (DESIGN.md principle 1).

**Positive control.** The original model forgot nothing, so the same gate is also judged on the
control gap c = metric(original) - metric(reference), on the same bootstrap resamples. A gate
whose control does not fail cannot tell a model that forgot nothing from retraining at this
sample size and tolerance: its pass is not evidence. The overall verdict is pass only when every
gate passes *and* at least one gate's control fails, i.e. the battery demonstrably catches the
do-nothing unlearner on this very request; otherwise an all-pass run is inconclusive ("no
power"). This is the positive control of assay validation applied to the audit; the controls are
judged with Bonferroni at the family's alpha, so a control "fails" only on the same evidence that
would fail an unlearned model.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from auditor.stats import percentile_interval

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class Gate:
    """A resolved gate: one metric key and its tolerance."""

    metric: str
    tolerance: float
    source: str  # "default" (from the attack) or "config"


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate, with the intervals it was judged on."""

    gate: Gate
    status: str
    reason: str
    gap: float | None
    equivalence_ci: tuple[float, float] | None
    equivalence_level: float
    difference_ci: tuple[float, float] | None
    difference_level: float
    p_beyond: float | None = None
    control: str | None = None  # how the original (positive control) fares on this gate; None: not measured
    control_gap: float | None = None
    control_ci: tuple[float, float] | None = None

    @property
    def has_power(self) -> bool:
        """The gate fails the original model, so it can catch an unlearner that forgot nothing."""
        return self.control == FAIL

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.gate.metric, "tolerance": self.gate.tolerance, "source": self.gate.source,
                "gap": self.gap, "equivalence_ci": list(self.equivalence_ci) if self.equivalence_ci else None,
                "equivalence_level": self.equivalence_level,
                "difference_ci": list(self.difference_ci) if self.difference_ci else None,
                "difference_level": self.difference_level, "p_beyond_tolerance": self.p_beyond,
                "status": self.status, "reason": self.reason,
                "control": {"status": self.control, "gap": self.control_gap,
                            "difference_ci": list(self.control_ci) if self.control_ci else None,
                            "catches_original": self.has_power}}


def resolve_gates(rules: list[tuple[str, float]] | None, defaults: dict[str, float], metric_keys: list[str]) -> list[Gate]:
    """Expand configured rules (globs) over the metric keys, or use the attacks' defaults.

    A metric matched by several rules takes the last matching rule.
    """
    if rules is None:
        return [Gate(k, t, "default") for k, t in defaults.items()]
    chosen: dict[str, float] = {}
    for pattern, tol in rules:
        for key in fnmatch.filter(metric_keys, pattern):
            chosen[key] = tol
    return [Gate(k, chosen[k], "config") for k in metric_keys if k in chosen]


def p_beyond(samples: np.ndarray, tolerance: float) -> float:
    """Bootstrap p-value of "the gap lies beyond +-tolerance" (two-sided, H0: |gap| <= tolerance)."""
    s = np.asarray(samples, float)
    return float(min(1.0, 2.0 * min(np.mean(s <= tolerance), np.mean(s >= -tolerance))))


def judge(gate: Gate, gap: float | None, samples: np.ndarray | None, *, alpha: float, family: int,
          note: str | None = None, correction: str = "bonferroni") -> GateResult:
    """Judge one gate from the gap's bootstrap replicates.

    With ``correction="bh"`` this decides only pass or inconclusive; :func:`apply_bh` then turns
    the gates that the Benjamini-Hochberg step-up rejects into failures.
    """
    eq_level = 1.0 - 2.0 * alpha
    diff_level = 1.0 - alpha / max(family, 1)
    t = gate.tolerance
    if gap is None or samples is None or len(samples) == 0:
        why = note or "the gap is not estimable at this sample size"
        return GateResult(gate, INCONCLUSIVE, why, None, None, eq_level, None, diff_level)
    eq = percentile_interval(samples, eq_level)
    diff = percentile_interval(samples, diff_level)
    p = p_beyond(samples, t)
    if -t < eq[0] and eq[1] < t:
        status = PASS
        reason = f"the {eq_level:.0%} interval of the gap [{eq[0]:+.3f}, {eq[1]:+.3f}] lies inside ±{t:g}"
    elif correction == "bonferroni" and (diff[0] > t or diff[1] < -t):
        status = FAIL
        side = "more" if diff[0] > t else "less"
        reason = (f"the {diff_level:.2%} interval of the gap [{diff[0]:+.3f}, {diff[1]:+.3f}] lies outside ±{t:g}: "
                  f"the unlearned model scores {side} than retraining does")
    else:
        status = INCONCLUSIVE
        reason = (f"the {eq_level:.0%} interval [{eq[0]:+.3f}, {eq[1]:+.3f}] is not inside ±{t:g}, and the "
                  f"{diff_level:.2%} interval [{diff[0]:+.3f}, {diff[1]:+.3f}] is not outside it: more samples are needed")
    return GateResult(gate, status, reason, gap, eq, eq_level, diff, diff_level, p)


def with_control(result: GateResult, control_gap: float | None, control_samples: np.ndarray | None, *,
                 alpha: float, family: int) -> GateResult:
    """Attach the positive control: the same gate judged on original - reference.

    The control is judged with the Bonferroni rule whatever the family's correction, so "the
    gate catches the original" means the (1 - alpha / m) interval of the control gap lies wholly
    outside the tolerance.
    """
    if control_gap is None or control_samples is None or len(control_samples) == 0:
        return result
    c = judge(result.gate, control_gap, control_samples, alpha=alpha, family=family)
    return replace(result, control=c.status, control_gap=control_gap, control_ci=c.difference_ci)


def apply_bh(results: list[GateResult], *, alpha: float) -> list[GateResult]:
    """Fail the gates whose "beyond tolerance" p-values the Benjamini-Hochberg step-up rejects.

    Controls the false discovery rate of failures at ``alpha`` over the family of gates
    (Benjamini & Hochberg, 1995); passes are untouched (they need no correction).
    """
    from auditor.stats import benjamini_hochberg

    candidates = [i for i, r in enumerate(results) if r.status != PASS and r.p_beyond is not None]
    reject = benjamini_hochberg([results[i].p_beyond for i in candidates], alpha)
    out = list(results)
    for i, rejected in zip(candidates, reject):
        if rejected:
            r = results[i]
            side = "more" if (r.gap or 0) > 0 else "less"
            out[i] = replace(r, status=FAIL, reason=(
                f"p = {r.p_beyond:.4f} that the gap lies within ±{r.gate.tolerance:g}, rejected by the "
                f"Benjamini-Hochberg step-up at FDR {alpha:g} over {len(results)} gates: the unlearned model "
                f"scores {side} than retraining does"))
    return out


def overall(results: list[GateResult], *, attack_errors: list[str]) -> dict[str, Any]:
    """The overall verdict and its plain-words statement."""
    counts = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, INCONCLUSIVE)}
    names = ", ".join(sorted({r.gate.metric.split(".")[0] for r in results})) or "none"
    if counts[FAIL]:
        status = FAIL
        failed = ", ".join(r.gate.metric for r in results if r.status == FAIL)
        headline = "FAIL: the unlearned model is distinguishable from retraining"
        statement = (f"{counts[FAIL]} of {len(results)} gated checks show a gap to the retrained reference beyond "
                     f"tolerance ({failed}). The forgotten data's influence is measurably different from a model "
                     "that never saw it.")
    elif attack_errors or counts[INCONCLUSIVE] or not results:
        status = INCONCLUSIVE
        headline = "INCONCLUSIVE: the evidence does not settle the question"
        parts = []
        if counts[INCONCLUSIVE]:
            parts.append(f"{counts[INCONCLUSIVE]} of {len(results)} gated checks could not be decided at this sample size")
        if attack_errors:
            parts.append(f"attack(s) {', '.join(attack_errors)} did not complete")
        if not results:
            parts.append("no gates were evaluated")
        statement = "; ".join(parts) + ". No check failed, but equivalence to retraining is not shown."
    elif not any(r.has_power for r in results):
        status = INCONCLUSIVE
        headline = "INCONCLUSIVE: every check passed, but none can catch a model that forgot nothing"
        measured = sum(r.control is not None for r in results)
        statement = (f"All {len(results)} gated checks show a gap to the retrained reference within tolerance, but "
                     f"the original model, which forgot nothing, would not fail any of them either "
                     f"({measured} of {len(results)} checks measured it). At this sample size these attacks "
                     f"({names}) cannot tell the original from retraining, so passing them is not evidence of "
                     "unlearning. More forget samples, attacks with more power, or a tighter tolerance with more "
                     "data would be needed.")
    else:
        status = PASS
        powered = ", ".join(r.gate.metric for r in results if r.has_power)
        headline = "PASS: indistinguishable from retraining on every gated check"
        statement = (f"All {len(results)} gated checks show a gap to the retrained reference within tolerance, and "
                     f"the battery has power: the original model, which forgot nothing, fails {powered}. "
                     f"No leakage detected by these attacks ({names}) at this power; this is empirical evidence, "
                     "not a proof of unlearning.")
    power = {"gates_catching_original": [r.gate.metric for r in results if r.has_power],
             "gates_without_control": [r.gate.metric for r in results if r.control is None]}
    return {"status": status, "headline": headline, "statement": statement, "counts": counts, "power": power}


def rules_text(alpha: float, family: int, correction: str = "bonferroni") -> tuple[str, str]:
    """The pass and fail rules in words, for the report."""
    pass_rule = (f"pass: the {1 - 2 * alpha:.0%} bootstrap interval of the gap lies inside ±tolerance (TOST "
                 f"equivalence at alpha = {alpha:g}); every gate must pass (intersection-union test, no correction "
                 "needed)")
    if correction == "bh":
        fail_rule = (f"fail: the bootstrap p-value of 'the gap lies within ±tolerance' is rejected by the "
                     f"Benjamini-Hochberg step-up over the {family} gates (false discovery rate {alpha:g}); "
                     "otherwise inconclusive")
    else:
        fail_rule = (f"fail: the {1 - alpha / max(family, 1):.2%} interval lies wholly outside ±tolerance (Bonferroni "
                     f"over the {family} gates, family-wise alpha = {alpha:g}); otherwise inconclusive")
    pass_rule += ("; and at least one gate must fail the original model (positive control), so that the "
                  "battery is shown able to catch an unlearner that forgot nothing")
    return pass_rule, fail_rule
