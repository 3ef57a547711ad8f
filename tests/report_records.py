"""Evidence records for report tests: a FAIL and a PASS from real audits, an INCONCLUSIVE derived from
the PASS, and copies carrying the optional evidence fields of the current contract (saved model file,
record IDs, sensitivity, per-gate power at 80 %, per-record exposure)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from auditor.report.recheck import rechecked

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def failing() -> dict:
    """MNIST-1D, random 10 % erasure, finetune: FAIL (``examples/mnist1d.yaml``)."""
    return load("evidence_mnist1d_fail.json")


def passing() -> dict:
    """Digits, class 3, retrain: PASS (``examples/digits.yaml`` with ``unlearner.name=retrain``)."""
    return load("evidence_digits_pass.json")


def inconclusive(passing_record: dict | None = None) -> dict:
    """A PASS record (``passing()`` by default) with its powered forgetting gate undecided, recomputed."""
    ev = copy.deepcopy(passing_record) if passing_record is not None else passing()
    gate = next(g for g in ev["gates"]["results"] if g["metric"] == "accuracy.forget")
    t = gate["tolerance"]
    gate.update(
        status="inconclusive",
        gap=t * 0.9,
        equivalence_ci=[t * 0.5, t * 1.3],
        difference_ci=[t * 0.3, t * 1.5],
    )
    ev, check = rechecked(ev)
    assert check.status == "inconclusive", check.verdict["headline"]
    return ev


def synthetic_records(n: int, *, rows: int = 40) -> dict:
    """A per-record table in the shape of the ``records`` attack's, with known counts (17 flagged of n)."""
    return {
        "statistic": "one-sided predictive p-value of the unlearned model's confidence on each record against "
        "the references",
        "fpr": 0.01,
        "q": 0.05,
        "n": n,
        "flagged": 17,
        "expected_by_chance": 0.01 * n,
        "chance_range": [0, 7],
        "references_flagged": [0, 3, 7, 2],
        "individually_exposed": 5,
        "original_flagged": 30,
        "positions": "1-based positions in forget_manifest.txt (sorted dataset indices), never record IDs",
        "rows": [
            {
                "position": i * 7 % n + 1,
                "z": 4.5 - i * 0.1,
                "p_value": 1e-5 * (i + 1),
                "q_value": 1e-3 * (i + 1),
                "flagged": i < 17,
                "original_z": 5.0 - i * 0.1 if i % 3 else None,
            }
            for i in range(min(rows, n))
        ],
    }


def with_contract_fields(evidence: dict, *, file_as_mapping: bool = True) -> dict:
    """A copy with every optional field of the evidence contract present.

    The fields the audits already write (sensitivity, per-gate power at 80 %, ``records``, the saved
    model file) are kept as written; the ones they do not (record IDs, the split source, the
    responsible person) are added with plausible values. ``file_as_mapping`` writes the saved model
    file as one ``{"name", "sha256"}`` mapping, the contract's other spelling.
    """
    ev = copy.deepcopy(evidence)
    n = ev["data"]["forget"]["count"]
    unlearned = ev["models"]["unlearned"]
    if file_as_mapping:
        unlearned["file"] = {"name": "unlearned.pt", "sha256": unlearned.pop("file_sha256", "ab" * 32)}
    ev["data"]["forget"]["ids"] = {"count": n, "salt": "cd" * 16, "salted_sha256": "ef" * 32}
    ev["data"]["split_source"] = "loader"
    ev["run"]["responsible"] = {
        "name": "Dr. Maximiliane Beispiel-Mustermann",
        "role": "Data protection officer",
    }
    ev.setdefault("records", synthetic_records(n))
    if ev["verdict"]["status"] == "inconclusive":  # the longest sentence of what would settle it: every lever
        ev["verdict"].setdefault(
            "next_steps",
            [
                {"lever": lever, "goal": "decided", "target": "privacy", "value": value, "current": now}
                for lever, value, now in (
                    ("forget", 12_345, 1_234),
                    ("heldout", 2_500, 1_000),
                    ("references", 48, 12),
                )
            ],
        )
    return ev


def all_records() -> dict[str, dict]:
    """Every record the layout tests render, by name."""
    fail, ok, unsettled = failing(), passing(), inconclusive()
    return {
        "fail": fail,
        "pass": ok,
        "inconclusive": unsettled,
        "fail+contract": with_contract_fields(fail),
        "inconclusive+contract": with_contract_fields(unsettled),
    }
