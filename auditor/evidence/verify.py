"""``unlearn-audit verify``: check a signed report (or a bare signed statement) and re-hash inputs.

Checks, each a named result, in order; verification stops at the first failed
check, because every later check relies on the ones before it:

* ``trust.roots``: each ``--trust-root`` file holds an X.509 certificate;
* ``target.read``: the target is a readable, non-empty file, a PDF or a DSSE statement;
* for a PDF: ``pdf.read``; ``pdf.signature.present`` (exactly one signature);
  ``pdf.signature.byterange`` (the signed /ByteRange runs from byte 0 to the end of the file, less
  only the /Contents hex string, which holds exactly the DER signature and zero padding, so no byte
  and no revision was added or changed after signing); ``pdf.signature.intact`` and
  ``pdf.signature.valid`` (pyHanko); ``pdf.signature.coverage`` (pyHanko sees the entire file
  signed, no modifications at all, DocMDP kept); ``pdf.signature.cms`` (the CMS fields the signature
  does not cover hold what our signer writes, and every embedded certificate verifies under its
  issuer); ``pdf.signature.trusted``; ``evidence.extracted``;
* ``evidence.dsse``: the embedded (or bare) statement's DSSE signature verifies with the signer's key;
* ``evidence.consistency``: the evidence.json embedded in the PDF equals the signed predicate;
* ``evidence.sidecar``: an ``evidence.json`` given with ``--evidence`` (or lying beside the target)
  equals the signed predicate, compared by the SHA-256 of its canonical JSON;
* ``subject.*``: every file given on the command line matches a subject's digest (each file is
  checked, a mismatch does not stop the others).

Any exception raised while checking becomes a FAIL of the check that was running, with one line
saying why: :func:`verify` never raises for bad input.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.evidence.model import SCHEMA
from auditor.evidence.sign import PREDICATE_TYPE, STATE_DIGEST, STATEMENT_TYPE, canonical, dsse_verify

SIDECAR_NAME = "evidence.json"
STATEMENT_NAME = "evidence.intoto.json"
# Written into evidence.json after the report is signed (rendering time), so not in the signed predicate.
_HEX = frozenset(b"0123456789abcdefABCDEF")
_MAX_DETAIL = 400


class NotVerified(Exception):
    """A check found a problem; the message is the one-line detail shown to the user."""


class _Stopped(Exception):
    """Raised after a failed check: the checks after it depend on it."""


@dataclass
class Check:
    """One verification step."""

    name: str
    ok: bool
    detail: str


@dataclass
class Verification:
    """All checks, the statement when one could be read, and warnings a reader must see.

    Attributes:
        checks: Every check run, in order.
        statement: The signed in-toto statement, once its signature verified.
        warnings: Plain-language warnings that do not fail verification but change what it proves
            (the trust root is the run's own test CA; no trust root was checked).
    """

    checks: list[Check] = field(default_factory=list)
    statement: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        """Record a check (its detail folded onto one line); returns ``ok``."""
        self.checks.append(Check(name, bool(ok), _one_line(detail)))
        return bool(ok)

    def signed(self) -> dict[str, Any]:
        """The signed statement; only called after ``evidence.statement`` passed.

        Raises:
            _Stopped: No statement was read (a check before it failed).
        """
        if self.statement is None:
            raise _Stopped("evidence.statement")
        return self.statement

    def require(self, name: str, ok: bool, detail: str) -> None:
        """Record a check and stop verification when it failed.

        Raises:
            _Stopped: ``ok`` is false.
        """
        if not self.add(name, ok, detail):
            raise _Stopped(name)

    @contextmanager
    def step(self, name: str, doing: str) -> Iterator[None]:
        """Run a block as part of check ``name``: any exception in it fails that check and stops.

        Args:
            name: The check the block belongs to.
            doing: What the block does, for the message ("cannot <doing>: <why>").
        """
        try:
            yield
        except _Stopped:
            raise
        except NotVerified as exc:
            self.add(name, False, str(exc))
            raise _Stopped(name) from None
        except Exception as exc:  # corrupt input can make any parser raise anything
            self.add(name, False, f"cannot {doing}: {_describe(exc)}")
            raise _Stopped(name) from None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [c.__dict__ for c in self.checks],
            "signed": signed_summary(self.statement) if self.ok and self.statement is not None else None,
            "warnings": list(self.warnings),
        }


TEST_CA_NAME = "signer-test-ca.pem"
"""The throwaway CA a run without a configured key writes beside its report."""
TEST_ORGANISATION = "unlearn-audit TEST ONLY"


def signed_summary(statement: dict[str, Any] | None) -> dict[str, Any]:
    """What the verified statement signs, for a reader: verdict, request, erased records, models, signer.

    Read from the signed predicate only (never from an unsigned sidecar), so it is what the
    signature covers. Missing fields are None (records of older versions lack some).
    """
    predicate = (statement or {}).get("predicate") or {}

    def get(*path: str) -> Any:
        node: Any = predicate
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node

    unlearned_file = get("models", "unlearned", "file")
    if isinstance(unlearned_file, str):  # a name, with its digest beside it
        unlearned_file = {"name": unlearned_file, "sha256": get("models", "unlearned", "file_sha256")}
    return {
        "verdict": (get("verdict", "status") or "").upper() or None,
        "headline": get("verdict", "headline"),
        "request_id": get("run", "request_id"),
        "run_id": get("run", "id"),
        "finished_utc": get("run", "finished_utc"),
        "forget_kind": get("data", "forget", "kind"),
        "forget_count": get("data", "forget", "count"),
        "forget_manifest_sha256": get("data", "forget", "manifest_sha256"),
        "original_sha256": get("models", "original", "sha256"),
        "unlearned_sha256": get("models", "unlearned", "sha256"),
        "unlearned_file": unlearned_file if isinstance(unlearned_file, dict) else None,
        "signer": get("signing", "subject"),
        "signing_mode": get("signing", "mode"),
        "responsible": get("run", "responsible"),
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The signed summary as lines for the terminal."""
    lines = [
        f"verdict            {summary.get('headline') or summary.get('verdict') or 'not recorded'}",
        f"request            {summary.get('request_id') or 'not stated'}",
        f"records erased     {summary.get('forget_count')} ({summary.get('forget_kind')})",
        f"forget manifest    sha256 {summary.get('forget_manifest_sha256')}",
        f"original model     sha256 {summary.get('original_sha256')}",
        f"unlearned model    sha256 {summary.get('unlearned_sha256')} (state digest)",
    ]
    file = summary.get("unlearned_file")
    if file:
        lines.append(f"unlearned file     {file.get('name')} sha256 {file.get('sha256')}")
    responsible = summary.get("responsible")
    if isinstance(responsible, dict) and responsible.get("name"):
        lines.append(
            f"responsible        {responsible['name']}"
            + (f", {responsible['role']}" if responsible.get("role") else "")
        )
    lines.append(f"signer             {summary.get('signer') or 'not recorded'}")
    lines.append(f"audit run          {summary.get('run_id')}, finished {summary.get('finished_utc')}")
    return lines


def _is_test_ca(path: Path, certs: list[Any]) -> bool:
    """A trust root that is the throwaway test CA a run writes (by its file name or its subject)."""
    if Path(path).name == TEST_CA_NAME:
        return True
    from cryptography.x509.oid import NameOID

    for cert in certs:
        orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        if any(TEST_ORGANISATION in str(o.value) for o in orgs):
            return True
    return False


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _describe(exc: BaseException) -> str:
    """``Type: first line of the message`` for an unexpected exception."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


# --------------------------------------------------------------------------------------------------
# Inputs


def load_trust_roots(paths: list[Path]) -> list[Any]:
    """The certificates in each ``--trust-root`` file (PEM, one or more; or one DER certificate).

    Raises:
        NotVerified: A file cannot be read or holds no certificate.
    """
    from cryptography import x509

    certs: list[Any] = []
    for p in paths:
        try:
            data = Path(p).read_bytes()
        except OSError as exc:
            raise NotVerified(f"cannot read trust root {p}: {exc.strerror or exc}") from None
        pem = b"-----BEGIN" in data
        try:
            certs += x509.load_pem_x509_certificates(data) if pem else [x509.load_der_x509_certificate(data)]
        except ValueError as exc:
            why = (
                f"its PEM block is not a certificate ({_describe(exc)})"
                if pem
                else "it holds no PEM certificate (-----BEGIN CERTIFICATE-----) and is not a DER certificate"
            )
            raise NotVerified(
                f"trust root {p} is not usable: {why}; pass your CA's certificate, e.g. ca.pem "
                "from `unlearn-audit keys gen-test`"
            ) from None
    return certs


def read_target(path: Path) -> bytes:
    """The target's bytes.

    Raises:
        NotVerified: It is a folder, unreadable or empty.
    """
    path = Path(path)
    if path.is_dir():
        raise NotVerified(f"{path} is a folder; give the report.pdf (or evidence.intoto.json) inside it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotVerified(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise NotVerified(f"{path} is empty; give a signed report.pdf or evidence.intoto.json")
    return data


def target_kind(data: bytes, name: str) -> tuple[str, Any]:
    """``("pdf", None)``, or ``("statement", envelope)`` for a DSSE envelope.

    Raises:
        NotVerified: Neither, with a hint (an unsigned ``evidence.json`` is recognised and explained).
    """
    if data.startswith(b"%PDF-"):
        return "pdf", None
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NotVerified(
            f"{name} is neither a PDF (it does not start with %PDF-, so it is damaged or another kind "
            "of file) nor a JSON statement; give a signed report.pdf or evidence.intoto.json"
        ) from None
    if isinstance(doc, dict) and "payload" in doc and "signatures" in doc:
        return "statement", doc
    if isinstance(doc, dict) and (doc.get("schema") == SCHEMA or "verdict" in doc):
        raise NotVerified(
            f"{name} is an unsigned evidence record, which cannot be verified on its own; verify the "
            f"signed report.pdf (or {STATEMENT_NAME}) and pass --evidence {name} to check it against "
            "the signed statement"
        )
    raise NotVerified(
        f"{name} is JSON but not a DSSE envelope (no 'payload' and 'signatures'); give a signed "
        f"report.pdf or {STATEMENT_NAME}"
    )


# --------------------------------------------------------------------------------------------------
# The PDF signature's bytes


def signature_der(data: bytes, byte_range: list[int]) -> bytes:
    """The DER signature, after checking that ``byte_range`` signs the whole file but /Contents.

    The rule: ``/ByteRange [0 start end length]`` with ``end + length`` equal to the file size, and
    the bytes between ``start`` and ``end`` are exactly ``<``, the hex of one DER object (one case),
    ``0`` padding and ``>``. So any byte added after signing (an incremental update, appended junk)
    and any changed byte in the unsigned gap fails; every other byte is covered by the digest.

    Raises:
        NotVerified: The range or the gap breaks the rule; the message says how.
    """
    if len(byte_range) != 4:
        raise NotVerified(
            f"/ByteRange has {len(byte_range)} numbers instead of 4; the signature dictionary was damaged"
        )
    first, start, end, length = byte_range
    if first != 0 or not 0 < start < end or length < 0:
        raise NotVerified(
            f"/ByteRange {byte_range} is malformed (expected [0 start end length], 0 < start < end)"
        )
    size = len(data)
    if end + length < size:
        raise NotVerified(
            f"the signature covers bytes 0..{end + length} but the file has {size}: "
            f"{size - end - length} "
            "bytes were added after signing (an incremental update or appended data); only the "
            "file as signed can be verified"
        )
    if end + length > size:
        raise NotVerified(
            f"/ByteRange ends at byte {end + length}, past the end of the {size}-byte file: "
            "the file was truncated or damaged"
        )
    return contents_der(data[start:end])


def contents_der(gap: bytes) -> bytes:
    """The DER object in a /Contents hex string ``<hex>``, checking that nothing else is in it.

    Raises:
        NotVerified: The gap is not a hex string, its DER is malformed, the hex mixes letter case, or
            a padding digit after the DER is not ``0``.
    """
    if len(gap) < 4 or gap[:1] != b"<" or gap[-1:] != b">":
        raise NotVerified("the unsigned gap in /ByteRange is not exactly the /Contents hex string")
    digits = gap[1:-1]
    if len(digits) % 2 or not set(digits) <= _HEX:
        raise NotVerified("/Contents is not a plain hex string (a byte in the signature was changed)")
    raw = bytes.fromhex(digits.decode("ascii"))
    size = der_length(raw)
    hex_der = digits[: 2 * size]
    if hex_der not in (hex_der.lower(), hex_der.upper()):
        raise NotVerified(
            "the signature's hex digits mix upper and lower case (a byte in /Contents was changed)"
        )
    if digits[2 * size :].strip(b"0"):
        raise NotVerified(
            f"the zero padding after the {size}-byte signature in /Contents holds other digits (a byte "
            "in the padding was changed after signing)"
        )
    return raw[:size]


def der_length(raw: bytes) -> int:
    """Length of the DER object at the start of ``raw`` (header and content).

    Raises:
        NotVerified: ``raw`` does not start with a definite-length DER SEQUENCE.
    """
    from asn1crypto import parser

    if not raw or raw[0] != 0x30:
        raise NotVerified("/Contents does not start with a DER SEQUENCE (the signature was damaged)")
    try:
        _, _, _, header, content, trailer = parser.parse(raw)
    except (ValueError, TypeError) as exc:
        raise NotVerified(f"the signature in /Contents is not valid DER ({_describe(exc)})") from None
    if trailer:
        raise NotVerified(
            "the signature in /Contents uses an indefinite length, which our signer never writes"
        )
    return len(header) + len(content)


def cms_problem(
    der: bytes, *, signer_cert: bytes, extra_certs: list[Any], timestamp_ok: bool | None
) -> str | None:
    """What, in the CMS SignedData, is not what our signer writes, or None.

    The signature covers only the signed attributes, so the rest of the CMS blob (versions,
    algorithm lists, the signer identifier, certificates) could change without breaking it; and
    pyHanko matches the signer identifier's issuer name loosely (ignoring case and string type).
    This checks that the blob is canonical DER, that those fields hold the values pyHanko writes,
    that the signer identifier names the signing certificate byte for byte, and that every embedded
    certificate verifies under its issuer (itself, another embedded certificate or a trust root).

    Args:
        der: The CMS ContentInfo.
        signer_cert: DER of the certificate the signature was validated with.
        extra_certs: Trust roots (``cryptography`` certificates) that may issue embedded certificates.
        timestamp_ok: Whether pyHanko found an embedded signature timestamp intact and valid (None
            if there is none).
    """
    from asn1crypto import cms

    info = cms.ContentInfo.load(der)
    if info.dump(force=True) != der:
        return "the CMS signature is not canonical DER (it was changed after signing)"
    if info["content_type"].native != "signed_data":
        return f"the CMS content type is {info['content_type'].native}, not signed_data"
    sd = info["content"]
    signers = list(sd["signer_infos"])
    if len(signers) != 1:
        return f"the CMS holds {len(signers)} signer infos instead of 1"
    return _fields_problem(sd, signers[0], timestamp_ok=timestamp_ok) or _certificates_problem(
        sd, signers[0], signer_cert=signer_cert, extra_certs=extra_certs
    )


def _fields_problem(sd: Any, si: Any, *, timestamp_ok: bool | None) -> str | None:
    """The SignedData and SignerInfo fields that do not hold the values pyHanko writes, or None."""
    expected = {
        "SignedData version": (sd["version"].native, "v1"),
        "SignerInfo version": (si["version"].native, "v1"),
        "signer identifier": (si["sid"].name, "issuer_and_serial_number"),
        "encapsulated content type": (sd["encap_content_info"]["content_type"].native, "data"),
        "encapsulated content": (sd["encap_content_info"]["content"].native, None),
        "CRLs": (sd["crls"].native, None),
    }
    for what, (found, want) in expected.items():
        if found != want:
            return f"the CMS {what} is {found!r}, not {want!r} as our signer writes it"
    if [a.dump() for a in sd["digest_algorithms"]] != [si["digest_algorithm"].dump()]:
        return "the CMS digest algorithm list does not match the signer's digest algorithm"
    unsigned = (
        [a["type"].native for a in si["unsigned_attrs"]] if si["unsigned_attrs"].native is not None else []
    )
    if unsigned and (unsigned != ["signature_time_stamp_token"] or not timestamp_ok):
        return f"the CMS has unsigned attributes {unsigned} that are not one valid signature timestamp"
    return None


def _certificates_problem(sd: Any, si: Any, *, signer_cert: bytes, extra_certs: list[Any]) -> str | None:
    """The embedded certificates and the signer identifier, checked against the signing certificate."""
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509

    embedded = []
    for choice in sd["certificates"] if sd["certificates"].native is not None else []:
        if choice.name != "certificate":
            return f"the CMS embeds a {choice.name}, which our signer never writes"
        embedded.append(choice.chosen.dump())
    if signer_cert not in embedded:
        return "the signing certificate is not embedded in the CMS as signed"
    sid, signer = si["sid"].chosen, asn1_x509.Certificate.load(signer_cert)
    if sid["issuer"].dump() != signer.issuer.dump() or sid["serial_number"].native != signer.serial_number:
        return "the CMS signer identifier does not name the signing certificate exactly (it was changed after signing)"
    certs = [x509.load_der_x509_certificate(c) for c in embedded]
    for cert in certs:
        if not any(_issued_by(cert, issuer) for issuer in certs + list(extra_certs)):
            return (
                f"the embedded certificate {cert.subject.rfc4514_string()} does not verify under any issuer "
                "(it was changed after signing)"
            )
    return None


def _issued_by(cert: Any, issuer: Any) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:  # wrong issuer, bad signature, unsupported algorithm
        return False


def _chains_to(cert, roots) -> bool:
    """The certificate is a root, or directly issued by one.

    That is the depth our test PKI and most organisational signing setups use.
    """
    return any(cert == root or _issued_by(cert, root) for root in roots)


def _embedded_files(reader) -> dict[str, bytes]:
    """Name -> bytes of the PDF's embedded files (walking the EmbeddedFiles name tree)."""
    out: dict[str, bytes] = {}

    def walk(node, depth: int) -> None:
        if depth > 32:
            raise NotVerified("the PDF's embedded-file tree is too deep (damaged or crafted)")
        node = node.get_object()
        if "/Names" in node:
            names = node["/Names"]
            for i in range(0, len(names), 2):
                spec = names[i + 1].get_object()
                out[str(names[i])] = spec["/EF"]["/F"].get_object().data
        for kid in node.get("/Kids", []):
            walk(kid, depth + 1)

    try:
        tree = reader.root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return out
    walk(tree, 0)
    return out


# --------------------------------------------------------------------------------------------------
# The layers


def _quiet_imports() -> None:
    """Import pyHanko without its deprecation warnings and log lines on the user's terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pyhanko.pdf_utils.reader  # noqa: F401
        import pyhanko.sign.validation  # noqa: F401
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def verify_pdf(data: bytes, *, roots: list[Any], allow_untrusted: bool, result: Verification) -> None:
    """The PDF layer: the signature and what it covers, trust, and the embedded statement."""
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509

    with result.step("pdf.read", "parse the PDF and its signature"):
        _quiet_imports()
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko_certvalidator import ValidationContext

        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    result.require(
        "pdf.signature.present",
        len(sigs) == 1,
        "1 signature"
        if len(sigs) == 1
        else "the PDF is not signed (was it made with --no-sign?)"
        if not sigs
        else f"{len(sigs)} signatures; a report carries exactly one",
    )
    sig = sigs[0]
    with result.step("pdf.signature.byterange", "read the signature's /ByteRange"):
        der = signature_der(data, [int(x) for x in sig.sig_object["/ByteRange"]])
    result.add(
        "pdf.signature.byterange",
        True,
        f"the signature covers all {len(data)} bytes but its own "
        f"/Contents, which holds only the {len(der)}-byte signature and zero padding",
    )
    with result.step("pdf.signature.intact", "validate the signature"):
        vc = ValidationContext(
            trust_roots=[asn1_x509.Certificate.load(c.public_bytes(_der())) for c in roots],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        status = validate_pdf_signature(sig, signer_validation_context=vc)
    result.require(
        "pdf.signature.intact",
        bool(status.intact),
        "the signed bytes are unchanged" if status.intact else "the document was changed after signing",
    )
    result.require(
        "pdf.signature.valid",
        bool(status.valid),
        "the cryptographic signature verifies" if status.valid else "the signature does not verify",
    )
    coverage = getattr(status.coverage, "name", str(status.coverage))
    modification = getattr(status.modification_level, "name", str(status.modification_level))
    # ENTIRE_REVISION with LTA_UPDATES is not enough: pyHanko files a rewritten /Info there.
    covered = coverage == "ENTIRE_FILE" and modification == "NONE" and bool(status.docmdp_ok)
    result.require(
        "pdf.signature.coverage",
        covered,
        f"coverage {coverage}, modifications {modification}, "
        f"DocMDP {'ok' if status.docmdp_ok else 'violated'}"
        + ("" if covered else "; only an entirely signed, unmodified file verifies"),
    )
    with result.step("pdf.signature.cms", "check the signature's CMS structure"):
        ts = status.timestamp_validity
        ts_ok = None if ts is None else bool(ts.intact and ts.valid)
        problem = cms_problem(
            der, signer_cert=status.signing_cert.dump(), extra_certs=roots, timestamp_ok=ts_ok
        )
    result.require(
        "pdf.signature.cms",
        problem is None,
        problem
        or "the unsigned parts of the CMS signature are as "
        "signed, and every embedded certificate verifies under its issuer",
    )
    with result.step("pdf.signature.trusted", "read the signer's certificate"):
        signer_cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    _check_trust(
        "pdf.signature.trusted",
        signer_cert,
        roots,
        allow_untrusted,
        result,
        already_trusted=bool(status.trusted),
    )
    with result.step("evidence.extracted", "read the PDF's attachments"):
        files = _embedded_files(reader)
    result.require(
        "evidence.extracted", STATEMENT_NAME in files, f"attachments: {', '.join(sorted(files)) or 'none'}"
    )
    with result.step("evidence.dsse", f"read the embedded {STATEMENT_NAME}"):
        envelope = json.loads(files[STATEMENT_NAME])
    _check_statement(envelope, signer_cert.public_key(), "the PDF signer's key", result)
    if SIDECAR_NAME in files:
        with result.step("evidence.consistency", f"read the embedded {SIDECAR_NAME}"):
            same = canonical(json.loads(files[SIDECAR_NAME])) == canonical(result.signed()["predicate"])
        result.require(
            "evidence.consistency",
            same,
            "the embedded evidence equals the signed statement's predicate"
            if same
            else f"the embedded {SIDECAR_NAME} differs from the signed statement",
        )


def verify_statement(
    envelope: dict[str, Any], *, roots: list[Any], allow_untrusted: bool, result: Verification
) -> None:
    """A bare ``evidence.intoto.json``: its DSSE signature with the attached certificate, and trust."""
    from cryptography import x509

    with result.step("evidence.read", "read the statement's certificate"):
        try:
            cert = x509.load_pem_x509_certificate(envelope["signatures"][0]["cert"].encode())
        except (KeyError, IndexError, TypeError, AttributeError):
            raise NotVerified(
                "the DSSE envelope has no signature with an attached certificate ('signatures'[0]"
                "['cert']); it was not written by unlearn-audit"
            ) from None
    _check_statement(envelope, cert.public_key(), "the attached certificate", result)
    _check_trust("evidence.trusted", cert, roots, allow_untrusted, result, already_trusted=False)


def _check_statement(envelope: Any, public_key: Any, key_name: str, result: Verification) -> None:
    """The DSSE signature, and the payload as an in-toto statement of ours; sets ``result.statement``."""
    with result.step("evidence.dsse", "check the statement's DSSE signature"):
        payload = dsse_verify(envelope, public_key) if isinstance(envelope, dict) else None
    result.require(
        "evidence.dsse",
        payload is not None,
        f"the statement's DSSE signature verifies with {key_name}"
        if payload is not None
        else f"the statement's DSSE signature does not verify with {key_name} (the statement was changed, "
        "or signed by another key)",
    )
    with result.step("evidence.statement", "read the signed statement"):
        assert payload is not None  # evidence.dsse passed
        statement = json.loads(payload)
        if not (
            isinstance(statement, dict)
            and statement.get("_type") == STATEMENT_TYPE
            and statement.get("predicateType") == PREDICATE_TYPE
            and isinstance(statement.get("predicate"), dict)
        ):
            raise NotVerified(
                f"the signed payload is not an unlearn-audit in-toto statement ({PREDICATE_TYPE})"
            )
    result.statement = statement


def _check_trust(
    name: str,
    cert: Any,
    roots: list[Any],
    allow_untrusted: bool,
    result: Verification,
    *,
    already_trusted: bool,
) -> None:
    fingerprint = hashlib.sha256(cert.public_bytes(_der())).hexdigest()
    subject = cert.subject.rfc4514_string()
    if roots:
        trusted = already_trusted or _chains_to(cert, roots)
        result.require(
            name,
            trusted,
            f"signer {subject} (sha256 {fingerprint}) "
            + ("chains to the trust root" if trusted else "does not chain to the given trust root(s)"),
        )
    else:
        result.require(
            name,
            allow_untrusted,
            f"UNTRUSTED: no --trust-root given; signer {subject} (sha256 "
            f"{fingerprint}); compare the fingerprint out of band"
            + ("" if allow_untrusted else ", or pass --allow-untrusted"),
        )


# --------------------------------------------------------------------------------------------------
# evidence.json beside the report


def sidecar_for(target: Path, evidence: Path | None) -> Path | None:
    """The evidence.json to check: the one given, else ``evidence.json`` beside the target, if any."""
    if evidence is not None:
        return Path(evidence)
    beside = Path(target).parent / SIDECAR_NAME
    return beside if beside.is_file() and Path(target).name != SIDECAR_NAME else None


def evidence_digest(record: Any) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of an evidence record."""
    return hashlib.sha256(canonical(record)).hexdigest()


def sidecar_problem(record: Any, predicate: dict[str, Any]) -> tuple[str | None, str]:
    """Compare an evidence record with the signed predicate.

    Returns:
        (None or what differs, a note on what was compared).
    """
    if not isinstance(record, dict):
        return "it is not an evidence record (a JSON object)", ""
    mine, signed = evidence_digest(record), evidence_digest(predicate)
    if mine == signed:
        return None, f"canonical sha256 {signed[:16]}..."
    keys = sorted(k for k in set(record) | set(predicate) if record.get(k) != predicate.get(k))
    return (
        f"differs from the signed statement in {', '.join(keys) or 'its encoding'} (canonical sha256 "
        f"{mine[:16]}... != signed {signed[:16]}...): it was edited after signing or belongs to another run"
    ), ""


def check_sidecar(path: Path, statement: dict[str, Any], result: Verification) -> None:
    """``evidence.sidecar``: the evidence.json at ``path`` equals the signed predicate."""
    with result.step("evidence.sidecar", f"read {path}"):
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        problem, note = sidecar_problem(record, statement["predicate"])
    result.require(
        "evidence.sidecar",
        problem is None,
        f"{path} {problem}" if problem else f"{path} equals the signed statement ({note})",
    )


# --------------------------------------------------------------------------------------------------
# Subjects


def check_subjects(
    statement: dict[str, Any], *, models: list[Path], configs: list[Path], result: Verification
) -> None:
    """Re-hash each given file and match it to a statement subject by digest (each file its own check)."""
    subjects = [
        s for s in statement.get("subject", []) if isinstance(s, dict) and isinstance(s.get("digest"), dict)
    ]

    def matches(digest: dict[str, str]) -> list[str]:
        return [
            str(s.get("name")) for s in subjects if any(s["digest"].get(k) == v for k, v in digest.items())
        ]

    for kind, paths in (("model", models), ("config", configs)):
        for path in paths:
            name = f"subject.{kind}:{Path(path).name}"
            try:
                with result.step(name, f"hash {path}"):
                    digest = {"sha256": _file_sha256(path)}
                    if kind == "model":
                        digest.update(_state_digest(path))
                    found = matches(digest)
                    result.add(
                        name,
                        bool(found),
                        f"matches {', '.join(found)}"
                        if found
                        else "matches no model in the statement"
                        if kind == "model"
                        else "does not match the audited config file",
                    )
            except _Stopped:
                continue


def _state_digest(path: Path) -> dict[str, str]:
    """The state_dict digest of a checkpoint; empty for a file that is not one (it can still match by file digest)."""
    try:
        from auditor.train.architectures import read_state_dict, state_digest

        return {STATE_DIGEST: state_digest(read_state_dict(path, key="--model"))}
    except Exception:
        return {}


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _der():
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.DER


# --------------------------------------------------------------------------------------------------


def verify(
    path: Path,
    *,
    trust_roots: list[Path],
    allow_untrusted: bool,
    models: list[Path],
    configs: list[Path],
    evidence: Path | None = None,
) -> Verification:
    """Verify a signed ``report.pdf`` or a bare ``evidence.intoto.json``; never raises for bad input.

    Args:
        path: The report or statement.
        trust_roots: PEM files of trusted CA certificates.
        allow_untrusted: Accept a signer that chains to no trust root (it is still reported).
        models: Checkpoints to match against the statement's model subjects.
        configs: Config files to match against the statement's config subject.
        evidence: An evidence.json to check against the signed statement; by default the
            ``evidence.json`` beside ``path``, when there is one.

    Returns:
        Every check run; verification stops at the first failed check (subject checks excepted).
    """
    result = Verification()
    try:
        with result.step("trust.roots", "load the trust roots"):
            roots = load_trust_roots(list(trust_roots))
            for root in trust_roots:
                if _is_test_ca(root, load_trust_roots([root])):
                    result.warnings.append(
                        f"the trust root {Path(root).name} is a throwaway TEST ONLY CA (the {TEST_CA_NAME} a run "
                        "writes beside its report when no signing key is configured, or one from `keys gen-test`): "
                        "a pass shows the files are unchanged since they were signed, NOT who signed them. Verify "
                        "against your organisation's CA."
                    )
        if allow_untrusted and not trust_roots:
            result.warnings.append(
                "--allow-untrusted: the signer was not checked against any trust root; compare the signer's "
                "certificate fingerprint with the one your organisation publishes."
            )
        if trust_roots:
            result.add(
                "trust.roots",
                True,
                f"{len(roots)} certificate(s) from " + ", ".join(Path(p).name for p in trust_roots),
            )
        with result.step("target.read", f"read {path}"):
            data = read_target(path)
            kind, envelope = target_kind(data, Path(path).name)
        if kind == "pdf":
            verify_pdf(data, roots=roots, allow_untrusted=allow_untrusted, result=result)
        else:
            verify_statement(envelope, roots=roots, allow_untrusted=allow_untrusted, result=result)
        sidecar = sidecar_for(path, evidence)
        if sidecar is not None:
            check_sidecar(sidecar, result.signed(), result)
        check_subjects(result.signed(), models=models, configs=configs, result=result)
    except _Stopped:
        pass
    except Exception as exc:  # a bug in a check must still end as a FAIL line, not a traceback
        result.add("verify", False, f"verification stopped unexpectedly: {_describe(exc)}")
    return result


__all__ = [
    "TEST_CA_NAME",
    "Check",
    "NotVerified",
    "Verification",
    "contents_der",
    "sidecar_problem",
    "signature_der",
    "signed_summary",
    "summary_lines",
    "verify",
]
