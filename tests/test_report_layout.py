"""The report's layout, measured: nothing wider than its page or its column in a real browser
(headless Chromium), no text past the PDF's page edge (pdftotext's bounding boxes), page 1 on one
page, and a tagged PDF/A-3b.

Rendered for a FAIL, a PASS and an INCONCLUSIVE record, and for copies carrying every optional field
of the evidence contract (record IDs, the saved model file, sensitivity, per-record rows).
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.report.recheck import recompute
from auditor.report.render import render_html, render_pdf
from tests.report_records import all_records

# After load, measure every element; write what overflows into the DOM for --dump-dom to return.
PROBE = """<script>
window.addEventListener("load", () => {
  const slack = 1.5;
  const body = document.body.getBoundingClientRect();
  const bad = [];
  const name = el => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ")[0] : "")
    + " '" + (el.textContent || "").trim().slice(0, 60) + "'";
  for (const el of document.body.querySelectorAll("*")) {
    if (el.id === "probe" || el.tagName === "SCRIPT") continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < body.left - slack || r.right > body.right + slack) bad.push("page: " + name(el));
    const cell = el.parentElement && el.parentElement.closest("td, th");
    if (cell) {
      const c = cell.getBoundingClientRect();
      if (r.right > c.right + slack || r.left < c.left - slack) bad.push("column: " + name(el));
    }
    if (el.scrollWidth > el.clientWidth + 2 && el.clientWidth > 0 && getComputedStyle(el).display !== "inline")
      bad.push("content: " + name(el) + " " + el.scrollWidth + " > " + el.clientWidth);
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) bad.push("document scrolls sideways: " + doc.scrollWidth);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({bad: bad.slice(0, 25), count: bad.length});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[dict, str]]:
    out = {name: (ev, render_html(ev)) for name, ev in all_records().items()}
    ev = all_records()["inconclusive+contract"]
    edited = {**ev, "verdict": {**ev["verdict"], "status": "pass"}}  # an edited record, re-rendered
    out["edited+unsigned"] = (edited, render_html(edited, rerendered=True, recheck=recompute(edited)))
    return out


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium not found: install Debian's chromium (make system-deps does)"
    return exe


@pytest.mark.chromium
@pytest.mark.parametrize("width", [1280, 820])
def test_no_element_is_wider_than_its_page_or_column(rendered, tmp_path, width):
    exe = _chromium()
    for name, (_, html) in rendered.items():
        page = tmp_path / f"{name.replace('+', '-')}.html"
        page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        run = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--window-size={width},1000",
                "--virtual-time-budget=5000",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
        assert found, f"{name}: the page did not finish loading: " + run.stderr[-2000:]
        seen = json.loads(html_lib.unescape(found.group(1)))
        assert seen["count"] == 0, f"{name} at {width} px: {seen['bad']}"


def test_the_probe_finds_an_overflow(tmp_path):
    """The same measurement on a page with a table cell too narrow for its content (the probe's control)."""
    exe = _chromium()
    page = tmp_path / "bad.html"
    page.write_text(
        "<html><body style='max-width:400px'><table style='table-layout:fixed;width:100%'><tr>"
        "<td style='width:20%'><span style='white-space:nowrap'>±0.0542145+0.367 gap and tolerance run together"
        "</span></td><td>x</td></tr></table>" + PROBE + "</body></html>",
        encoding="utf-8",
    )
    run = subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=3000",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    seen = json.loads(html_lib.unescape(re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S).group(1)))
    assert seen["count"] > 0 and any(b.startswith("column: span") for b in seen["bad"])


# --------------------------------------------------------------------------------------------------
# PDF


PDF_RECORDS = ("fail", "pass", "inconclusive+contract", "edited+unsigned")


@pytest.fixture(scope="module")
def pdfs(rendered, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("layout-pdfs")
    out = {}
    for name in PDF_RECORDS:
        ev, html = rendered[name]
        path = folder / f"{name.replace('+', '-')}.pdf"
        path.write_bytes(render_pdf(html, evidence=ev))
        out[name] = path
    return out


def _words(pdf: Path) -> list[tuple[int, float, float, float, str]]:
    """(page, page width, xMin, xMax, word) for every word, from pdftotext's bounding boxes."""
    xml = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    out = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", xml, re.S), start=1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        for x0, x1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</word>', page
        ):
            out.append((number, width, float(x0), float(x1), html_lib.unescape(word)))
    return out


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize("name", PDF_RECORDS)
def test_no_pdf_text_runs_past_the_page_edge(pdfs, name):
    mm = 72 / 25.4
    words = _words(pdfs[name])
    assert len(words) > 500
    # The page's side margins are 16 mm: every word lies inside them (a little slack for glyph overhang).
    outside = [w for w in words if w[2] < 16 * mm - 2 or w[3] > w[1] - 16 * mm + 2]
    assert outside == [], outside[:10]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize("name", PDF_RECORDS)
def test_page_one_is_the_whole_decision(pdfs, rendered, name):
    ev, _ = rendered[name]

    def page(n: int) -> str:
        text = subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), str(pdfs[name]), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return " ".join(text.split())

    first, second = page(1), page(2)
    for needle in (
        "The request",
        "The model",
        "What was checked",
        "How sure",
        "Not checked",
        "Signed.",
        "Verify: unlearn-audit verify report.pdf",
        ev["run"]["request_id"],
        ev["data"]["forget"]["manifest_sha256"][:20],
        "Thudi et al., USENIX Security 2022",
        "steganography",
    ):
        assert needle in first, needle
    assert "Verify:" not in second and "How sure" not in second  # nothing of page 1 spilled over
    if name.endswith("unsigned"):
        assert first.index("UNSIGNED COPY") < first.index("VERDICT") and "INCONCLUSIVE UNSIGNED COPY" in first
        assert "UNSIGNED COPY, not verifiable" in second  # in every page's footer
    assert "Claims and verdict" in second or "Record check" in second
    # No metric key in the verdict's reason on page 1.
    reason = first[first.index("VERDICT") : first.index("The request")]
    assert not re.search(r"\b[a-z_]+\.[a-z_]+(\.[a-z_@=0-9.]+)?\b", reason.replace("e.g.", "")), reason


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="pdfinfo (poppler-utils) is not installed")
def test_pdf_is_tagged(pdfs):
    info = subprocess.run(["pdfinfo", str(pdfs["fail"])], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
