"""What the report says: page 1 in words, numbers with units, the limits in every report, the compliance
appendix, the risk blocks, the per-record table, figures that agree with their gates, and the optional
fields of the evidence contract rendered when present and harmless when absent."""

from __future__ import annotations

import base64
import copy
import re

import pytest

from auditor.report import compliance
from auditor.report.decision import false_fail, page_one, verify_command
from auditor.report.details import attack_facts, timing_label
from auditor.report.limits import KNOWN_ATTACKS, behavioural_limits, not_checked
from auditor.report.numbers import percent, sig, unit_of
from auditor.report.plots import figure_svg
from auditor.report.records import record_table
from auditor.report.render import render_html
from auditor.report.risk import risk
from auditor.report.words import category_lines, settle_words, verdict_reason
from tests.report_records import failing, inconclusive, load, passing, synthetic_records, with_contract_fields


@pytest.fixture(scope="module")
def html_by_name() -> dict[str, str]:
    records = {
        "fail": failing(),
        "pass": passing(),
        "inconclusive": inconclusive(),
        "old": load("evidence_sample.json"),
        "contract": with_contract_fields(failing()),
    }
    return {name: render_html(ev) for name, ev in records.items()}


# --------------------------------------------------------------------------------------------------
# Numbers and units


def test_numbers_carry_units_and_three_significant_digits():
    assert sig(0.0542145) == "0.0542" and sig(1234.6) == "1235" and sig(-0.0004) == "-4.00e-04"
    assert sig(0.0, sign=True) == "+0" and sig(-1e-12) == "-1.00e-12" and sig(None) == "\u2014"
    assert percent(0.99) == "99.0\u00a0%" and percent(0.12) == "12.0\u00a0%"
    share, auc = unit_of("accuracy.forget"), unit_of("threshold.loss.auc")
    assert share.gap(0.0341) == "+3.4\u00a0pp" and share.value(0.12) == "12.0\u00a0%"
    assert auc.gap(0.18123) == "+0.181\u00a0AUC" and auc.magnitude(-0.9458) == "0.946\u00a0AUC"
    assert share.interval([0.0123, 0.0456]) == "[+1.2, +4.6]\u00a0pp"
    assert unit_of("lira.tpr@fpr=0.01").name == "share" and unit_of("probe.forget_log_loss").name == "log"
    assert unit_of("distance.js").name == "number"


# --------------------------------------------------------------------------------------------------
# Page 1


@pytest.mark.parametrize("make", [failing, passing, inconclusive])
def test_page_one_answers_the_sign_off_questions_in_words(make):
    ev = make()
    page = page_one(ev)
    assert page.status == ev["verdict"]["status"]
    # The verdict's reason is words: no metric key in it.
    assert not re.search(r"\b(accuracy|threshold|lira|probe)\.[a-z_]+", page.reason), page.reason
    facts = {f.label: f.text for f in page.request + page.model}
    assert facts["Request"] == ev["run"]["request_id"]
    assert str(ev["data"]["forget"]["count"]) in facts["Erased"]
    assert facts["Forget manifest sha256"] == ev["data"]["forget"]["manifest_sha256"]
    assert facts["Original sha256"] == ev["models"]["original"]["sha256"]
    assert facts["Unlearned sha256"] == ev["models"]["unlearned"]["sha256"]
    assert ev["method"]["name"] in facts["Method"] and "mlp" in facts["Architecture"]
    assert facts["Training recipe"].startswith("built-in recipe: SGD")
    claimed = [line for line in page.categories if line.claimed]
    assert [line.name for line in claimed] == ev["verdict"]["claims"]
    for line in claimed:
        assert re.search(r"\d", line.check) and (
            "pp" in line.check or "AUC" in line.check or "log" in line.check
        )
    assert "at most 5\u00a0%" in page.false_fail and "Bonferroni" in page.false_fail
    assert page.not_checked.limits == behavioural_limits()
    signed = {f.label: f.text for f in page.signed}
    assert "Responsible person" in signed and "Signature" in signed
    assert page.verify_command.startswith("unlearn-audit verify report.pdf --trust-root")


def test_the_verdict_reason_for_each_outcome():
    assert verdict_reason(failing()).startswith(
        "The unlearned model behaves measurably unlike models retrained"
    )
    assert verdict_reason(passing()).startswith("For every claim this request makes")
    text = verdict_reason(inconclusive())
    assert text.startswith("No check failed, but for forgetting") and "undecided" in text


def test_what_would_settle_an_inconclusive_audit_names_a_lever_only_when_it_settles_everything():
    def step(lever, target, value, current):
        return {"lever": lever, "goal": "decided", "target": target, "value": value, "current": current}

    both = [
        step("forget", "privacy", 400, 100),
        step("forget", "forgetting", 250, 100),
        step("references", "privacy", 30, 12),
        step("references", "forgetting", None, 12),  # more references cannot settle forgetting
    ]
    text = settle_words(both)
    assert "a forget set of 400 records (now 100)" in text and "references" not in text
    partial = [step("references", "privacy", 30, 12), step("forget", "forgetting", 250, 100)]
    assert settle_words(partial).startswith("More data would settle only part of it")
    assert settle_words([step("forget", "privacy", None, 100)]).startswith("No forget-set size")
    assert settle_words(None) is None
    record = inconclusive()
    record["verdict"]["next_steps"] = [step("forget", "privacy", 400, 100)]
    assert verdict_reason(record).endswith("if the measured effects hold at that size.")


def test_a_claim_shows_its_strongest_check_with_units_and_power():
    lines = {line.name: line for line in category_lines(failing())}
    assert lines["privacy"].metric == "lira.auc"  # the failed gate furthest beyond its tolerance
    assert "0.816 against 0.496 for retrained models" in lines["privacy"].check
    assert "catches the original model" in lines["privacy"].power
    assert lines["utility"].state_label == "PASS" and "change" in lines["utility"].power
    # The record's power at 80 %, in records left in training (mde_80_records of the gate shown).
    assert (
        "80 % of the time, a method that leaves about 109 of the requested records" in lines["privacy"].power
    )


def test_false_fail_rate_follows_the_correction():
    ev = failing()
    m = ev["gates"]["family_size"]
    assert f"Bonferroni: {percent(0.05 / m, 2)} for each of the {m} checks" in false_fail(ev)
    ev["gates"]["correction"] = "bh"
    assert "Benjamini\u2013Hochberg" in false_fail(ev)


@pytest.mark.parametrize("mapping", [True, False])
def test_contract_fields_appear_when_present(mapping):
    written = failing()["models"]["unlearned"]
    assert written["file"] == "unlearned.pt" and len(written["file_sha256"]) == 64  # as the audit writes it
    ev = with_contract_fields(failing(), file_as_mapping=mapping)
    page = page_one(ev)
    facts = {f.label: f.text for f in page.request + page.model}
    assert "never printed" in facts["Record IDs"] and facts["IDs, salted sha256"] == "ef" * 32
    assert facts["unlearned.pt (file) sha256"] == written["file_sha256"]
    assert "split loader" in facts["Dataset"]
    assert page.sensitivity and "(40 of 320 records)" in page.sensitivity
    assert verify_command(ev).endswith("--model unlearned.pt")
    assert {f.label: f.text for f in page.signed}["Responsible person"].startswith("Dr. Maximiliane")


def test_contract_fields_are_harmless_when_absent():
    ev = failing()
    for key in ("records",):
        ev.pop(key)
    ev["verdict"].pop("sensitivity", None)
    for field in ("file", "file_sha256"):
        ev["models"]["unlearned"].pop(field)
    for gate in ev["gates"]["results"]:
        for field in ("mde_80", "mde_80_records", "keeps_original_effect", "blocks_pass"):
            gate.pop(field)
    html = render_html(ev)
    assert 'id="records"' not in html and "unlearned.pt" not in html
    assert page_one(ev).sensitivity is None and verify_command(ev).endswith("YOUR-CA.pem")


# --------------------------------------------------------------------------------------------------
# The whole HTML


def test_every_report_states_the_limits_of_a_behavioural_audit(html_by_name):
    for name, html in html_by_name.items():
        for limit in behavioural_limits():
            assert limit.text.replace("\u201c", "&#8220;")[:60] in html or limit.text[:60] in html, (
                name,
                limit.title,
            )
            assert limit.short[:50] in html, (name, limit.title)
        assert "USENIX Security 2022" in html and "steganography" in html


def test_raw_keys_are_gone_from_the_report_but_kept_in_the_evidence(html_by_name):
    ev = failing()
    lira = next(a for a in ev["attacks"] if a["name"] == "lira")
    assert "power_on_original" in lira["details"]
    html = html_by_name["fail"]
    for raw in ("power_on_original", "lira_tpr@fpr", "controls_s", "recipe_sha256", "membership_sha256"):
        assert raw not in html, raw
    assert (
        "Deception controls" in html and "On the original model (3,200 training records against 1,800" in html
    )
    facts = dict(attack_facts(lira["details"]))
    assert facts["Shadow models"].startswith("16 shadow models")
    assert timing_label("controls_s") == "Deception controls" and timing_label("foo_bar_s") == "Foo bar"


def test_unpowered_gates_never_read_pass(html_by_name):
    html = html_by_name["pass"]
    checks = html[html.index('id="checks"') : html.index('id="controls"')]
    for gate in passing()["gates"]["results"]:
        row = checks[checks.index(f">{gate['metric']}</code>") :]
        row = row[: row.index("</tr>")]
        expected = "PASS" if gate["powered"] else "NOT POWERED"
        assert f">{expected}</span>" in row, gate["metric"]


def test_compliance_appendix_cites_versions_and_claims_no_conformance(html_by_name):
    html = html_by_name["fail"]
    appendix = html[html.index('id="compliance"') : html.index('id="scope"')]
    for needle in (
        "Art. 17",
        "Regulation (EU) 2016/679",
        "Annex IV 2(g)",
        "Regulation (EU) 2024/1689",
        "dated and signed by the responsible persons",
        "12.2.2",
        "12.2.3",
        "12.3.2",
        "commit 0b0d6fb",
        "AML.T0024.000",
        "5.6.0",
        "not a statement of conformance",
    ):
        assert needle in appendix, needle
    rows = {r.item.split(",")[0]: r for r in compliance.rows(failing())}
    assert "does not meet this item by itself" in rows["12.2.3 (level 3)"].shows  # finetune is approximate
    assert rows["12.2.2 (level 2)"].coverage == "partial"  # privacy FAILed: no evidence for the threshold
    assert "not named" in rows["Annex IV 2(g)"].shows
    ok = {r.item.split(",")[0]: r for r in compliance.rows(passing())}
    assert "exact retraining" in ok["12.2.3 (level 3)"].shows
    named = {r.item.split(",")[0]: r for r in compliance.rows(with_contract_fields(failing()))}
    assert "Dr. Maximiliane Beispiel-Mustermann (Data protection officer)" in named["Annex IV 2(g)"].shows
    assert not re.search(r"\b(is compliant|conforms to|complies with)\b", appendix)


def test_risk_blocks_stay_apart_and_combine_with_the_declared_prior():
    ev = failing()
    blocks = risk(ev)
    assert blocks.attack == "lira" and blocks.measured and not blocks.declared
    assert all(r.precision is None for r in blocks.rates)  # no prior, no precision
    row = next(r for r in blocks.rates if r.fpr == 0.01)
    lira = next(a for a in ev["attacks"] if a["name"] == "lira")
    metric = next(m for m in lira["metrics"] if m["key"] == "lira.tpr@fpr=0.01")
    tpr, ref = metric["values"]["unlearned"]["value"], metric["values"]["reference"]["value"]
    assert row.tpr == tpr and row.excess_records == pytest.approx(320 * max(0.0, tpr - ref))
    declared = copy.deepcopy(ev)
    declared["config"]["report"]["risk"] = {
        "attacker_prior": 0.01,
        "harm": "a diagnosis is revealed",
        "severity": "high",
    }
    blocks = risk(declared)
    row = next(r for r in blocks.rates if r.fpr == 0.01)
    assert blocks.declared and blocks.harm == "a diagnosis is revealed"
    assert row.precision == pytest.approx(0.01 * tpr / (0.01 * tpr + 0.99 * 0.01))
    html = render_html(declared)
    section = html[html.index('id="risk"') : html.index('id="identity"')]
    assert section.index("1. Measured") < section.index("2. Declared") < section.index("3. Combined")
    assert "Precision at the declared prior" in section and "a diagnosis is revealed" in section


def test_per_record_table_top_rows_counts_and_redaction():
    ev = failing()
    ev["records"] = synthetic_records(ev["data"]["forget"]["count"])
    table = record_table(ev)
    assert table is not None and len(table.rows) == 20 and table.total_rows == 40
    assert table.flagged == 17 and table.beyond_chance is True
    html = render_html(ev)
    section = html[html.index('id="records"') : html.index('id="risk"')]
    assert "<strong>17 of 320</strong>" in section and "3.2" in section and "0 to 7" in section
    assert section.count("<tr") == 21  # header + the top 20
    redacted = render_html(ev, redacted=True)
    section = redacted[redacted.index('id="records"') : redacted.index('id="risk"')]
    assert (
        "<strong>17 of 320</strong>" in section
        and '<td class="num">' not in section
        and "Redacted" in section
    )
    real = record_table(failing())  # the records attack's own table
    assert real is not None and real.flagged == 143 and real.chance_range == (10, 24) and real.beyond_chance


def test_not_checked_lists_attacks_and_claims():
    gaps = not_checked(failing())
    names = [name for name, _ in gaps.attacks_not_run]
    assert (
        "rmia" in names and "lira" not in names and "backdoor" not in names
    )  # backdoor only for backdoor requests
    assert [name for name, _ in gaps.claims_not_made] == ["Recoverability"]


def test_known_attacks_match_the_registry():
    from attacks import ATTACKS

    assert set(KNOWN_ATTACKS) == set(ATTACKS.names())


# --------------------------------------------------------------------------------------------------
# Figures


def _svg_from(html: str, title: str) -> str:
    img = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="' + re.escape(title) + '"', html)
    assert img, title
    return base64.b64decode(img.group(1)).decode()


def test_roc_figure_shows_the_auc_the_gate_judges(html_by_name):
    ev = failing()
    svg = _svg_from(html_by_name["fail"], "ROC of the loss threshold attack")
    metric = next(m for a in ev["attacks"] for m in a["metrics"] if m["key"] == "threshold.loss.auc")
    for role in ("unlearned", "reference", "original"):
        assert f"AUC {metric['values'][role]['value']:.3f}" in svg, role
    assert "linear: the area is the AUC" in svg and "log-log" in svg
    html = html_by_name["fail"]
    assert 'Gate <code class="key">threshold.loss.auc</code>: gap +0.181\u00a0AUC' in html


def test_a_concentrated_histogram_is_drawn_on_a_log_axis():
    ev = failing()
    figure = next(f for a in ev["attacks"] for f in a["figures"] if f["kind"] == "histogram")
    assert max(figure["series"][0]["y"]) > 20 * sorted(v for v in figure["series"][1]["y"] if v > 0)[5]
    svg = figure_svg(figure)
    assert re.search(r"10\^\{?-?\d|10<tspan|\$\\mathdefault\{10\^", svg) or "10⁻" in svg or "10^" in svg
    flat = copy.deepcopy(figure)
    for s in flat["series"]:
        s["y"] = [1.0] * len(s["y"])
    assert figure_svg(flat) != svg
