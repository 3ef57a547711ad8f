"""What an audit did not check: attacks not run, claims not made, and the limits of any behavioural audit.

Every report carries these statements (:func:`behavioural_limits` is the same text in every
report; :func:`not_checked` adds what this run left out). A reviewer who signs off an erasure needs
to know where the evidence stops as much as what it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.report.words import CATEGORY_NAMES

THUDI_2022 = (
    "A. Thudi, H. Jia, I. Shumailov and N. Papernot, \u201cOn the Necessity of Auditable Algorithmic "
    "Definitions for Machine Unlearning\u201d, USENIX Security 2022"
)

THUDI_SHORT = "Thudi et al., USENIX Security 2022"

#: The attacks and checks of this release, in words, for "not run in this audit". A test keeps this
#: table in step with the attack registry.
KNOWN_ATTACKS: dict[str, str] = {
    "accuracy": "accuracy",
    "threshold": "loss/entropy threshold MIA",
    "lira": "LiRA",
    "records": "per-record exposure test",
    "rmia": "RMIA",
    "shadow_mia": "shadow-model MIA",
    "ulira": "U-LiRA",
    "distinguishability": "per-record distinguishability",
    "differencing": "model differencing",
    "probe": "feature probes",
    "relearn": "relearning speed",
    "distance": "output distance",
    "backdoor": "backdoor trigger",
}


@dataclass(frozen=True)
class Limit:
    """One limit of the evidence: a title, one sentence for page 1, and the full text."""

    title: str
    short: str
    text: str


def behavioural_limits() -> tuple[Limit, ...]:
    """The limits every behavioural unlearning audit has, whatever its result. Same text in every report."""
    return (
        Limit(
            "Behaviour, not weights",
            "information hidden in the weights where no test looks (e.g. steganography in low mantissa bits) "
            "is not found",
            "The audit compares what the model does (its outputs, and for white-box checks its internal "
            "features) with models retrained without the data. Information can hide in the weights where no "
            "test looks, for example encoded in the low-order mantissa bits of parameters (steganography), "
            "and would not be found.",
        ),
        Limit(
            "Unlearning cannot be proven from the weights alone",
            f"the same weights can be reached with or without a record ({THUDI_SHORT}); this is empirical "
            "evidence, not a proof",
            "The same weights can be reached with and without a given record in training, so no inspection of "
            "the final model can prove a record was removed; only an audit of the procedure that produced it "
            f"can ({THUDI_2022}). This report is empirical evidence against retrained models, not such a proof.",
        ),
        Limit(
            "Other copies",
            "copies of the records elsewhere (datasets, backups, logs) and other models trained on them are "
            "outside its scope",
            "The audit covers this model only. Copies of the erased records elsewhere (datasets, backups, "
            "logs, feature stores, caches), earlier checkpoints of this model, and other models trained or "
            "distilled from the same data are outside its scope.",
        ),
        Limit(
            "These attacks, this power",
            "a stronger attack or a larger sample could find what these checks did not",
            "\u201cNo difference found\u201d means these checks, at this sample size, found none within the stated "
            "tolerances; a stronger attack, more queries or more reference models could find one.",
        ),
    )


@dataclass(frozen=True)
class NotChecked:
    """What this audit left out."""

    attacks_not_run: tuple[tuple[str, str], ...]
    attacks_failed: tuple[str, ...]
    claims_not_made: tuple[tuple[str, str], ...]
    limits: tuple[Limit, ...]


def not_checked(evidence: Mapping[str, Any], verdict: Mapping[str, Any] | None = None) -> NotChecked:
    """The attacks not run or not completed, the categories this request does not claim, and the limits."""
    verdict = verdict if verdict is not None else (evidence.get("verdict") or {})
    attacks = [a for a in evidence.get("attacks") or () if isinstance(a, Mapping)]
    ran = {str(a.get("name")) for a in attacks}
    kind = ((evidence.get("data") or {}).get("forget") or {}).get("kind")
    skipped = tuple(
        (name, words)
        for name, words in KNOWN_ATTACKS.items()
        if name not in ran and not (name == "backdoor" and kind != "backdoor")
    )
    failed = tuple(str(a.get("name")) for a in attacks if a.get("error"))
    categories = verdict.get("categories") or {}
    unclaimed = tuple(
        (CATEGORY_NAMES.get(c, c), str(r.get("description") or ""))
        for c, r in categories.items()
        if not r.get("claimed")
    )
    return NotChecked(skipped, failed, unclaimed, behavioural_limits())


__all__ = [
    "KNOWN_ATTACKS",
    "THUDI_2022",
    "THUDI_SHORT",
    "Limit",
    "NotChecked",
    "behavioural_limits",
    "not_checked",
]
