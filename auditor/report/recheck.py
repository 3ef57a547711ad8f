"""Recompute a record's verdict from its gates, for ``unlearn-audit report``.

``evidence.json`` is plain JSON that anyone can edit: set ``verdict.status`` to ``pass`` and an
honest-looking PASS page would render over seven failed gates. ``report`` therefore never trusts the
record's verdict. It checks each gate's status against the gate's own interval and tolerance
(:func:`gate_problems`), rebuilds the gate results, and recomputes the verdict with this version's
rule, :func:`auditor.judge.verdict.overall`, called in exactly one place (:func:`recompute`). The
re-rendered page shows the recomputed verdict, says where the record disagreed, and ``report`` exits
with the recomputed verdict's code.

The signature, not this check, is what proves a report genuine: a record whose gates were edited
consistently recomputes to whatever the gates say. That is why the re-rendered page always says
UNSIGNED.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.judge.sensitivity import PartialControl, sensitivity
from auditor.judge.verdict import INCONCLUSIVE, Gate, GateResult, Judgement, overall

EXIT_CODES = {"pass": 0, "fail": 1, "inconclusive": 1}


def _pair(x: Any) -> tuple[float, float] | None:
    if isinstance(x, (list, tuple)) and len(x) == 2 and all(isinstance(v, (int, float)) for v in x):
        return float(x[0]), float(x[1])
    return None


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def gate_problems(gate: Mapping[str, Any], *, correction: str = "bonferroni") -> list[str]:
    """Where a gate's status contradicts its own numbers (empty when it does not).

    The rules are the gate's: fail when the difference interval lies wholly outside ±tolerance,
    pass only when the equivalence interval lies inside it. Under Benjamini-Hochberg a failure
    comes from the step-up over all gates, so a failure with its interval inside is not a
    contradiction there.
    """
    metric = gate.get("metric")
    status = gate.get("status")
    t = _num(gate.get("tolerance"))
    eq, diff = _pair(gate.get("equivalence_ci")), _pair(gate.get("difference_ci"))
    if t is None:
        return []
    out = []
    outside = diff is not None and (diff[0] > t or diff[1] < -t)
    inside = eq is not None and -t < eq[0] and eq[1] < t
    if outside and status != "fail":
        out.append(f"{metric}: its interval lies wholly outside ±{t:.3g}, yet its status is {status!r}")
    if status == "pass" and not inside:
        out.append(f"{metric}: status 'pass', yet its interval is not inside ±{t:.3g}")
    if status == "fail" and not outside and correction != "bh":
        out.append(f"{metric}: status 'fail', yet its interval does not lie outside ±{t:.3g}")
    return out


def _judgement(record: Any) -> Judgement:
    record = record if isinstance(record, Mapping) else {}
    return Judgement(
        str(record.get("status") or INCONCLUSIVE),
        _num(record.get("gap")),
        _pair(record.get("equivalence_ci")),
        _pair(record.get("difference_ci")),
        _num(record.get("p_beyond_tolerance")),
    )


def _status(gate: Mapping[str, Any], correction: str) -> str:
    """The status the gate's numbers support: its own, unless it contradicts them."""
    status = str(gate.get("status") or INCONCLUSIVE)
    if not gate_problems(gate, correction=correction):
        return status
    t = _num(gate.get("tolerance"))
    diff = _pair(gate.get("difference_ci"))
    if t is not None and diff is not None and (diff[0] > t or diff[1] < -t):
        return "fail"
    return INCONCLUSIVE


def gate_result(gate: Mapping[str, Any], *, correction: str = "bonferroni") -> GateResult:
    """A :class:`~auditor.judge.verdict.GateResult` rebuilt from its evidence record.

    Fields the record does not have take their defaults (an older record's gate has no power, so
    it cannot earn a claim). Fields of ``GateResult`` named like a key of the record (for example
    ``blocks_pass`` in newer records) are passed through as they are.
    """
    control = gate.get("control") if isinstance(gate.get("control"), Mapping) else {}
    tolerance = _num(gate.get("tolerance"))
    known: dict[str, Any] = {
        "gate": Gate(
            metric=str(gate.get("metric")),
            tolerance=tolerance if tolerance is not None else math.nan,
            source=str(gate.get("source") or "default"),
            category=str(gate.get("category") or "privacy"),
            fail_only=bool(gate.get("fail_only")),
            floor=_num(gate.get("tolerance_floor")),
        ),
        "status": _status(gate, correction),
        "reason": str(gate.get("reason") or ""),
        "gap": _num(gate.get("gap")),
        "equivalence_ci": _pair(gate.get("equivalence_ci")),
        "equivalence_level": _num(gate.get("equivalence_level")) or math.nan,
        "difference_ci": _pair(gate.get("difference_ci")),
        "difference_level": _num(gate.get("difference_level")) or math.nan,
        "p_beyond": _num(gate.get("p_beyond_tolerance")),
        "control": control.get("status") if control else None,
        "control_gap": _num(control.get("gap")) if control else None,
        "control_ci": _pair(control.get("difference_ci")) if control else None,
        "controls": {str(k): _judgement(v) for k, v in (gate.get("controls") or {}).items()},
        "powered": bool(gate.get("powered")),
        "power_reason": str(gate.get("power_reason") or ""),
        "mde": _num(gate.get("minimum_detectable_effect")),
        "seed_sd": _num(gate.get("retrain_sd")),
        "mde_80": _num(gate.get("mde_80")),
        "mde_80_records": _num(gate.get("mde_80_records")),
        "keeps_original": _num(gate.get("keeps_original_effect")),
        "blocks_pass": bool(gate.get("blocks_pass")),
    }
    names = {f.name for f in dataclasses.fields(GateResult)}
    extra = {k: gate[k] for k in names - set(known) - {"evidence"} if k in gate}
    return GateResult(**{k: v for k, v in known.items() if k in names}, **extra)


@dataclass(frozen=True)
class Recheck:
    """The recomputed verdict and where the record disagreed with its own gates.

    Attributes:
        verdict: The verdict record recomputed from the gates (same shape as ``evidence["verdict"]``).
        recorded_status: The status the record claimed.
        problems: Each disagreement in words (empty when the record is consistent).
    """

    verdict: dict[str, Any]
    recorded_status: str
    problems: tuple[str, ...]

    @property
    def status(self) -> str:
        return str(self.verdict["status"])

    @property
    def consistent(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 for PASS, 1 for FAIL or INCONCLUSIVE (the codes ``run`` uses)."""
        return EXIT_CODES.get(self.status, 1)


def _partial_controls(evidence: Mapping[str, Any]) -> list[PartialControl]:
    """The record's incomplete-erasure controls (none in records before they existed)."""
    return [
        PartialControl(
            str(c["name"]),
            str(c.get("selection")),
            float(c["kept_fraction"]),
            int(c.get("kept_records") or 0),
        )
        for c in evidence.get("controls") or ()
        if isinstance(c, Mapping)
        and c.get("kind") == "incomplete_erasure"
        and _num(c.get("kept_fraction")) is not None
    ]


def recompute(evidence: Mapping[str, Any]) -> Recheck:
    """The verdict of ``evidence`` recomputed from its gates with this version's rule.

    Raises:
        ValueError: The record has no gate list to recompute from.
    """
    gates = (evidence.get("gates") or {}).get("results")
    if not isinstance(gates, list):
        raise ValueError("the record has no gates.results list, so its verdict cannot be recomputed")
    correction = str((evidence.get("gates") or {}).get("correction") or "bonferroni")
    records = [g for g in gates if isinstance(g, Mapping)]
    problems = [p for g in records for p in gate_problems(g, correction=correction)]
    forget = (evidence.get("data") or {}).get("forget") or {}
    recorded = evidence.get("verdict") or {}
    controls = [str(c.get("name")) for c in evidence.get("controls") or () if isinstance(c, Mapping)]
    raw = recorded.get("controls")
    recorded_controls: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {}
    required = [  # records before incomplete-erasure controls require every control
        name
        for name in controls
        if dict(recorded_controls.get(name) or {}).get("required", True) is not False
    ]
    results = [gate_result(g, correction=correction) for g in records]
    count = forget.get("count") if isinstance(forget.get("count"), int) else None
    partial = _partial_controls(evidence)
    sensitivity_record = None
    if partial and count is not None:
        shares = ((recorded.get("sensitivity") or {}).get("required_by_selection")) or {}
        sensitivity_record = sensitivity(results, partial, forget_count=count, required=dict(shares))
    verdict = overall(  # the one call of the verdict rule; the rule itself lives in auditor.judge.verdict
        results,
        attack_errors=[str(a.get("name")) for a in evidence.get("attacks") or () if a.get("error")],
        forget_kind=str(forget.get("kind") or "class"),
        controls=controls,
        forget_count=count,
        required_controls=required,
        sensitivity=sensitivity_record,
    )
    recorded_status = str(recorded.get("status"))
    if recorded_status == verdict["status"] and recorded.get("next_steps"):
        verdict["next_steps"] = recorded[
            "next_steps"
        ]  # the sizes that would settle it (not recomputable here)
    if recorded_status != verdict["status"]:
        problems.insert(
            0,
            f"the record's verdict is {recorded_status.upper()}, but its gates give {str(verdict['status']).upper()}",
        )
    return Recheck(verdict=verdict, recorded_status=recorded_status, problems=tuple(problems))


def rechecked(evidence: Mapping[str, Any]) -> tuple[dict[str, Any], Recheck]:
    """A copy of ``evidence`` whose verdict is the recomputed one, and the :class:`Recheck`."""
    check = recompute(evidence)
    return {**evidence, "verdict": check.verdict}, check


__all__ = ["EXIT_CODES", "Recheck", "gate_problems", "gate_result", "recompute", "rechecked"]
