"""Deceptive unlearners against the default audit: none may PASS, and each should FAIL.

Runs the audit of ``examples/digits.yaml`` (or another config) once per deception in
``tests/deceptions.py`` (variants of the classes the audit's own controls stand for, with other
magnitudes and mechanics) and once per control class of :mod:`unlearners.deceptive`, and prints
the verdict and the gates that failed. Usage::

    python benchmarks/deceptions.py                       # digits, class 3, seed 0
    python benchmarks/deceptions.py --seeds 0 1 2 --json docs/deceptions.json
    python benchmarks/deceptions.py examples/mnist1d.yaml --set forget.kind=random

Exit status 1 when any deception PASSes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "unlearn-audit"
CLASS_ONLY = {"BiasShift", "ScaleRows", "NegateRows", "HeadBiasSuppress", "HeadRowsSuppress"}
DECEPTIONS = [
    "tests.deceptions:" + n
    for n in (
        "BiasShift",
        "ScaleRows",
        "NegateRows",
        "LastTwoLayers",
        "FinetuneLastTwo",
        "HeadOnForgetAscent",
        "WholeModelAscent",
        "RelabelFinetune",
    )
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", nargs="?", default=str(REPO / "examples" / "digits.yaml"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    import yaml

    kind = ((yaml.safe_load(Path(a.config).read_text()) or {}).get("forget") or {}).get("kind", "class")
    for s in a.sets:
        if s.startswith("forget.kind="):
            kind = s.split("=", 1)[1]
    random_kind = kind != "class"
    rows, passed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "UNLEARN_AUDIT_CACHE": str(a.cache or Path(tmp) / "cache"),
        }
        for seed in a.seeds:
            for name in DECEPTIONS:
                if random_kind and name.split(":")[1] in CLASS_ONLY:
                    continue
                out = Path(tmp) / f"{seed}-{name.split(':')[1]}"
                args = [
                    str(EXE),
                    "run",
                    a.config,
                    "--out",
                    str(out),
                    "--no-sign",
                    "-q",
                    "--set",
                    f"seed={seed}",
                    "--set",
                    f"unlearner.name={name}",
                    "--set",
                    "unlearner.params={}",
                    "--set",
                    "report.formats=[json]",
                ]
                for s in a.sets:
                    args += ["--set", s]
                proc = subprocess.run(args, capture_output=True, text=True, env=env)
                if proc.returncode > 1:
                    raise SystemExit(
                        f"{name} seed {seed}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
                    )
                ev = json.loads((out / "evidence.json").read_text())
                failed = [g["metric"] for g in ev["gates"]["results"] if g["status"] == "fail"]
                row = {
                    "seed": seed,
                    "deception": name.split(":")[1],
                    "verdict": ev["verdict"]["status"],
                    "headline": ev["verdict"]["headline"],
                    "failed_gates": failed,
                }
                passed |= row["verdict"] == "pass"
                rows.append(row)
                print(
                    f"seed {seed}  {row['deception']:<20} {row['verdict'].upper():<13} "
                    f"{', '.join(failed) or row['headline']}",
                    flush=True,
                )
    if a.json:
        a.json.write_text(json.dumps({"config": a.config, "sets": a.sets, "rows": rows}, indent=2))
    sys.exit(1 if passed else 0)


if __name__ == "__main__":
    main()
