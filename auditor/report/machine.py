"""Machine outputs that gate a release in CI: JUnit XML, a Markdown summary, GitHub annotations.

Each is a pure function of the evidence record (ECOSYSTEM.md 4.2-4.3): one JUnit testcase per
gate (a failed gate is a ``<failure>``, an undecided one a ``<skipped>`` with its reason, an
attack that crashed an ``<error>``), a short Markdown summary for ``$GITHUB_STEP_SUMMARY``, and at
most ten ``::error`` annotations, one per failed gate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

MAX_ANNOTATIONS = 10


def _num(x: Any, fmt: str = "+.4f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _ci(ci: list[float] | None) -> str:
    return "n/a" if not ci else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"


def junit_xml(evidence: dict[str, Any]) -> str:
    """JUnit XML: a testsuite for the audit, a testcase per gate and per crashed attack."""
    gates = evidence["gates"]["results"]
    errors = [a for a in evidence["attacks"] if a.get("error")]
    failures = sum(g["status"] == "fail" for g in gates)
    skipped = sum(g["status"] == "inconclusive" for g in gates)
    timings = evidence.get("timings") or {}
    # total_s is known only after signing (run-log.json); the signed phases bound it from below
    total_s = timings.get("total_s", sum(v for v in timings.values() if isinstance(v, (int, float))))
    config_file = evidence["run"].get("config_path") or ""
    suites = ET.Element(
        "testsuites",
        name="unlearn-audit",
        tests=str(len(gates) + len(errors)),
        failures=str(failures),
        errors=str(len(errors)),
        skipped=str(skipped),
        time=f"{total_s:.3f}",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"unlearn-audit:{evidence['run'].get('title') or 'audit'}",
        tests=str(len(gates) + len(errors)),
        failures=str(failures),
        errors=str(len(errors)),
        skipped=str(skipped),
        time=f"{total_s:.3f}",
        timestamp=(evidence["run"].get("finished_utc") or "").rstrip("Z"),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", evidence["verdict"]["status"].upper()),
        ("run_id", evidence["run"]["id"]),
        ("model.unlearned.sha256", evidence["models"]["unlearned"]["sha256"]),
        ("config_sha256", evidence["config_sha256"]),
        ("forget_manifest_sha256", evidence["data"]["forget"]["manifest_sha256"]),
    ):
        ET.SubElement(props, "property", name=name, value=str(value))
    runtimes = {a["name"]: a.get("runtime_s", 0.0) for a in evidence["attacks"]}
    for g in gates:
        attack = g["metric"].split(".")[0]
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"gates.{attack}",
            name=g["metric"],
            file=config_file,
            time=f"{runtimes.get(attack, 0.0):.3f}",
        )
        body = (
            f"gap {_num(g['gap'])}; equivalence interval ({g['equivalence_level']:.0%}) "
            f"{_ci(g['equivalence_ci'])}; tolerance ±{g['tolerance']:g}; {g['reason']}"
        )
        if g["status"] == "fail":
            ET.SubElement(
                case,
                "failure",
                type="GateFailed",
                message=f"|gap| {_num(g['gap'])} beyond ±{g['tolerance']:g}",
            ).text = body
        elif g["status"] == "inconclusive":
            ET.SubElement(case, "skipped", message=f"inconclusive: {g['reason']}").text = body
        else:
            ET.SubElement(case, "system-out").text = body
    for a in errors:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"attacks.{a['name']}",
            name=a["name"],
            file=config_file,
            time=f"{a.get('runtime_s', 0.0):.3f}",
        )
        ET.SubElement(case, "error", type="AttackError", message=a["error"]).text = (
            a.get("traceback") or a["error"]
        )
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _control(gate: dict[str, Any]) -> str:
    """Yes / no / not measured: does this gate fail the original model (the positive control)?"""
    c = gate.get("control") or {}
    if c.get("status") is None:
        return "not measured"
    return "yes" if c.get("catches_original") else "no"


def summary_markdown(evidence: dict[str, Any], *, files: dict[str, str] | None = None) -> str:
    """A short Markdown summary: the verdict, the gate table, digests and artefacts."""
    v = evidence["verdict"]
    icon = {"pass": "✅", "fail": "❌"}.get(v["status"], "⚠️")
    lines = [f"## {icon} unlearn-audit: {v['headline']}", "", v["statement"], ""]
    if v.get("categories"):
        lines += ["| claim | made | status | powered checks |", "|---|---|---|---|"]
        for cat, c in v["categories"].items():
            lines.append(
                f"| {cat} | {'yes' if c['claimed'] else 'no'} | {c['status']} | "
                f"{', '.join(f'`{g}`' for g in c['powered']) or 'none'} |"
            )
        lines.append("")
    if v.get("controls"):
        lines += ["| deception control | caught by |", "|---|---|"]
        for name, c in v["controls"].items():
            lines.append(f"| `{name}` | {', '.join(f'`{g}`' for g in c['caught_by']) or '**not caught**'} |")
        lines.append("")
    lines += [
        "| gate | claim | status | gap | interval | tolerance | catches the original |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in evidence["gates"]["results"]:
        lines.append(
            f"| `{g['metric']}` | {g.get('category', '')} | {g['status']} | {_num(g['gap'])} | "
            f"{_ci(g['equivalence_ci'])} ({g['equivalence_level']:.0%}) | ±{g['tolerance']:.3g} | "
            f"{_control(g)} |"
        )
    errors = [a["name"] for a in evidence["attacks"] if a.get("error")]
    if errors:
        lines += ["", f"Attacks that did not complete: {', '.join(errors)}."]
    lines += [
        "",
        f"Method: `{evidence['method'].get('name') or 'supplied checkpoint'}` · "
        f"forget: {evidence['data']['forget']['kind']} ({evidence['data']['forget']['count']} samples) · "
        f"run `{evidence['run']['id']}`",
        f"Unlearned model sha256 `{evidence['models']['unlearned']['sha256'][:16]}…` · "
        f"config sha256 `{evidence['config_sha256'][:16]}…`",
    ]
    if files:
        lines += ["", "Artefacts: " + ", ".join(f"`{k}`" for k in files)]
    return "\n".join(lines) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(evidence: dict[str, Any]) -> list[str]:
    """``::error`` workflow commands for failed gates and crashed attacks (at most ten)."""
    config_file = evidence["run"].get("config_path") or "audit.yaml"
    out = []
    for g in evidence["gates"]["results"]:
        if g["status"] == "fail":
            out.append(
                f"::error file={_escape_property(config_file)},title={_escape_property('Gate ' + g['metric'])}::"
                f"{_escape_data(g['reason'])}"
            )
    for a in evidence["attacks"]:
        if a.get("error"):
            out.append(
                f"::error file={_escape_property(config_file)},title={_escape_property('Attack ' + a['name'])}::"
                f"{_escape_data(a['error'])}"
            )
    return out[:MAX_ANNOTATIONS]
