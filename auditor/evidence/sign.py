"""Signatures: a DSSE-signed in-toto statement over the evidence, and a PAdES signature on the PDF.

Two layers (ECOSYSTEM.md 2.1):

* the **statement** (``evidence.intoto.json``): an in-toto Statement v1 whose subjects are the
  audited models, the config and the forget manifest (by digest), with the evidence record as
  predicate, in a DSSE envelope signed over the PAE encoding (``secure-systems-lab/dsse``);
* the **PDF**: a PAdES certification signature (DocMDP: no changes allowed) made with pyHanko,
  over a PDF/A-3b file that embeds ``evidence.json`` and the signed statement.

Both use one key and X.509 certificate: PEM key + certificate, or PKCS#12 with its passphrase
taken from an environment variable. With no key configured, ``run`` signs with a throwaway
self-signed test key and the report says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.canonical import canonical_json
from auditor.errors import AuditFailedError, ConfigError, Problem

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:unlearn-audit:evidence:v1"
STATE_DIGEST = "unlearn-audit-state-sha256"  # custom DigestSet algorithm: sha256 over the state_dict tensors
FIELD_NAME = "UnlearnAuditSignature"


@dataclass(frozen=True)
class SigningKey:
    """A private key with its certificate (and chain), in ``cryptography`` objects.

    Attributes:
        key: The private key (RSA, EC or Ed25519 for DSSE; RSA or EC for the PDF).
        cert: The signer's certificate.
        chain: Further certificates to embed (intermediates).
        mode: ``configured`` or ``test-key`` (throwaway self-signed).
    """

    key: Any
    cert: Any
    chain: tuple[Any, ...] = ()
    mode: str = "configured"

    @property
    def cert_sha256(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return hashlib.sha256(self.cert.public_bytes(serialization.Encoding.DER)).hexdigest()

    @property
    def keyid(self) -> str:
        from cryptography.hazmat.primitives import serialization

        spki = self.cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(spki).hexdigest()

    def record(self) -> dict[str, Any]:
        """What the evidence and the report say about the signer."""
        return {
            "mode": self.mode,
            "subject": self.cert.subject.rfc4514_string(),
            "issuer": self.cert.issuer.rfc4514_string(),
            "cert_sha256": self.cert_sha256,
            "keyid": self.keyid,
            "not_after": self.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


# --------------------------------------------------------------------------------------------------
# Keys


def _name(common: str, org: str = "unlearn-audit TEST ONLY"):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, common)]
    )


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool, days: int = 365):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    usage = dict(
        digital_signature=True,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    return builder.sign(signing_key, hashes.SHA256())


def generate_test_pki(*, common_name: str = "unlearn-audit test signer") -> tuple[SigningKey, Any]:
    """A throwaway CA and a leaf signing key (RSA-2048, non-repudiation usage), for trying things out.

    Returns:
        (the leaf's signing key with its chain, the CA certificate to use as trust root).
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("unlearn-audit TEST ONLY root")
    ca_cert = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True, days=3650)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _certificate(_name(common_name), ca_name, leaf_key.public_key(), ca_key, ca=False)
    return SigningKey(leaf_key, leaf, (ca_cert,), mode="test-key"), ca_cert


def write_test_pki(out: Path, *, passphrase: bytes | None = None) -> dict[str, Path]:
    """``keys gen-test``: write a test CA, signer key and certificate (PEM) and a PKCS#12 bundle."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from auditor.files import atomic_write_bytes

    signing, ca = generate_test_pki()
    out.mkdir(parents=True, exist_ok=True)
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    files = {
        "ca.pem": ca.public_bytes(serialization.Encoding.PEM),
        "signer.cert.pem": signing.cert.public_bytes(serialization.Encoding.PEM),
        "signer.key.pem": signing.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        ),
        "signer.p12": pkcs12.serialize_key_and_certificates(
            b"unlearn-audit test signer", signing.key, signing.cert, [ca], enc
        ),
    }
    paths = {}
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
        paths[name] = out / name
    os.chmod(out / "signer.key.pem", 0o600)
    os.chmod(out / "signer.p12", 0o600)
    return paths


def load_signing_key(
    *, key: Path | None, cert: Path | None, pkcs12_path: Path | None, passphrase_env: str
) -> SigningKey:
    """Load a PEM key + certificate or a PKCS#12 bundle (passphrase from ``passphrase_env``).

    Raises:
        ConfigError: Files missing or unreadable, the passphrase wrong, or key and cert unmatched.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    raw = os.environ.get(passphrase_env)
    passphrase = raw.encode() if raw else None
    try:
        if pkcs12_path is not None:
            private, certificate, extra = pkcs12.load_key_and_certificates(
                Path(pkcs12_path).read_bytes(), passphrase
            )
            if private is None or certificate is None:
                raise ValueError("the bundle lacks a private key or certificate")
            return SigningKey(private, certificate, tuple(extra or ()))
        if key is None or cert is None:
            raise ValueError("give both key and cert (PEM), or pkcs12")
        private = serialization.load_pem_private_key(Path(key).read_bytes(), passphrase)
        certs = x509.load_pem_x509_certificates(Path(cert).read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        where = "report.signing.pkcs12" if pkcs12_path is not None else "report.signing.key"
        hint = (
            f" (passphrase read from ${passphrase_env})"
            if passphrase
            else f" (set ${passphrase_env} if it is encrypted)"
        )
        raise ConfigError([Problem(where, f"cannot load the signing key: {exc}{hint}")]) from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(serialization.Encoding.DER, spki) != certs[
        0
    ].public_key().public_bytes(serialization.Encoding.DER, spki):
        raise ConfigError(
            [Problem("report.signing.cert", "the certificate does not belong to the private key")]
        )
    return SigningKey(private, certs[0], tuple(certs[1:]))


# --------------------------------------------------------------------------------------------------
# DSSE and the in-toto statement


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: ``DSSEv1 SP len(type) SP type SP len(body) SP body``."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def _sign_bytes(key: Any, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise AuditFailedError(f"unsupported signing key type {type(key).__name__}; use RSA, EC or Ed25519")


def _verify_bytes(public_key: Any, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def dsse_sign(payload: bytes, signing: SigningKey, *, payload_type: str = PAYLOAD_TYPE) -> dict[str, Any]:
    """A DSSE envelope over ``payload``, with the signer's certificate attached for verifiers."""
    from cryptography.hazmat.primitives import serialization

    sig = _sign_bytes(signing.key, pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {
                "keyid": signing.keyid,
                "sig": base64.b64encode(sig).decode(),
                "cert": signing.cert.public_bytes(serialization.Encoding.PEM).decode(),
            }
        ],
    }


def dsse_verify(envelope: dict[str, Any], public_key: Any) -> bytes | None:
    """The payload if any signature verifies with ``public_key``, else None."""
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
        for s in envelope.get("signatures", []):
            if _verify_bytes(public_key, base64.b64decode(s["sig"]), pae(envelope["payloadType"], payload)):
                return payload
    except (KeyError, ValueError, TypeError):
        return None
    return None


def statement(evidence: dict[str, Any], *, config_path: Path | None) -> dict[str, Any]:
    """The in-toto Statement: subjects by digest, the evidence record as predicate."""
    models = evidence["models"]

    def model_subject(name: str, record: dict[str, Any]) -> dict[str, Any]:
        digest = {STATE_DIGEST: record["sha256"]}
        if record.get("file_sha256"):
            digest["sha256"] = record["file_sha256"]
        out: dict[str, Any] = {"name": name, "digest": digest}
        if record.get("path"):
            out["annotations"] = {"path": record["path"]}
        return out

    subjects = [
        model_subject("model/unlearned", models["unlearned"]),
        model_subject("model/original", models["original"]),
    ]
    subjects += [model_subject(f"model/reference/{r['index']}", r) for r in models["references"]]
    if evidence.get("config_file_sha256"):
        subjects.append(
            {
                "name": f"config/{Path(config_path).name if config_path else 'config.yaml'}",
                "digest": {"sha256": evidence["config_file_sha256"]},
            }
        )
    subjects.append(
        {"name": "forget_manifest.txt", "digest": {"sha256": evidence["data"]["forget"]["manifest_sha256"]}}
    )
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": evidence,
    }


canonical = canonical_json
"""The bytes a statement is signed over: :func:`auditor.canonical.canonical_json` (one encoding for
every digest in the tool).
"""


# --------------------------------------------------------------------------------------------------
# PDF


def sign_pdf(pdf: bytes, signing: SigningKey, *, reason: str, name: str | None, tsa_url: str | None) -> bytes:
    """A PAdES certification signature (DocMDP: no changes), invisible, as an incremental update."""
    import logging
    import warnings

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    with warnings.catch_warnings():  # pyHanko imports cryptography's deprecated DSA: not ours to print
        warnings.simplefilter("ignore")
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers, timestamps
        from pyhanko_certvalidator.registry import SimpleCertificateStore

    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    der = serialization.Encoding.DER
    cert = asn1_x509.Certificate.load(signing.cert.public_bytes(der))
    key = asn1_keys.PrivateKeyInfo.load(
        signing.key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    store = SimpleCertificateStore.from_certs(
        [asn1_x509.Certificate.load(c.public_bytes(der)) for c in signing.chain]
    )
    signer = signers.SimpleSigner(signing_cert=cert, signing_key=key, cert_registry=store)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=reason,
        name=name,
    )
    tsa = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer, timestamper=tsa).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out
    )
    return out.getvalue()
