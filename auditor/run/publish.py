"""Publish: the signed statement, the reports and the evidence, written into the staging folder.

The evidence is validated against its schema before anything is written or signed.
``evidence.json`` is exactly the signed predicate; the durations known only after signing go to
``run-log.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.canonical import canonical_json
from auditor.config import AuditConfig
from auditor.data.splits import manifest_text
from auditor.evidence.model import validate_evidence
from auditor.run.models import UNLEARNED_FILE
from auditor.run.outputs import Staging
from auditor.run.preflight import Prepared
from auditor.run.progress import Progress


def to_json(obj: Any) -> str:
    """The evidence's JSON text: indented, keys in record order, UTF-8, no NaN."""
    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False)


def signing_key(cfg: AuditConfig, prep: Prepared, staging: Staging, *, sign: bool) -> Any:
    """The configured key, a throwaway test key (its certificates written beside the report), or None."""
    if not (sign and cfg.report.signing.enabled):
        return None
    if prep.signing_key is not None:
        return prep.signing_key
    from cryptography.hazmat.primitives import serialization

    from auditor.evidence.sign import generate_test_pki

    key, ca = generate_test_pki(common_name="unlearn-audit throwaway test signer")
    staging.write_bytes("signer-test.cert.pem", key.cert.public_bytes(serialization.Encoding.PEM))
    staging.write_bytes("signer-test-ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    return key


def signed_statement(evidence: dict[str, Any], key: Any, config_path: Path | None) -> bytes:
    """The DSSE envelope (``evidence.intoto.json``) of the in-toto statement over the evidence."""
    from auditor.evidence.sign import dsse_sign, statement

    envelope = dsse_sign(canonical_json(statement(evidence, config_path=config_path)), key)
    return (to_json(envelope) + "\n").encode()


def publish(
    cfg: AuditConfig,
    prep: Prepared,
    staging: Staging,
    progress: Progress,
    evidence: dict[str, Any],
    *,
    unlearned_bytes: bytes | None,
    config_path: Path | None,
    sign: bool,
) -> dict[str, Any]:
    """Stage every output of the run and return the evidence as written (with its ``signing`` record)."""
    staging.write_text("forget_manifest.txt", manifest_text(prep.splits.forget))
    if unlearned_bytes is not None:
        staging.write_bytes(UNLEARNED_FILE, unlearned_bytes)
    key = signing_key(cfg, prep, staging, sign=sign)
    evidence["signing"] = key.record() if key is not None else {"mode": "unsigned"}
    validate_evidence(evidence)  # the record matches its published schema before it is written or signed
    attachments = {
        "evidence.json": (to_json(evidence).encode(), "The evidence record this report renders", "Data")
    }
    if key is not None:
        envelope = signed_statement(evidence, key, config_path)
        staging.write_bytes("evidence.intoto.json", envelope)
        attachments["evidence.intoto.json"] = (
            envelope,
            "DSSE-signed in-toto statement over the evidence",
            "Data",
        )
    render(cfg, evidence, staging, progress, key=key, attachments=attachments)
    return evidence


def render(
    cfg: AuditConfig,
    evidence: dict[str, Any],
    staging: Staging,
    progress: Progress,
    *,
    key: Any,
    attachments: dict[str, tuple[bytes, str, str]],
) -> None:
    """Write report.html and report.pdf (the PDF signed when there is a key), as ``report.formats`` lists."""
    if "html" not in cfg.report.formats and "pdf" not in cfg.report.formats:
        return
    from auditor.report.render import render_html, render_pdf

    with progress.task("rendering report", 2) as update:
        html = render_html(evidence)
        if "html" in cfg.report.formats:
            staging.write_text("report.html", html)
        update(1, 2)
        if "pdf" in cfg.report.formats:
            pdf = render_pdf(html, evidence=evidence, attachments=attachments)
            if key is not None:
                from auditor.evidence.sign import sign_pdf

                pdf = sign_pdf(
                    pdf,
                    key,
                    reason="Machine-unlearning audit attestation",
                    name=cfg.report.operator,
                    tsa_url=cfg.report.signing.tsa_url,
                )
            staging.write_bytes("report.pdf", pdf)
        update(2, 2)
