"""The audit of audit.yaml, run from Python with the team's objects instead of YAML.

Usage: ``python examples/own_pipeline/audit.py [unlearner]`` (default finetune). The verdict, the
evidence and the report are those of ``unlearn-audit run examples/own_pipeline/audit.yaml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the team's package, as an installed package would be

from acme_tabular.data import load  # noqa: E402
from acme_tabular.model import make_model  # noqa: E402
from acme_tabular.train import fit  # noqa: E402

from auditor import audit  # noqa: E402


def main(method: str = "finetune") -> int:
    params = {"epochs": 5, "lr": 0.02} if method == "finetune" else {}
    outcome = audit(
        seed=0,
        data={"dataset": load, "options": {"clip": 5.0}},
        model=make_model,
        training={
            "function": fit,
            "kwargs": {
                "epochs": 40,
                "batch_size": 64,
                "lr": 0.003,
                "weight_decay": 0.0001,
                "label_smoothing": 0.1,
            },
        },
        forget={"kind": "class", "classes": [3]},
        unlearner={"name": method, "params": params},
        report={
            "out": str(HERE.parents[1] / "runs" / "own_pipeline_api"),
            "title": "ACME tabular model: erasing digit 3",
            "operator": "unlearn-audit example",
            "request_id": "EXAMPLE-OWN-PIPELINE",
        },
    )
    print(outcome.status.upper(), outcome.evidence["verdict"]["headline"])
    for name, path in outcome.files.items():
        print(f"{name}: {path}")
    return outcome.exit_code


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
