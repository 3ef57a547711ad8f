"""How incomplete an erasure this audit would notice, from its incomplete-erasure controls.

Each incomplete-erasure control is a retrain that kept a known share of the request in training
(:mod:`auditor.run.controls`). A control is *caught* when some gate FAILs it. The audit's
sensitivity, per way of choosing the records left in, is the smallest share such that the control
at that share and every larger one are caught: "this audit would catch an erasure that left at
least X % of the requested records in training". It is measured on this audit's data, references
and battery, not argued from a formula (issue 29; adversarial review 2 found that gaps scale
linearly with the share kept, which :func:`records_at_mde` uses to state each gate's 80 %-power
detectable effect in records).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from auditor.judge.verdict import FAIL, GateResult, caught_by

SELECTION_WORDS = {"random": "chosen at random", "least_exposed": "the least exposed ones"}


@dataclass(frozen=True)
class PartialControl:
    """What the verdict needs of one incomplete-erasure control.

    Attributes:
        name: The control's name (``partial_random_25``).
        selection: ``random`` or ``least_exposed``.
        kept_fraction: The share of the request it left in training.
        kept_records: How many records that is.
    """

    name: str
    selection: str
    kept_fraction: float
    kept_records: int


def detected_share(results: list[GateResult], controls: list[PartialControl]) -> float | None:
    """The smallest share whose control, and every larger one of the same selection, some gate FAILs (None: not even the largest)."""
    best = None
    for c in sorted(controls, key=lambda c: -c.kept_fraction):
        if not caught_by(results, c.name):
            break
        best = c.kept_fraction
    return best


def sensitivity(
    results: list[GateResult],
    controls: list[PartialControl],
    *,
    forget_count: int,
    required: dict[str, float],
) -> dict[str, Any]:
    """The ``verdict.sensitivity`` record: each control and the gates that catch it, and the statement in words."""
    by_selection: dict[str, list[PartialControl]] = {}
    for c in controls:
        by_selection.setdefault(c.selection, []).append(c)
    detects = {sel: detected_share(results, cs) for sel, cs in by_selection.items()}
    return {
        "required_kept_fraction": required.get("random"),
        "required_by_selection": required,
        "detects_kept_fraction": detects.get("random"),
        "detects_by_selection": detects,
        "controls": [
            {
                "name": c.name,
                "kept_fraction": c.kept_fraction,
                "kept_records": c.kept_records,
                "selection": c.selection,
                "caught_by": caught_by(results, c.name),
            }
            for c in controls
        ],
        "statement": statement(detects, by_selection, forget_count=forget_count),
    }


def statement(
    detects: dict[str, float | None], by_selection: dict[str, list[PartialControl]], *, forget_count: int
) -> str:
    """The sensitivity in one or two sentences of words."""
    parts = []
    for sel, cs in by_selection.items():
        share = detects.get(sel)
        largest = max(c.kept_fraction for c in cs)
        if share is None:
            parts.append(
                f"if the records left in training are {SELECTION_WORDS[sel]}, it would not catch even "
                f"{largest:.1%} of the request ({round(largest * forget_count)} of {forget_count} records) left in"
            )
        else:
            parts.append(
                f"if they are {SELECTION_WORDS[sel]}, it would catch an erasure that left at least {share:.1%} "
                f"of the request ({round(share * forget_count)} of {forget_count} records) in training"
            )
    if not parts:
        return "No incomplete-erasure controls were run: this audit does not state how incomplete an erasure it would notice."
    text = (
        "This audit measured its sensitivity with retrains that kept part of the request: "
        + "; ".join(parts)
        + "."
    )
    return text[0].upper() + text[1:]


def records_at_mde(
    results: list[GateResult], controls: list[PartialControl], *, forget_count: int
) -> list[GateResult]:
    """Each gate with its 80 %-power detectable effect restated as records left in training.

    The random incomplete-erasure controls give the gap per share kept (a least-squares slope through
    the origin: the gap of a retrain that kept nothing is 0). Where the gate's gap on them grows with
    the share, ``mde_80 / slope`` of the request is the share at which this gate would FAIL with
    80 % probability; more than the whole request, or no growth, is not estimable (None).
    """
    random = [c for c in controls if c.selection == "random"]
    out = []
    for r in results:
        points = [
            (c.kept_fraction, float(gap))
            for c in random
            if c.name in r.controls and (gap := r.controls[c.name].gap) is not None
        ]
        records = None
        if points and r.mde_80 is not None and r.gate.category != "utility":
            slope = sum(f * g for f, g in points) / sum(f * f for f, _ in points)
            if slope != 0 and r.mde_80 / abs(slope) <= 1.0:
                records = round(r.mde_80 / abs(slope) * forget_count, 1)
        out.append(replace(r, mde_80_records=records))
    return out


def caught(results: list[GateResult], name: str) -> bool:
    """Whether some gate FAILs control ``name``."""
    return any(r.controls.get(name) is not None and r.controls[name].status == FAIL for r in results)
