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
A setting is a name (``class``, ``random``, ``backdoor``, ``config``) or a spec: ``class:7`` or
``class:1,7`` (those classes), ``random:0.15`` (that fraction), ``backdoor:60`` (that many canaries).
It prints the Markdown table and writes it (with the raw per-seed rows as JSON beside it). The JSON is
rewritten after every run, so an interrupted run loses nothing: ``--resume`` skips the (method, setting,
seed) rows already in it and ``--merge`` keeps the rows of those not re-run. The model cache is
``$UNLEARN_AUDIT_CACHE`` when set (reused across invocations), else a temporary folder.
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


def forget_spec(setting: str) -> dict:
    """The ``forget`` section of a setting: a name of :data:`SETTINGS` or ``kind:argument``."""
    if setting in SETTINGS:
        return SETTINGS[setting]
    kind, _, arg = setting.partition(":")
    if kind == "class" and arg:
        return {"kind": "class", "classes": [int(c) for c in arg.split(",")]}
    if kind == "random" and arg:
        return {"kind": "random", "fraction": float(arg)}
    if kind == "backdoor" and arg:
        return {**SETTINGS["backdoor"], "count": int(arg)}
    raise SystemExit(
        f"unknown setting {setting!r}: use {', '.join(SETTINGS)}, config, class:7, class:1,7, "
        "random:0.15 or backdoor:60"
    )


def setting_title(setting: str, config: Path) -> str:
    """The heading of a setting's table."""
    if setting == "config":
        return f"`{config.name}`: its own forget request"
    spec = forget_spec(setting)
    if spec["kind"] == "class":
        classes = spec["classes"]
        return f"Class forgetting (class{'es' if len(classes) > 1 else ''} {', '.join(map(str, classes))})"
    if spec["kind"] == "random":
        return f"{spec['fraction'] * 100:g} % random forgetting"
    return (
        f"Backdoor forgetting ({spec['count']} poisoned samples, 2x2 trigger patch, target {spec['target']})"
    )


def setting_kind(setting: str, config: Path) -> str:
    return _config_kind(config) if setting == "config" else str(forget_spec(setting)["kind"])


def run_one(
    method: str,
    setting: str,
    seed: int,
    out: Path,
    config: Path = REPO / "examples" / "digits.yaml",
    sets: dict | None = None,
) -> dict:
    from auditor.config import load_config
    from auditor.run.pipeline import run_audit

    overrides = {
        **(sets or {}),
        "seed": seed,
        "unlearner": {"name": method, "params": {}},
        "report.formats": ["json"],
    }
    if setting != "config":
        overrides["forget"] = forget_spec(setting)
    if setting_kind(setting, config) == "backdoor":
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

    def val(key: str, role: str = "unlearned") -> float | None:
        # None when this version of the battery has no such metric (the engine changes; rows stay comparable)
        try:
            return metrics[key]["values"][role]["value"]
        except (KeyError, TypeError):
            return None

    def gap(key: str) -> float | None:
        try:
            return metrics[key]["gap"]["value"]
        except (KeyError, TypeError):
            return None

    verdict = ev["verdict"]
    return {
        "method": method,
        "setting": setting,
        "seed": seed,
        "verdict": verdict["status"],
        "forget_acc": val("accuracy.forget"),
        "forget_acc_reference": val("accuracy.forget", "reference"),
        "retain_acc": val("accuracy.retain"),
        "retain_acc_reference": val("accuracy.retain", "reference"),
        "test_acc": val(test_key),
        "test_acc_reference": val(test_key, "reference"),
        "test_acc_original": val(test_key, "original"),
        "forgotten_class_test_acc": val("accuracy.test_forgotten_classes"),
        "mia_auc": val("threshold.loss.auc"),
        "mia_auc_reference": val("threshold.loss.auc", "reference"),
        "mia_auc_gap": gap("threshold.loss.auc"),
        "lira_exposure_gap": gap("lira.exposure"),
        "probe_gap": gap("probe.forget_log_loss"),
        "lira_auc": val("lira.auc"),
        "lira_auc_reference": val("lira.auc", "reference"),
        "lira_tpr_1": val("lira.tpr@fpr=0.01"),
        "lira_tpr_01": val("lira.tpr@fpr=0.001"),
        "claims": {c: v["status"] for c, v in verdict["categories"].items() if v["claimed"]},
        "uncaught_controls": [k for k, v in verdict.get("controls", {}).items() if not v.get("caught_by")],
        "asr": val("backdoor.asr"),
        "asr_reference": val("backdoor.asr", "reference"),
        "unlearn_s": ev["method"]["runtime_s"],
        "audit_wall_s": wall,
        "data_read": ev["method"]["data_read"],
        "diagnostics": _small(ev["method"].get("diagnostics")),
    }


def _small(diag: dict | None) -> dict | None:
    """The method's scalar diagnostics (e.g. the alpha_r chosen, the epochs run), lists dropped."""
    if not diag:
        return None
    return {k: v for k, v in diag.items() if isinstance(v, (int, float, str, bool)) or v is None}


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


def _counts(rs: list[dict], get) -> str:
    """``pass 2, fail 1``-style counts of a status over the rows."""
    return ", ".join(
        f"{v} {sum(get(r) == v for r in rs)}"
        for v in ("pass", "fail", "inconclusive")
        if any(get(r) == v for r in rs)
    )


def verdicts_cell(rs: list[dict]) -> str:
    """The verdicts over the rows: ``fail 2, inconclusive 1``."""
    return _counts(rs, lambda r: r["verdict"])


def claims_cell(rs: list[dict]) -> str:
    """Each claim's statuses over the rows: ``utility: 3p; forgetting: 2f/1i``."""
    return "; ".join(
        f"{c}: "
        + "/".join(
            f"{sum(r['claims'].get(c) == v for r in rs)}{v[0]}"
            for v in ("pass", "fail", "inconclusive")
            if any(r["claims"].get(c) == v for r in rs)
        )
        for c in rs[0]["claims"]
    )


def table(rows: list[dict], methods: list[str], setting: str, kind: str) -> str:
    """One Markdown table: a row per method (mean ± SD over the seeds run), columns by forget kind."""
    rs_all = [r for r in rows if r["setting"] == setting]
    asr = kind == "backdoor"
    mia = kind in ("random", "indices")
    cls = kind == "class"
    cols: list[tuple[str, str, int]] = [  # (header, row key, digits)
        ("forget acc", "forget_acc", 3),
        ("(reference)", "forget_acc_reference", 3),
        ("retain acc", "retain_acc", 3),
        ("(reference)", "retain_acc_reference", 3),
        ("test acc" + (", retained classes" if cls else ""), "test_acc", 3),
        ("(reference)", "test_acc_reference", 3),
        ("(original)", "test_acc_original", 3),
    ]
    if cls:
        cols.append(("test acc, forgotten classes", "forgotten_class_test_acc", 3))
    cols += [("LiRA exposure gap", "lira_exposure_gap", 3), ("probe gap", "probe_gap", 2)]
    if asr:
        cols += [("trigger ASR", "asr", 3), ("(reference)", "asr_reference", 3)]
    if mia:
        cols += [
            ("LiRA AUC", "lira_auc", 3),
            ("(reference)", "lira_auc_reference", 3),
            ("TPR at 1 % FPR", "lira_tpr_1", 3),
            ("TPR at 0.1 % FPR", "lira_tpr_01", 3),
        ]
    head = ["method", *(c[0] for c in cols), "wall s", "speedup vs retrain", "verdicts", "claims"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    retrain = {r["seed"]: r["unlearn_s"] for r in rs_all if r["method"] == "retrain"}
    for method in methods:
        rs = [r for r in rs_all if r["method"] == method]
        if not rs:
            from unlearners import UNLEARNERS

            why = "not run" if kind in UNLEARNERS.get(method).supports else "not supported"
            lines.append(f"| `{method}` | {why} |" + " |" * (len(head) - 2))
            continue
        speed = [
            retrain[r["seed"]] / r["unlearn_s"]
            for r in rs
            if method != "noop" and r["seed"] in retrain and r["unlearn_s"]
        ]
        cells = [mean_sd([r.get(key) for r in rs], digits) for _, key, digits in cols]
        cells += [
            mean_sd([r["unlearn_s"] for r in rs], 2),
            mean_sd(speed, 1) if speed else "n/a",
            verdicts_cell(rs),
            claims_cell(rs),
        ]
        lines.append(f"| `{method}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_json(path: Path, rows: list[dict]) -> None:
    """Write the rows atomically (a crash mid-write never truncates what earlier runs recorded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rows, indent=1))
    tmp.replace(path)


def _fmt(v: float | None, spec: str) -> str:
    return "  n/a" if v is None else format(v, spec)


def _parse_sets(items: list[str]) -> dict:
    import yaml

    sets = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise SystemExit(f"--set {item!r}: use KEY=VALUE")
        sets[key] = yaml.safe_load(value)
    return sets


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument(
        "--settings",
        nargs="+",
        default=list(SETTINGS),
        help="class, random, backdoor, config (the config's own forget request, e.g. examples/mnist1d.yaml's "
        "random 10 %%), or a spec: class:7, class:1,7, random:0.15, backdoor:60",
    )
    parser.add_argument("--config", type=Path, default=REPO / "examples" / "digits.yaml")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="Keep the rows already in the JSON beside --out for (method, setting, seed) not re-run.",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Skip the (method, setting, seed) rows already in the JSON beside --out (implies --merge).",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="KEY=VALUE",
        help="Override a config key for every run (the value is YAML), e.g. --set model.arch=small_cnn",
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results.md")
    args = parser.parse_args()
    for setting in args.settings:
        if setting != "config":
            forget_spec(setting)  # fail on a bad spec before any training
    return args


def _key(row: dict) -> tuple:
    return (row["method"], row["setting"], row["seed"])


def run_all(args: argparse.Namespace, methods: list[str], old: list[dict]) -> list[dict]:
    """Run every (setting, seed, method) not skipped; the JSON is rewritten after each run."""
    from unlearners import UNLEARNERS

    sets = _parse_sets(args.sets)
    json_path = args.out.with_suffix(".json")
    done = {_key(r) for r in old} if args.resume else set()
    rows: list[dict] = []

    def everything() -> list[dict]:
        ran = {_key(r) for r in rows}
        return [r for r in old if _key(r) not in ran] + rows

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("UNLEARN_AUDIT_CACHE", str(Path(tmp) / "cache"))
        for setting in args.settings:
            kind = setting_kind(setting, args.config)
            for seed in args.seeds:
                for method in methods:
                    if kind not in UNLEARNERS.get(method).supports or (method, setting, seed) in done:
                        continue
                    out = Path(tmp) / f"{method}-{setting.replace(':', '-').replace(',', '_')}-{seed}"
                    row = run_one(method, setting, seed, out, args.config, sets)
                    rows.append(row)
                    _write_json(json_path, everything())
                    print(
                        f"{setting:<10} seed {seed} {method:<16} forget {_fmt(row['forget_acc'], '.3f')} "
                        f"(ref {_fmt(row['forget_acc_reference'], '.3f')}) retain {_fmt(row['retain_acc'], '.3f')} "
                        f"(ref {_fmt(row['retain_acc_reference'], '.3f')}) test {_fmt(row['test_acc'], '.3f')} "
                        f"exposure {_fmt(row['lira_exposure_gap'], '+.3f')} probe {_fmt(row['probe_gap'], '+.2f')} "
                        f"{row['unlearn_s']:.2f}s {row['verdict']} {row['claims']}",
                        flush=True,
                    )
    return everything()


def write_tables(rows: list[dict], methods: list[str], settings: list[str], config: Path, out: Path) -> str:
    """The Markdown tables, one per setting, written between the markers of ``out`` (or a new file)."""
    body = []
    for setting in dict.fromkeys([*settings, *(r["setting"] for r in rows)]):
        if not any(r["setting"] == setting for r in rows):
            continue
        kind = setting_kind(setting, config)
        body += [f"### {setting_title(setting, config)}", "", table(rows, methods, setting, kind), ""]
    text = "\n".join(body)
    _write_json(out.with_suffix(".json"), rows)
    marker = "<!-- results table -->"
    if out.exists() and marker in out.read_text():
        head, _, tail = out.read_text().partition(marker)
        _, _, tail = tail.partition("<!-- end results table -->")
        out.write_text(f"{head}{marker}\n{text}\n<!-- end results table -->{tail}")
    else:
        out.write_text(
            f"# Unlearning methods on `{config.name}`\n\n{marker}\n{text}\n<!-- end results table -->\n"
        )
    return text


def main() -> None:
    args = _arguments()
    from unlearners import UNLEARNERS

    methods = args.methods or UNLEARNERS.names()
    json_path = args.out.with_suffix(".json")
    keep = (args.merge or args.resume) and json_path.exists()
    old = json.loads(json_path.read_text()) if keep else []
    rows = run_all(args, methods, old)
    if keep:
        methods = sorted({r["method"] for r in rows} | set(methods))
    print(write_tables(rows, methods, args.settings, args.config, args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
