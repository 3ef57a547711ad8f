"""Time the dataset examples cold, and compare LiRA with the loss threshold on the original model.

Runs each example audit (default: ``examples/mnist1d.yaml`` and ``examples/fashion_mnist.yaml``)
once, cold: a fresh, empty model cache (``execution.cache_dir`` set to a temporary folder) and a
fresh output folder, so the original, the references and every shadow model are trained. For each
it prints:

* the wall time around the whole audit (config load, data loading and preflight included), the
  process CPU time over it, and the 1-minute load average before and after. On a machine shared
  with other work (a load above the core count) the wall time is inflated, and with more than one
  torch thread grossly so, as threads spin at barriers while their partner waits for a core;
  ``--threads 1`` then gives a fairer figure, and the CPU time is the work done;
* each phase's seconds (the evidence's ``timings``, and report_s / total_s from run-log.json);
* the original's accuracy on its training and test splits (``accuracy`` attack, original model);
* LiRA's power check on the original (all training samples against every held-out sample):
  LiRA's and the loss threshold's TPR at 1 % and 0.1 % FPR, and their AUCs;
* the verdict the current code prints (for information; this benchmark does not judge it).

The targets are cold wall times on 2 CPU cores: MNIST-1D at most 2 minutes, Fashion-MNIST at most
10 minutes. Run one benchmark at a time: audits compete for the cores.

Usage: ``python benchmarks/bench_examples.py [CONFIG ...] [--set KEY=VALUE ...] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PHASES = ("train_original_s", "reference_s", "unlearn_s", "attacks_s", "report_s", "total_s")
TARGETS_S = {"mnist1d.yaml": 120.0, "fashion_mnist.yaml": 600.0}


def cold_run(config: Path, tmp: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """One cold audit of ``config``: its wall and CPU seconds, load averages and evidence."""
    from auditor.config import load_config
    from auditor.run.pipeline import run_audit

    sets = {"execution.cache_dir": str(tmp / "cache"), **overrides}
    load_before = os.getloadavg()[0]
    t, cpu = time.perf_counter(), time.process_time()
    cfg = load_config(config, overrides=sets)
    outcome = run_audit(cfg, out=tmp / "out", config_path=config, sign=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    return {
        "config": str(config),
        "wall_s": wall,
        "cpu_s": cpu,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        # report_s and total_s are measured after signing: the outcome has them, evidence.json not
        "evidence": {**outcome.evidence, "timings": outcome.timings},
    }


def _value(cell: dict[str, Any] | None) -> float | None:
    return None if cell is None else cell.get("value")


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "n/a" if v is None else format(v, spec)


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """The figures this benchmark reports, from one run's evidence."""
    ev = row["evidence"]
    attacks = {a["name"]: a for a in ev["attacks"]}
    out: dict[str, Any] = {
        "config": row["config"],
        "wall_s": round(row["wall_s"], 1),
        "cpu_s": round(row["cpu_s"], 1),
        "load_before": row["load_before"],
        "load_after": row["load_after"],
        "timings": ev["timings"],
        "counts": ev["data"]["counts"],
        "verdict": ev["verdict"]["status"],
    }
    acc = {m["key"]: m for m in (attacks.get("accuracy") or {}).get("metrics", [])}
    for split in ("retain", "forget", "test"):
        cell = (acc.get(f"accuracy.{split}") or {}).get("values", {}).get("original")
        out[f"original_accuracy.{split}"] = _value(cell)
    power = ((attacks.get("lira") or {}).get("details") or {}).get("power_on_original")
    if power:
        out["power_on_original"] = {
            "members": power["members"],
            "nonmembers": power["nonmembers"],
            "lira_auc": power["lira_auc"],
            "loss_threshold_auc": power["loss_threshold_auc"],
            **{
                f"{who}_tpr@fpr={f}": _value(power.get(f"{who}_tpr@fpr={f}"))
                for who in ("lira", "loss_threshold")
                for f in ("0.01", "0.001")
            },
        }
    return out


def report(s: dict[str, Any]) -> None:
    name = Path(s["config"]).name
    target = TARGETS_S.get(name)
    print(f"== {s['config']}")
    print(
        f"cold wall {s['wall_s']:.1f} s, process CPU {s['cpu_s']:.1f} s, "
        f"load average {s['load_before']:.2f} before / {s['load_after']:.2f} after"
    )
    if target is not None:
        print(
            f"target: cold wall time <= {target:.0f} s on 2 CPU cores: {'met' if s['wall_s'] <= target else 'NOT met'}"
        )
    t = s["timings"]
    print("phases: " + ", ".join(f"{p.removesuffix('_s')} {t[p]:.1f} s" for p in PHASES if p in t))
    print("splits: " + ", ".join(f"{k} {v}" for k, v in s["counts"].items()))
    print(
        "original accuracy: "
        + ", ".join(f"{k} {_fmt(s[f'original_accuracy.{k}'])}" for k in ("retain", "forget", "test"))
    )
    p = s.get("power_on_original")
    if p:
        print(f"power on the original ({p['members']} members vs {p['nonmembers']} held out):")
        print(
            f"  TPR@1% FPR:   LiRA {_fmt(p['lira_tpr@fpr=0.01'])}  loss threshold {_fmt(p['loss_threshold_tpr@fpr=0.01'])}"
        )
        print(
            f"  TPR@0.1% FPR: LiRA {_fmt(p['lira_tpr@fpr=0.001'])}  loss threshold "
            f"{_fmt(p['loss_threshold_tpr@fpr=0.001'])}"
        )
        print(f"  AUC:          LiRA {_fmt(p['lira_auc'])}  loss threshold {_fmt(p['loss_threshold_auc'])}")
        a, b = p["lira_tpr@fpr=0.01"], p["loss_threshold_tpr@fpr=0.01"]
        if a is not None and b is not None:
            print(f"  LiRA {'beats' if a > b else 'does NOT beat'} the loss threshold at 1 % FPR")
    print(f"verdict printed by the current code: {s['verdict']}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "configs",
        nargs="*",
        default=[str(REPO / "examples" / "mnist1d.yaml"), str(REPO / "examples" / "fashion_mnist.yaml")],
    )
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help=(
            "torch intra-op threads (default: torch's, the core count). On a machine shared with other work, 1 "
            "avoids threads spinning at barriers while their partner waits for a core."
        ),
    )
    args = parser.parse_args()
    overrides = {}
    for item in args.sets:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)

    if args.threads:  # before numpy and torch load their thread pools (OpenMP, OpenBLAS, MKL)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"cuda={torch.cuda.is_available()}"
    )
    print()
    rows = []
    for config in args.configs:
        with tempfile.TemporaryDirectory() as tmp:
            s = summary(cold_run(Path(config), Path(tmp), overrides))
        report(s)
        rows.append(s)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
