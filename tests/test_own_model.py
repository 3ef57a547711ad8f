"""examples/own_model: a model trained outside the tool, on the team's own split, audited for an
erasure of customers named by ID.

The team's script trains the original; ``unlearn-audit run`` audits ``noop`` (FAIL) and ``retrain``
(PASS) against that checkpoint with the declared split; no output holds a customer ID.

Cost: the script trains one MLP, then the first audit trains 12 references, 16 LiRA shadows, the
retrain and 4 incomplete-erasure controls one at a time through the team's training loop (about
1.6 s of CPU each on one core) and the second reuses them from the shared model cache: a few minutes
on 2 quiet cores, much longer on a loaded machine (an hour at a load average of 20).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "own_model"

pytestmark = pytest.mark.e2e


# One torch thread per process: the team's small MLP gains nothing from more, and on a shared 2-core
# machine competing threads made each model several times slower.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _cli(args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=3600,
        env=ENV,
    )


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    """The example copied into a scratch folder, its script run, then the noop and retrain audits."""
    base = tmp_path_factory.mktemp("own_model")
    shutil.copytree(EXAMPLE, base / "examples" / "own_model", ignore=shutil.ignore_patterns("__pycache__"))
    script = subprocess.run(
        [sys.executable, str(base / "examples" / "own_model" / "train_original.py")],
        capture_output=True,
        text=True,
        timeout=1200,
        env=ENV,
    )
    assert script.returncode == 0, script.stderr
    config = base / "examples" / "own_model" / "audit.yaml"
    runs = {}
    for method in ("noop", "retrain"):
        proc = _cli(
            [
                "run",
                str(config),
                "--set",
                f"unlearner.name={method}",
                "--out",
                str(base / "runs" / "own_model" / method),
                "--set",
                f"execution.cache_dir={base / 'cache'}",
                "--set",
                "report.formats=[json,html,pdf]",
            ],
            cwd=base,
        )
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
        evidence = json.loads((base / "runs" / "own_model" / method / "evidence.json").read_text())
        runs[method] = (proc, evidence)
    return base, script, runs


def test_the_script_trains_with_the_recipe_the_config_names(own_model):
    sys.path.insert(0, str(EXAMPLE))
    try:
        from acme_records.train import RECIPE
    finally:
        sys.path.remove(str(EXAMPLE))
    config = yaml.safe_load((EXAMPLE / "audit.yaml").read_text())
    assert config["training"] == {"function": "acme_records.train:fit", "kwargs": RECIPE}
    _, script, _ = own_model
    accuracy = {line.split(":")[0]: float(line.rsplit(" ", 1)[1]) for line in script.stdout.splitlines()[:3]}
    assert accuracy["train"] > 0.98 and accuracy["test"] < 0.8  # it fits its training rows, and no more


def test_noop_fails_and_retrain_passes_on_the_declared_split(own_model):
    base, _, runs = own_model
    (_, noop), (_, retrain) = runs["noop"], runs["retrain"]
    assert noop["verdict"]["status"] == "fail", noop["verdict"]["headline"]
    assert retrain["verdict"]["status"] == "pass", retrain["verdict"]["headline"]
    for ev in (noop, retrain):
        assert ev["data"]["split_source"] == "files"
        assert ev["data"]["forget"]["count"] == 300 and ev["data"]["forget"]["ids"]["count"] == 300
        assert ev["models"]["original"]["source"] == "checkpoint"
    ids_file = base / "runs" / "own_model" / "erase_request.csv"
    check = _cli(
        [
            "ids",
            "digest",
            str(ids_file),
            "--column",
            "customer_id",
            "--evidence",
            str(base / "runs" / "own_model" / "retrain" / "evidence.json"),
        ],
        cwd=base,
    )
    assert check.returncode == 0 and "MATCHES" in check.stdout


def test_no_output_holds_a_customer_id(own_model):
    base, _, runs = own_model
    every_id = set()
    for part in ("train", "population", "test"):
        every_id |= set((base / "runs" / "own_model" / f"{part}_ids.txt").read_text().split())
    assert len(every_id) == 5000
    pdftotext = shutil.which("pdftotext")
    for method in runs:
        folder = base / "runs" / "own_model" / method
        texts = {p.name: p.read_bytes().decode("utf-8", "replace") for p in folder.iterdir() if p.is_file()}
        assert {
            "evidence.json",
            "report.html",
            "report.pdf",
            "forget_manifest.txt",
            "evidence.intoto.json",
        } <= set(texts)
        if pdftotext:  # the PDF's text streams are compressed: read them as a reader would
            texts["report.pdf (text)"] = subprocess.run(
                [pdftotext, str(folder / "report.pdf"), "-"], capture_output=True, text=True, check=True
            ).stdout
        proc, _ = runs[method]
        texts["stdout"], texts["stderr"] = proc.stdout, proc.stderr
        for name, text in texts.items():
            leaked = [i for i in every_id if i in text]
            assert not leaked, f"{method}/{name} holds customer IDs, e.g. {leaked[:3]}"
