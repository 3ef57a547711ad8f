"""An attack's ``details`` as a few lines of words, instead of a dump of raw keys.

The evidence keeps every detail an attack records (LiRA's alone are about 45 nested values); the
report shows what a reader needs: how many members and non-members were compared and where the
non-members came from, how many shadow models, the variant and statistic, and the attack's power
on the original model. Nested records other than those are left to ``evidence.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.report.numbers import count, finite, percent, sig

#: Detail keys shown by their own sentence (see :func:`attack_facts`); every other scalar is shown
#: under a label made from its key, every other nested value is left to the evidence.
LABELS = {
    "variant": "Variant",
    "offline_test": "Offline test",
    "variance": "Variance",
    "queries": "Queries",
    "statistic": "Statistic",
    "scored_on": "Scored on",
    "features": "Features",
    "fit_samples": "Probe fitted on",
    "held_out_forget_class_samples": "Held-out samples of the forgotten classes",
    "p_floor": "Probability floor",
}
MAX_TEXT = 240


def _words(key: str) -> str:
    return LABELS.get(key) or key.replace("_", " ").capitalize()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return count(value)
    if isinstance(value, float):
        return sig(value)
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "\u2026"


def _power_on_original(power: Mapping[str, Any]) -> str:
    """LiRA's power check on the original, as one sentence."""
    parts = []
    if finite(power.get("lira_auc")) and finite(power.get("loss_threshold_auc")):
        parts.append(
            f"AUC {sig(power['lira_auc'])} against {sig(power['loss_threshold_auc'])} for the loss threshold"
        )
    for key in sorted(k for k in power if k.startswith("lira_tpr@fpr=")):
        fpr = key.split("=", 1)[1]
        mine = (power.get(key) or {}).get("value") if isinstance(power.get(key), Mapping) else None
        other = power.get(f"loss_threshold_tpr@fpr={fpr}")
        theirs = other.get("value") if isinstance(other, Mapping) else None
        if finite(mine) and finite(theirs):
            parts.append(f"TPR at {percent(float(fpr), 1)} FPR {percent(mine)} against {percent(theirs)}")
    head = "On the original model"
    if isinstance(power.get("members"), int) and isinstance(power.get("nonmembers"), int):
        head += f" ({count(power['members'])} training records against {count(power['nonmembers'])} held out)"
    return f"{head}: " + "; ".join(parts) + "." if parts else ""


def attack_facts(details: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, text) lines for an attack's details; nested values other than the known ones are omitted."""
    if not isinstance(details, Mapping):
        return []
    out: list[tuple[str, str]] = []
    members, nonmembers = details.get("members"), details.get("nonmembers")
    if isinstance(members, int) and isinstance(nonmembers, int):
        source = details.get("nonmember_source")
        out.append(
            (
                "Compared",
                f"{count(members)} erased records (members) against {count(nonmembers)} records never trained on"
                + (f" ({source})" if source else ""),
            )
        )
    shadows = details.get("shadows")
    if isinstance(shadows, Mapping) and isinstance(shadows.get("count"), int):
        text = f"{count(shadows['count'])} shadow models"
        if isinstance(shadows.get("trained_now"), int):
            text += f" ({count(shadows['trained_now'])} trained in this run, {count(shadows.get('from_cache') or 0)} from the cache)"
        out.append(("Shadow models", text))
    elif isinstance(shadows, int):
        out.append(("Shadow models", count(shadows)))
    power = details.get("power_on_original")
    if isinstance(power, Mapping):
        sentence = _power_on_original(power)
        if sentence:
            out.append(("Power check", sentence))
    for key, value in details.items():
        if key in ("members", "nonmembers", "nonmember_source", "shadows", "power_on_original"):
            continue
        if value is None or isinstance(value, (Mapping, list, tuple)):
            continue
        out.append((_words(key), _scalar(value)))
    return out


def omitted_details(details: Mapping[str, Any] | None) -> int:
    """How many nested detail values :func:`attack_facts` leaves to the evidence."""
    if not isinstance(details, Mapping):
        return 0
    shown = {"shadows", "power_on_original"}
    return sum(1 for k, v in details.items() if isinstance(v, (Mapping, list, tuple)) and k not in shown)


TIMING_LABELS = {
    "train_original_s": "Training the original",
    "reference_s": "Reference models",
    "unlearn_s": "Unlearning",
    "controls_s": "Deception controls",
    "attacks_s": "Attacks",
    "report_s": "Report",
    "total_s": "Total",
}


def timing_label(key: str) -> str:
    """``controls_s`` -> ``Deception controls``; unknown keys lose their ``_s`` and underscores."""
    if key in TIMING_LABELS:
        return TIMING_LABELS[key]
    return key.removesuffix("_s").replace("_", " ").capitalize()


__all__ = ["LABELS", "TIMING_LABELS", "attack_facts", "omitted_details", "timing_label"]
