"""The built wheel ships the report templates, and the installed layout finds them.

Builds the wheel with ``python -m build`` (an isolated build environment; pip fetches hatchling
from the configured package index), then imports ``auditor.report.render`` from the wheel's extracted
files in a fresh interpreter, so the source tree's ``templates/`` cannot be what is found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "evidence_sample.json"

PROBE = """
import json, sys
from pathlib import Path
import auditor
from auditor.report import render as report
evidence = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
html = report.render_html(evidence)
print(json.dumps({"auditor": auditor.__file__, "template_dir": str(report.template_dir()),
                  "headline_rendered": evidence["verdict"]["headline"] in html, "length": len(html)}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the 'build' package (dev extra) is needed to build the wheel")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=out,
    )
    assert proc.returncode == 0, f"wheel build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contains_the_templates(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "auditor/templates/report.html.j2" in names
        assert "auditor/templates/report.css" in names
        assert "auditor/report/render.py" in names
        # Every template in the source tree made it into the wheel, byte for byte.
        for path in (REPO / "templates").iterdir():
            if path.is_file():
                assert zf.read(f"auditor/templates/{path.name}") == path.read_bytes(), path.name


def test_installed_layout_finds_its_templates(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist() if n.startswith("auditor/")]
        zf.extractall(site, members=members)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(FIXTURE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(result["auditor"]).resolve().is_relative_to(site.resolve()), result
    assert Path(result["template_dir"]).resolve() == (site / "auditor" / "templates").resolve()
    assert result["headline_rendered"] and result["length"] > 10_000
