"""End to end on the embedded default (examples/digits.yaml): noop fails, retrain passes.

These are the few full audits of the suite; the model cache is shared, so the original and the
references are trained once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.e2e
EXE = Path(sys.executable).parent / "unlearn-audit"


def audit(out: Path, cache: Path, *sets: str) -> subprocess.CompletedProcess:
    args = [str(EXE), "run", str(REPO / "examples" / "digits.yaml"), "--out", str(out), "-q"]
    for s in sets:
        args += ["--set", s]
    env = {**os.environ, "UNLEARN_AUDIT_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cache_dir):
    base = tmp_path_factory.mktemp("e2e")
    noop = audit(base / "noop", cache_dir, "unlearner.name=noop", "unlearner.params={}")
    retrain = audit(base / "retrain", cache_dir, "unlearner.name=retrain", "unlearner.params={}")
    return base, noop, retrain


def test_noop_fails_and_retrain_passes(runs):
    base, noop, retrain = runs
    assert noop.returncode == 1, noop.stdout + noop.stderr
    assert noop.stdout.startswith("FAIL")
    assert retrain.returncode == 0, retrain.stdout + retrain.stderr
    assert retrain.stdout.startswith("PASS")
    for name in ("report.html", "report.pdf", "evidence.json"):
        assert f"{name}: {base / 'retrain' / name}" in retrain.stdout


def test_evidence_holds_what_an_auditor_needs(runs):
    base, _, _ = runs
    ev = json.loads((base / "retrain" / "evidence.json").read_text())
    assert ev["verdict"]["status"] == "pass"
    assert set(ev["timings"]) == {"train_original_s", "reference_s", "unlearn_s", "controls_s", "attacks_s"}
    # what is measured after signing lives beside it, so evidence.json is exactly the signed record
    log = json.loads((base / "retrain" / "run-log.json").read_text())
    assert set(log["timings"]) == set(ev["timings"]) | {"report_s", "total_s"}
    assert len(ev["config_sha256"]) == 64 and len(ev["config_file_sha256"]) == 64
    assert len(ev["data"]["fingerprint"]) == 64
    manifest = (base / "retrain" / "forget_manifest.txt").read_bytes()
    import hashlib

    assert hashlib.sha256(manifest).hexdigest() == ev["data"]["forget"]["manifest_sha256"]
    assert ev["data"]["counts"]["forget"] == len(manifest.splitlines())
    models = ev["models"]
    digests = {models["original"]["sha256"], models["unlearned"]["sha256"]} | {
        r["sha256"] for r in models["references"]
    }
    assert len(digests) == 2 + len(models["references"])  # all different models
    assert ev["method"]["name"] == "retrain" and ev["method"]["data_read"] == {
        "retain": ev["data"]["counts"]["retain"]
    }
    assert ev["method"]["reads_forget_samples"] is False
    assert ev["environment"]["torch"] and ev["environment"]["packages"]["scikit-learn"]
    assert ev["gates"]["family_size"] == len(ev["gates"]["results"]) > 0
    assert [a["name"] for a in ev["attacks"]] == ["accuracy", "threshold", "lira", "records", "probe"]
    assert all(a["error"] is None for a in ev["attacks"])
    # the pass is earned per claim, and every deception control was caught
    cats = ev["verdict"]["categories"]
    assert ev["verdict"]["claims"] == ["utility", "forgetting", "recoverability"]
    assert all(cats[c]["passed_powered"] for c in ev["verdict"]["claims"])
    assert [c["name"] for c in ev["controls"] if c["kind"] == "deception"] == [
        "head_bias",
        "head_rows",
        "head_retrain",
        "head_finetune",
        "over_forget",
        "label_noise",
        "forget_features",
    ]
    partial = [c for c in ev["controls"] if c["kind"] == "incomplete_erasure"]
    assert {(c["selection"], c["kept_fraction"]) for c in partial} == {
        ("random", 0.25),
        ("random", 0.125),
        ("least_exposed", 0.5),
        ("least_exposed", 0.25),
    }
    required = [name for name, v in ev["verdict"]["controls"].items() if v["required"]]
    assert "partial_random_25" in required and "partial_least_exposed_25" not in required
    assert all(ev["verdict"]["controls"][name]["caught_by"] for name in required)
    sensitivity = ev["verdict"]["sensitivity"]
    assert sensitivity["detects_kept_fraction"] <= 0.25 and "records" in sensitivity["statement"]
    # the per-record table names records by position only, and an honest retrain flags about chance
    table = ev["records"]
    assert table["n"] == ev["data"]["counts"]["forget"] and len(table["rows"]) == table["n"]
    assert table["chance_range"][0] - 3 <= table["flagged"] <= table["chance_range"][1] + 3
    assert len(models["references"]) == 12 and ev["method"]["architecture"]["matches"] is True


def test_second_audit_reuses_original_and_references(runs):
    base, _, _ = runs
    ev = json.loads((base / "retrain" / "evidence.json").read_text())
    assert ev["models"]["original"]["source"] == "cache"
    assert all(r["source"] == "cache" for r in ev["models"]["references"])


@pytest.mark.parametrize(
    "deception",
    [
        "BiasShift",
        "ScaleRows",
        "NegateRows",
        "LastTwoLayers",
        "FinetuneLastTwo",
        "HeadOnForgetAscent",
        "WholeModelAscent",
        "RelabelFinetune",
    ],
)
def test_deceptions_do_not_pass(runs, deception, tmp_path, cache_dir):
    """Variants of the deception classes (not the audit's own controls) fail the default audit."""
    proc = audit(
        tmp_path / deception,
        cache_dir,
        f"unlearner.name=tests.deceptions:{deception}",
        "unlearner.params={}",
        "report.formats=[json]",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("FAIL"), proc.stdout


def test_reports_render(runs):
    base, _, _ = runs
    html = (base / "noop" / "report.html").read_text()
    assert "FAIL" in html and "accuracy.forget" in html
    assert (base / "noop" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert not [p for p in (base / "noop").iterdir() if p.name.startswith(".staging")]


def test_the_evidence_matches_its_published_schema_and_the_schema_has_teeth(runs):
    from auditor.errors import AuditFailedError
    from auditor.evidence.model import Evidence, validate_evidence

    base, _, _ = runs
    for name in ("noop", "retrain"):
        validate_evidence(json.loads((base / name / "evidence.json").read_text()))
    ev = json.loads((base / "retrain" / "evidence.json").read_text())
    ev["gates"]["results"][0]["tolerence"] = 0.1  # a misspelt extra field
    del ev["verdict"]["headline"]
    with pytest.raises(
        AuditFailedError, match=r"gates\.results\.0\.tolerence.*verdict\.headline|verdict.*tolerence"
    ):
        validate_evidence(ev)
    printed = subprocess.run(
        [str(EXE), "config", "schema", "--evidence"], capture_output=True, text=True, check=True
    )
    assert json.loads(printed.stdout) == Evidence.model_json_schema(by_alias=True)
    assert "schema" in json.loads(printed.stdout)["properties"]


def test_a_model_whose_state_is_not_what_it_computes_is_refused(runs, tmp_path, cache_dir):
    """The masquerade (forward: an honest retrain; state_dict: the original's) is refused, naming the method."""
    proc = audit(
        tmp_path / "masquerade",
        cache_dir,
        "unlearner.name=tests.deceptions:StateMasquerade",
        "unlearner.params={}",
        "report.formats=[json]",
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert (
        "'state_masquerade'" in proc.stderr and "behaves differently from its own state_dict" in proc.stderr
    )
    assert not (tmp_path / "masquerade" / "evidence.json").exists()


def test_the_audit_measures_and_signs_the_state_it_saves(runs, tmp_path, cache_dir):
    """A fake that answers the probe check as its state does is measured as that state (the original): FAIL.

    The saved unlearned.pt is that state, and verify --model accepts it and refuses another model.
    """
    out = tmp_path / "probe_aware"
    proc = audit(
        out, cache_dir, "unlearner.name=tests.deceptions:ProbeAwareMasquerade", "unlearner.params={}"
    )
    assert proc.returncode == 1 and proc.stdout.startswith("FAIL"), proc.stdout + proc.stderr
    ev = json.loads((out / "evidence.json").read_text())
    assert ev["models"]["unlearned"]["sha256"] == ev["models"]["original"]["sha256"]
    import hashlib

    saved = out / "unlearned.pt"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == ev["models"]["unlearned"]["file_sha256"]
    verify = [str(EXE), "verify", str(out / "report.pdf"), "--trust-root", str(out / "signer-test-ca.pem")]
    assert subprocess.run([*verify, "--model", str(saved)], capture_output=True, text=True).returncode == 0
    other = runs[0] / "retrain" / "unlearned.pt"  # the honest retrain's model: not the one this report signs
    refused = subprocess.run([*verify, "--model", str(other)], capture_output=True, text=True)
    assert refused.returncode == 1 and "matches no model" in refused.stdout
