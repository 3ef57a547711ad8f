"""CI outputs: JUnit parsed back with a real JUnit parser (junitparser), the Markdown summary, GitHub
annotations, file modes, and re-rendering reports from the evidence.

A CI view counts testcases, so an unsettled audit must never read as all green: the verdict and each
claim are testcases that fail for FAIL and INCONCLUSIVE, and a gate that cannot catch the original is
skipped with its reason, never passed.
"""

from __future__ import annotations

import copy
import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from junitparser import Error, Failure, JUnitXml, Skipped

from auditor.cli.commands import cli
from auditor.judge.states import gate_state
from auditor.report.machine import console_lines, github_annotations, junit_xml, summary_markdown
from tests.helpers import tiny_config
from tests.report_records import failing, inconclusive, passing


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    return {"fail": failing(), "pass": passing(), "inconclusive": inconclusive()}


def _parse(tmp_path: Path, evidence: dict) -> dict:
    path = tmp_path / "junit.xml"
    path.write_text(junit_xml(evidence), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {"unlearn-audit: verdict", "unlearn-audit: gates", "unlearn-audit: attacks"}
    return {name: {case.name: case for case in suite} for name, suite in suites.items()} | {"_xml": xml}


NUMBER = re.compile(r"(?<![\w.])[-+]?(\d+\.\d+)(?![\w.])")


def max_significant_digits(text: str) -> int:
    """The most significant digits of any decimal number in ``text`` (hashes and versions excluded)."""
    digits = [len(m.group(1).replace(".", "").lstrip("0")) for m in NUMBER.finditer(text)]
    return max(digits, default=0)


def _kinds(case) -> set[type]:
    return {type(r) for r in case.result}


@pytest.mark.parametrize("status", ["fail", "inconclusive"])
def test_an_unsettled_verdict_is_a_failing_testcase(records, tmp_path, status):
    ev = records[status]
    cases = _parse(tmp_path, ev)
    verdict = cases["unlearn-audit: verdict"]["verdict"]
    (failure,) = verdict.result
    assert isinstance(failure, Failure) and failure.message == ev["verdict"]["headline"]
    assert failure.type == {"fail": "AuditFailed", "inconclusive": "AuditInconclusive"}[status]
    xml = cases["_xml"]
    assert xml.failures >= 1  # a JUnit viewer shows red, never "all passed"
    claims = {k: v for k, v in cases["unlearn-audit: verdict"].items() if k != "verdict"}
    assert set(claims) == set(ev["verdict"]["claims"])
    for name, case in claims.items():
        shown = ev["verdict"]["categories"][name]["status"]
        assert (Failure in _kinds(case)) == (shown != "pass"), name


def test_a_pass_has_no_failing_testcase_and_unpowered_gates_are_skipped(records, tmp_path):
    ev = records["pass"]
    cases = _parse(tmp_path, ev)
    assert cases["_xml"].failures == 0 and cases["_xml"].errors == 0
    assert not cases["unlearn-audit: verdict"]["verdict"].result
    gates = cases["unlearn-audit: gates"]
    assert set(gates) == {g["metric"] for g in ev["gates"]["results"]}
    unpowered = [g for g in ev["gates"]["results"] if gate_state(g).state == "not powered"]
    assert unpowered, "the fixture has gates without power"
    for g in ev["gates"]["results"]:
        results = gates[g["metric"]].result
        if g in unpowered:
            (skip,) = results
            assert isinstance(skip, Skipped) and skip.message.startswith("not powered: ")
            assert g["power_reason"] in skip.message
        else:
            assert not results  # a powered pass
    assert cases["_xml"].skipped == len(unpowered)


def test_gate_testcases_carry_their_own_state(records, tmp_path):
    ev = records["inconclusive"]
    gates = _parse(tmp_path, ev)["unlearn-audit: gates"]
    (undecided,) = gates["accuracy.forget"].result
    assert isinstance(undecided, Failure) and undecided.type == "GateUndecided"
    fail = records["fail"]
    gates = _parse(tmp_path, fail)["unlearn-audit: gates"]
    for g in fail["gates"]["results"]:
        kinds = _kinds(gates[g["metric"]])
        assert (Failure in kinds) == (g["status"] == "fail")
        if g["status"] == "fail":
            (failure,) = gates[g["metric"]].result
            assert failure.type == "GateFailed" and failure.message.startswith("|gap| ")


def test_no_sign_inside_absolute_value_bars_and_units_on_gaps(records):
    for ev in records.values():
        text = junit_xml(ev) + summary_markdown(ev) + "\n".join(console_lines(ev))
        assert not re.search(r"\|gap\|\s*[-+\u2212]", text)
        assert "pp" in text and "AUC" in text  # shares in percentage points, AUC in AUC
        shown = re.sub(r'time="[^"]*"', "", text)  # JUnit times are seconds to the millisecond
        assert max_significant_digits(shown) <= 4  # never the 6-7 digits of the raw record


def test_each_attack_runtime_is_counted_once(records, tmp_path):
    ev = records["fail"]
    cases = _parse(tmp_path, ev)
    for attack in ev["attacks"]:
        assert cases["unlearn-audit: attacks"][attack["name"]].time == pytest.approx(
            attack["runtime_s"], abs=1e-3
        )
    for case in cases["unlearn-audit: gates"].values():
        assert not case.time  # no runtime repeated per gate
    suites = {s.name: s for s in cases["_xml"]}
    total = sum(a["runtime_s"] for a in ev["attacks"])
    assert suites["unlearn-audit: attacks"].time == pytest.approx(total, abs=1e-2)


def test_a_crashed_attack_is_an_error(records, tmp_path):
    ev = copy.deepcopy(records["fail"])
    ev["attacks"][1]["error"] = "RuntimeError: boom"
    case = _parse(tmp_path, ev)["unlearn-audit: attacks"][ev["attacks"][1]["name"]]
    assert Error in _kinds(case)


def test_annotations_lead_with_the_verdict(records):
    for status, level in (("fail", "::error "), ("inconclusive", "::warning "), ("pass", "::notice ")):
        lines = github_annotations(records[status])
        assert lines[0].startswith(level) and "unlearn-audit verdict%3A " + status.upper() in lines[0]
        assert all("\n" not in line for line in lines) and len(lines) <= 10
    fails = github_annotations(records["fail"])[1:]
    assert len(fails) == sum(g["status"] == "fail" for g in records["fail"]["gates"]["results"])
    assert all(line.startswith("::error ") and "title=Gate " in line for line in fails)


def test_summary_and_console_show_states(records):
    ev = records["pass"]
    summary = summary_markdown(ev)
    lines = console_lines(ev)
    for g in ev["gates"]["results"]:
        label = gate_state(g).label
        assert any(f"`{g['metric']}`" in row and label in row for row in summary.splitlines())
        assert any(g["metric"] in line and line.strip().startswith(label) for line in lines)
    assert "NOT POWERED" in summary and "not powered (of" in lines[-1]
    assert ev["verdict"]["headline"] in summary


def test_run_writes_world_readable_ci_files_and_annotates(write_config, tmp_path, monkeypatch):
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
    for name in ("junit.xml", "summary.md"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    xml = JUnitXml.fromfile(str(out / "junit.xml"))
    verdict = next(case for suite in xml for case in suite if case.name == "verdict")
    assert verdict.result and verdict.result[0].message == ev["verdict"]["headline"]
    summary = (out / "summary.md").read_text()
    assert step_summary.read_text() == "previous step\n" + summary
    annotations = [line for line in res.output.splitlines() if line.startswith("::")]
    assert annotations[0].startswith("::error ") and "verdict" in annotations[0]
    assert len(annotations) == 1 + sum(g["status"] == "fail" for g in ev["gates"]["results"])
    assert "title=Gate accuracy.forget" in annotations[1]
    # The console lines carry the display state: no gate without power reads PASS.
    for g in ev["gates"]["results"]:
        line = next(x for x in res.output.splitlines() if f" {g['metric']} " in x)
        assert line.strip().startswith(gate_state(g).label)
