"""Null study: honest retraining audited over many root seeds must PASS (and never FAIL).

Each root seed draws new splits, a new original, new references, new shadows and a new retrained
"unlearned" model, so the verdict's error rate includes the randomness of training, not just of
the samples. Usage::

    python benchmarks/null_study.py examples/digits.yaml --seeds 20
    python benchmarks/null_study.py examples/mnist1d.yaml --seeds 20 --set forget.kind=random

Prints one row per seed (verdict, the gates that were not a pass) and the tally; writes the rows as
JSON with ``--json``. The statistics design document (docs/statistics.md) quotes its tables.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

EXE = Path(sys.executable).parent / "unlearn-audit"


def run(config: str, seed: int, sets: list[str], out: Path, cache: Path | None) -> dict:
    args = [
        str(EXE),
        "run",
        config,
        "--out",
        str(out),
        "--no-sign",
        "-q",
        "--set",
        f"seed={seed}",
        "--set",
        "unlearner.name=retrain",
        "--set",
        "unlearner.params={}",
        "--set",
        "report.formats=[json]",
    ]
    for s in sets:
        args += ["--set", s]
    env = None
    if cache is not None:
        import os

        env = {**os.environ, "UNLEARN_AUDIT_CACHE": str(cache)}
    t = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode > 1:
        raise SystemExit(f"seed {seed}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    ev = json.loads((out / "evidence.json").read_text())
    gates = ev["gates"]["results"]
    return {
        "seed": seed,
        "verdict": ev["verdict"]["status"],
        "headline": ev["verdict"]["headline"],
        "not_pass": [f"{g['metric']}={g['status']}" for g in gates if g["status"] != "pass"],
        "powered": [g["metric"] for g in gates if g.get("powered")],
        "wall_s": round(wall, 1),
        "gates": [
            {
                "metric": g["metric"],
                "status": g["status"],
                "powered": g.get("powered"),
                "tolerance": g["tolerance"],
                "gap": g["gap"],
                "equivalence_ci": g["equivalence_ci"],
                "retrain_sd": g.get("retrain_sd"),
                "original_gap": g["control"]["gap"],
            }
            for g in gates
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--cache", type=Path, help="model cache (default: a fresh temporary one)")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = a.cache or Path(tmp) / "cache"
        for seed in range(a.first, a.first + a.seeds):
            row = run(a.config, seed, a.sets, Path(tmp) / f"seed{seed}", cache)
            rows.append(row)
            print(
                f"seed {seed:3d}  {row['verdict'].upper():13s} {row['wall_s']:6.1f} s  "
                f"{'; '.join(row['not_pass']) or '-'}",
                flush=True,
            )
    tally = Counter(r["verdict"] for r in rows)
    print(
        f"\n{len(rows)} honest retrains: pass {tally['pass']}, fail {tally['fail']}, "
        f"inconclusive {tally['inconclusive']}"
    )
    if a.json:
        a.json.write_text(
            json.dumps({"config": a.config, "sets": a.sets, "rows": rows, "tally": dict(tally)}, indent=2)
        )


if __name__ == "__main__":
    main()
