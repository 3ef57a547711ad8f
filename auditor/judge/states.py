"""How a gate is shown to a reader: its display state, and counts that keep unpowered gates apart.

A gate's *status* (pass, fail, inconclusive) says where its interval lies; its *power* says whether
it could have told the original model, which forgot nothing, from retraining (or, for a utility
gate, whether it can detect a change of twice its tolerance). A gate without power that "passes"
shows nothing: an audit of a model that kept everything would pass it too. So every place a gate
is shown (console, report, JUnit, Markdown summary, evidence) goes through :func:`gate_state`:

* ``fail``: the gate failed, powered or not (a failure is evidence whatever the power);
* ``inconclusive`` also for an undecided gate whose record says it blocks a PASS
  (``blocks_pass``: the unlearned model keeps more than half of the original's gap), powered or
  not: it stands between the audit and a pass, so it is not shown as merely unpowered;
* ``not powered``: the gate cannot catch the original, whether it passed or is undecided; its gap
  and interval are still reported, but it is never counted or drawn as a PASS;
* ``pass`` / ``inconclusive``: a powered gate's own status.

:func:`state_counts` gives the counts the verdict line prints, with powered and unpowered gates
apart. Both are pure functions of the gate records (``gates.results[i]`` of the evidence, or
:meth:`auditor.judge.verdict.GateResult.as_dict`), so every reader computes the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FAIL, PASS, INCONCLUSIVE, NOT_POWERED = "fail", "pass", "inconclusive", "not powered"
STATES = (FAIL, INCONCLUSIVE, NOT_POWERED, PASS)
"""Every display state, most serious first."""

LABELS = {FAIL: "FAIL", PASS: "PASS", INCONCLUSIVE: "INCONCLUSIVE", NOT_POWERED: "NOT POWERED"}


@dataclass(frozen=True)
class GateState:
    """How one gate is shown.

    Attributes:
        state: ``fail``, ``pass``, ``inconclusive`` or ``not powered``.
        status: The gate's own status (pass, fail, inconclusive), kept for the detail pages.
        powered: Whether the gate has power for its claim.
        reason: One line for a reader: why it failed, why it has no power, or its own reason.
    """

    state: str
    status: str
    powered: bool
    reason: str

    @property
    def label(self) -> str:
        """``FAIL``, ``PASS``, ``INCONCLUSIVE`` or ``NOT POWERED``."""
        return LABELS[self.state]

    @property
    def css(self) -> str:
        """A class name for the state (``not-powered`` for the space)."""
        return self.state.replace(" ", "-")


def gate_state(gate: Mapping[str, Any]) -> GateState:
    """The display state of one gate record.

    Args:
        gate: A gate record with ``status`` and, in records of this version, ``powered`` and
            ``power_reason``. A record without ``powered`` (older evidence) counts as not powered:
            nothing in it shows the gate could catch the original.
    """
    status = str(gate.get("status"))
    powered = bool(gate.get("powered"))
    reason = str(gate.get("reason") or "")
    if status == FAIL:
        return GateState(FAIL, status, powered, reason)
    if status == INCONCLUSIVE and gate.get("blocks_pass"):
        kept = gate.get("keeps_original_effect")
        share = (
            f"{kept:.0%} of" if isinstance(kept, (int, float)) and not isinstance(kept, bool) else "much of"
        )
        return GateState(
            INCONCLUSIVE,
            status,
            powered,
            f"undecided, and the unlearned model keeps {share} the original's gap to retraining: this blocks a pass",
        )
    if not powered:
        why = (
            gate.get("power_reason")
            or "the record does not show that this check can catch the original model"
        )
        return GateState(NOT_POWERED, status, powered, str(why))
    if status == PASS:
        return GateState(PASS, status, powered, reason)
    return GateState(INCONCLUSIVE, status, powered, reason)


@dataclass(frozen=True)
class StateCounts:
    """Gate counts by display state, with powered and unpowered gates apart.

    Attributes:
        fail: Failed gates (powered or not).
        passed: Powered gates that pass.
        inconclusive: Powered gates that are undecided.
        not_powered: Gates without power that did not fail (whatever their own status).
        not_powered_pass: Of those, how many passed their own interval test (shown nowhere as PASS).
        powered: Gates with power (any status).
        total: Every gate.
    """

    fail: int
    passed: int
    inconclusive: int
    not_powered: int
    not_powered_pass: int
    powered: int
    total: int

    def as_dict(self) -> dict[str, int]:
        """The counts under the display states' names, for the evidence and JSON summaries."""
        return {
            "fail": self.fail,
            "pass": self.passed,
            "inconclusive": self.inconclusive,
            "not_powered": self.not_powered,
            "not_powered_pass": self.not_powered_pass,
            "powered": self.powered,
            "total": self.total,
        }

    def words(self) -> str:
        """``2 fail · 3 pass · 1 inconclusive · 4 not powered (of 10 checks; 6 powered)``."""
        return (
            f"{self.fail} fail \u00b7 {self.passed} pass \u00b7 {self.inconclusive} inconclusive \u00b7 "
            f"{self.not_powered} not powered (of {self.total} check{'s' if self.total != 1 else ''}; "
            f"{self.powered} powered)"
        )


def state_counts(gates: Iterable[Mapping[str, Any]]) -> StateCounts:
    """Counts of the gates' display states (:func:`gate_state`)."""
    states = [gate_state(g) for g in gates]
    return StateCounts(
        fail=sum(s.state == FAIL for s in states),
        passed=sum(s.state == PASS for s in states),
        inconclusive=sum(s.state == INCONCLUSIVE for s in states),
        not_powered=sum(s.state == NOT_POWERED for s in states),
        not_powered_pass=sum(s.state == NOT_POWERED and s.status == PASS for s in states),
        powered=sum(s.powered for s in states),
        total=len(states),
    )


__all__ = [
    "FAIL",
    "INCONCLUSIVE",
    "LABELS",
    "NOT_POWERED",
    "PASS",
    "STATES",
    "GateState",
    "StateCounts",
    "gate_state",
    "state_counts",
]
