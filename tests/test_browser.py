"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``) loads it offline,
every figure decodes, and nothing is fetched from anywhere."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from auditor.cli.commands import cli
from tests.helpers import tiny_config

pytestmark = pytest.mark.chromium

# Appended to a copy of the report: after load, write what the browser saw into the DOM.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
  const external = performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.startsWith("data:"));
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({images: imgs.length, broken, external, sheets: document.styleSheets.length});
  document.body.appendChild(out);
});
</script>"""


def test_report_renders_in_headless_chromium(write_config, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium not found: install Debian's chromium (make system-deps does)"
    cfg = write_config(tiny_config(report={"formats": ["html"]}))
    res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(tmp_path / "out"), "-q", "--no-sign"])
    assert res.exit_code in (0, 1), res.output
    html = (tmp_path / "out" / "report.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"))
    run = subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=5000",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, "the page did not finish loading: " + run.stderr[-2000:]
    import html as html_lib
    import json

    seen = json.loads(html_lib.unescape(found.group(1)))
    assert seen["images"] >= 2 and seen["broken"] == [], seen  # the threshold attack's ROC and histogram
    assert seen["external"] == [] and seen["sheets"] >= 1, seen
    console_errors = [line for line in run.stderr.splitlines() if "CONSOLE" in line and "rror" in line]
    assert console_errors == []
    assert "FAIL" in run.stdout and "threshold.loss.auc" in run.stdout
