"""``unlearn-audit verify``: check a signed report (or a bare signed statement) and re-hash inputs.

Checks, each a named result (ECOSYSTEM.md 2.9): the PDF signature is present, intact and valid,
covers the whole file with no later changes (DocMDP), chains to a trust root; the embedded
statement is present, its DSSE signature verifies with the PDF signer's key, and it agrees with
the embedded evidence; every file given on the command line matches a subject's digest.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.signing import STATE_DIGEST, canonical, dsse_verify


@dataclass
class Check:
    """One verification step."""

    name: str
    ok: bool
    detail: str


@dataclass
class Verification:
    """All checks, and the statement when one could be read."""

    checks: list[Check] = field(default_factory=list)
    statement: dict[str, Any] | None = None

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.__dict__ for c in self.checks]}


def _load_certs(paths: list[Path]):
    from cryptography import x509

    certs = []
    for p in paths:
        certs += x509.load_pem_x509_certificates(Path(p).read_bytes())
    return certs


def _embedded_files(reader) -> dict[str, bytes]:
    """Name -> bytes of the PDF's embedded files (walking the EmbeddedFiles name tree)."""
    out: dict[str, bytes] = {}

    def walk(node) -> None:
        node = node.get_object()
        if "/Names" in node:
            names = node["/Names"]
            for i in range(0, len(names), 2):
                spec = names[i + 1].get_object()
                out[str(names[i])] = spec["/EF"]["/F"].get_object().data
        for kid in node.get("/Kids", []):
            walk(kid)

    try:
        walk(reader.root["/Names"]["/EmbeddedFiles"])
    except KeyError:
        pass
    return out


def _chains_to(cert, roots) -> bool:
    """The certificate is a root, or directly issued by one (the depth our test PKI and most
    organisational signing setups use)."""
    for root in roots:
        if cert == root:
            return True
        try:
            cert.verify_directly_issued_by(root)
            return True
        except Exception:  # wrong issuer, bad signature, unsupported algorithm
            continue
    return False


def verify_pdf(path: Path, *, trust_roots: list[Path], allow_untrusted: bool, result: Verification) -> None:
    """The PDF layer: PAdES signature, coverage, trust, and the embedded statement."""
    from cryptography import x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from asn1crypto import x509 as asn1_x509

    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    roots = _load_certs(trust_roots)
    with open(path, "rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        sigs = reader.embedded_signatures
        if not result.add("pdf.signature.present", len(sigs) >= 1,
                          f"{len(sigs)} signature(s)" if sigs else "the PDF is not signed (was it made with --no-sign?)"):
            return
        sig = sigs[0]
        vc = ValidationContext(trust_roots=[asn1_x509.Certificate.load(c.public_bytes(_der())) for c in roots],
                               allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(sig, signer_validation_context=vc)
        result.add("pdf.signature.intact", bool(status.intact), "the signed bytes are unchanged" if status.intact
                   else "the document was changed after signing")
        result.add("pdf.signature.valid", bool(status.valid), "the cryptographic signature verifies" if status.valid
                   else "the signature does not verify")
        coverage = getattr(status.coverage, "name", str(status.coverage))
        modification = getattr(status.modification_level, "name", str(status.modification_level))
        covered = coverage == "ENTIRE_FILE" or (coverage == "ENTIRE_REVISION" and modification in ("NONE", "LTA_UPDATES"))
        result.add("pdf.signature.coverage", covered and bool(status.docmdp_ok),
                   f"coverage {coverage}, modifications {modification}, DocMDP {'ok' if status.docmdp_ok else 'violated'}")
        signer_cert = x509.load_der_x509_certificate(status.signing_cert.dump())
        fingerprint = hashlib.sha256(signer_cert.public_bytes(_der())).hexdigest()
        subject = signer_cert.subject.rfc4514_string()
        if roots:
            trusted = bool(status.trusted) or _chains_to(signer_cert, roots)
            result.add("pdf.signature.trusted", trusted, f"signer {subject} (sha256 {fingerprint}) "
                       + ("chains to the trust root" if trusted else "does not chain to the given trust root(s)"))
        else:
            result.add("pdf.signature.trusted", allow_untrusted,
                       f"UNTRUSTED: no --trust-root given; signer {subject} (sha256 {fingerprint}); compare the "
                       "fingerprint out of band" + ("" if allow_untrusted else ", or pass --allow-untrusted"))
        files = _embedded_files(reader)
    if not result.add("evidence.extracted", "evidence.intoto.json" in files,
                      f"attachments: {', '.join(sorted(files)) or 'none'}"):
        return
    envelope = json.loads(files["evidence.intoto.json"])
    payload = dsse_verify(envelope, signer_cert.public_key())
    if not result.add("evidence.dsse", payload is not None,
                      "the statement's DSSE signature verifies with the PDF signer's key" if payload is not None
                      else "the statement's signature does not verify with the PDF signer's key"):
        return
    result.statement = json.loads(payload)
    if "evidence.json" in files:
        embedded = json.loads(files["evidence.json"])
        same = canonical(embedded) == canonical(result.statement["predicate"])
        result.add("evidence.consistency", same, "the embedded evidence equals the signed statement's predicate"
                   if same else "the embedded evidence.json differs from the signed statement")


def verify_statement(path: Path, *, trust_roots: list[Path], allow_untrusted: bool, result: Verification) -> None:
    """A bare ``evidence.intoto.json``: its DSSE signature with the attached certificate, and trust."""
    from cryptography import x509

    try:
        envelope = json.loads(Path(path).read_text(encoding="utf-8"))
        cert = x509.load_pem_x509_certificate(envelope["signatures"][0]["cert"].encode())
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        result.add("evidence.read", False, f"not a signed unlearn-audit statement: {exc}")
        return
    payload = dsse_verify(envelope, cert.public_key())
    if not result.add("evidence.dsse", payload is not None,
                      "the DSSE signature verifies with the attached certificate" if payload is not None
                      else "the DSSE signature does not verify (the statement was changed, or signed by another key)"):
        return
    result.statement = json.loads(payload)
    roots = _load_certs(trust_roots)
    fingerprint = hashlib.sha256(cert.public_bytes(_der())).hexdigest()
    if roots:
        trusted = _chains_to(cert, roots)
        result.add("evidence.trusted", trusted, f"signer {cert.subject.rfc4514_string()} (sha256 {fingerprint}) "
                   + ("chains to the trust root" if trusted else "does not chain to the given trust root(s)"))
    else:
        result.add("evidence.trusted", allow_untrusted, f"UNTRUSTED: no --trust-root given; signer sha256 {fingerprint}"
                   + ("" if allow_untrusted else "; pass --allow-untrusted to accept"))


def check_subjects(statement: dict[str, Any], *, models: list[Path], configs: list[Path], result: Verification) -> None:
    """Re-hash each given file and match it to a statement subject by digest."""
    subjects = statement.get("subject", [])

    def matches(digest: dict[str, str]) -> list[str]:
        return [s["name"] for s in subjects if any(s["digest"].get(k) == v for k, v in digest.items())]

    for path in models:
        digest = {"sha256": _file_sha256(path)}
        try:
            from auditor.models import read_state_dict, state_digest

            digest[STATE_DIGEST] = state_digest(read_state_dict(path, key="--model"))
        except Exception:  # a file that is not a state_dict can still match by file digest
            pass
        found = matches(digest)
        result.add(f"subject.model:{path.name}", bool(found),
                   f"matches {', '.join(found)}" if found else "matches no model in the statement")
    for path in configs:
        found = matches({"sha256": _file_sha256(path)})
        result.add(f"subject.config:{path.name}", bool(found),
                   f"matches {', '.join(found)}" if found else "does not match the audited config file")


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _der():
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.DER


def verify(path: Path, *, trust_roots: list[Path], allow_untrusted: bool, models: list[Path],
           configs: list[Path]) -> Verification:
    """Verify a signed ``report.pdf`` or a bare ``evidence.intoto.json``."""
    result = Verification()
    with open(path, "rb") as fh:
        head = fh.read(5)
    if head == b"%PDF-":
        verify_pdf(path, trust_roots=trust_roots, allow_untrusted=allow_untrusted, result=result)
    else:
        verify_statement(path, trust_roots=trust_roots, allow_untrusted=allow_untrusted, result=result)
    if result.statement is not None:
        check_subjects(result.statement, models=models, configs=configs, result=result)
    return result


__all__ = ["Check", "Verification", "verify"]
