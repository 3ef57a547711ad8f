"""CI outputs: JUnit parsed back with a real JUnit parser, Markdown summary, GitHub annotations,
and re-rendering reports from the evidence."""

from __future__ import annotations

import json

from click.testing import CliRunner
from junitparser import Failure, JUnitXml, Skipped

from auditor.cli.commands import cli
from tests.helpers import tiny_config


def test_junit_summary_and_annotations_match_the_evidence(write_config, tmp_path, monkeypatch):
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "run",
            str(write_config(tiny_config())),
            "--out",
            str(out),
            "-q",
            "--junit-xml",
            str(out / "junit.xml"),
            "--summary-md",
            str(out / "summary.md"),
        ],
    )
    assert res.exit_code == 1, res.output
    ev = json.loads((out / "evidence.json").read_text())
    gates = ev["gates"]["results"]
    xml = JUnitXml.fromfile(str(out / "junit.xml"))
    suite = next(iter(xml))
    cases = {case.name: case for case in suite}
    assert set(cases) == {g["metric"] for g in gates}
    for g in gates:
        results = cases[g["metric"]].result
        if g["status"] == "fail":
            assert any(isinstance(r, Failure) for r in results)
        elif g["status"] == "inconclusive":
            assert any(isinstance(r, Skipped) for r in results)
        else:
            assert not results
    assert suite.failures == sum(g["status"] == "fail" for g in gates) > 0
    props = {p.name: p.value for p in suite.properties()}
    assert (
        props["verdict"] == "FAIL" and props["model.unlearned.sha256"] == ev["models"]["unlearned"]["sha256"]
    )
    summary = (out / "summary.md").read_text()
    assert ev["verdict"]["headline"] in summary and "accuracy.forget" in summary
    assert step_summary.read_text() == "previous step\n" + summary
    annotations = [line for line in res.output.splitlines() if line.startswith("::error")]
    assert len(annotations) == sum(g["status"] == "fail" for g in gates)
    assert "title=Gate accuracy.forget" in annotations[0] and "\n" not in annotations[0]


def test_report_rerenders_from_evidence(write_config, tmp_path):
    out = tmp_path / "out"
    CliRunner().invoke(cli, ["run", str(write_config(tiny_config())), "--out", str(out), "-q"])
    again = tmp_path / "again"
    again.mkdir()
    res = CliRunner().invoke(
        cli,
        [
            "report",
            str(out / "evidence.json"),
            "--out",
            str(again),
            "--format",
            "html",
            "--format",
            "junit",
            "--format",
            "markdown",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "FAIL" in (again / "report.html").read_text()
    assert (again / "junit.xml").read_text().startswith("<?xml")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    res = CliRunner().invoke(cli, ["report", str(bad)])
    assert res.exit_code == 2 and "not an unlearn-audit evidence record" in res.output
