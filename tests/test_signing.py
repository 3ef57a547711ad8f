"""Signing and verification with real verifiers: pyHanko (through ``unlearn-audit verify``), DSSE
with ``cryptography``, and poppler's ``pdfsig``.

One signed audit (tiny digits config, PDF only) is shared by the module; each test checks one way a
reviewer's verification must succeed or fail.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from auditor.cli.commands import cli
from auditor.evidence.sign import dsse_sign, dsse_verify, generate_test_pki
from tests.helpers import models, tiny_config

PASS_ENV = "UA_TEST_SIGNING_PASSPHRASE"


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def signed(tmp_path_factory, cache_dir):
    """A signed audit of an unlearned checkpoint, signed with a passphrase-protected PKCS#12 bundle."""
    base = tmp_path_factory.mktemp("signed")
    env = {PASS_ENV: "correct horse battery staple", "UNLEARN_AUDIT_CACHE": str(cache_dir)}
    res = invoke("keys", "gen-test", "--out", base / "pki", "--passphrase-env", PASS_ENV, env=env)
    assert res.exit_code == 0, res.output
    invoke("keys", "gen-test", "--out", base / "other-pki")
    unlearned, original = base / "unlearned.pt", base / "original.pt"
    torch.save(models()[1].state_dict(), unlearned)
    torch.save(models()[0].state_dict(), original)
    cfg = tiny_config(
        unlearner={"checkpoint": str(unlearned)},
        report={
            "formats": ["pdf"],
            "operator": "Audit Team",
            "signing": {"pkcs12": str(base / "pki" / "signer.p12"), "passphrase_env": PASS_ENV},
        },
    )
    config = base / "audit.yaml"
    import yaml

    config.write_text(yaml.safe_dump(cfg))
    res = invoke("run", config, "--out", base / "out", "-q", env=env)
    assert res.exit_code in (0, 1), res.output
    return base


def verify(*args, pdf: Path):
    return invoke("verify", pdf, *args)


def test_keys_gen_test_writes_a_usable_pki(signed):
    names = {p.name for p in (signed / "pki").iterdir()}
    assert names == {"ca.pem", "signer.cert.pem", "signer.key.pem", "signer.p12"}
    assert b"ENCRYPTED" in (signed / "pki" / "signer.key.pem").read_bytes()
    assert (signed / "pki" / "signer.key.pem").stat().st_mode & 0o077 == 0


def test_signed_report_verifies_against_its_root_and_rehashes_files(signed):
    out = signed / "out"
    assert {"report.pdf", "evidence.json", "evidence.intoto.json", "forget_manifest.txt"} <= {
        p.name for p in out.iterdir()
    }
    evidence = json.loads((out / "evidence.json").read_text())
    assert evidence["signing"]["mode"] == "configured"
    res = verify(
        "--trust-root",
        signed / "pki" / "ca.pem",
        "--model",
        signed / "unlearned.pt",
        "--config",
        signed / "audit.yaml",
        "--json",
        pdf=out / "report.pdf",
    )
    assert res.exit_code == 0, res.output
    checks = {c["name"]: c for c in json.loads(res.output)["checks"]}
    assert all(c["ok"] for c in checks.values())
    assert {
        "pdf.signature.byterange",
        "pdf.signature.intact",
        "pdf.signature.coverage",
        "pdf.signature.cms",
        "pdf.signature.trusted",
        "evidence.dsse",
        "evidence.consistency",
        "evidence.sidecar",
        "subject.model:unlearned.pt",
        "subject.config:audit.yaml",
    } <= set(checks)
    # the evidence.json `run` wrote beside the report is checked against the signed statement
    assert str(out / "evidence.json") in checks["evidence.sidecar"]["detail"]
    assert "model/unlearned" in checks["subject.model:unlearned.pt"]["detail"]


def test_a_file_that_was_not_audited_does_not_match(signed):
    res = verify(
        "--trust-root",
        signed / "pki" / "ca.pem",
        "--model",
        signed / "original.pt",
        "--config",
        signed / "pki" / "ca.pem",
        pdf=signed / "out" / "report.pdf",
    )
    assert res.exit_code == 1
    assert "FAIL subject.model:original.pt" in res.output and "FAIL subject.config:ca.pem" in res.output


def test_untrusted_signer_is_reported_and_fails_unless_allowed(signed):
    pdf = signed / "out" / "report.pdf"
    res = verify(pdf=pdf)
    assert res.exit_code == 1 and "UNTRUSTED" in res.output and "NOT VERIFIED" in res.output
    assert "OK   pdf.signature.intact" in res.output  # intact, just not trusted
    res = verify("--allow-untrusted", pdf=pdf)
    assert res.exit_code == 0 and "UNTRUSTED" in res.output


def test_wrong_trust_root_fails(signed):
    res = verify("--trust-root", signed / "other-pki" / "ca.pem", pdf=signed / "out" / "report.pdf")
    assert res.exit_code == 1
    assert "FAIL pdf.signature.trusted" in res.output


def test_one_changed_byte_fails_verification(signed, tmp_path):
    data = bytearray((signed / "out" / "report.pdf").read_bytes())
    at = data.index(b"/Type /Page") if b"/Type /Page" in data else len(data) // 3
    data[at + 1] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    res = verify("--trust-root", signed / "pki" / "ca.pem", pdf=tampered)
    assert res.exit_code == 1, res.output
    assert "FAIL pdf.signature.intact" in res.output


def test_bare_statement_verifies_and_a_changed_predicate_fails(signed, tmp_path):
    bare = signed / "out" / "evidence.intoto.json"
    assert verify("--trust-root", signed / "pki" / "ca.pem", pdf=bare).exit_code == 0
    envelope = json.loads(bare.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["verdict"]["status"] = (
        "pass" if statement["predicate"]["verdict"]["status"] != "pass" else "fail"
    )
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    forged = tmp_path / "forged.intoto.json"
    forged.write_text(json.dumps(envelope))
    res = verify("--trust-root", signed / "pki" / "ca.pem", pdf=forged)
    assert res.exit_code == 1 and "FAIL evidence.dsse" in res.output


def test_dsse_round_trip():
    key, _ = generate_test_pki()
    other, _ = generate_test_pki()
    envelope = dsse_sign(b'{"a": 1}', key)
    assert dsse_verify(envelope, key.cert.public_key()) == b'{"a": 1}'
    assert dsse_verify(envelope, other.cert.public_key()) is None
    envelope["payloadType"] = "text/plain"  # the type is inside the signed PAE
    assert dsse_verify(envelope, key.cert.public_key()) is None


@pytest.mark.pdfsig
def test_poppler_pdfsig_accepts_the_signature(signed):
    exe = shutil.which("pdfsig")
    assert exe, "pdfsig not found: install poppler-utils (make system-deps does)"
    res = subprocess.run(
        [exe, str(signed / "out" / "report.pdf")], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Signature is Valid." in res.stdout
    assert "Total document signed" in res.stdout
    assert "UnlearnAuditSignature" in res.stdout


def test_default_test_key_and_no_sign(write_config, tmp_path):
    cfg = write_config(tiny_config(report={"formats": ["pdf", "html"]}))
    res = invoke("run", cfg, "--out", tmp_path / "test-key", "-q")
    assert res.exit_code in (0, 1), res.output
    out = tmp_path / "test-key"
    assert (out / "signer-test.cert.pem").exists() and (out / "signer-test-ca.pem").exists()
    assert "a throwaway test key made for this run" in (out / "report.html").read_text()
    res = verify("--trust-root", out / "signer-test-ca.pem", pdf=out / "report.pdf")
    assert (
        res.exit_code == 0
        and "WARNING: the trust root signer-test-ca.pem is a throwaway TEST ONLY CA" in res.output
    )

    res = invoke("run", cfg, "--out", tmp_path / "unsigned", "-q", "--no-sign")
    out = tmp_path / "unsigned"
    assert not (out / "evidence.intoto.json").exists()
    assert "<strong>not signed</strong>" in (out / "report.html").read_text()
    res = verify("--allow-untrusted", pdf=out / "report.pdf")
    assert res.exit_code == 1 and "FAIL pdf.signature.present" in res.output


def test_reproducible_runs_give_byte_identical_pdfs_before_signing(write_config, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    cfg = write_config(tiny_config(report={"formats": ["pdf"]}))
    for name in ("a", "b"):
        res = invoke("run", cfg, "--out", tmp_path / name, "-q", "--no-sign")
        assert res.exit_code in (0, 1), res.output
    a, b = (tmp_path / n / "report.pdf" for n in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "a" / "evidence.json").read_bytes() == (tmp_path / "b" / "evidence.json").read_bytes()
    log = json.loads((tmp_path / "a" / "run-log.json").read_text())
    assert log["timings"]["total_s"] > 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    res = invoke("run", cfg, "--out", tmp_path / "c", "-q")
    assert res.exit_code == 2 and "SOURCE_DATE_EPOCH" in res.output
