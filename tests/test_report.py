"""The report renderer: layout order, escaping, missing keys, no external loads, reproducible PDF."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import jinja2
import pytest
from markupsafe import escape

from auditor.report import render as report
from auditor.report.render import render_html, render_pdf, template_dir

FIXTURE = Path(__file__).parent / "fixtures" / "evidence_sample.json"


@pytest.fixture
def evidence() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sample_pdf() -> tuple[dict, bytes, bytes]:
    """The fixture rendered to PDF twice (the slow part, shared by the PDF tests)."""
    ev = json.loads(FIXTURE.read_text(encoding="utf-8"))
    html = render_html(ev)
    return ev, render_pdf(html, evidence=ev), render_pdf(render_html(ev), evidence=ev)


# --------------------------------------------------------------------------------------------------
# A minimal PDF reader (no third-party dependency): enough to read the Info dictionary and outline
# titles out of WeasyPrint's output, whose objects may sit in compressed object streams.
# --------------------------------------------------------------------------------------------------


def _pdf_bodies(pdf: bytes) -> list[bytes]:
    """The raw file plus every Flate stream decompressed."""
    out = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        start = match.end()
        end = pdf.find(b"endstream", start)
        try:
            out.append(zlib.decompressobj().decompress(pdf[start:end]))
        except zlib.error:
            continue
    return out


def _literal(data: bytes, i: int) -> tuple[bytes, int]:
    """Decode the PDF literal string starting at data[i] == '('; return (bytes, end index)."""
    assert data[i : i + 1] == b"("
    out, depth, i = bytearray(), 1, i + 1
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    while depth:
        c = data[i]
        if c == ord("\\"):
            nxt = data[i + 1]
            if nxt in escapes:
                out += escapes[nxt]
                i += 2
            elif chr(nxt) in "01234567":
                digits = re.match(rb"[0-7]{1,3}", data[i + 1 : i + 4]).group()
                out.append(int(digits, 8) & 0xFF)
                i += 1 + len(digits)
            elif nxt in (ord("\n"), ord("\r")):
                i += 2
            else:
                out.append(nxt)
                i += 2
            continue
        if c == ord("("):
            depth += 1
        elif c == ord(")"):
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(c)
        i += 1
    raise AssertionError("unterminated string")


def _text(raw: bytes) -> str:
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be")
    return raw.decode("latin-1")


def _pdf_strings(pdf: bytes, key: bytes) -> list[str]:
    """Every string value of ``/key`` in the file (literal or hex), decoded."""
    found = []
    for body in _pdf_bodies(pdf):
        for match in re.finditer(rb"/" + key + rb"\s*([(<])", body):
            i = match.start(1)
            if body[i : i + 1] == b"(":
                raw, _ = _literal(body, i)
            else:
                end = body.index(b">", i)
                raw = bytes.fromhex(body[i + 1 : end].decode())
            found.append(_text(raw))
    return found


# --------------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------------


def test_template_dir_holds_the_templates() -> None:
    folder = template_dir()
    assert (folder / "report.html.j2").is_file()
    assert (folder / "report.css").is_file()


def test_template_dir_reports_a_clear_error_when_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "auditor"
    fake.mkdir()
    monkeypatch.setattr(report, "PACKAGE_DIR", fake)
    with pytest.raises(report.TemplatesNotFoundError, match="report.html.j2"):
        template_dir()


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------


def test_sections_in_order(evidence: dict) -> None:
    html = render_html(evidence)
    banner = html.index('id="verdict"')
    headline = html.index(evidence["verdict"]["headline"], banner)
    checks = html.index('id="checks"')
    first_attack = html.index('id="attack-accuracy"')
    assert banner < headline < checks < first_attack
    assert first_attack < html.index('id="attack-threshold"')
    order = [
        "identity",
        "data",
        "models",
        "method",
        "attack-accuracy",
        "attack-threshold",
        "gates",
        "scope",
        "reproducibility",
    ]
    positions = [html.index(f'id="{name}"') for name in order]
    assert positions == sorted(positions)
    assert evidence["verdict"]["statement"] in html
    assert 'class="verdict verdict-pass"' in html


def test_user_strings_are_escaped(evidence: dict) -> None:
    assert "<script>" in evidence["run"]["title"] and "<script>" in evidence["run"]["operator"]
    html = render_html(evidence)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#39;operator&#39;)&lt;/script&gt;" in html


def test_not_estimable_is_printed_instead_of_a_number(evidence: dict) -> None:
    html = render_html(evidence)
    assert "not estimable" in html
    assert "73 negatives &lt; 300 needed for TPR at 1% FPR" in html
    # The row of that metric carries no number in its value cells.
    row = html[html.index("threshold.loss.tpr@fpr=0.01") :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    assert len(cells) == 5  # unlearned, reference, original, gap, n
    for value_cell in cells[:4]:
        assert "not estimable" in value_cell
        assert not re.search(r'class="v"', value_cell)


def test_numbers_and_intervals_are_formatted(evidence: dict) -> None:
    html = render_html(evidence)
    assert "[0.963, 1.000]" in html  # per-model CI, 3 decimals
    assert "+0.007" in html and "[-0.040, +0.052]" in html  # signed gap and its CI
    assert "99.17%" in html  # Bonferroni level of the fail test
    assert "unlearn-audit run examples/digits.yaml" in html
    assert evidence["config_sha256"] in html and evidence["data"]["forget"]["manifest_sha256"] in html


def test_scope_statement_and_gate_rules(evidence: dict) -> None:
    html = render_html(evidence)
    assert (
        "This report is empirical evidence against a model retrained without the forgotten data, "
        "not a proof of unlearning. &#39;No leakage detected&#39; means no leakage was detected by "
        "these attacks at this statistical power."
    ) in html
    assert escape(evidence["gates"]["pass_rule"]) in html
    assert escape(evidence["gates"]["fail_rule"]) in html


def test_no_external_resources(evidence: dict) -> None:
    html = render_html(evidence)
    lowered = html.lower()
    for pattern in (
        'src="http',
        "src='http",
        'href="http',
        "href='http",
        "url(http",
        "url('http",
        'url("http',
        "@import",
        "<link",
        "<script",
    ):
        assert pattern not in lowered, pattern
    assert "<style>" in html and "@page" in html  # the CSS is inlined


@pytest.mark.parametrize(("status", "label"), [("fail", "FAIL"), ("inconclusive", "INCONCLUSIVE")])
def test_fail_and_inconclusive_render_with_their_labels(evidence: dict, status: str, label: str) -> None:
    ev = copy.deepcopy(evidence)
    ev["verdict"].update(
        status=status,
        headline=f"{label}: test headline",
        counts={"pass": 5, status: 1} | ({"fail": 0} if status == "inconclusive" else {"inconclusive": 0}),
    )
    ev["gates"]["results"][0].update(status=status, reason=f"reason for {status}", powered=True)
    html = render_html(ev)
    assert f'class="verdict verdict-{status}"' in html
    assert f'<span class="verdict-status">{label}</span>' in html
    assert f'<span class="badge badge-{status}">{label}</span>' in html
    assert f"{label}: test headline" in html
    assert 'class="verdict verdict-pass"' not in html
    # Without power the same gate reads NOT POWERED (never PASS or a plain status), unless it failed.
    ev["gates"]["results"][0]["powered"] = False
    html = render_html(ev)
    badge = '<span class="badge badge-fail">FAIL</span>' if status == "fail" else "badge-not-powered"
    assert badge in html


def test_unknown_status_is_shown_not_styled_as_pass(evidence: dict) -> None:
    ev = copy.deepcopy(evidence)
    ev["verdict"]["status"] = "weird"
    html = render_html(ev)
    assert 'class="verdict verdict-unknown"' in html and "WEIRD" in html


def test_optional_fields(evidence: dict) -> None:
    ev = copy.deepcopy(evidence)
    metric = ev["attacks"][0]["metrics"][0]
    del metric["values"]["original"]
    metric["gap"] = None
    ev["timings"] = {"train_original_s": 1.5, "report_s": 0.7, "total_s": 75.0}
    html = render_html(ev)
    section = html[html.index('id="attack-accuracy"') :]
    row = section[section.index("accuracy.forget</code></td>") :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    for cell in cells[2:4]:  # no original, no gap: a dash, never a number
        assert cell.strip().startswith('<span class="na">\u2014</span>')
        assert 'class="v"' not in cell
    assert "<td>Report</td>" in html and "1\u00a0min 15\u00a0s" in html and "<td>Attacks</td>" not in html


def test_attack_error_is_shown_instead_of_metrics(evidence: dict) -> None:
    ev = copy.deepcopy(evidence)
    ev["attacks"][1]["error"] = "RuntimeError: out of memory <boom>"
    html = render_html(ev)
    section = html[html.index('id="attack-threshold"') : html.index('id="gates"')]
    assert "did not complete" in section and "RuntimeError: out of memory &lt;boom&gt;" in section
    assert "threshold.loss.auc" not in section  # no metrics table


def test_long_tables_are_capped(evidence: dict) -> None:
    ev = copy.deepcopy(evidence)
    table = ev["attacks"][0]["tables"][0]
    table["rows"] = [[str(i), 45, 0.5, 0.5, 0.5] for i in range(report.MAX_ROWS + 37)]
    html = render_html(ev)
    section = html[html.index(table["title"]) : html.index('id="attack-threshold"')]
    assert section.count("<tr>") == report.MAX_ROWS + 1  # + the header row
    assert f"37 more rows omitted: showing the first {report.MAX_ROWS} of {report.MAX_ROWS + 37}" in section


def test_missing_required_key_raises(evidence: dict) -> None:
    for path in (("verdict", "headline"), ("run", "id"), ("gates", "pass_rule")):
        ev = copy.deepcopy(evidence)
        del ev[path[0]][path[1]]
        with pytest.raises(jinja2.UndefinedError):
            render_html(ev)
    ev = copy.deepcopy(evidence)
    del ev["attacks"][0]["metrics"][0]["label"]
    with pytest.raises(jinja2.UndefinedError):
        render_html(ev)


def test_other_schema_is_refused(evidence: dict) -> None:
    ev = dict(evidence, schema="unlearn-audit/evidence/v2")
    with pytest.raises(ValueError, match="schema"):
        render_html(ev)


def test_html_is_a_pure_function_of_the_evidence(evidence: dict) -> None:
    assert render_html(evidence) == render_html(copy.deepcopy(evidence))


def test_filters() -> None:
    assert report.fmt(None) == "\u2014"
    assert report.fmt(0.12345) == "0.123" and report.fmt(7) == "7" and report.fmt(-0.0001) == "0.000"
    assert report.signed(0.0) == "+0.000" and report.signed(-0.0004) == "+0.000"
    assert report.signed(-0.25) == "-0.250"
    assert report.ci([0.0, 0.0371]) == "[0.000, 0.037]" and report.ci(None) == ""
    assert report.pct(0.95) == "95%" and report.pct(1 - 0.05 / 6) == "99.17%"
    cell = str(report.estimate({"value": None, "ci": None, "n": 73, "note": "not estimable: too few"}))
    assert "not estimable" in cell and "too few" in cell and cell.count("not estimable") == 1
    assert str(report.estimate(None)) == '<span class="na">\u2014</span>'


# --------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------


def test_pdf_is_reproducible(sample_pdf: tuple[dict, bytes, bytes]) -> None:
    _, first, second = sample_pdf
    assert first.startswith(b"%PDF-")
    assert first.rstrip().endswith(b"%%EOF")
    assert first == second


def test_pdf_metadata(sample_pdf: tuple[dict, bytes, bytes]) -> None:
    ev, pdf, _ = sample_pdf
    assert _pdf_strings(pdf, b"Title")[0] == ev["run"]["title"]
    assert ev["verdict"]["headline"] in _pdf_strings(pdf, b"Subject")
    assert _pdf_strings(pdf, b"CreationDate") == ["D:20261123030041Z"]
    assert _pdf_strings(pdf, b"ModDate") == ["D:20261123030041Z"]
    bodies = b"".join(_pdf_bodies(pdf))
    assert len(re.findall(rb"/Type\s*/Page\b", bodies)) >= 1
    # PDF/A-3b identification in the XMP metadata, and an sRGB output intent.
    assert b'pdfaid:part="3"' in bodies and b'pdfaid:conformance="B"' in bodies
    assert b"/OutputIntents" in bodies
    # The XMP dates are the run's too.
    assert b"2026-11-23T03:00:41Z" in bodies


def test_pdf_outline_carries_the_verdict(sample_pdf: tuple[dict, bytes, bytes]) -> None:
    """The headline is laid out in the document: WeasyPrint turns its heading into a bookmark."""
    ev, pdf, _ = sample_pdf
    titles = _pdf_strings(pdf, b"Title")
    assert ev["verdict"]["headline"] in titles and "Verdict PASS" in titles
    assert "Checks" in titles and "Reproducibility" in titles


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdf_text(sample_pdf: tuple[dict, bytes, bytes], tmp_path: Path) -> None:
    ev, pdf, _ = sample_pdf
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    assert ev["verdict"]["headline"] in flat
    assert "not estimable" in flat
    assert f"Run {ev['run']['id']}" in flat and "Page 1 of" in flat


def test_fetcher_refuses_everything_but_data_and_template_files(tmp_path: Path) -> None:
    from weasyprint.urls import FatalURLFetchingError, fetch

    fetcher = report.local_url_fetcher()
    with fetch(fetcher, "data:text/plain;base64,aGk=") as resource:
        assert resource.read() == b"hi"
    with fetch(fetcher, (template_dir() / "report.css").as_uri()) as resource:
        assert b"@page" in resource.read()
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    for url in (
        "https://example.com/logo.png",
        "http://127.0.0.1/x.css",
        "ftp://example.com/f",
        outside.as_uri(),
        (template_dir() / ".." / "pyproject.toml").as_uri(),
    ):
        with pytest.raises(FatalURLFetchingError), fetch(fetcher, url):
            pass


def test_pdf_with_an_external_reference_fails(evidence: dict) -> None:
    from weasyprint.urls import FatalURLFetchingError

    html = render_html(evidence).replace("</body>", '<img src="https://example.com/track.png"></body>')
    with pytest.raises(FatalURLFetchingError):
        render_pdf(html, evidence=evidence)
