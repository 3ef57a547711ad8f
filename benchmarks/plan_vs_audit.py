"""Does ``plan --pilot`` predict the audit? Predicted power, tolerance and MDE against the audit's own.

For each config and root seed: ``unlearn-audit plan CONFIG --pilot --json`` (the original and the first k
references, the last held out as an honest stand-in), then the whole audit of an honest retrain
(``unlearner.name=retrain``), which reuses the pilot's models from the cache. Per gate it compares the
predicted tolerance, power and MDE at 80 % power with the audit's; per claimed category the predicted
outlook (powered or not) with the audit's (a powered gate in the category). Usage::

    python benchmarks/plan_vs_audit.py examples/mnist1d.yaml examples/digits.yaml --seeds 0 1 2
    python benchmarks/plan_vs_audit.py examples/digits.yaml --seeds 0 --set 'forget={kind: random, count: 16}'

Prints one row per gate and seed and a summary per config; ``--json`` writes the rows.
docs/statistics.md ("Planning an audit") quotes its figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).parent / "unlearn-audit"


def call(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    t = time.perf_counter()
    proc = subprocess.run([str(EXE), *args], capture_output=True, text=True)
    return proc, time.perf_counter() - t


def overrides_for(seed: int, sets: list[str]) -> list[str]:
    out = ["--set", f"seed={seed}", "--set", "unlearner.name=retrain", "--set", "unlearner.params={}"]
    for s in sets:
        out += ["--set", s]
    return out


def pilot(config: str, seed: int, sets: list[str], pilot_refs: int) -> tuple[dict, float]:
    args = [
        "plan",
        config,
        "--pilot",
        "--pilot-references",
        str(pilot_refs),
        "--json",
        *overrides_for(seed, sets),
    ]
    proc, seconds = call(args)
    if proc.returncode != 0:
        raise SystemExit(f"plan, seed {seed}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout)["pilot"], seconds


def one(config: str, seed: int, sets: list[str], pilot_refs: int, out: Path) -> dict:
    plan, plan_s = pilot(config, seed, sets, pilot_refs)
    args = ["run", config, "--out", str(out), "--no-sign", "-q", "--set", "report.formats=[json]"]
    proc, audit_s = call(args + overrides_for(seed, sets))
    if proc.returncode > 1:
        raise SystemExit(f"run, seed {seed}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    ev = json.loads((out / "evidence.json").read_text())
    ev["audit_s"] = audit_s
    return compare(config, seed, sets, plan, plan_s, ev)


def compare(config: str, seed: int, sets: list[str], plan: dict, plan_s: float, ev: dict) -> dict:
    """One row: the plan's predictions next to the audit's evidence (``ev``: its gates and verdict)."""
    audit = {g["metric"]: g for g in ev["gates"]["results"]}
    gates = []
    for p in plan["gates"]:
        a = audit.get(p["metric"], {})
        gates.append(
            {
                "metric": p["metric"],
                "category": p["category"],
                "piloted": p["piloted"],
                "fail_only": p["fail_only"],
                "predicted_tolerance": p["tolerance"],
                "tolerance": a.get("tolerance"),
                "predicted_powered": p["powered"],
                "powered": a.get("powered"),
                "predicted_mde_80": p["mde_80"],
                "mde_80": a.get("mde_80"),
                "predicted_retrain_sd": p["retrain_sd"],
                "retrain_sd": a.get("retrain_sd"),
                "predicted_original": p["original_effect"],
                "original": (a.get("control") or {}).get("gap"),
            }
        )
    claims = ev["verdict"]["claims"]
    categories = {
        c["category"]: {
            "predicted": c["outlook"],
            "audit_powered": ev["verdict"]["categories"][c["category"]]["powered"],
        }
        for c in plan["categories"]
        if c["category"] in claims
    }
    return {
        "config": config,
        "seed": seed,
        "sets": sets,
        "verdict": ev["verdict"]["status"],
        "headline": ev["verdict"]["headline"],
        "next_steps": ev["verdict"].get("next_steps"),
        "plan_s": round(plan_s, 1),
        "audit_s": round(ev["audit_s"], 1),
        "categories": categories,
        "gates": gates,
        "audit": {  # what compare() reads of the evidence, so --replan can compare a new pilot with it
            "audit_s": ev["audit_s"],
            "gates": {"results": ev["gates"]["results"]},
            "verdict": {
                k: ev["verdict"].get(k) for k in ("status", "headline", "claims", "categories", "next_steps")
            },
        },
    }


def audit_of(row: dict) -> dict:
    """The audit's side of a row written before rows kept it (``audit``): rebuilt from the row's own columns."""
    return {
        "audit_s": row["audit_s"],
        "gates": {
            "results": [
                {
                    "metric": g["metric"],
                    "tolerance": g["tolerance"],
                    "powered": g["powered"],
                    "mde_80": g["mde_80"],
                    "retrain_sd": g["retrain_sd"],
                    "control": {"gap": g["original"]},
                }
                for g in row["gates"]
            ]
        },
        "verdict": {
            "status": row["verdict"],
            "headline": row["headline"],
            "next_steps": row["next_steps"],
            "claims": list(row["categories"]),
            "categories": {c: {"powered": v["audit_powered"]} for c, v in row["categories"].items()},
        },
    }


def replan(path: Path, pilot_refs: int) -> list[dict]:
    """The rows of an earlier run, each with a fresh pilot (its models from the cache) against the same audit."""
    rows = []
    for row in json.loads(path.read_text()):
        plan, plan_s = pilot(row["config"], row["seed"], row["sets"], pilot_refs)
        rows.append(
            compare(row["config"], row["seed"], row["sets"], plan, plan_s, row.get("audit") or audit_of(row))
        )
        show(rows[-1])
    return rows


def fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def show(row: dict) -> None:
    print(f"\n{row['config']} seed {row['seed']} {' '.join(row['sets'])}: {row['headline']}")
    print(f"  plan --pilot {row['plan_s']} s, audit {row['audit_s']} s")
    print(
        f"  {'gate':<32} {'tol pred/audit':>16} {'powered pred/audit':>19} {'MDE80 pred/audit':>18} {'SD pred/audit':>16}"
    )
    for g in row["gates"]:
        if not g["piloted"]:
            print(f"  {g['metric']:<32} not piloted; audit: powered {g['powered']}, MDE80 {fmt(g['mde_80'])}")
            continue
        print(
            f"  {g['metric']:<32} {fmt(g['predicted_tolerance']):>7} {fmt(g['tolerance']):>8} "
            f"{str(g['predicted_powered']):>9} {str(g['powered']):>9} {fmt(g['predicted_mde_80']):>8} "
            f"{fmt(g['mde_80']):>9} {fmt(g['predicted_retrain_sd'], '.4f'):>7} {fmt(g['retrain_sd'], '.4f'):>8}"
        )
    for cat, c in row["categories"].items():
        audit = "powered" if c["audit_powered"] else "unpowered"
        print(f"  claim {cat:<15} predicted {c['predicted']:<10} audit {audit} {c['audit_powered']}")


def summary(rows: list[dict]) -> None:
    print("\nSummary")
    for config in sorted({r["config"] for r in rows}):
        mine = [r for r in rows if r["config"] == config]
        piloted = [g for r in mine for g in r["gates"] if g["piloted"] and not g["fail_only"]]
        agree = sum(g["predicted_powered"] == g["powered"] for g in piloted)
        ratios = [
            g["predicted_mde_80"] / g["mde_80"] for g in piloted if g["predicted_mde_80"] and g["mde_80"]
        ]
        cats = [
            (c["predicted"] == "powered", bool(c["audit_powered"]))
            for r in mine
            for c in r["categories"].values()
        ]
        cat_agree = sum(p == a for p, a in cats)
        # an "unknown" claim (only unpiloted gates could power it) is counted as a predicted "not powered"
        print(
            f"  {config}: {len(mine)} seed(s); gate power agrees {agree}/{len(piloted)}; MDE80 predicted/measured "
            f"median {sorted(ratios)[len(ratios) // 2]:.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); "
            f"claims agree {cat_agree}/{len(cats)}"
            if ratios
            else f"  {config}: no piloted gates"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("configs", nargs="*")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--set", dest="sets", action="append", default=[])
    ap.add_argument("--pilot-references", type=int, default=6)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--replan", type=Path, default=None, help="Re-run only the pilots of an earlier --json file."
    )
    args = ap.parse_args()
    if args.replan:
        rows = replan(args.replan, args.pilot_references)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1) + "\n")
        summary(rows)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            for seed in args.seeds:
                row = one(
                    config, seed, args.sets, args.pilot_references, Path(tmp) / f"{Path(config).stem}-{seed}"
                )
                show(row)
                rows.append(row)
                if args.json:
                    args.json.parent.mkdir(parents=True, exist_ok=True)
                    args.json.write_text(json.dumps(rows, indent=1) + "\n")
    summary(rows)


if __name__ == "__main__":
    main()
