"""The measured side of ``docs/results_papers.md``: one table per seed paper, from the methods' JSON rows.

``benchmarks/methods.py`` writes one JSON row per (method, setting, seed) audit. This script picks the
rows of each paper's own scenarios and writes, between the markers ``<!-- paper:NAME -->`` and
``<!-- end paper:NAME -->`` of ``docs/results_papers.md``, a table with the method's forget, retain and
test accuracy against the references' (mean ± SD over the seeds), the scenario's own measure (the
trigger's success rate for backdoors, the loss-threshold attack's AUC for ∇τ, the update steps for
UNSIR), the verdicts and the method's wall time against retraining. The claims and the judgement
beside each table are prose in that file. Usage (after the runs listed there)::

    python benchmarks/paper_tables.py [--doc docs/results_papers.md] [--print]
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from methods import claims_cell, verdicts_cell  # the same cells as the method tables (benchmarks/)

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


@dataclass(frozen=True)
class Scenario:
    """One row of a paper's table: a method in a setting, read from one results JSON."""

    label: str
    source: str  # JSON file under docs/
    setting: str
    method: str = ""
    extra: str = ""  # "asr", "mia" or "steps": the scenario's own measure


PAPERS: dict[str, tuple[Scenario, ...]] = {
    "unsir": (
        Scenario("Fashion-MNIST, class 7", "results_fashion_mnist_class.json", "class:7", "unsir", "steps"),
        Scenario(
            "Fashion-MNIST, classes 1 and 7",
            "results_fashion_mnist_class.json",
            "class:1,7",
            "unsir",
            "steps",
        ),
    ),
    "svd_projection": (
        Scenario(
            "Fashion-MNIST, class 7", "results_fashion_mnist_class.json", "class:7", "svd_projection", "alpha"
        ),
        Scenario(
            "Fashion-MNIST, classes 1 and 7",
            "results_fashion_mnist_class.json",
            "class:1,7",
            "svd_projection",
            "alpha",
        ),
    ),
    "nabla_tau": (
        Scenario("MNIST-1D, random 3 %", "results_papers_mnist1d.json", "random:0.03", "nabla_tau", "mia"),
        Scenario("MNIST-1D, random 15 %", "results_papers_mnist1d.json", "random:0.15", "nabla_tau", "mia"),
        Scenario("MNIST-1D, random 30 %", "results_papers_mnist1d.json", "random:0.3", "nabla_tau", "mia"),
        Scenario("Fashion-MNIST, class 7", "results_fashion_mnist_class.json", "class:7", "nabla_tau", "mia"),
    ),
    "dist_match": (
        Scenario("digits, backdoor (60 canaries)", "results.json", "backdoor", "dist_match", "asr"),
        Scenario(
            "Fashion-MNIST, backdoor (60 canaries)",
            "results_papers_fashion_mnist.json",
            "backdoor",
            "dist_match",
            "asr",
        ),
        Scenario(
            "Fashion-MNIST, class 7", "results_fashion_mnist_class.json", "class:7", "dist_match", "mia"
        ),
        Scenario("MNIST-1D, random 10 %", "results_papers_mnist1d.json", "random:0.1", "dist_match", "mia"),
        Scenario("Fashion-MNIST, random 10 %", "results_fashion_mnist.json", "config", "dist_match", "mia"),
    ),
}


def _ms(values: list[float | None], digits: int = 3) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{statistics.mean(vals):.{digits}f} ± {statistics.stdev(vals):.{digits}f}"


def _gap(rows: list[dict], key: str) -> str:
    """Unlearned minus the references' mean, mean ± SD over the seeds."""
    gaps = [
        r[key] - r[f"{key}_reference"]
        for r in rows
        if r.get(key) is not None and r.get(f"{key}_reference") is not None
    ]
    return _ms(gaps) if gaps else "n/a"


def _extra(rows: list[dict], kind: str) -> str:
    if kind == "asr":
        return f"ASR {_ms([r.get('asr') for r in rows])} (reference {_ms([r.get('asr_reference') for r in rows])})"
    if kind == "mia":
        auc = [r.get("mia_auc") for r in rows]
        ref = [r.get("mia_auc_reference") for r in rows]
        if all(v is None for v in auc):  # older rows: only the gap was recorded
            return f"loss-threshold AUC gap {_ms([r.get('mia_auc_gap') for r in rows])}"
        return f"loss-threshold AUC {_ms(auc)} (reference {_ms(ref)})"
    if kind == "steps":
        diag = [r.get("diagnostics") or {} for r in rows]
        imp = [d.get("impair_steps") for d in diag]
        rep = [d.get("repair_steps") for d in diag]
        return f"{_ms(imp, 0)} impair + {_ms(rep, 0)} repair steps"
    if kind == "alpha":
        diag = [r.get("diagnostics") or {} for r in rows]
        return "alpha_r " + ", ".join(str(d.get("alpha_r")) for d in diag)
    return ""


def _speed(rows: list[dict], retrain: dict[int, float]) -> str:
    s = [retrain[r["seed"]] / r["unlearn_s"] for r in rows if r["seed"] in retrain and r["unlearn_s"]]
    return _ms(s, 1) if s else "n/a"


def paper_table(name: str) -> str:
    head = (
        "| scenario | seeds | forget acc (reference) | retain gap | test gap | own measure | verdicts | "
        "claims | wall s | speedup vs retrain |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for sc in PAPERS[name]:
        path = DOCS / sc.source
        all_rows = json.loads(path.read_text()) if path.exists() else []
        rows = [r for r in all_rows if r["setting"] == sc.setting and r["method"] == sc.method]
        if not rows:
            lines.append(f"| {sc.label} | not run | | | | | | | | |")
            continue
        retrain = {
            r["seed"]: r["unlearn_s"]
            for r in all_rows
            if r["setting"] == sc.setting and r["method"] == "retrain"
        }
        verdicts, claims = verdicts_cell(rows), claims_cell(rows)
        lines.append(
            f"| {sc.label} | {', '.join(str(r['seed']) for r in sorted(rows, key=lambda r: r['seed']))}"
            f" | {_ms([r['forget_acc'] for r in rows])} ({_ms([r['forget_acc_reference'] for r in rows])})"
            f" | {_gap(rows, 'retain_acc')} | {_gap(rows, 'test_acc')} | {_extra(rows, sc.extra)}"
            f" | {verdicts} | {claims} | {_ms([r['unlearn_s'] for r in rows], 2)} | {_speed(rows, retrain)} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--doc", type=Path, default=DOCS / "results_papers.md")
    ap.add_argument("--print", action="store_true", help="print the tables instead of writing them")
    args = ap.parse_args()
    text = args.doc.read_text() if args.doc.exists() else ""
    for name in PAPERS:
        table = paper_table(name)
        start, end = f"<!-- paper:{name} -->", f"<!-- end paper:{name} -->"
        if args.print or start not in text:
            print(f"## {name}\n\n{table}\n")
            continue
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = f"{head}{start}\n{table}\n{end}{tail}"
    if not args.print and text:
        args.doc.write_text(text)
        print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
