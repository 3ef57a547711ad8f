"""The verdict in words: each check, each claim and the reason for the verdict as sentences.

A reviewer reads "forget-set accuracy 97.2 % against 61.0 % for retrained models", not
``accuracy.forget: gap +0.368``. Every function here is a pure function of the evidence record
(``evidence.json``); metric keys stay on the detail pages. Records written by earlier versions lack
some fields (power, categories); the sentences then say what is missing rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.judge.states import FAIL, NOT_POWERED, PASS, gate_state
from auditor.report.numbers import NBSP, count, finite, percent, sig, unit_of

CATEGORY_NAMES = {
    "utility": "Utility",
    "forgetting": "Forgetting",
    "privacy": "Privacy",
    "recoverability": "Recoverability",
}
CATEGORY_QUESTIONS = {
    "utility": "Does the model still work on the data it kept?",
    "forgetting": "Does it behave on the erased data as a model that never saw it?",
    "privacy": "Can an attacker tell that the erased records were in training?",
    "recoverability": "Can the erased data be decoded or quickly relearned from the weights?",
}
CONTROL_WORDS = {
    "head_bias": "a lowered output bias",
    "head_rows": "suppressed output rows",
    "head_retrain": "a retrained output layer",
    "head_finetune": "a fine-tuned output layer",
    "over_forget": "over-forgetting",
    "label_noise": "label noise",
    "forget_features": "features moved only on the forgotten data",
}
KIND_WORDS = {
    "class": "removal of whole classes",
    "random": "erasure of individual records",
    "indices": "erasure of named records",
    "ids": "erasure of named records",
    "backdoor": "removal of poisoned (backdoor) records",
}


def metrics_by_key(evidence: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Metric key -> its metric record, over every attack."""
    out: dict[str, Mapping[str, Any]] = {}
    for attack in evidence.get("attacks") or ():
        for metric in (attack.get("metrics") or ()) if isinstance(attack, Mapping) else ():
            if isinstance(metric, Mapping) and metric.get("key"):
                out[str(metric["key"])] = metric
    return out


def _value(metric: Mapping[str, Any] | None, role: str) -> float | None:
    values = (metric or {}).get("values") or {}
    est = values.get(role) if isinstance(values, Mapping) else None
    value = est.get("value") if isinstance(est, Mapping) else None
    return float(value) if finite(value) else None


def label_of(key: str, metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """A metric's label as written by its attack, with a lower-case first letter for mid-sentence use."""
    label = str((metrics.get(key) or {}).get("label") or key)
    return label[:1].lower() + label[1:] if label[:2] != label[:2].upper() else label


def gate_sentence(gate: Mapping[str, Any], metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """One gate in words and numbers with units.

    ``forget-set accuracy 97.2 % against 61.0 % for retrained models (retrain SD 1.3 pp): gap +36.2 pp,
    tolerance ±6.3 pp``.
    """
    key = str(gate.get("metric"))
    unit = unit_of(key)
    metric = metrics.get(key)
    mine, ref = _value(metric, "unlearned"), _value(metric, "reference")
    parts = [label_of(key, metrics)]
    if mine is not None and ref is not None:
        parts.append(f"{unit.value(mine)} against {unit.value(ref)} for retrained models")
        if finite(gate.get("retrain_sd")) and gate.get("retrain_sd"):
            parts[-1] += f" (retrain SD {unit.magnitude(gate['retrain_sd'])})"
    text = " ".join(parts)
    gap, tol = gate.get("gap"), gate.get("tolerance")
    if finite(gap):
        text += f": gap {unit.gap(gap)}"
        if finite(tol):
            text += f", tolerance \u00b1{unit.magnitude(tol)}"
    else:
        text += ": gap not estimable at this sample size"
    return text


def _effect_ratio(gate: Mapping[str, Any]) -> float:
    """How far the original sits beyond the tolerance (larger: the check is more sensitive)."""
    control = gate.get("control") or {}
    effect, tol = control.get("gap"), gate.get("tolerance")
    if finite(effect) and finite(tol) and tol:
        return abs(float(effect)) / float(tol)
    return 0.0


def _gap_ratio(gate: Mapping[str, Any]) -> float:
    gap, tol = gate.get("gap"), gate.get("tolerance")
    return abs(float(gap)) / float(tol) if finite(gap) and finite(tol) and tol else 0.0


def strongest_gate(gates: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The check that speaks loudest for one category.

    A failed gate first (the one furthest beyond its tolerance); else the powered gate whose
    original sits furthest beyond its tolerance (a passing one before an undecided one); else the
    unpowered gate that came closest to catching the original.
    """
    if not gates:
        return None
    failed = [g for g in gates if g.get("status") == FAIL]
    if failed:
        return max(failed, key=_gap_ratio)
    powered = [g for g in gates if g.get("powered")]
    if powered:
        return max(powered, key=lambda g: (g.get("status") == PASS, _effect_ratio(g)))
    return max(gates, key=_effect_ratio)


def power_sentence(gate: Mapping[str, Any], metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """What this check could detect, in words.

    Uses the 80 %-power effect (``mde_80``, ``mde_80_records``) when the record has it, else the
    minimum detectable effect at the fail rule's level, and the original model's own gap.
    """
    key = str(gate.get("metric"))
    unit = unit_of(key)
    control = gate.get("control") or {}
    original_gap = control.get("gap")
    state = gate_state(gate)
    utility = gate.get("category") == "utility"
    pieces = []
    if state.state == NOT_POWERED:
        pieces.append(f"Not powered: {unpowered_words(gate)}")
    elif finite(original_gap) and not utility:
        caught = "catches" if control.get("catches_original") else "does not catch"
        pieces.append(
            f"It {caught} the original model, which forgot nothing (its gap {unit.gap(original_gap)})"
        )
    what = "a change" if utility else "a gap"
    records = gate.get("mde_80_records")
    if finite(records) and not utility:
        pieces.append(
            f"it FAILs, 80 % of the time, a method that leaves about {sig(records, 2)} of the requested records "
            "in training"
        )
    elif finite(gate.get("mde_80")):
        pieces.append(f"it FAILs, 80 % of the time, {what} of {unit.magnitude(gate['mde_80'])} or more")
    elif finite(gate.get("minimum_detectable_effect")) and state.state != NOT_POWERED:
        pieces.append(f"it can FAIL {what} of {unit.magnitude(gate['minimum_detectable_effect'])} or more")
    text = "; ".join(pieces)
    return (text[:1].upper() + text[1:] + ".") if text else ""


def unpowered_words(gate: Mapping[str, Any]) -> str:
    """Why a gate has no power, in words with units (the record's ``power_reason`` keeps the raw numbers)."""
    key = str(gate.get("metric"))
    unit = unit_of(key)
    tol = gate.get("tolerance")
    control = gate.get("control") or {}
    effect = control.get("gap")
    mde = gate.get("minimum_detectable_effect")
    if gate.get("fail_only"):
        return "a one-sided measure that can only fail a model, never certify one"
    if gate.get("category") == "utility" and finite(mde) and finite(tol):
        return (
            f"at this sample size it could only detect a change of {unit.magnitude(mde)}, more than twice its "
            f"tolerance \u00b1{unit.magnitude(tol)}"
        )
    if finite(effect) and finite(tol) and abs(float(effect)) <= 2 * float(tol):
        return (
            f"the original model itself differs from retrained ones by only {unit.magnitude(effect)}, not more than "
            f"twice the tolerance \u00b1{unit.magnitude(tol)}, so a method that removed half of it could not be told "
            "apart"
        )
    if control.get("status") not in (None, FAIL):
        return "it does not fail the original model at this sample size"
    reason = gate.get("power_reason")
    return str(reason) if reason else "the record does not show that it can catch the original model"


@dataclass(frozen=True)
class CategoryLine:
    """One claim on page 1: its status in words, its strongest check and that check's power."""

    name: str
    title: str
    question: str
    claimed: bool
    status: str
    state_label: str
    check: str
    power: str
    metric: str | None


def category_lines(
    evidence: Mapping[str, Any], verdict: Mapping[str, Any] | None = None
) -> list[CategoryLine]:
    """A line per category of the verdict, claimed ones first.

    Args:
        evidence: The evidence record.
        verdict: The verdict to read the categories from (default: the evidence's own; ``report``
            passes the recomputed one).
    """
    verdict = verdict if verdict is not None else (evidence.get("verdict") or {})
    categories = verdict.get("categories") or {}
    gates = [g for g in (evidence.get("gates") or {}).get("results") or () if isinstance(g, Mapping)]
    metrics = metrics_by_key(evidence)
    out = []
    for name, record in categories.items():
        mine = [g for g in gates if g.get("category") == name]
        best = strongest_gate(mine)
        status = str(record.get("status"))
        if best is None:
            check, power = "No check in this audit measures it.", ""
        else:
            check = gate_sentence(best, metrics)
            check = check[:1].upper() + check[1:] + "."
            power = power_sentence(best, metrics)
        if record.get("claimed"):
            label = {"pass": "PASS", "fail": "FAIL"}.get(status, "NOT SHOWN")
        else:
            label = "FAIL" if status == FAIL else "not claimed"
        out.append(
            CategoryLine(
                name=name,
                title=CATEGORY_NAMES.get(name, name.capitalize()),
                question=CATEGORY_QUESTIONS.get(name, str(record.get("description") or "")),
                claimed=bool(record.get("claimed")),
                status=status,
                state_label=label,
                check=check,
                power=power,
                metric=str(best.get("metric")) if best is not None else None,
            )
        )
    out.sort(key=lambda line: not line.claimed)
    return out


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _fail_reason(evidence: Mapping[str, Any], verdict: Mapping[str, Any]) -> str:
    categories = verdict.get("categories") or {}
    gates = _gate_records(evidence)
    failed = [g for g in gates if g.get("status") == FAIL]
    cats = [CATEGORY_NAMES.get(c, c).lower() for c in categories if categories[c].get("status") == FAIL]
    cats = cats or sorted({str(g.get("category")) for g in failed})
    best = strongest_gate(failed)
    text = (
        f"The unlearned model behaves measurably unlike models retrained without the erased data "
        f"({_join(cats)}): {len(failed)} of {len(gates)} checks found a gap beyond its tolerance, "
        "with the randomness of training included."
    )
    if best is not None:
        text += f" Largest: {gate_sentence(best, metrics_by_key(evidence))}."
    return text


def _pass_reason(verdict: Mapping[str, Any]) -> str:
    categories = verdict.get("categories") or {}
    claimed = [CATEGORY_NAMES.get(c, c).lower() for c, r in categories.items() if r.get("claimed")]
    controls = verdict.get("controls") or {}
    return (
        f"For every claim this request makes ({_join(claimed)}), a check that can catch the original model "
        "found the unlearned model within its tolerance of models retrained without the erased data"
        + (f", and all {len(controls)} cheap fakes of unlearning were caught." if controls else ".")
        + " This is equivalence within the stated tolerances against these checks, not a proof."
    )


def _unsettled_reasons(evidence: Mapping[str, Any], verdict: Mapping[str, Any]) -> list[str]:
    """Why an audit with no failure did not pass: claims without power, undecided checks, uncaught fakes."""
    reasons = []
    blind: list[str] = []
    for name, record in (verdict.get("categories") or {}).items():
        if not record.get("claimed") or record.get("status") == PASS:
            continue
        title = CATEGORY_NAMES.get(name, name).lower()
        if record.get("undecided_powered"):
            reasons.append(
                f"for {title}, the checks that can catch the original model are undecided: the unlearned model's "
                "interval straddles the tolerance, so it may keep part of what the original holds"
            )
        elif record.get("powered"):
            reasons.append(f"for {title}, no check that can catch the original model passed")
        else:
            blind.append(name)
    if blind:
        text = (
            f"for {_join([CATEGORY_NAMES.get(c, c).lower() for c in blind])}, no check in this audit could tell the "
            "original model (which forgot nothing) from retrained ones at this sample size, so passing them would "
            "show nothing"
        )
        quiet = _original_within_tolerance(
            _gate_records(evidence), [c for c in blind if c != "utility"], metrics_by_key(evidence)
        )
        if quiet:
            text += f" (the original itself stayed within tolerance: {quiet})"
        reasons.insert(0, text)
    metrics = metrics_by_key(evidence)
    for gate in _gate_records(evidence):
        if gate.get("blocks_pass") and gate.get("status") != FAIL:
            kept = gate.get("keeps_original_effect")
            share = percent(kept, 0) if finite(kept) else "much"
            reasons.append(
                f"on {label_of(str(gate.get('metric')), metrics)}, the unlearned model keeps {share} of the original "
                "model's gap to retrained ones, so it may hold part of what the original holds"
            )
    records = {str(c.get("name")): c for c in evidence.get("controls") or () if isinstance(c, Mapping)}
    uncaught = [
        n
        for n, c in (verdict.get("controls") or {}).items()
        if not (c or {}).get("caught_by") and (c or {}).get("required", True)
    ]
    partial = [n for n in uncaught if _incomplete_erasure(n, records.get(n))]
    fakes = [n for n in uncaught if n not in partial]
    if fakes:
        words = _join([CONTROL_WORDS.get(n, n.replace("_", " ")) for n in fakes])
        reasons.append(
            f"no check catches the cheap fakes of unlearning ({words}), so its passes are not evidence"
        )
    if partial:
        kept = [
            float(records[n]["kept_fraction"])
            for n in partial
            if finite((records.get(n) or {}).get("kept_fraction"))
        ]
        most = f" up to {percent(max(kept), 0)} of the request" if kept else " part of the request"
        reasons.append(f"it would not catch an erasure that left{most} in training")
    return reasons


def _incomplete_erasure(name: str, record: Mapping[str, Any] | None) -> bool:
    """An incomplete-erasure control (a retrain that kept part of the request), not a cheap fake."""
    if record is not None and record.get("kind"):
        return record.get("kind") == "incomplete_erasure"
    return name.startswith("partial_")


def _gate_records(evidence: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [g for g in (evidence.get("gates") or {}).get("results") or () if isinstance(g, Mapping)]


def _ratio(step: Mapping[str, Any]) -> float:
    return float(step["value"]) / max(float(step.get("current") or 1), 1.0)


def _lever_words(lever: str, step: Mapping[str, Any]) -> str:
    if lever == "forget":
        return f"a forget set of {int(step['value']):,} records (now {int(step['current']):,})"
    if lever == "heldout":
        return f"{_ratio(step):.1f} times the held-out data"
    return f"{int(step['value'])} references (now {int(step['current'])})"


def settle_words(steps: list[Mapping[str, Any]] | None) -> str | None:
    """What would settle an INCONCLUSIVE audit, in one sentence, from the verdict's ``next_steps``.

    A lever (forget-set size, held-out size, reference count) is named only when it alone settles every
    open point (each claim, undecided gate or uncaught control the steps are about); the value is the
    largest any of them needs. The numbers assume the measured effects and spreads hold at the new size
    (:mod:`auditor.judge.planning`).
    """
    if not steps:
        return None
    targets = {(s.get("goal"), s.get("target")) for s in steps}
    options = []
    for lever in ("forget", "heldout", "references"):
        needed = []
        for target in targets:
            found = [
                s
                for s in steps
                if (s.get("goal"), s.get("target")) == target
                and s.get("lever") == lever
                and finite(s.get("value"))
            ]
            if not found:
                break
            needed.append(min(found, key=_ratio))
        else:
            options.append(_lever_words(lever, max(needed, key=_ratio)))
    if options:
        return f"It would be settled by {' or by '.join(options)}, if the measured effects hold at that size."
    if any(finite(s.get("value")) for s in steps):
        return "More data would settle only part of it; the verdict statement lists what each change would settle."
    return "No forget-set size, held-out size or reference count within reach would settle it."


def verdict_reason(evidence: Mapping[str, Any], verdict: Mapping[str, Any] | None = None) -> str:
    """Why the verdict is what it is, in one or two sentences of words (no metric keys)."""
    verdict = verdict if verdict is not None else (evidence.get("verdict") or {})
    status = verdict.get("status")
    if status == FAIL:
        return _fail_reason(evidence, verdict)
    if status == PASS:
        return _pass_reason(verdict)
    errors = [
        str(a.get("name")) for a in evidence.get("attacks") or () if isinstance(a, Mapping) and a.get("error")
    ]
    if errors:
        return (
            f"The check(s) {_join(errors)} did not complete, so the battery is incomplete and no verdict of "
            "pass can be given; no completed check failed."
        )
    reasons = _unsettled_reasons(evidence, verdict)
    if not reasons:
        return str(verdict.get("statement") or "No check failed, but the audit could not show every claim.")
    settle = settle_words(verdict.get("next_steps"))
    return "No check failed, but " + "; ".join(reasons[:2]) + "." + (f" {settle}" if settle else "")


def _original_within_tolerance(
    gates: list[Mapping[str, Any]], categories: list[str], metrics: Mapping[str, Mapping[str, Any]]
) -> str:
    """When the original model sits within tolerance on every gate of these categories: its largest gap, in words.

    A reviewer should know when there was little for the checks to find (the original barely leaked),
    which is why they have no power; an empty string when that is not so.
    """
    mine = [g for g in gates if g.get("category") in categories]
    effects = [g for g in mine if finite((g.get("control") or {}).get("gap")) and finite(g.get("tolerance"))]
    if not mine or len(effects) != len(mine):
        return ""
    if any(abs(float(g["control"]["gap"])) > float(g["tolerance"]) for g in effects):
        return ""
    largest = max(effects, key=lambda g: abs(float(g["control"]["gap"])) / float(g["tolerance"]))
    unit = unit_of(str(largest.get("metric")))
    return (
        f"its largest gap, {unit.gap(largest['control']['gap'])} in {label_of(str(largest.get('metric')), metrics)}, "
        f"against \u00b1{unit.magnitude(largest['tolerance'])}"
    )


def request_words(evidence: Mapping[str, Any]) -> str:
    """What was erased: ``erasure of individual records: 320 records (10 % of the 3,200 training records)``."""
    data = evidence.get("data") or {}
    forget = data.get("forget") or {}
    kind = str(forget.get("kind"))
    n = forget.get("count")
    train = (data.get("counts") or {}).get("train")
    share = (
        f" ({sig(100 * n / train, 2)}{NBSP}% of the {count(train)} training records)" if n and train else ""
    )
    what = KIND_WORDS.get(kind, kind)
    if kind == "class":
        classes = forget.get("classes") or []
        names = ", ".join(str(c) for c in classes)
        return f"{what}: class{'es' if len(classes) != 1 else ''} {names}, {count(n)} training records{share}"
    if kind == "backdoor":
        return f"{what}: {count(n)} poisoned training records{share}"
    return f"{what}: {count(n)} records{share}"


__all__ = [
    "CATEGORY_NAMES",
    "CategoryLine",
    "category_lines",
    "gate_sentence",
    "label_of",
    "metrics_by_key",
    "power_sentence",
    "request_words",
    "strongest_gate",
    "verdict_reason",
]
