"""Time the embedded-default audit end to end and per phase.

Runs ``examples/digits.yaml`` twice in this process, each in a fresh output folder:

1. **cold**: an empty model cache, so the original and the references are trained;
2. **warm**: the same audit again, reusing the cached original and references (what a second
   audit with another unlearner pays).

It prints each phase's seconds (from the evidence's ``timings``), each phase's share of the
total, and the warm/cold ratio. Wall time is measured around the whole ``run_audit`` call,
including the config load and preflight. The target for the embedded default is at most 60 s of
wall time on 2 CPU cores.

Usage: ``python benchmarks/bench_audit.py [CONFIG] [--set KEY=VALUE ...]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PHASES = ("train_original_s", "reference_s", "unlearn_s", "attacks_s", "report_s")


def one_run(config: Path, out: Path, overrides: dict) -> tuple[float, dict]:
    from auditor.config import load_config
    from auditor.run.pipeline import run_audit

    t = time.perf_counter()
    cfg = load_config(config, overrides=overrides)
    outcome = run_audit(cfg, out=out, config_path=config)
    # report_s and total_s are measured after signing: the outcome has them, evidence.json not
    return time.perf_counter() - t, {**outcome.evidence, "timings": outcome.timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default=str(REPO / "examples" / "digits.yaml"))
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    overrides = {}
    for item in args.sets:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)

    import torch

    print(f"config: {args.config}")
    print(
        f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"cuda={torch.cuda.is_available()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["UNLEARN_AUDIT_CACHE"] = str(Path(tmp) / "cache")
        rows = {}
        for label in ("cold", "warm"):
            wall, ev = one_run(Path(args.config), Path(tmp) / label, overrides)
            rows[label] = (wall, ev)
            print(f"{label}: verdict {ev['verdict']['status']}, wall {wall:.1f} s")
    print()
    print(f"{'phase':<18}{'cold s':>9}{'share':>8}{'warm s':>9}{'share':>8}")
    for phase in PHASES + ("total_s",):
        cells = []
        for label in ("cold", "warm"):
            t = rows[label][1]["timings"]
            cells += [f"{t[phase]:>9.2f}", f"{t[phase] / t['total_s']:>8.0%}"]
        print(f"{phase:<18}{''.join(cells)}")
    cold, warm = rows["cold"][0], rows["warm"][0]
    print()
    print(f"wall time: cold {cold:.1f} s, warm {warm:.1f} s, warm/cold ratio {warm / cold:.2f}")
    retrain_one = rows["cold"][1]["timings"]["train_original_s"]
    print(f"cold audit = {cold / retrain_one:.1f} x the time of one training run ({retrain_one:.1f} s)")
    target = 60.0
    print(
        f"target: cold wall time <= {target:.0f} s on 2 CPU cores: {'met' if cold <= target else 'NOT met'}"
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
