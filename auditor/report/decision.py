"""Page 1 of the report: the decision a reviewer signs off, in plain words, from the evidence alone.

It answers, without turning the page: what was erased and for which request; which model (digests,
architecture, training recipe) and which method; the verdict and why in one or two sentences; each
claimed category with its strongest check in words and numbers with units and that check's power;
how often this configuration fails an honest retrain; what was not checked; who signed and how to
verify. :func:`page_one` is a pure function of the evidence; the template lays it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.judge.states import StateCounts, state_counts
from auditor.report.limits import NotChecked, not_checked
from auditor.report.numbers import NBSP, count, percent, sig
from auditor.report.words import CategoryLine, category_lines, request_words, verdict_reason

#: The null studies behind the false-FAIL sentence (docs/statistics.md, section 12.1).
TIMES = " \u00d7 "
NULL_STUDIES = (
    "in the project's null studies 0 of 20 honest retrains were failed on digits and on MNIST-1D "
    "(docs/statistics.md \u00a712.1)"
)


@dataclass(frozen=True)
class Fact:
    """One labelled line of page 1; ``mono`` marks digests (set in a monospace font)."""

    label: str
    text: str
    mono: bool = False


@dataclass(frozen=True)
class PageOne:
    """Everything page 1 shows."""

    status: str
    reason: str
    request: tuple[Fact, ...]
    model: tuple[Fact, ...]
    categories: tuple[CategoryLine, ...]
    counts: StateCounts
    false_fail: str
    sensitivity: str | None
    not_checked: NotChecked
    signed: tuple[Fact, ...]
    verify_command: str


def _recipe(evidence: Mapping[str, Any]) -> str:
    function = (evidence.get("models") or {}).get("training_function")
    if isinstance(function, Mapping) and function.get("name"):
        return f"{function['name']} (your training function)"
    training = (evidence.get("config") or {}).get("training") or {}
    if isinstance(training.get("function"), str):
        return f"{training['function']} (your training function)"
    if not training:
        return "not recorded"
    parts = [str(training.get("optimizer") or "").upper() or "built-in"]
    if training.get("epochs"):
        parts.append(f"{training['epochs']} epochs")
    if training.get("lr") is not None:
        parts.append(f"learning rate {sig(training['lr'])}")
    if training.get("schedule"):
        parts.append(f"{training['schedule']} schedule")
    if training.get("batch_size"):
        parts.append(f"batch {training['batch_size']}")
    return "built-in recipe: " + ", ".join(parts)


def _architecture(evidence: Mapping[str, Any]) -> str:
    arch = ((evidence.get("config") or {}).get("model") or {}).get("arch")
    if not arch:
        arch = ((evidence.get("method") or {}).get("architecture") or {}).get("declared")
    shape = (evidence.get("data") or {}).get("input_shape")
    classes = (evidence.get("data") or {}).get("num_classes")
    text = str(arch or "not recorded")
    if shape:
        text += ", input " + TIMES.join(str(s) for s in shape)
    if classes:
        text += f", {classes} classes"
    return text


def _method(evidence: Mapping[str, Any]) -> str:
    method = evidence.get("method") or {}
    if method.get("name"):
        text = str(method["name"])
        if method.get("summary"):
            text += f": {str(method['summary']).rstrip('.')}"
        return text + "."
    return "A model unlearned outside this tool, supplied as a checkpoint (the method is not recorded)."


def _request(evidence: Mapping[str, Any]) -> tuple[Fact, ...]:
    """The request's facts: every one a count, a name or a digest (nothing to redact)."""
    run = evidence.get("run") or {}
    data = evidence.get("data") or {}
    forget = data.get("forget") or {}
    facts = [
        Fact("Request", str(run.get("request_id") or "not stated (set report.request_id)")),
        Fact("Erased", request_words(evidence)),
        Fact(
            "Dataset",
            f"{data.get('dataset')}, {count((data.get('counts') or {}).get('train'))} training records"
            + (f"; split {data['split_source']}" if data.get("split_source") else ""),
        ),
    ]
    ids = forget.get("ids")
    if isinstance(ids, Mapping) and ids.get("count") is not None:
        facts.append(
            Fact("Record IDs", f"{count(ids.get('count'))} IDs named by the request (never printed)")
        )
        facts.append(Fact("IDs, salted sha256", str(ids.get("salted_sha256")), mono=True))
    facts.append(Fact("Forget manifest sha256", str(forget.get("manifest_sha256")), mono=True))
    return tuple(facts)


def _model(evidence: Mapping[str, Any]) -> tuple[Fact, ...]:
    models = evidence.get("models") or {}
    unlearned = models.get("unlearned") or {}
    facts = [
        Fact("Architecture", _architecture(evidence)),
        Fact("Training recipe", _recipe(evidence)),
        Fact("Method", _method(evidence)),
        Fact("Original sha256", str((models.get("original") or {}).get("sha256")), mono=True),
        Fact("Unlearned sha256", str(unlearned.get("sha256")), mono=True),
    ]
    name, digest = unlearned_file(evidence)
    if name:
        facts.append(Fact(f"{name} (file) sha256", str(digest), mono=True))
    return tuple(facts)


def unlearned_file(evidence: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The saved unlearned model's file name and sha256, when the run wrote one.

    Records hold it as ``models.unlearned.file`` (a name) with ``file_sha256``, or as one mapping
    ``{"name", "sha256"}``; both read the same.
    """
    unlearned = (evidence.get("models") or {}).get("unlearned") or {}
    file = unlearned.get("file")
    if isinstance(file, Mapping) and file.get("name"):
        return str(file["name"]), str(file.get("sha256")) if file.get("sha256") else None
    if isinstance(file, str) and file:
        digest = unlearned.get("file_sha256")
        return file, str(digest) if digest else None
    return None, None


def false_fail(evidence: Mapping[str, Any]) -> str:
    """How often this configuration FAILs a model that equals retraining, in words."""
    gates = evidence.get("gates") or {}
    alpha = gates.get("alpha")
    m = gates.get("family_size") or len(gates.get("results") or ())
    if not isinstance(alpha, (int, float)):
        return "The error rate of the fail rule is not recorded."
    if gates.get("correction") == "bh":
        rule = (
            f"at most {percent(alpha, 0)} when every check is equivalent (Benjamini\u2013Hochberg over "
            f"{m} checks at a false discovery rate of {percent(alpha, 0)})"
        )
    else:
        rule = f"at most {percent(alpha, 0)} (Bonferroni: {percent(alpha / max(m, 1), 2)} for each of the {m} checks)"
    return f"A model that equals retraining is FAILed by this configuration with probability {rule}; {NULL_STUDIES}."


def _sensitivity(verdict: Mapping[str, Any]) -> str | None:
    sens = verdict.get("sensitivity")
    if isinstance(sens, Mapping) and sens.get("statement"):
        return str(sens["statement"])
    return None


def _signed(evidence: Mapping[str, Any], *, rerendered: bool) -> tuple[Fact, ...]:
    run = evidence.get("run") or {}
    signing = evidence.get("signing") or {}
    mode = signing.get("mode")
    if rerendered:
        signer = (
            "UNSIGNED copy, re-rendered from an evidence.json; only the run's own report.pdf can be verified"
        )
    elif mode == "test-key":
        signer = (
            "a throwaway test key made for this run: it shows the files are unchanged since the run, not who "
            "ran it"
        )
    elif mode in (None, "unsigned"):
        signer = "not signed (signing was turned off)"
    else:
        signer = f"{signing.get('subject')}"
    facts = [Fact("Signature", signer)]
    if not rerendered and signing.get("cert_sha256") and mode not in (None, "unsigned"):
        facts.append(Fact("Certificate sha256", str(signing["cert_sha256"]), mono=True))
    responsible = run.get("responsible")
    if isinstance(responsible, Mapping) and responsible.get("name"):
        who = str(responsible["name"]) + (f", {responsible['role']}" if responsible.get("role") else "")
    else:
        who = "not named (set report.responsible)"
    facts.append(Fact("Responsible person", who))
    facts.append(
        Fact(
            "Audit run",
            f"{run.get('id')}, finished {_utc(run.get('finished_utc'))}"
            + (f", operator {run['operator']}" if run.get("operator") else ""),
        )
    )
    return tuple(facts)


def _utc(text: Any) -> str:
    text = str(text or "")
    if len(text) == 20 and text[10] == "T" and text.endswith("Z"):
        return f"{text[:10]} {text[11:16]}{NBSP}UTC"
    return text or "not recorded"


def verify_command(evidence: Mapping[str, Any]) -> str:
    """The command a reviewer runs on the report folder."""
    name, _ = unlearned_file(evidence)
    command = "unlearn-audit verify report.pdf --trust-root YOUR-CA.pem"
    if name:
        command += f" --model {name}"
    elif (evidence.get("method") or {}).get("source") == "checkpoint":
        command += " --model YOUR-UNLEARNED-CHECKPOINT.pt"
    return command


def page_one(
    evidence: Mapping[str, Any],
    verdict: Mapping[str, Any] | None = None,
    *,
    rerendered: bool = False,
) -> PageOne:
    """Page 1's content.

    Args:
        evidence: The evidence record.
        verdict: The verdict to show (``report`` passes the one recomputed from the gates).
        rerendered: The page is a re-rendering, which is never signed.
    """
    verdict = verdict if verdict is not None else (evidence.get("verdict") or {})
    gates = [g for g in (evidence.get("gates") or {}).get("results") or () if isinstance(g, Mapping)]
    return PageOne(
        status=str(verdict.get("status")),
        reason=verdict_reason(evidence, verdict),
        request=_request(evidence),
        model=_model(evidence),
        categories=tuple(category_lines(evidence, verdict)),
        counts=state_counts(gates),
        false_fail=false_fail(evidence),
        sensitivity=_sensitivity(verdict),
        not_checked=not_checked(evidence, verdict),
        signed=_signed(evidence, rerendered=rerendered),
        verify_command=verify_command(evidence),
    )


__all__ = ["NULL_STUDIES", "Fact", "PageOne", "false_fail", "page_one", "unlearned_file", "verify_command"]
