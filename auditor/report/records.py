"""The per-record table as the report shows it: the most exposed erased records, and flagged against chance.

The evidence keeps every row (``records.rows``, most exposed first, each named by its 1-based
position in ``forget_manifest.txt``, never by ID or content); the report shows the top rows, the
number flagged at the stated false-positive rate and the number expected by chance, with the range
honest retrains show. A redacted report (``report.redacted``, or ``unlearn-audit report
--redacted``) keeps the counts and leaves the rows out, for reports that leave the organisation.

What the table claims is the record's own statistic (``records.statistic``, in words, written by
the attack): a per-record test against the retrained references, not a pooled threshold. The count
of flagged records is the population-level evidence; a single flagged row is what an individual
test at that false-positive rate flags by chance about ``fpr * n`` times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.report.numbers import finite

TOP_ROWS = 20


@dataclass(frozen=True)
class RecordRow:
    """One erased record: its position in the manifest, its statistic, and whether it is flagged."""

    position: int
    z: float | None
    p_value: float | None
    q_value: float | None
    flagged: bool
    original_z: float | None


@dataclass(frozen=True)
class RecordTable:
    """The per-record view: counts always, rows unless redacted."""

    statistic: str
    fpr: float | None
    n: int | None
    flagged: int | None
    expected_by_chance: float | None
    chance_range: tuple[float, float] | None
    q: float | None
    individually_exposed: int | None
    original_flagged: int | None
    rows: tuple[RecordRow, ...]
    total_rows: int
    redacted: bool

    @property
    def beyond_chance(self) -> bool | None:
        """Whether more records are flagged than honest retrains show (None: no range to compare)."""
        if self.flagged is None or self.chance_range is None:
            return None
        return self.flagged > self.chance_range[1]


def _num(x: Any) -> float | None:
    return float(x) if finite(x) else None


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def record_table(
    evidence: Mapping[str, Any], *, redacted: bool = False, top: int = TOP_ROWS
) -> RecordTable | None:
    """The per-record view of ``evidence["records"]``, or None when the record has none."""
    records = evidence.get("records")
    if not isinstance(records, Mapping):
        return None
    raw = [r for r in records.get("rows") or () if isinstance(r, Mapping)]
    rows = tuple(
        RecordRow(
            position=int(r.get("position") or 0),
            z=_num(r.get("z")),
            p_value=_num(r.get("p_value")),
            q_value=_num(r.get("q_value")),
            flagged=bool(r.get("flagged")),
            original_z=_num(r.get("original_z")),
        )
        for r in raw[:top]
    )
    chance = records.get("chance_range")
    return RecordTable(
        statistic=str(records.get("statistic") or "per-record exposure score"),
        fpr=_num(records.get("fpr")),
        n=_int(records.get("n")),
        flagged=_int(records.get("flagged")),
        expected_by_chance=_num(records.get("expected_by_chance")),
        chance_range=(float(chance[0]), float(chance[1]))
        if isinstance(chance, list) and len(chance) == 2 and all(finite(v) for v in chance)
        else None,
        q=_num(records.get("q")),
        individually_exposed=_int(records.get("individually_exposed")),
        original_flagged=_int(records.get("original_flagged")),
        rows=() if redacted else rows,
        total_rows=len(raw),
        redacted=redacted,
    )


__all__ = ["TOP_ROWS", "RecordRow", "RecordTable", "record_table"]
