"""``unlearn-audit verify`` against a hostile reader: forged revisions, appended bytes, byte flips
anywhere in the file, corrupt or wrong-kind inputs, and an edited evidence.json beside the report.

Every tamper must end as exit 1 with exactly one FAIL line and no traceback (reliability review,
defects 1, 5, 6 and 10). The signed report is made the way ``run`` makes it (render the sample
evidence, embed it with its DSSE statement, PAdES-sign), without training anything: about 2 s.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli.commands import cli
from auditor.evidence.verify import NotVerified, contents_der, sidecar_problem

SAMPLE = Path(__file__).parent / "fixtures" / "evidence_sample.json"


def _json(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> Path:
    """A folder with report.pdf, evidence.json, evidence.intoto.json and the CA (ca.pem) that signed them."""
    from cryptography.hazmat.primitives import serialization

    from auditor.evidence.sign import canonical, dsse_sign, generate_test_pki, sign_pdf, statement
    from auditor.report.render import render_html, render_pdf

    out = tmp_path_factory.mktemp("signed-report")
    evidence = json.loads(SAMPLE.read_text(encoding="utf-8"))
    key, ca = generate_test_pki()
    evidence["signing"] = key.record()
    envelope = (_json(dsse_sign(canonical(statement(evidence, config_path=None)), key)) + "\n").encode()
    attachments = {
        "evidence.json": (_json(evidence).encode(), "evidence", "Data"),
        "evidence.intoto.json": (envelope, "statement", "Data"),
    }
    pdf = render_pdf(render_html(evidence), evidence=evidence, attachments=attachments)
    (out / "report.pdf").write_bytes(sign_pdf(pdf, key, reason="test", name="Audit Team", tsa_url=None))
    (out / "evidence.json").write_text(_json(evidence) + "\n", encoding="utf-8")
    (out / "evidence.intoto.json").write_bytes(envelope)
    (out / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return out


def verify(target: Path, *args) -> object:
    """``unlearn-audit verify`` in-process; exceptions are caught so a crash shows as exit 3, not an error."""
    return CliRunner().invoke(cli, ["verify", str(target), *map(str, args)])


def assert_one_fail(res, check: str | None = None) -> str:
    """Exit 1, exactly one FAIL line (returned), NOT VERIFIED, and no traceback."""
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    assert "Traceback" not in res.output, res.output
    assert res.exit_code == 1, res.output
    fails = [line for line in res.output.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1, res.output
    assert res.output.rstrip().endswith("NOT VERIFIED"), res.output
    if check is not None:
        assert fails[0].split()[1] == check, res.output
    return fails[0]


def tampered(tmp_path: Path, data: bytes, name: str = "tampered.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def signature_gap(data: bytes) -> tuple[int, int]:
    """(start, end) of the signature's /Contents hex string, ``<`` to past ``>``."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    byte_range = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0].sig_object["/ByteRange"]
    return int(byte_range[1]), int(byte_range[2])


# --------------------------------------------------------------------------------------------------
# Revisions added after signing (defect 1)


def _revise(data: bytes, change) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    assert len(out.getvalue()) > len(data), "the forgery added nothing"
    return out.getvalue()


def _info_subject(w) -> None:
    from pyhanko.pdf_utils import generic

    info = w.trailer.raw_get("/Info").get_object()
    info[generic.NameObject("/Subject")] = generic.TextStringObject("PASS: indistinguishable from retraining")
    info[generic.NameObject("/Title")] = generic.TextStringObject("forged - PASS")
    w.update_container(info)


def _xmp(w) -> None:
    from pyhanko.pdf_utils import generic

    xmp = w.root["/Metadata"].get_object().data.replace(b"FAIL", b"PASS")
    stream = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Metadata"),
            generic.NameObject("/Subtype"): generic.NameObject("/XML"),
        },
        stream_data=xmp,
    )
    w.root[generic.NameObject("/Metadata")] = w.add_object(stream)
    w.update_root()


def _annotation(w) -> None:
    from pyhanko.pdf_utils import generic

    page = w.root["/Pages"]["/Kids"].raw_get(0).get_object()
    annot = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (50, 700, 300, 760)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("VERDICT: PASS"),
                generic.NameObject("/DA"): generic.TextStringObject("/Helv 24 Tf 0 g"),
            }
        )
    )
    page[generic.NameObject("/Annots")] = generic.ArrayObject([annot])
    w.update_container(page)


def _dss(w) -> None:
    from pyhanko.pdf_utils import generic

    w.root[generic.NameObject("/DSS")] = w.add_object(
        generic.DictionaryObject({generic.NameObject("/Note"): generic.TextStringObject("PASS")})
    )
    w.update_root()


def _noop(w) -> None:
    w.update_root()


@pytest.mark.parametrize(
    "change",
    [_info_subject, _xmp, _annotation, _dss, _noop],
    ids=["info-subject-title", "xmp", "annotation", "dss", "noop-revision"],
)
def test_a_revision_added_after_signing_fails(signed, tmp_path, change):
    data = (signed / "report.pdf").read_bytes()
    res = verify(tampered(tmp_path, _revise(data, change)), "--trust-root", signed / "ca.pem")
    line = assert_one_fail(res, "pdf.signature.byterange")
    assert "added after signing" in line


def test_a_hand_written_empty_revision_fails(signed, tmp_path):
    data = (signed / "report.pdf").read_bytes()
    prev = int(data.rsplit(b"startxref", 1)[1].split()[0])
    at = len(data) + 1
    revision = b"\nxref\n0 0\ntrailer\n<< /Size 1 /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (prev, at)
    assert_one_fail(
        verify(tampered(tmp_path, data + revision), "--trust-root", signed / "ca.pem"),
        "pdf.signature.byterange",
    )


def test_appended_junk_fails(signed, tmp_path):
    data = (signed / "report.pdf").read_bytes() + b"% junk\n"
    res = verify(tampered(tmp_path, data), "--trust-root", signed / "ca.pem")
    line = assert_one_fail(res, "pdf.signature.byterange")
    assert "7 bytes were added after signing" in line


# --------------------------------------------------------------------------------------------------
# Byte flips (defects 6 and 10)


def test_a_flip_in_the_signature_zero_padding_fails(signed, tmp_path):
    data = bytearray((signed / "report.pdf").read_bytes())
    start, end = signature_gap(bytes(data))
    assert data[end - 2 : end] == b"0>"
    flipped = bytearray(data)
    flipped[end - 2] ^= 0x01  # '0' -> '1': still hex, the signature is untouched, only the padding changed
    line = assert_one_fail(
        verify(tampered(tmp_path, bytes(flipped)), "--trust-root", signed / "ca.pem"),
        "pdf.signature.byterange",
    )
    assert "padding" in line
    flipped[end - 2] = data[end - 2] ^ 0xFF  # not hex at all: the PDF parser already rejects it
    assert_one_fail(verify(tampered(tmp_path, bytes(flipped)), "--trust-root", signed / "ca.pem"))


def _flip_offsets(data: bytes) -> list[int]:
    """About 30 offsets spread over the file, plus the edges of the signature and its padding."""
    start, end = signature_gap(data)
    spread = [round(i * (len(data) - 1) / 29) for i in range(30)]
    der_end = start + 1 + 2 * len(contents_der(data[start:end]))
    edges = [
        0,
        5,
        start - 1,
        start,
        start + 1,
        start + 2,
        (start + der_end) // 2,
        der_end - 1,
        der_end,
        end - 2,
        end - 1,
        end,
        len(data) - 2,
    ]
    return sorted(set(spread + edges))


def test_single_byte_flips_anywhere_in_the_file_fail_in_one_line(signed, tmp_path):
    data = (signed / "report.pdf").read_bytes()
    offsets = _flip_offsets(data)
    assert len(offsets) >= 30
    for offset in offsets:
        for mask in (0x01, 0xFF):
            flipped = bytearray(data)
            flipped[offset] ^= mask
            res = verify(tampered(tmp_path, bytes(flipped)), "--trust-root", signed / "ca.pem")
            try:
                assert_one_fail(res)
            except AssertionError:
                raise AssertionError(
                    f"flip {mask:#04x} at byte {offset} of {len(data)}:\n{res.output}"
                ) from None


def test_a_case_flip_in_the_cms_signer_identifier_fails(signed, tmp_path):
    """pyHanko matches the signer identifier's issuer name ignoring case: 'U' -> 'u' alone still validates."""
    from asn1crypto import cms

    data = bytearray((signed / "report.pdf").read_bytes())
    start, end = signature_gap(bytes(data))
    der = contents_der(bytes(data[start:end]))
    sid = cms.ContentInfo.load(der)["content"]["signer_infos"][0]["sid"].dump()
    at = der.index(sid) + sid.index(b"unlearn-audit TEST ONLY")  # the 'u' in the issuer's organisation name
    data[start + 1 + 2 * at] ^= 0x02  # high hex digit 4<->6 or 5<->7: the same letter in the other case
    line = assert_one_fail(
        verify(tampered(tmp_path, bytes(data)), "--trust-root", signed / "ca.pem"), "pdf.signature.cms"
    )
    assert "signer identifier" in line


def test_contents_must_be_the_der_signature_and_zero_padding_only():
    der = bytes.fromhex("3003020101")
    assert contents_der(b"<" + der.hex().encode() + b"0000>") == der
    assert contents_der(b"<" + der.hex().upper().encode() + b"00>") == der
    for gap, why in [
        (b"<3003020101000100>", "padding"),
        (b"<3003020101 00>", "hex"),
        (b"3003020101", "hex string"),
        (b"<3005020101>", "DER"),
        (b"<0000000000>", "SEQUENCE"),
    ]:
        with pytest.raises(NotVerified, match=why):
            contents_der(gap)
    with pytest.raises(NotVerified, match="case"):
        contents_der(b"<30040402aBcd00>")


# --------------------------------------------------------------------------------------------------
# Corrupt or wrong-kind input: one FAIL line, exit 1 (defect 6)


@pytest.mark.parametrize(
    "make, check, words",
    [
        (lambda d, p: p.write_bytes(b""), "target.read", "empty"),
        (lambda d, p: p.write_bytes(b"hello, this is not a report\n"), "target.read", "neither a PDF"),
        (lambda d, p: p.write_bytes(bytes(range(256)) * 8), "target.read", "neither a PDF"),
        (lambda d, p: p.write_bytes(b"%PDG" + d[4:]), "target.read", "neither a PDF"),
        (lambda d, p: p.write_bytes(d[: len(d) // 2]), None, ""),
        (lambda d, p: p.write_bytes(b"%PDF-1.7\n" + b"\x00" * 100), None, ""),
        (lambda d, p: p.write_text('{"a": 1}'), "target.read", "not a DSSE envelope"),
    ],
    ids=["empty", "text", "binary", "bad-header", "truncated", "pdf-header-only", "other-json"],
)
def test_corrupt_or_wrong_kind_targets_fail_in_one_line(signed, tmp_path, make, check, words):
    target = tmp_path / "report.pdf"
    make((signed / "report.pdf").read_bytes(), target)
    line = assert_one_fail(verify(target, "--trust-root", signed / "ca.pem"), check)
    assert words in line


def test_a_folder_as_target_fails_in_one_line(signed):
    line = assert_one_fail(verify(signed, "--trust-root", signed / "ca.pem"), "target.read")
    assert "is a folder" in line


def test_evidence_json_alone_explains_it_is_unsigned(signed):
    line = assert_one_fail(verify(signed / "evidence.json", "--trust-root", signed / "ca.pem"), "target.read")
    assert "unsigned evidence record" in line and "--evidence" in line and "'signatures'" not in line


BAD_PEM = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("content", [b"not a certificate", BAD_PEM, b""], ids=["garbage", "bad-pem", "empty"])
def test_a_bad_trust_root_is_blamed_as_the_trust_root(signed, tmp_path, content):
    root = tmp_path / "root.pem"
    root.write_bytes(content)
    line = assert_one_fail(verify(signed / "report.pdf", "--trust-root", root), "trust.roots")
    assert "trust root" in line and "report.pdf" not in line


def test_a_folder_as_trust_root_is_blamed_as_the_trust_root(signed, tmp_path):
    assert_one_fail(verify(signed / "report.pdf", "--trust-root", tmp_path), "trust.roots")


def test_a_missing_path_is_a_usage_error(signed, tmp_path):
    res = verify(tmp_path / "nope.pdf")
    assert res.exit_code == 2 and "does not exist" in res.output
    assert CliRunner().invoke(cli, ["verify"]).exit_code == 2


def test_help_documents_the_exit_codes():
    out = CliRunner().invoke(cli, ["verify", "--help"]).output
    assert "0 verified" in out and "1 not verified" in out and "2 usage error" in out and "--evidence" in out


# --------------------------------------------------------------------------------------------------
# evidence.json beside the report (defect 5)


def test_the_untouched_report_verifies_with_its_sidecar(signed):
    res = verify(signed / "report.pdf", "--trust-root", signed / "ca.pem", "--json")
    assert res.exit_code == 0, res.output
    checks = {c["name"]: c for c in json.loads(res.output)["checks"]}
    assert checks["evidence.sidecar"]["ok"] and checks["pdf.signature.byterange"]["ok"]
    assert checks["pdf.signature.coverage"]["detail"].startswith("coverage ENTIRE_FILE, modifications NONE")
    res = verify(signed / "evidence.intoto.json", "--trust-root", signed / "ca.pem")
    assert res.exit_code == 0 and "OK   evidence.sidecar" in res.output, res.output


def _edited(signed: Path, tmp_path: Path, edit) -> Path:
    record = json.loads((signed / "evidence.json").read_text(encoding="utf-8"))
    edit(record)
    path = tmp_path / "evidence.json"
    path.write_text(_json(record), encoding="utf-8")
    return path


def test_an_edited_sidecar_fails(signed, tmp_path):
    def forge(record):
        record["verdict"]["status"] = "pass"
        record["verdict"]["headline"] = "PASS: forged"

    path = _edited(signed, tmp_path, forge)
    line = assert_one_fail(
        verify(signed / "report.pdf", "--trust-root", signed / "ca.pem", "--evidence", path),
        "evidence.sidecar",
    )
    assert "verdict" in line and "edited after signing" in line
    # the same file beside a copy of the report is picked up without --evidence
    (tmp_path / "report.pdf").write_bytes((signed / "report.pdf").read_bytes())
    assert_one_fail(verify(tmp_path / "report.pdf", "--trust-root", signed / "ca.pem"), "evidence.sidecar")


def test_the_sidecar_must_equal_the_signed_statement_exactly(signed):
    """`run` keeps the durations measured after signing in run-log.json, so nothing in evidence.json
    is exempt: even a timing added or changed there is a difference."""
    predicate = json.loads((signed / "evidence.json").read_text(encoding="utf-8"))
    record = json.loads(json.dumps(predicate))
    assert sidecar_problem(record, predicate)[0] is None
    record["timings"].update(report_s=1.5, total_s=12.0)
    assert "timings" in sidecar_problem(record, predicate)[0]
    record = json.loads(json.dumps(predicate))
    record["timings"]["forged_s"] = 1.0
    assert sidecar_problem(record, predicate)[0] is not None
    assert sidecar_problem([1, 2], predicate)[0] is not None


def test_a_sidecar_that_is_not_json_fails_in_one_line(signed, tmp_path):
    path = tmp_path / "evidence.json"
    path.write_bytes(b"\xff\xfe not json")
    line = assert_one_fail(
        verify(signed / "report.pdf", "--trust-root", signed / "ca.pem", "--evidence", path),
        "evidence.sidecar",
    )
    assert "evidence.json" in line
