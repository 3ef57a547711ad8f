"""``unlearn-audit verify`` prints what was signed (verdict, request, erased records, model digests,
signer) and warns in plain words when the trust root is a throwaway TEST ONLY CA or when no trust root
was checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli.commands import cli

FIXTURE = Path(__file__).parent / "fixtures" / "evidence_mnist1d_fail.json"


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> tuple[Path, dict]:
    """report.pdf signed with a test key, and its CA saved under the name a run gives it."""
    from cryptography.hazmat.primitives import serialization

    from auditor.evidence.sign import canonical, dsse_sign, generate_test_pki, sign_pdf, statement
    from auditor.report.render import render_html, render_pdf

    out = tmp_path_factory.mktemp("signed-summary")
    evidence = json.loads(FIXTURE.read_text(encoding="utf-8"))
    evidence["run"]["responsible"] = {"name": "A. Example", "role": "Data protection officer"}
    key, ca = generate_test_pki()
    evidence["signing"] = key.record()
    envelope = (json.dumps(dsse_sign(canonical(statement(evidence, config_path=None)), key)) + "\n").encode()
    attachments = {
        "evidence.json": (json.dumps(evidence).encode(), "evidence", "Data"),
        "evidence.intoto.json": (envelope, "statement", "Data"),
    }
    pdf = render_pdf(render_html(evidence), evidence=evidence, attachments=attachments)
    (out / "report.pdf").write_bytes(sign_pdf(pdf, key, reason="test", name="Audit Team", tsa_url=None))
    pem = ca.public_bytes(serialization.Encoding.PEM)
    (out / "signer-test-ca.pem").write_bytes(pem)
    return out, evidence


def _verify(*args) -> object:
    return CliRunner().invoke(cli, ["verify", *map(str, args)])


def test_verify_prints_what_was_signed_and_warns_on_the_test_ca(signed):
    out, ev = signed
    res = _verify(out / "report.pdf", "--trust-root", out / "signer-test-ca.pem")
    assert res.exit_code == 0, res.output
    text = res.output
    assert "What was signed:" in text
    for expected in (
        ev["verdict"]["headline"],
        ev["run"]["request_id"],
        f"records erased     {ev['data']['forget']['count']} (random)",
        ev["models"]["original"]["sha256"],
        ev["models"]["unlearned"]["sha256"],
        ev["data"]["forget"]["manifest_sha256"],
        ev["signing"]["subject"],
        "A. Example, Data protection officer",
    ):
        assert expected in text, expected
    assert "WARNING: the trust root signer-test-ca.pem is a throwaway TEST ONLY CA" in text
    assert "NOT who signed them" in text
    assert text.strip().splitlines()[-1] == "VERIFIED (with the warning above)"


def test_allow_untrusted_warns_and_json_carries_the_summary(signed):
    out, ev = signed
    res = _verify(out / "report.pdf", "--allow-untrusted", "--json")
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)
    assert (
        result["signed"]["verdict"] == "FAIL"
        and result["signed"]["forget_count"] == ev["data"]["forget"]["count"]
    )
    assert result["signed"]["unlearned_sha256"] == ev["models"]["unlearned"]["sha256"]
    assert any("--allow-untrusted" in w for w in result["warnings"])


def test_no_summary_when_verification_fails(signed, tmp_path):
    out, _ = signed
    data = bytearray((out / "report.pdf").read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "report.pdf"
    bad.write_bytes(bytes(data))
    res = _verify(bad, "--trust-root", out / "signer-test-ca.pem")
    assert res.exit_code == 1 and "What was signed" not in res.output and "NOT VERIFIED" in res.output
