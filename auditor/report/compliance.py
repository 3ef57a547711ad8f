"""The compliance cross-reference appendix: what this evidence shows, item by item, for four frameworks.

It maps; it never claims conformance. Each row names the framework and its version, the item,
what the item asks (in our words; the item's wording was checked against the published text named
in :data:`SOURCES`), what this audit's evidence contributes, and what it leaves to the controller.

Sources checked for this text:

* GDPR: Regulation (EU) 2016/679, Article 17 ("Right to erasure ('right to be forgotten')").
* EU AI Act: Regulation (EU) 2024/1689, Annex IV, point 2(g): the validation and testing procedures,
  "test logs and all test reports dated and signed by the responsible persons".
* OWASP AISVS 1.0 (draft), chapter C12 "Privacy Protection & Personal Data Management", file
  ``1.0/en/0x10-C12-Privacy.md`` of github.com/OWASP/AISVS (commit 0b0d6fb): C12.2 "Right-to-be-Forgotten
  & Deletion Enforcement" (12.2.1 propagation to data artefacts within 30 days, level 1; 12.2.2
  shadow-model or membership-inference evaluation against a documented policy threshold, level 2;
  12.2.3 retraining or a certified unlearning algorithm with documented (epsilon, delta) guarantees,
  level 3) and C12.3 "Differential-Privacy Safeguards" (12.3.2 black-box audits that estimate
  epsilon as a lower bound at a stated confidence). The draft's numbering has changed between
  revisions; the report cites the revision above.
* MITRE ATLAS data 5.6.0 (github.com/mitre-atlas/atlas-data): AML.T0024 "Exfiltration via AI
  Inference API", sub-technique AML.T0024.000 "Infer Training Data Membership".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SOURCES: dict[str, str] = {
    "GDPR": "Regulation (EU) 2016/679 (GDPR), Article 17",
    "EU AI Act": "Regulation (EU) 2024/1689 (AI Act), Annex IV, point 2(g)",
    "OWASP AISVS": "OWASP AI Security Verification Standard 1.0, draft (github.com/OWASP/AISVS, "
    "1.0/en/0x10-C12-Privacy.md, commit 0b0d6fb)",
    "MITRE ATLAS": "MITRE ATLAS data release 5.6.0 (github.com/mitre-atlas/atlas-data)",
}

DISCLAIMER = (
    "This appendix maps what the evidence in this report shows to items of four frameworks. It is not a "
    "statement of conformance or compliance with any of them: those depend on the whole system and its "
    "processes, and are for the controller, its data protection officer and, where one applies, a notified "
    "body or supervisory authority to assess."
)

RETRAINING_METHODS = frozenset({"retrain"})


@dataclass(frozen=True)
class Row:
    """One item of the cross-reference.

    Attributes:
        framework: ``GDPR``, ``EU AI Act``, ``OWASP AISVS`` or ``MITRE ATLAS``.
        item: The item's number and title.
        asks: What the item asks, in our words.
        shows: What this audit's evidence contributes to it.
        open: What the evidence does not cover (left to the controller).
        coverage: ``evidence``, ``partial`` or ``none``: how much of the item this evidence speaks to.
    """

    framework: str
    item: str
    asks: str
    shows: str
    open: str
    coverage: str


def _claim_status(verdict: Mapping[str, Any], category: str) -> str | None:
    record = (verdict.get("categories") or {}).get(category) or {}
    return str(record.get("status")) if record else None


def _signature(evidence: Mapping[str, Any], rerendered: bool) -> str:
    mode = (evidence.get("signing") or {}).get("mode")
    if rerendered or mode in (None, "unsigned"):
        return "this copy is not signed"
    if mode == "test-key":
        return "signed with a throwaway test key (integrity since the run, not the signer's identity)"
    return "signed with the organisation's configured key"


def rows(
    evidence: Mapping[str, Any], verdict: Mapping[str, Any] | None = None, *, rerendered: bool = False
) -> list[Row]:
    """The cross-reference rows for this evidence."""
    verdict = verdict if verdict is not None else (evidence.get("verdict") or {})
    status = str(verdict.get("status")).upper()
    run = evidence.get("run") or {}
    method = (evidence.get("method") or {}).get("name")
    attacks = {str(a.get("name")) for a in evidence.get("attacks") or () if isinstance(a, Mapping)}
    membership = sorted(attacks & {"threshold", "lira", "rmia", "shadow_mia", "ulira"})
    privacy = _claim_status(verdict, "privacy")
    responsible = run.get("responsible") or {}
    who = (
        f"{responsible.get('name')}" + (f" ({responsible['role']})" if responsible.get("role") else "")
        if responsible
        else None
    )
    out = [
        Row(
            "GDPR",
            "Art. 17, right to erasure",
            "The controller erases personal data without undue delay when a data subject asks and a ground of "
            "Art. 17(1) applies, unless an exception of Art. 17(3) does.",
            f"How this model behaves after the erasure, measured against models retrained without the records: "
            f"{status}. The forget manifest digest ties the result to the records erased.",
            "Whether a ground applies, the deadline, and erasure from datasets, backups and other systems.",
            "partial",
        ),
        Row(
            "EU AI Act",
            "Annex IV 2(g), validation and testing",
            "Technical documentation of a high-risk AI system describes its validation and testing procedures "
            "and includes test logs and test reports dated and signed by the responsible persons.",
            f"A dated test report ({run.get('finished_utc') or 'date not recorded'}), "
            f"{_signature(evidence, rerendered)}; responsible person: "
            + (who if who else "not named (set report.responsible in the config)")
            + ". The evidence record is the test log.",
            "Whether the system is high-risk, the rest of the technical documentation, and a handwritten or "
            "qualified signature where one is required.",
            "evidence" if who else "partial",
        ),
        Row(
            "OWASP AISVS",
            "12.2.1 (level 1), deletion reaches all data artefacts",
            "Deletion requests propagate to training and evaluation sets, caches, feature and embedding stores "
            "within 30 days.",
            "Nothing: the audit examines a model, not data stores.",
            "The whole item.",
            "none",
        ),
        Row(
            "OWASP AISVS",
            "12.2.2 (level 2), membership-inference evaluation after unlearning",
            "A shadow-model or membership-inference evaluation shows that forgotten records influence the "
            "model's outputs less than a documented policy threshold.",
            (
                f"Membership attacks run: {', '.join(membership)}; the privacy claim is "
                f"{privacy.upper() if privacy else 'not evaluated'}, against tolerances stated per check."
                if membership
                else "No membership-inference attack was run in this audit."
            ),
            "Setting the policy threshold: the report's tolerances are the audit's, and the controller should "
            "adopt or tighten them in its own policy.",
            "evidence" if membership and privacy == "pass" else "partial" if membership else "none",
        ),
        Row(
            "OWASP AISVS",
            "12.2.3 (level 3), retraining or certified unlearning",
            "A claimed unlearning routine either retrains on the retained data or is a certified algorithm with "
            "documented (\u03b5, \u03b4) guarantees.",
            (
                "The audited method is exact retraining (recorded in the evidence)."
                if method in RETRAINING_METHODS
                else f"The audited method ({method or 'a supplied checkpoint'}) is approximate: this audit "
                "gives empirical evidence, which does not meet this item by itself."
            ),
            "A certificate of the algorithm, or proof that the deployed model is the retrained one.",
            "partial" if method in RETRAINING_METHODS else "none",
        ),
        Row(
            "OWASP AISVS",
            "12.3.2 (level 2), empirical lower bound on \u03b5",
            "Black-box privacy audits estimate \u03b5 as a lower bound at a stated confidence and compare it with "
            "the declared differential-privacy budget.",
            (
                "The distinguishability check reports Clopper-Pearson lower bounds on \u03b5 between unlearning "
                "runs and retrains."
                if "distinguishability" in attacks
                else "Not run in this audit (the distinguishability check gives such bounds)."
            ),
            "A declared differential-privacy budget to compare with; the rest of C12.3.",
            "partial" if "distinguishability" in attacks else "none",
        ),
        Row(
            "MITRE ATLAS",
            "AML.T0024.000, infer training data membership",
            "An adversary infers whether a record was in a model's training data (a sub-technique of "
            "AML.T0024, exfiltration via AI inference API).",
            (
                f"This technique was run against the erased records ({', '.join(membership)}) and compared "
                "with retrained models."
                if membership
                else "Not tested: no membership-inference attack was run."
            ),
            "Model inversion (AML.T0024.001) and model extraction (AML.T0024.002) are not tested.",
            "evidence" if membership else "none",
        ),
    ]
    return out


__all__ = ["DISCLAIMER", "SOURCES", "Row", "rows"]
