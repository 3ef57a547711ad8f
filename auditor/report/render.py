"""Render the evidence dict as one self-contained HTML report and as a PDF/A-3b.

The report is a pure function of the evidence: no clock, no network, no file other than the
templates is read, so the same ``evidence.json`` always renders to the same HTML and to the same
PDF bytes. Templates live in ``<repo>/templates`` in a source tree or an editable install, and in
``auditor/templates`` inside the wheel (force-included by ``pyproject.toml``).

Public API (called by the pipeline):

* :func:`template_dir` -- where the templates are.
* :func:`render_html` -- evidence -> HTML string (CSS inlined, no external resources, no JS).
* :func:`render_pdf` -- that HTML -> PDF bytes, through WeasyPrint.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
from markupsafe import Markup

from auditor.evidence.model import SCHEMA
from auditor.judge.states import gate_state, state_counts
from auditor.report import compliance
from auditor.report.decision import page_one
from auditor.report.details import attack_facts, omitted_details, timing_label
from auditor.report.limits import behavioural_limits
from auditor.report.numbers import amount, percent, sig, unit_of
from auditor.report.numbers import seconds as duration
from auditor.report.plots import figure_data_uri
from auditor.report.records import record_table
from auditor.report.risk import risk as risk_blocks

TEMPLATE = "report.html.j2"
#: Tables longer than this are cut, with a line saying how many rows were left out.
MAX_ROWS = 200
#: The PDF flavour written by :func:`render_pdf` (WeasyPrint's name for it).
PDF_VARIANT = "pdf/a-3b"
#: Tagged PDF (a structure tree, so screen readers and text extraction follow the reading order).
#: WeasyPrint writes tags for any variant that does not forbid them; PDF/A-3b allows them (PDF/A-3a,
#: "accessible", would require them and more, which this report does not claim).
PDF_TAGS = True

STATUS_LABELS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}

SCOPE_STATEMENT = (
    "This report is empirical evidence against a model retrained without the forgotten data, not a proof "
    "of unlearning. 'No leakage detected' means no leakage was detected by these attacks at this "
    "statistical power."
)


class TemplatesNotFoundError(FileNotFoundError):
    """Neither the installed nor the source-tree template folder holds the report template."""


# ---------------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------------


PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The installed ``auditor`` package: a wheel ships the templates inside it, as ``auditor/templates``."""


def template_dir() -> Path:
    """The folder holding ``report.html.j2`` and ``report.css``.

    ``auditor/templates`` (inside a built wheel) is preferred; otherwise ``<repo>/templates``
    (source tree, editable install).

    Raises:
        TemplatesNotFoundError: Neither folder holds the report template.
    """
    candidates = (PACKAGE_DIR / "templates", PACKAGE_DIR.parent / "templates")
    for folder in candidates:
        if (folder / TEMPLATE).is_file():
            return folder
    raise TemplatesNotFoundError(
        f"the report templates were not found: looked for {TEMPLATE} in "
        + " and ".join(str(c) for c in candidates)
        + ". Reinstall unlearn-audit (the wheel ships them as auditor/templates), or run from a source "
        "checkout that has the templates/ folder."
    )


@functools.lru_cache(maxsize=4)
def _environment(folder: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        fmt=fmt,
        signed=signed,
        ci=ci,
        pct=pct,
        seconds=seconds,
        estimate=estimate,
        cell=cell,
        cellclass=cellclass,
        plain=plain,
        general=general,
        shape=shape,
        utc=utc,
        status_label=status_label,
        status_class=status_class,
        not_estimable=not_estimable,
        flatten=flatten,
        basename=lambda path: Path(str(path)).name,
        sig=sig,
        amount=amount,
        percent=percent,
        duration=duration,
        timing_label=timing_label,
        gap_of=lambda x, metric: unit_of(str(metric)).gap(x),
        magnitude_of=lambda x, metric: unit_of(str(metric)).magnitude(x),
        value_of=lambda x, metric: unit_of(str(metric)).value(x),
        interval_of=lambda ci, metric: unit_of(str(metric)).interval(ci),
        unit_words=lambda metric: unit_of(str(metric)).gap_unit,
        state=gate_state,
        facts=attack_facts,
        omitted_details=omitted_details,
    )
    env.globals.update(
        MAX_ROWS=MAX_ROWS,
        SCOPE_STATEMENT=SCOPE_STATEMENT,
        STATUS_LABELS=STATUS_LABELS,
        COMPLIANCE_DISCLAIMER=compliance.DISCLAIMER,
        COMPLIANCE_SOURCES=compliance.SOURCES,
    )
    return env


# ---------------------------------------------------------------------------------------------------
# Filters. None never becomes a number: it renders as an em dash, or as "not estimable" with its note.
# ---------------------------------------------------------------------------------------------------

DASH = "\u2014"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fmt(x: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals (integers as they are); None as an em dash."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        text = f"{x:.{digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"
    return str(x)


def signed(x: Any, digits: int = 3) -> str:
    """A number with an explicit sign (gaps); None as an em dash."""
    if not _finite(x):
        return fmt(x, digits)
    text = f"{float(x):+.{digits}f}"
    return "+" + text[1:] if float(text) == 0 else text


def ci(interval: Any, digits: int = 3, sign: bool = False) -> str:
    """``[lo, hi]``; an empty string when there is no interval."""
    if not interval:
        return ""
    f = signed if sign else fmt
    lo, hi = interval
    return f"[{f(lo, digits)}, {f(hi, digits)}]"


def pct(level: Any) -> str:
    """A confidence level as a percentage: 0.95 -> 95%, 0.991667 -> 99.17%."""
    if not _finite(level):
        return DASH
    value = float(level) * 100
    if abs(value - round(value)) < 1e-9:
        return f"{round(value)}%"
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def seconds(x: Any) -> str:
    """A duration: ``2.10 s``, ``1 min 05 s``."""
    if not _finite(x):
        return DASH
    x = float(x)
    if x < 60:
        return f"{x:.2f} s"
    minutes, rest = divmod(round(x), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def not_estimable(note: Any) -> Markup:
    """``not estimable`` with the reason in small text."""
    out = Markup('<span class="ne">not estimable</span>')
    if note:
        text = str(note)
        if text.lower().startswith("not estimable"):  # the note usually repeats the words
            text = text[len("not estimable") :].lstrip(" :;,-\u2013\u2014")
        if text:
            out += Markup('<small class="note">{}</small>').format(text)
    return out


def estimate(est: Any, digits: int = 3, sign: bool = False) -> Markup:
    """An estimate dict (``value``, ``ci``, ``note``) as a table cell's content."""
    if est is None:
        return Markup('<span class="na">{}</span>').format(DASH)
    value = est.get("value")
    if value is None:
        return not_estimable(est.get("note"))
    f = signed if sign else fmt
    out = Markup('<span class="v">{}</span>').format(f(value, digits))
    interval = est.get("ci")
    if interval:
        out += Markup(' <span class="ci">{}</span>').format(ci(interval, digits, sign))
    if est.get("note"):
        out += Markup('<small class="note">{}</small>').format(est["note"])
    return out


def cell(x: Any) -> str:
    """A value in a generic table: floats with 3 decimals, lists joined, None as an em dash."""
    if isinstance(x, (list, tuple)):
        return ", ".join(cell(v) for v in x) if x else DASH
    if isinstance(x, Mapping):
        return tojson_compact(x)
    return fmt(x)


def cellclass(x: Any) -> str:
    """``num`` for numeric cells (right-aligned)."""
    return "num" if _finite(x) else ""


def tojson_compact(x: Any) -> str:
    return json.dumps(x, ensure_ascii=False, sort_keys=False, separators=(", ", ": "), default=str)


def general(x: Any) -> str:
    """A setting as written: floats without rounding to 3 decimals (0.0005 stays 0.0005)."""
    if isinstance(x, float) and math.isfinite(x):
        return f"{x:.6g}"
    return fmt(x)


def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, (str, int, float, bool))


def plain(x: Any) -> str:
    """Any setting in a key/value table.

    Scalars as written, flat lists joined, flat mappings as ``key: value; ...``, anything deeper
    as JSON.
    """
    if isinstance(x, (list, tuple)):
        if not x:
            return "none"
        if all(_scalar(v) for v in x):
            return ", ".join(general(v) for v in x)
        return tojson_compact(x)
    if isinstance(x, Mapping):
        if not x:
            return "none"
        if all(_scalar(v) for v in x.values()):
            return "; ".join(f"{k}: {general(v)}" for k, v in x.items())
        return tojson_compact(x)
    return general(x)


def flatten(x: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A nested config as ``(dotted.key, JSON value)`` lines; lists of scalars stay on one line."""
    out: list[tuple[str, str]] = []
    if isinstance(x, Mapping) and x:
        for key, value in x.items():
            out += flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif (
        isinstance(x, (list, tuple))
        and x
        and not all(v is None or isinstance(v, (str, int, float, bool)) for v in x)
    ):
        for i, value in enumerate(x):
            out += flatten(value, f"{prefix}[{i}]")
    else:
        out.append((prefix or "(root)", json.dumps(x, ensure_ascii=False, default=str)))
    return out


def shape(x: Any) -> str:
    """An input shape: ``1 × 8 × 8``."""
    if isinstance(x, (list, tuple)) and x:
        return " \u00d7 ".join(str(v) for v in x)
    return plain(x)


def utc(x: Any) -> str:
    """``2026-11-23T03:00:41Z`` -> ``2026-11-23 03:00:41 UTC``; anything else unchanged."""
    if not x:
        return DASH
    text = str(x)
    if len(text) == 20 and text[10] == "T" and text.endswith("Z"):
        return f"{text[:10]} {text[11:19]} UTC"
    return text


def status_label(status: Any) -> str:
    return STATUS_LABELS.get(str(status), str(status).upper())


def status_class(status: Any) -> str:
    return str(status) if status in STATUS_LABELS else "unknown"


# ---------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------


def _metric_index(evidence: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Metric key -> {label, attack} over every attack, for the checks table."""
    out: dict[str, dict[str, Any]] = {}
    attacks = evidence.get("attacks")
    for attack in attacks if isinstance(attacks, list) else ():
        metrics = attack.get("metrics") if isinstance(attack, Mapping) else None
        for metric in metrics if isinstance(metrics, list) else ():
            if isinstance(metric, Mapping) and metric.get("key"):
                key = metric["key"]
                out[key] = {"label": metric.get("label") or key, "attack": attack.get("name")}
    return out


def render_html(
    evidence: Mapping[str, Any],
    *,
    rerendered: bool = False,
    recheck: Any = None,
    redacted: bool | None = None,
) -> str:
    """Render the report as one self-contained HTML document.

    Args:
        evidence: The evidence dict (schema ``unlearn-audit/evidence/v1``).
        rerendered: True for ``unlearn-audit report``: the output is never signed, so its header
            says UNSIGNED, as prominently as the verdict, whatever the evidence's ``signing`` claims.
        recheck: A :class:`auditor.report.recheck.Recheck` (``report`` passes one): the page shows
            its recomputed verdict and lists where the record disagreed with its own gates.
        redacted: Leave out per-record rows, file paths, commands and host names (default: the
            config's ``report.redacted``).

    Returns:
        The HTML, CSS inlined; it references no external resource and needs no JavaScript.

    Raises:
        ValueError: The evidence declares another schema.
        jinja2.UndefinedError: A key the report needs is missing from the evidence.
        TemplatesNotFoundError: The templates are not installed.
    """
    schema = evidence.get("schema")
    if schema != SCHEMA:
        raise ValueError(f"cannot render evidence of schema {schema!r}: this report renders {SCHEMA!r}")
    env = _environment(str(template_dir()))
    if recheck is not None:
        evidence = {**evidence, "verdict": recheck.verdict}
    if redacted is None:
        redacted = bool(((evidence.get("config") or {}).get("report") or {}).get("redacted"))
    gates = evidence.get("gates")
    results: list[Mapping[str, Any]] = []
    if isinstance(gates, Mapping):
        results = [r for r in gates.get("results") or () if isinstance(r, Mapping)]
    gated = {r.get("metric"): r for r in results}
    context = {"timings": None, "controls": [], **evidence}  # reproducible runs keep timings in run-log.json
    context.update(
        evidence=evidence,
        metric_index=_metric_index(evidence),
        gated=gated,
        plot_uri=lambda figure, attack=None: figure_data_uri(
            figure, gates=_figure_gates(figure, attack, gated)
        ),
        figure_gate=lambda figure, attack=None: next(iter(_figure_gates(figure, attack, gated)), None),
        evidence_signing={"mode": "unsigned"} if rerendered else evidence.get("signing"),
        rerendered=rerendered,
        recheck=recheck,
        redacted=redacted,
        page=page_one(evidence, rerendered=rerendered),
        state_counts=state_counts(results),
        risk=risk_blocks(evidence),
        records=record_table(evidence, redacted=redacted),
        compliance_rows=compliance.rows(evidence, rerendered=rerendered),
        limits=behavioural_limits(),
    )
    return env.get_template(TEMPLATE).render(context)


def _figure_gates(
    figure: Mapping[str, Any], attack: Mapping[str, Any] | None, gated: Mapping[Any, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The gates a figure illustrates, with the values the figure's legend shows.

    A ROC figure illustrates its attack's AUC gates: the legend gives each model's AUC, the caption
    the gap and the gate's state, so the picture and the gate it illustrates cannot disagree.
    """
    if attack is None or figure.get("kind") != "roc":
        return []
    out = []
    for metric in attack.get("metrics") or ():
        key = str(metric.get("key"))
        gate = gated.get(key)
        if not key.endswith(".auc") or gate is None:
            continue
        values = {
            role: (metric.get("values") or {}).get(role, {}).get("value")
            for role in ("unlearned", "reference", "original")
        }
        out.append(
            {
                "metric": key,
                "values": values,
                "gap": gate.get("gap"),
                "tolerance": gate.get("tolerance"),
                "state": gate_state(gate).label,
            }
        )
    title = str(figure.get("title") or "").lower()
    # The gate whose signal the title names; the longest name wins ("modified entropy" over "entropy").
    scored = [
        (max((len(w) for w in _signal_words(str(g["metric"])) if w in title), default=0), g) for g in out
    ]
    best = max(scored, key=lambda item: item[0], default=(0, None))
    return [best[1]] if best[1] is not None and best[0] > 0 else out[:1]


def _signal_words(metric: str) -> tuple[str, ...]:
    """Words a figure title uses for the signal of an AUC metric (``threshold.mentropy.auc``: modified entropy)."""
    signal = metric.split(".")[-2]
    return {
        "mentropy": ("modified entropy",),
        "loss": ("loss",),
        "entropy": ("entropy",),
        "confidence": ("confidence",),
    }.get(signal, (signal,))


# ---------------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------------


class RefusedURLError(ValueError):
    """The report tried to load a resource that is neither a data: URI nor a template file."""


@functools.lru_cache(maxsize=1)
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher  # WeasyPrint >= 68: fetchers are URLFetcher instances

    class LocalOnlyURLFetcher(URLFetcher):
        """Fetches ``data:`` URIs and files under one folder; refuses everything else.

        A refusal stops the rendering (``fail_on_errors``): a report that silently lacks a
        resource, or that reached out to the network, is worse than no report.
        """

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False, fail_on_errors=True)
            self.root = Path(root).resolve()

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                parts = urlsplit(url)
                if parts.netloc in ("", "localhost"):
                    path = Path(url2pathname(unquote(parts.path))).resolve()
                    if path.is_relative_to(self.root) and path.is_file():
                        return super().fetch(url, headers)
            raise RefusedURLError(
                f"refused to load {url!r}: the report may only use data: URIs and files under {self.root}"
            )

    return LocalOnlyURLFetcher


def local_url_fetcher(root: Path | None = None) -> Any:
    """A WeasyPrint URL fetcher that allows only ``data:`` URIs and files under ``root``.

    Args:
        root: The allowed folder (default: :func:`template_dir`).
    """
    return _fetcher_class()(root if root is not None else template_dir())


def _epoch(timestamp: str) -> int:
    """Seconds since 1970 of an ISO 8601 UTC time such as ``2026-11-23T03:00:41Z``."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0, int(moment.timestamp()))


@contextlib.contextmanager
def _source_date_epoch(epoch: int) -> Iterator[None]:
    """Set ``SOURCE_DATE_EPOCH`` while WeasyPrint writes the PDF.

    fontTools stamps the ``head.modified`` field of every font subset it writes with the current
    time unless ``SOURCE_DATE_EPOCH`` is set (reproducible-builds.org); WeasyPrint subsets fonts
    with fontTools when HarfBuzz's subsetter is not available. The variable is process-wide, so it
    is restored afterwards.
    """
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def render_pdf(
    html: str, *, evidence: Mapping[str, Any], attachments: Mapping[str, tuple[bytes, str, str]] | None = None
) -> bytes:
    """Render the HTML from :func:`render_html` to a PDF/A-3b document.

    The output is byte-for-byte reproducible: the file identifier is derived from the run id, and
    every date in the file (Info dictionary, XMP metadata, embedded font subsets) is the run's
    finish time, never the current time.

    Args:
        html: The report HTML.
        evidence: The evidence it was rendered from (run id and finish time).
        attachments: Embedded files, name -> (bytes, description, PDF/A-3 AFRelationship), e.g.
            ``{"evidence.json": (data, "The evidence record", "Data")}``; dated with the run's
            finish time so the bytes stay reproducible.

    Returns:
        The PDF bytes.

    Raises:
        weasyprint.urls.FatalURLFetchingError: The HTML referenced a resource other than a data: URI
            or a file under :func:`template_dir`.
    """
    import weasyprint

    run = evidence["run"]
    finished = run["finished_utc"]
    identifier = hashlib.sha256(f"unlearn-audit/run/{run['id']}".encode()).hexdigest()[:32].encode()
    folder = template_dir()
    with _source_date_epoch(_epoch(finished)):
        document = weasyprint.HTML(
            string=html, base_url=str(folder), url_fetcher=local_url_fetcher(folder)
        ).render(pdf_variant=PDF_VARIANT, pdf_tags=PDF_TAGS)
        # The HTML head carries the same dates (dcterms.created/modified); setting them here keeps
        # the PDF reproducible even for HTML that lacks them.
        document.metadata.created = finished
        document.metadata.modified = finished
        if not document.metadata.title:
            document.metadata.title = run.get("title")
        when = datetime.strptime(finished, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        files = [
            weasyprint.Attachment(
                string=data,
                name=name,
                description=description,
                relationship=relation,
                created=when,
                modified=when,
            )
            for name, (data, description, relation) in (attachments or {}).items()
        ]
        return document.write_pdf(
            pdf_variant=PDF_VARIANT, pdf_tags=PDF_TAGS, pdf_identifier=identifier, attachments=files
        )


__all__ = [
    "MAX_ROWS",
    "PDF_TAGS",
    "PDF_VARIANT",
    "SCOPE_STATEMENT",
    "TemplatesNotFoundError",
    "local_url_fetcher",
    "render_html",
    "render_pdf",
    "template_dir",
]
