"""``unlearn-audit report``: a re-rendering is UNSIGNED as prominently as its verdict, recomputes the
verdict from the record's gates (an edited evidence.json cannot show a PASS over failed gates), and
exits with that verdict's code."""

from __future__ import annotations

import copy
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from junitparser import Failure, JUnitXml

from auditor.cli.commands import cli
from auditor.report.recheck import gate_problems, recompute

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _report(tmp_path: Path, evidence: dict, *formats: str) -> tuple[object, Path]:
    folder = tmp_path / "again"
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(evidence), encoding="utf-8")
    args = ["report", str(path), "--out", str(folder)]
    for fmt in formats or ("html",):
        args += ["--format", fmt]
    return CliRunner().invoke(cli, args), folder


@pytest.mark.parametrize("name", ["evidence_mnist1d_fail.json", "evidence_digits_pass.json"])
def test_recomputing_an_untouched_record_gives_its_own_verdict(name):
    ev = _load(name)
    check = recompute(ev)
    assert check.consistent
    # what the rule decides is the record's; fields added since (controls' "required") may be new
    for key in ("status", "headline", "statement", "counts", "claims", "categories"):
        assert check.verdict[key] == ev["verdict"][key], key
    assert {n: c["caught_by"] for n, c in check.verdict["controls"].items()} == {
        n: c["caught_by"] for n, c in ev["verdict"]["controls"].items()
    }


def test_an_edited_verdict_is_recomputed_from_the_gates_and_shown_unsigned(tmp_path):
    ev = _load("evidence_mnist1d_fail.json")
    edited = copy.deepcopy(ev)
    edited["verdict"].update(status="pass", headline="PASS: all good")
    res, folder = _report(tmp_path, edited, "html", "junit")
    assert res.exit_code == 1, res.output  # the recomputed FAIL, not the edited PASS
    assert "recomputed from the gates: FAIL" in res.output
    assert "the record's verdict is PASS, but its gates give FAIL" in res.output
    html = (folder / "report.html").read_text()
    assert 'class="verdict verdict-fail"' in html and 'class="verdict verdict-pass"' not in html
    assert "PASS: all good" not in html
    # UNSIGNED comes first on page 1, as large as the verdict, before the verdict itself.
    decision = html[html.index('id="decision"') : html.index('id="record-check"')]
    assert decision.index('id="unsigned"') < decision.index('id="verdict"')
    assert '<span class="unsigned-label">UNSIGNED COPY</span>' in decision
    assert "the record disagrees with them" in decision
    assert "the record&#39;s verdict is PASS, but its gates give FAIL" in html
    xml = JUnitXml.fromfile(str(folder / "junit.xml"))
    verdict = next(case for suite in xml for case in suite if case.name == "verdict")
    assert isinstance(verdict.result[0], Failure) and verdict.result[0].message == ev["verdict"]["headline"]


def test_edited_gate_statuses_are_checked_against_their_intervals(tmp_path):
    edited = _load("evidence_mnist1d_fail.json")
    for gate in edited["gates"]["results"]:
        gate["status"] = "pass"
    edited["verdict"]["status"] = "pass"
    problems = [p for g in edited["gates"]["results"] for p in gate_problems(g)]
    assert any("accuracy.forget: its interval lies wholly outside" in p for p in problems)
    res, folder = _report(tmp_path, edited)
    assert res.exit_code == 1
    assert 'class="verdict verdict-fail"' in (folder / "report.html").read_text()


@pytest.mark.parametrize(
    ("name", "code"), [("evidence_digits_pass.json", 0), ("evidence_mnist1d_fail.json", 1)]
)
def test_report_exits_with_the_verdicts_code_and_writes_readable_files(tmp_path, name, code):
    res, folder = _report(tmp_path, _load(name), "html", "junit", "markdown")
    assert res.exit_code == code, res.output
    for file in ("report.html", "junit.xml", "summary.md"):
        assert stat.S_IMODE((folder / file).stat().st_mode) == 0o644, file
    html = (folder / "report.html").read_text()
    assert "UNSIGNED COPY" in html and "Record check" not in html


def test_redacted_rerendering_leaves_out_paths_and_commands(tmp_path):
    ev = _load("evidence_mnist1d_fail.json")
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(ev), encoding="utf-8")
    res = CliRunner().invoke(
        cli, ["report", str(path), "--out", str(tmp_path), "--format", "html", "--redacted"]
    )
    assert res.exit_code == 1
    html = (tmp_path / "report.html").read_text()
    assert ev["run"]["command"] not in html and "/home/reviewer" not in html
    assert ev["models"]["unlearned"]["sha256"] in html  # digests stay


def test_not_an_evidence_record_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    res = CliRunner().invoke(cli, ["report", str(bad)])
    assert res.exit_code == 2 and "not an unlearn-audit evidence record" in res.output
    broken = _load("evidence_digits_pass.json")
    broken["gates"] = {"results": "edited"}
    bad.write_text(json.dumps(broken))
    res = CliRunner().invoke(cli, ["report", str(bad)])
    assert res.exit_code == 2 and "cannot be recomputed" in res.output
