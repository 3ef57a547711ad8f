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


def inconclusive() -> dict:
    """The PASS record with its powered forgetting gate undecided; the verdict recomputed: INCONCLUSIVE."""
    ev = passing()
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


def with_contract_fields(evidence: dict, *, rows: int = 40) -> dict:
    """A copy with every optional field of the evidence contract filled in, with plausible values."""
    ev = copy.deepcopy(evidence)
    n = ev["data"]["forget"]["count"]
    ev["models"]["unlearned"]["file"] = {"name": "unlearned.pt", "sha256": "ab" * 32}
    ev["data"]["forget"]["ids"] = {"count": n, "salt": "cd" * 16, "salted_sha256": "ef" * 32}
    ev["data"]["split_source"] = "loader"
    ev["run"]["responsible"] = {
        "name": "Dr. Maximiliane Beispiel-Mustermann",
        "role": "Data protection officer",
    }
    ev["verdict"]["sensitivity"] = {
        "required_kept_fraction": 0.25,
        "detects_kept_fraction": 0.1,
        "controls": [
            {
                "name": "keep_25",
                "kept_fraction": 0.25,
                "kept_records": n // 4,
                "selection": "random",
                "caught_by": ["lira.exposure"],
            },
        ],
        "statement": f"This audit would catch an erasure that left at least 10 % of the requested records "
        f"({n // 10} of {n}) in training.",
    }
    for g in ev["gates"]["results"]:
        g["mde_80"] = 2 * g["tolerance"]
        g["mde_80_records"] = float(n) / 5 if g["category"] in ("privacy", "forgetting") else None
        g["keeps_original_effect"] = 0.4
        g["blocks_pass"] = bool(g["powered"])
    ev["records"] = {
        "statistic": "per-record LiRA z-score of the unlearned model against the retrained references, "
        "each reference scored leave-one-out for the null",
        "fpr": 0.01,
        "n": n,
        "flagged": 17,
        "expected_by_chance": 0.01 * n,
        "chance_range": [0, 7],
        "rows": [
            {
                "position": i * 7 % n + 1,
                "z": 4.5 - i * 0.1,
                "p_value": 1e-5 * (i + 1),
                "flagged": i < 17,
                "original_z": 5.0 - i * 0.1 if i % 3 else None,
            }
            for i in range(min(rows, n))
        ],
    }
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
