"""Deceptive unlearners against the default audit: none may PASS, and each should FAIL.

Runs the audit of ``examples/digits.yaml`` (or another config) once per deception in
``tests/deceptions.py`` (variants of the classes the audit's own controls stand for, with other
magnitudes and mechanics) and once per control class of :mod:`unlearners.deceptive`, and prints
the verdict and the gates that failed. Usage::

    python benchmarks/deceptions.py                       # digits, class 3, seed 0
    python benchmarks/deceptions.py --seeds 0 1 2 --json docs/deceptions.json
    python benchmarks/deceptions.py examples/mnist1d.yaml --set forget.kind=random

A masquerade (a module whose forward is not what its state_dict holds) is REFUSED (exit code 3 of
``run``) or measured as its state. Exit status 1 when any deception PASSes.
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
CLASS_ONLY = {
    "BiasShift",
    "ScaleRows",
    "NegateRows",
    "HeadBiasSuppress",
    "HeadRowsSuppress",
    "ForgetFeaturesOnly",
    "ForgetFeatures",
}
# (name, params as YAML): the deceptions of tests/deceptions.py, with other magnitudes and mechanics than
# the audit's own controls, then the masquerades (the measured object is not the signed one) and the
# incomplete erasures (a retrain that kept part of the request).
DECEPTIONS: list[tuple[str, str]] = [
    ("tests.deceptions:" + n, "{}")
    for n in (
        "BiasShift",
        "ScaleRows",
        "NegateRows",
        "LastTwoLayers",
        "FinetuneLastTwo",
        "HeadOnForgetAscent",
        "WholeModelAscent",
        "RelabelFinetune",
        "ForgetFeaturesOnly",
        "StateMasquerade",
        "ForwardOverride",
        "OutputHook",
        "ProbeAwareMasquerade",
    )
] + [
    ("tests.deceptions:PartialRetrain", f"{{kept: {kept}, selection: {sel}}}")
    for sel, kept in (("random", 0.25), ("random", 0.1), ("least_exposed", 0.25), ("least_exposed", 0.3))
]
REFUSED = "behaves differently from its own state_dict"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", nargs="?", default=str(REPO / "examples" / "digits.yaml"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--only", nargs="+", help="run only the deceptions whose label contains one of these")
    a = ap.parse_args()
    import yaml

    kind = ((yaml.safe_load(Path(a.config).read_text()) or {}).get("forget") or {}).get("kind", "class")
    for s in a.sets:  # --set forget.kind=class, or the whole section: --set 'forget={kind: class, ...}'
        key, _, value = s.partition("=")
        if key == "forget.kind":
            kind = value
        elif key == "forget":
            kind = (yaml.safe_load(value) or {}).get("kind", kind)
    random_kind = kind != "class"
    rows, passed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "UNLEARN_AUDIT_CACHE": str(a.cache or Path(tmp) / "cache"),
        }
        for seed in a.seeds:
            for name, params in DECEPTIONS:
                short = name.split(":")[1]
                if random_kind and short in CLASS_ONLY:
                    continue
                label = short if params == "{}" else f"{short} {params}"
                if a.only and not any(o in label for o in a.only):
                    continue
                out = Path(tmp) / f"{seed}-{len(rows)}"
                args = [str(EXE), "run", a.config, "--out", str(out), "--no-sign", "-q"]
                for s in [
                    f"seed={seed}",
                    f"unlearner.name={name}",
                    f"unlearner.params={params}",
                    "report.formats=[json]",
                    *a.sets,
                ]:
                    args += ["--set", s]
                proc = subprocess.run(args, capture_output=True, text=True, env=env)
                if proc.returncode == 3 and REFUSED in proc.stderr:
                    row = {
                        "seed": seed,
                        "deception": label,
                        "verdict": "refused",
                        "headline": proc.stderr.strip()[:200],
                    }
                    rows.append(row)
                    print(
                        f"seed {seed}  {label:<52} REFUSED       (its forward is not its state)", flush=True
                    )
                    continue
                if proc.returncode > 1:
                    raise SystemExit(
                        f"{label} seed {seed}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
                    )
                ev = json.loads((out / "evidence.json").read_text())
                failed = [g["metric"] for g in ev["gates"]["results"] if g["status"] == "fail"]
                sens = (ev["verdict"].get("sensitivity") or {}).get("detects_by_selection")
                row = {
                    "seed": seed,
                    "deception": label,
                    "verdict": ev["verdict"]["status"],
                    "headline": ev["verdict"]["headline"],
                    "failed_gates": failed,
                    "detects": sens,
                }
                passed |= row["verdict"] == "pass"
                rows.append(row)
                print(
                    f"seed {seed}  {label:<52} {row['verdict'].upper():<13} "
                    f"{', '.join(failed) or row['headline']}",
                    flush=True,
                )
    if a.json:
        a.json.write_text(json.dumps({"config": a.config, "sets": a.sets, "rows": rows}, indent=2))
    sys.exit(1 if passed else 0)


if __name__ == "__main__":
    main()
