"""Machine outputs that gate a release in CI: JUnit XML, a Markdown summary, GitHub annotations.

Each is a pure function of the evidence record. The JUnit file never shows an unsettled audit as
green: a test viewer (GitLab's test report, a JUnit action on GitHub, junitparser) counts testcases,
so the verdict and each claim are testcases of their own, and they fail for FAIL *and* for
INCONCLUSIVE, with the verdict's headline as the message. Three suites:

* ``unlearn-audit: verdict``: one testcase for the verdict and one per claimed category;
* ``unlearn-audit: gates``: one per gate, carrying its display state
  (:func:`auditor.judge.states.gate_state`): a failed gate is a ``<failure>``; a powered gate that
  is undecided where it blocks a pass is a ``<failure>`` too; a gate that cannot catch the original
  is ``<skipped>`` ("not powered", with the reason), never a pass; a powered pass passes;
* ``unlearn-audit: attacks``: one per attack with its runtime (a crashed attack is an
  ``<error>``), so each runtime is counted once, not once per gate.

Under GitHub Actions, :func:`github_annotations` gives an ``::error`` (FAIL) or ``::warning``
(INCONCLUSIVE) for the verdict, then one ``::error`` per failed gate and crashed attack, ten at most.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from auditor.judge.states import FAIL, INCONCLUSIVE, NOT_POWERED, PASS, gate_state, state_counts
from auditor.report.numbers import DASH, percent, unit_of
from auditor.report.words import category_lines, label_of, metrics_by_key, verdict_reason

MAX_ANNOTATIONS = 10


def _gates(evidence: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [g for g in (evidence.get("gates") or {}).get("results") or () if isinstance(g, Mapping)]


def _attacks(evidence: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in evidence.get("attacks") or () if isinstance(a, Mapping)]


def blocks_pass(gate: Mapping[str, Any], claims: list[str]) -> bool:
    """Whether an undecided gate stands between this audit and a PASS.

    A powered gate of a claimed category always does; so does any gate whose record says so
    (``blocks_pass``: it keeps more than half of the original's gap).
    """
    return bool(gate.get("blocks_pass")) or (bool(gate.get("powered")) and gate.get("category") in claims)


def gate_text(gate: Mapping[str, Any]) -> str:
    """A gate's numbers with units: gap, interval, tolerance (the sign stays outside ``|...|``)."""
    unit = unit_of(str(gate.get("metric")))
    gap = gate.get("gap")
    if gap is None:
        return "gap not estimable at this sample size"
    level = gate.get("equivalence_level")
    ci = unit.interval(gate.get("equivalence_ci"))
    text = f"gap {unit.gap(gap)}"
    if ci:
        text += f", {percent(level, 0)} interval {ci}" if level else f", interval {ci}"
    text += f", tolerance \u00b1{unit.magnitude(gate.get('tolerance'))}"
    return text


def _testsuite(
    parent: ET.Element, name: str, cases: list[ET.Element], *, time: float | None, **attrs: str
) -> None:
    values = {
        "name": name,
        "tests": str(len(cases)),
        "failures": str(sum(c.find("failure") is not None for c in cases)),
        "errors": str(sum(c.find("error") is not None for c in cases)),
        "skipped": str(sum(c.find("skipped") is not None for c in cases)),
        **({"time": f"{time:.3f}"} if time is not None else {}),
        **attrs,
    }
    suite = ET.SubElement(parent, "testsuite", values)
    for case in cases:
        suite.append(case)


def _case(classname: str, name: str, *, file: str, time: float | None = None) -> ET.Element:
    attrs = {"classname": classname, "name": name}
    if file:
        attrs["file"] = file
    if time is not None:
        attrs["time"] = f"{time:.3f}"
    return ET.Element("testcase", attrs)


def _verdict_cases(evidence: Mapping[str, Any], config_file: str) -> list[ET.Element]:
    """The verdict's testcase, then one per claimed category; each fails unless it is a PASS."""
    verdict = evidence["verdict"]
    status = str(verdict.get("status"))
    top = _case("unlearn-audit", "verdict", file=config_file)
    body = (
        f"{verdict.get('headline')}\n{verdict_reason(evidence, verdict)}\n"
        f"Checks: {state_counts(_gates(evidence)).words()}."
    )
    if status == PASS:
        ET.SubElement(top, "system-out").text = body
    else:
        kind = "AuditFailed" if status == FAIL else "AuditInconclusive"
        ET.SubElement(top, "failure", type=kind, message=str(verdict.get("headline"))).text = body
    cases = [top]
    for line in category_lines(evidence, verdict):
        if not line.claimed:
            continue
        case = _case("unlearn-audit.claims", line.name, file=config_file)
        text = f"{line.question}\n{line.check}\n{line.power}".strip()
        if line.status == PASS:
            ET.SubElement(case, "system-out").text = text
        elif line.status == FAIL:
            message = f"{line.title}: FAIL. {line.check}"
            ET.SubElement(case, "failure", type="ClaimFailed", message=message).text = text
        else:
            message = f"{line.title}: not shown (no check with power passed). {line.check}"
            ET.SubElement(case, "failure", type="ClaimNotShown", message=message).text = text
        cases.append(case)
    return cases


def _gate_case(
    g: Mapping[str, Any], *, claims: list[str], metrics: Mapping[str, Any], config_file: str
) -> ET.Element:
    """One gate's testcase, carrying its display state."""
    metric = str(g.get("metric"))
    state = gate_state(g)
    unit = unit_of(metric)
    case = _case(f"unlearn-audit.gates.{g.get('category') or 'gate'}", metric, file=config_file)
    detail = f"{label_of(metric, metrics)}: {gate_text(g)}. {state.reason}".strip()
    if state.state == FAIL:
        message = (
            f"|gap| {unit.magnitude(g.get('gap'))} beyond the tolerance {unit.magnitude(g.get('tolerance'))}"
        )
        ET.SubElement(case, "failure", type="GateFailed", message=message).text = detail
    elif state.state == NOT_POWERED:
        ET.SubElement(case, "skipped", message=f"not powered: {state.reason}").text = detail
    elif state.state == INCONCLUSIVE and blocks_pass(g, claims):
        message = f"undecided, blocks a pass: {g.get('reason')}"
        ET.SubElement(case, "failure", type="GateUndecided", message=message).text = detail
    elif state.state == INCONCLUSIVE:
        ET.SubElement(case, "skipped", message=f"undecided: {g.get('reason')}").text = detail
    else:
        ET.SubElement(case, "system-out").text = detail
    return case


def _attack_cases(evidence: Mapping[str, Any], config_file: str) -> list[ET.Element]:
    """One testcase per attack with its runtime (counted once); a crashed attack is an error."""
    cases = []
    for a in _attacks(evidence):
        runtime = a.get("runtime_s")
        time = float(runtime) if isinstance(runtime, (int, float)) else None
        case = _case("unlearn-audit.attacks", str(a.get("name")), file=config_file, time=time)
        if a.get("error"):
            trace = str(a.get("traceback") or a["error"])
            ET.SubElement(case, "error", type="AttackError", message=str(a["error"])).text = trace
        cases.append(case)
    return cases


def _properties(evidence: Mapping[str, Any]) -> ET.Element:
    run = evidence.get("run") or {}
    verdict = evidence.get("verdict") or {}
    counts = state_counts(_gates(evidence))
    props = ET.Element("properties")
    for name, value in (
        ("verdict", str(verdict.get("status")).upper()),
        ("headline", verdict.get("headline")),
        ("run_id", run.get("id")),
        ("request_id", run.get("request_id")),
        ("model.unlearned.sha256", ((evidence.get("models") or {}).get("unlearned") or {}).get("sha256")),
        ("config_sha256", evidence.get("config_sha256")),
        ("forget_manifest_sha256", ((evidence.get("data") or {}).get("forget") or {}).get("manifest_sha256")),
        ("gates.powered", counts.powered),
        ("gates.not_powered", counts.not_powered),
    ):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=str(value))
    return props


def junit_xml(evidence: dict[str, Any]) -> str:
    """JUnit XML: the verdict and each claimed category, each gate with its state, each attack once."""
    run = evidence.get("run") or {}
    verdict = evidence["verdict"]
    claims = list(
        verdict.get("claims") or [c for c, r in (verdict.get("categories") or {}).items() if r.get("claimed")]
    )
    config_file = str(run.get("config_path") or "")
    metrics = metrics_by_key(evidence)
    verdict_cases = _verdict_cases(evidence, config_file)
    gate_cases = [
        _gate_case(g, claims=claims, metrics=metrics, config_file=config_file) for g in _gates(evidence)
    ]
    attack_cases = _attack_cases(evidence, config_file)

    timings = evidence.get("timings") or {}
    total_s = timings.get("total_s")
    if not isinstance(total_s, (int, float)):  # known only after signing (run-log.json): the phases bound it
        total_s = sum(v for v in timings.values() if isinstance(v, (int, float)))
    everything = verdict_cases + gate_cases + attack_cases
    suites = ET.Element(
        "testsuites",
        name="unlearn-audit",
        tests=str(len(everything)),
        failures=str(sum(c.find("failure") is not None for c in everything)),
        errors=str(sum(c.find("error") is not None for c in everything)),
        skipped=str(sum(c.find("skipped") is not None for c in everything)),
        time=f"{float(total_s):.3f}",
    )
    stamp = str(run.get("finished_utc") or "").rstrip("Z")
    _testsuite(suites, "unlearn-audit: verdict", verdict_cases, time=None, timestamp=stamp)
    suites[0].insert(0, _properties(evidence))
    _testsuite(suites, "unlearn-audit: gates", gate_cases, time=None, timestamp=stamp)
    attack_time = sum(float(c.get("time", 0.0)) for c in attack_cases)
    _testsuite(suites, "unlearn-audit: attacks", attack_cases, time=attack_time, timestamp=stamp)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


# --------------------------------------------------------------------------------------------------
# Markdown summary ($GITHUB_STEP_SUMMARY, merge-request comments)


def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


ICONS = {FAIL: "\u274c", PASS: "\u2705", INCONCLUSIVE: "\u26a0\ufe0f", NOT_POWERED: "\u2796"}


def summary_markdown(evidence: dict[str, Any], *, files: dict[str, str] | None = None) -> str:
    """A short Markdown summary: the verdict in words, a table per claim and per gate, digests."""
    v = evidence["verdict"]
    status = str(v.get("status"))
    gates = _gates(evidence)
    counts = state_counts(gates)
    lines = [
        f"## {ICONS.get(status, ICONS[INCONCLUSIVE])} unlearn-audit: {_md(v.get('headline'))}",
        "",
        verdict_reason(evidence, v),
        "",
        f"Checks: {counts.words()}. A check that is **not powered** cannot catch the original model (which forgot "
        "nothing) and is never counted as a pass.",
        "",
    ]
    claims = [line for line in category_lines(evidence, v)]
    if claims:
        lines += ["| claim | claimed | result | strongest check |", "|---|---|---|---|"]
        for line in claims:
            lines.append(
                f"| {line.title} | {'yes' if line.claimed else 'no'} | {line.state_label} | {_md(line.check)} |"
            )
        lines.append("")
    if v.get("controls"):
        lines += ["| deception control | caught by |", "|---|---|"]
        for name, c in v["controls"].items():
            caught = (c or {}).get("caught_by") or []
            lines.append(f"| `{name}` | {', '.join(f'`{g}`' for g in caught) or '**not caught**'} |")
        lines.append("")
    lines += ["| gate | claim | state | gap | interval | tolerance |", "|---|---|---|---|---|---|"]
    for g in gates:
        state = gate_state(g)
        unit = unit_of(str(g.get("metric")))
        level = g.get("equivalence_level")
        interval = unit.interval(g.get("equivalence_ci"))
        lines.append(
            f"| `{g.get('metric')}` | {g.get('category', '')} | {ICONS[state.state]} {state.label} | "
            f"{unit.gap(g.get('gap'))} | {interval + (f' ({percent(level, 0)})' if interval and level else '') or DASH} | "
            f"\u00b1{unit.magnitude(g.get('tolerance'))} |"
        )
    errors = [str(a.get("name")) for a in _attacks(evidence) if a.get("error")]
    if errors:
        lines += ["", f"Attacks that did not complete: {', '.join(errors)}."]
    forget = (evidence.get("data") or {}).get("forget") or {}
    method = evidence.get("method") or {}
    run = evidence.get("run") or {}
    models = evidence.get("models") or {}
    lines += [
        "",
        f"Method: `{method.get('name') or 'supplied checkpoint'}` · forget: {forget.get('kind')} "
        f"({forget.get('count')} records) · request `{run.get('request_id') or 'not stated'}` · run `{run.get('id')}`",
        f"Unlearned model sha256 `{str((models.get('unlearned') or {}).get('sha256'))[:16]}…` · "
        f"config sha256 `{str(evidence.get('config_sha256'))[:16]}…`",
    ]
    if files:
        lines += ["", "Artefacts: " + ", ".join(f"`{k}`" for k in files)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Console and GitHub annotations


def console_lines(evidence: Mapping[str, Any]) -> list[str]:
    """The gate lines ``run`` prints: display state, metric, gap with unit, tolerance, power.

    ``NOT POWERED   threshold.loss.auc    gap -0.029 AUC  (tolerance ±0.075 AUC)  cannot catch the original``
    """
    out = []
    for g in _gates(evidence):
        state = gate_state(g)
        unit = unit_of(str(g.get("metric")))
        gap = unit.gap(g.get("gap")) if g.get("gap") is not None else "n/a"
        note = ""
        if state.state == NOT_POWERED:
            note = "cannot catch the original"
        elif (g.get("control") or {}).get("catches_original"):
            note = "catches the original"
        out.append(
            f"  {state.label:<13} {str(g.get('metric')):<36} gap {gap:>11}  (tolerance \u00b1{unit.magnitude(g.get('tolerance'))})"
            f"  {note}".rstrip()
        )
    counts = state_counts(_gates(evidence))
    out.append(f"  checks: {counts.words()}")
    return out


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(evidence: Mapping[str, Any]) -> list[str]:
    """GitHub workflow commands for the verdict, the failed gates and the crashed attacks.

    The verdict comes first: ``::error`` for FAIL, ``::warning`` for INCONCLUSIVE, ``::notice`` for
    PASS; then an ``::error`` per failed gate and crashed attack; ten lines at most.
    """
    run = evidence.get("run") or {}
    config_file = _escape_property(str(run.get("config_path") or "audit.yaml"))
    verdict = evidence.get("verdict") or {}
    status = verdict.get("status")
    level = {FAIL: "error", PASS: "notice"}.get(str(status), "warning")
    message = f"{verdict.get('headline')} {verdict_reason(evidence, verdict)}"
    out = [
        f"::{level} file={config_file},title={_escape_property('unlearn-audit verdict: ' + str(status).upper())}::"
        f"{_escape_data(message)}"
    ]
    metrics = metrics_by_key(evidence)
    for g in _gates(evidence):
        if g.get("status") == FAIL:
            out.append(
                f"::error file={config_file},title={_escape_property('Gate ' + str(g.get('metric')))}::"
                f"{_escape_data(label_of(str(g.get('metric')), metrics) + ': ' + gate_text(g))}"
            )
    for a in _attacks(evidence):
        if a.get("error"):
            out.append(
                f"::error file={config_file},title={_escape_property('Attack ' + str(a.get('name')))}::"
                f"{_escape_data(str(a['error']))}"
            )
    return out[:MAX_ANNOTATIONS]


__all__ = [
    "MAX_ANNOTATIONS",
    "blocks_pass",
    "console_lines",
    "gate_text",
    "github_annotations",
    "junit_xml",
    "summary_markdown",
]
