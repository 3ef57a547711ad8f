"""Run every unlearning method on the embedded default and tabulate the results.

For each registered method, each forget setting (class 3; 10 % random; backdoor) and each seed, this runs
the audit of ``examples/digits.yaml`` with its default battery (accuracy, threshold, LiRA, probe; plus the
``backdoor`` check for backdoor forgetting) and records forget / retain / test accuracy, the LiRA exposure
and probe gaps to the references, the verdict and the status of every claim, the method's wall time and
its speedup over retraining (``retrain``'s wall time divided by the method's, same seed and setting). The original and references come from the model cache, so
each extra method costs only its own run and the attacks.

Usage: ``python benchmarks/methods.py [--seeds 0 1 2] [--out docs/results.md] [--methods a b ...]``;
``--config examples/mnist1d.yaml --settings config --out docs/results_mnist1d.md`` runs another example
with its own forget request (random erasure there), adding LiRA's AUC and TPR at 1 % and 0.1 % FPR.
It prints the Markdown table and writes it (with the raw per-seed rows as JSON beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "class": {"kind": "class", "classes": [3]},
    "random": {"kind": "random", "fraction": 0.1},
    # 60 poisoned training samples carrying a private 2x2 patch, relabelled to 0 (the backdoor check).
    "backdoor": {"kind": "backdoor", "count": 60, "target": 0, "trigger": {"pattern": "patch", "size": 2}},
}


def run_one(
    method: str, setting: str, seed: int, out: Path, config: Path = REPO / "examples" / "digits.yaml"
) -> dict:
    from auditor.config import load_config
    from auditor.run.pipeline import run_audit

    overrides = {"seed": seed, "unlearner": {"name": method, "params": {}}, "report.formats": ["json"]}
    if setting != "config":
        overrides["forget"] = SETTINGS[setting]
    if setting == "backdoor":
        overrides["attacks"] = [
            {"name": "accuracy"},
            {"name": "threshold"},
            {"name": "lira"},
            {"name": "probe"},
            {"name": "backdoor", "params": {"resurgence_steps": 0}},
        ]
    cfg = load_config(config, overrides=overrides)
    t = time.perf_counter()
    ev = run_audit(cfg, out=out).evidence
    wall = time.perf_counter() - t
    metrics = {m["key"]: m for a in ev["attacks"] for m in a["metrics"]}
    test_key = "accuracy.test_retained_classes" if cfg.forget.kind == "class" else "accuracy.test"

    def val(key: str, role: str = "unlearned") -> float:
        return metrics[key]["values"][role]["value"]

    return {
        "method": method,
        "setting": setting,
        "seed": seed,
        "verdict": ev["verdict"]["status"],
        "forget_acc": val("accuracy.forget"),
        "forget_acc_reference": val("accuracy.forget", "reference"),
        "retain_acc": val("accuracy.retain"),
        "test_acc": val(test_key),
        "test_acc_original": val(test_key, "original"),
        "mia_auc_gap": metrics["threshold.loss.auc"]["gap"]["value"],
        "lira_exposure_gap": metrics["lira.exposure"]["gap"]["value"],
        "probe_gap": metrics["probe.forget_log_loss"]["gap"]["value"],
        "lira_auc": val("lira.auc"),
        "lira_auc_reference": val("lira.auc", "reference"),
        "lira_tpr_1": val("lira.tpr@fpr=0.01"),
        "lira_tpr_01": val("lira.tpr@fpr=0.001"),
        "claims": {c: v["status"] for c, v in ev["verdict"]["categories"].items() if v["claimed"]},
        "uncaught_controls": [k for k, v in ev["verdict"]["controls"].items() if not v["caught_by"]],
        "asr": val("backdoor.asr") if "backdoor.asr" in metrics else None,
        "asr_reference": val("backdoor.asr", "reference") if "backdoor.asr" in metrics else None,
        "unlearn_s": ev["method"]["runtime_s"],
        "audit_wall_s": wall,
        "data_read": ev["method"]["data_read"],
    }


def _config_kind(config: Path) -> str:
    from auditor.config import load_config

    return load_config(config).forget.kind


def mean_sd(values: list[float | None], digits: int = 3) -> str:
    if values and all(v is None for v in values):
        return "not estimable"
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def table(rows: list[dict], methods: list[str], setting: str) -> str:
    asr = setting == "backdoor"
    mia = setting in ("random", "config")
    lines = [
        "| method | forget acc | (reference) | retain acc | test acc | (original) | LiRA exposure gap | probe gap | "
        + ("trigger ASR | (reference) | " if asr else "")
        + ("LiRA AUC | (reference) | TPR at 1 % FPR | TPR at 0.1 % FPR | " if mia else "")
        + "wall s | speedup vs retrain | verdicts | claims |",
        "|---|---|---|---|---|---|---|---|"
        + ("---|---|" if asr else "")
        + ("---|---|---|---|" if mia else "")
        + "---|---|---|---|",
    ]
    retrain = {
        r["seed"]: r["unlearn_s"] for r in rows if r["method"] == "retrain" and r["setting"] == setting
    }
    for method in methods:
        rs = [r for r in rows if r["method"] == method and r["setting"] == setting]
        if not rs:
            lines.append(f"| `{method}` | not supported |" + " |" * (12 if asr else 14 if mia else 10))
            continue
        speed = [
            retrain[r["seed"]] / r["unlearn_s"]
            for r in rs
            if method != "noop" and r["seed"] in retrain and r["unlearn_s"]
        ]
        verdicts = ", ".join(
            f"{v} {sum(r['verdict'] == v for r in rs)}"
            for v in ("pass", "fail", "inconclusive")
            if any(r["verdict"] == v for r in rs)
        )
        claims = "; ".join(
            f"{c}: "
            + "/".join(
                f"{sum(r['claims'].get(c) == v for r in rs)}{v[0]}"
                for v in ("pass", "fail", "inconclusive")
                if any(r["claims"].get(c) == v for r in rs)
            )
            for c in rs[0]["claims"]
        )
        lines.append(
            f"| `{method}` | {mean_sd([r['forget_acc'] for r in rs])} | {mean_sd([r['forget_acc_reference'] for r in rs])}"
            f" | {mean_sd([r['retain_acc'] for r in rs])} | {mean_sd([r['test_acc'] for r in rs])}"
            f" | {mean_sd([r['test_acc_original'] for r in rs])} | {mean_sd([r['lira_exposure_gap'] for r in rs])}"
            f" | {mean_sd([r['probe_gap'] for r in rs], 2)}"
            + (
                f" | {mean_sd([r['asr'] for r in rs])} | {mean_sd([r['asr_reference'] for r in rs])}"
                if asr
                else ""
            )
            + (
                f" | {mean_sd([r['lira_auc'] for r in rs])} | {mean_sd([r['lira_auc_reference'] for r in rs])}"
                f" | {mean_sd([r['lira_tpr_1'] for r in rs])} | {mean_sd([r['lira_tpr_01'] for r in rs])}"
                if mia
                else ""
            )
            + f" | {mean_sd([r['unlearn_s'] for r in rs], 2)} | {mean_sd(speed, 1) if speed else 'n/a'} | {verdicts}"
            f" | {claims} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument(
        "--settings",
        nargs="+",
        default=list(SETTINGS),
        choices=[*SETTINGS, "config"],
        help="'config': the config's own forget request (e.g. examples/mnist1d.yaml's random 10 %%)",
    )
    parser.add_argument("--config", type=Path, default=REPO / "examples" / "digits.yaml")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="Keep the rows already in the JSON beside --out for (method, setting, seed) not re-run.",
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results.md")
    args = parser.parse_args()
    from unlearners import UNLEARNERS

    methods = args.methods or UNLEARNERS.names()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("UNLEARN_AUDIT_CACHE", str(Path(tmp) / "cache"))
        for setting in args.settings:
            for seed in args.seeds:
                for method in methods:
                    kind = setting if setting != "config" else _config_kind(args.config)
                    if kind not in UNLEARNERS.get(method).supports:
                        continue
                    row = run_one(
                        method, setting, seed, Path(tmp) / f"{method}-{setting}-{seed}", args.config
                    )
                    rows.append(row)
                    print(
                        f"{setting:<7} seed {seed} {method:<16} forget {row['forget_acc']:.3f} "
                        f"(ref {row['forget_acc_reference']:.3f}) test {row['test_acc']:.3f} "
                        f"exposure {row['lira_exposure_gap']:+.3f} probe {row['probe_gap']:+.2f} "
                        f"{row['unlearn_s']:.2f}s {row['verdict']} {row['claims']}",
                        flush=True,
                    )
    if args.merge and args.out.with_suffix(".json").exists():
        ran = {(r["method"], r["setting"], r["seed"]) for r in rows}
        old = json.loads(args.out.with_suffix(".json").read_text())
        rows = [r for r in old if (r["method"], r["setting"], r["seed"]) not in ran] + rows
        methods = sorted({r["method"] for r in rows})
        args.settings = [s for s in [*SETTINGS, "config"] if any(r["setting"] == s for r in rows)]
    body = []
    for setting, title in (
        ("class", "Class forgetting (digit 3)"),
        ("random", "10 % random forgetting"),
        ("backdoor", "Backdoor forgetting (60 poisoned samples, 2x2 trigger patch, target 0)"),
        ("config", f"`{args.config.name}`: its own forget request"),
    ):
        if setting not in args.settings:
            continue
        body += [f"### {title}", "", table(rows, methods, setting), ""]
    text = "\n".join(body)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    marker = "<!-- results table -->"
    if args.out.exists() and marker in args.out.read_text():
        head, _, tail = args.out.read_text().partition(marker)
        _, _, tail = tail.partition("<!-- end results table -->")
        args.out.write_text(f"{head}{marker}\n{text}\n<!-- end results table -->{tail}")
    else:
        args.out.write_text(
            f"# Unlearning methods on `{args.config.name}`\n\n{marker}\n{text}\n<!-- end results table -->\n"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
