"""The ``unlearn-audit`` command line: parse, lazy-import, call one library function.

Nothing heavy is imported at module level, so ``unlearn-audit --help`` does not import torch.
Exit codes: 0 pass, 1 fail or inconclusive, 2 usage or config error, 3 the audit could not
complete.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from auditor.version import __version__

EPILOG = (
    "Exit codes: 0 pass, 1 fail or inconclusive, 2 usage or config error, 3 audit could not complete. "
    'Shell completion: eval "$(_UNLEARN_AUDIT_COMPLETE=bash_source unlearn-audit)".'
)


def _parse_set(values: tuple[str, ...]) -> dict[str, Any]:
    """The ``--set`` items as dotted keys and values (a bad item is a config error, exit 2)."""
    from auditor.config import parse_overrides

    return parse_overrides(values)


def _load(config: Path, sets: tuple[str, ...]) -> Any:
    """The validated config, ``--set`` applied; a note on stderr for each key a switched choice dropped."""
    from auditor.config import load_config

    notes: list[str] = []
    cfg = load_config(config, overrides=_parse_set(sets), notes=notes)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    return cfg


def shown_path(path: str | Path) -> str:
    """``path`` as printed: normalised, and relative to the working folder when it lies below it."""
    import os

    full = os.path.abspath(path)
    try:
        relative = os.path.relpath(full)
    except ValueError:  # another drive (Windows)
        return full
    return full if relative.startswith("..") else relative


class UsageProblem(click.ClickException):
    """A usage error that is not a parsing error (an existing file, a missing choice): exit code 2."""

    exit_code = 2


def _output_error(exc: OSError) -> Any:
    """An :class:`~auditor.errors.OutputError` (exit 3) in one line naming the file.

    For an OS error (disk full, read-only or vanished folder) raised while the audit wrote its files.
    """
    from auditor.errors import OutputError

    where = exc.filename or "an output file"
    return OutputError(
        f"could not write {where}: {exc.strerror or exc}. Free space or choose a writable folder "
        "(--out, execution.cache_dir) and run again."
    )


class _Group(click.Group):
    """Turns an unexpected exception into exit code 3 ("the audit could not complete")."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            import traceback

            from auditor.errors import AuditFailedError

            detail = "".join(traceback.format_exception(exc, limit=-3)).rstrip()
            raise AuditFailedError(
                f"the audit could not complete: {type(exc).__name__}: {exc}\n{detail}"
            ) from exc


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(__version__, prog_name="unlearn-audit")
def cli() -> None:
    """Audit a machine-unlearning method against a model retrained without the forgotten data.

    Start with `unlearn-audit init audit.yaml`, then `unlearn-audit run audit.yaml`.
    """


@cli.command(epilog=EPILOG)
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: report.out)."
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set unlearner.name=retrain (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JUnit XML file (a testcase per gate).",
)
@click.option(
    "--summary-md",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set).",
)
@click.option("--no-sign", is_flag=True, help="Leave the report unsigned (the report says so).")
@click.option("-q", "--quiet", is_flag=True, help="No plan and no progress on stderr.")
def run(
    config: Path,
    out: Path | None,
    sets: tuple[str, ...],
    as_json: bool,
    junit_xml: Path | None,
    summary_md: Path | None,
    no_sign: bool,
    quiet: bool,
) -> None:
    """Run the audit in CONFIG and write report.html, report.pdf and evidence.json.

    The sizes-only plan and then progress go to stderr: bars on a terminal, timestamped lines
    otherwise (a CI log); -q and --json turn both off.
    """
    cfg = _load(config, sets)
    from auditor.errors import AuditError
    from auditor.run.pipeline import run_audit
    from auditor.run.progress import Progress

    progress = Progress(enabled=False if (quiet or as_json) else None)
    command = "unlearn-audit run " + " ".join([str(config), *(f"--set {s}" for s in sets)])
    try:
        outcome = run_audit(
            cfg,
            out=out,
            config_path=config,
            progress=progress,
            command=command,
            sign=not no_sign,
            on_prepared=None if (quiet or as_json) else lambda prep: _echo_plan(cfg, prep),
        )
        ev = outcome.evidence
        _ci_outputs(
            ev,
            {k: str(v) for k, v in outcome.files.items()},
            junit_xml=junit_xml,
            summary_md=summary_md,
            annotate=not as_json,
        )
    except AuditError:
        raise
    except OSError as exc:  # disk full, read-only or removed folder: one line, not a traceback
        raise _output_error(exc) from exc
    try:
        _echo_outcome(outcome, as_json=as_json)
    except BrokenPipeError:
        # The reader closed the pipe (`| head`): the audit is complete and its files are written, so
        # the exit code stays the verdict; stdout goes to devnull so the interpreter's final flush
        # does not raise again (Python docs, "Note on SIGPIPE").
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(outcome.exit_code)


def _echo_plan(cfg: Any, prep: Any) -> None:
    """``run``'s first lines, on stderr (stdout stays the verdict): what the data sizes allow, before any training."""
    from auditor.run.plan import size_lines, size_plan

    click.echo("\n".join(size_lines(size_plan(cfg, prep), brief=True)), err=True)


@cli.command("plan", epilog=EPILOG)
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set forget.count=400 (repeatable).",
)
@click.option(
    "--pilot",
    is_flag=True,
    help="Train the original and the first references (reused by the audit from the model cache) and predict "
    "each gate's tolerance, power and MDE at 80 % power.",
)
@click.option(
    "--pilot-references",
    type=click.IntRange(min=2, max=64),
    default=6,
    show_default=True,
    help="References the pilot trains; the last stands in for an honest unlearned model.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def plan_command(
    config: Path, sets: tuple[str, ...], pilot: bool, pilot_references: int, as_json: bool, quiet: bool
) -> None:
    """Say what the audit in CONFIG can show before it runs: from the data sizes alone, or from a pilot.

    Per claimed category and gate: what the sample sizes allow, whether the battery can reach power,
    each gate's minimum detectable effect and what would change it (forget-set size, held-out size,
    references). Writes nothing; exit code 0, or 2 for a config error.
    """
    import tempfile

    from auditor.config import load_config

    cfg = load_config(config, overrides=_parse_set(sets))
    from auditor.run.plan import pilot_lines, pilot_plan, size_lines, size_plan
    from auditor.run.preflight import preflight
    from auditor.run.progress import Progress

    with tempfile.TemporaryDirectory(prefix="unlearn-audit-plan-") as scratch:  # plan writes no report
        prep = preflight(cfg, out=Path(scratch), source=str(config), sign=False)
    if pilot:
        progress = Progress(enabled=False if (quiet or as_json) else None)
        result: Any = pilot_plan(cfg, prep, references=pilot_references, progress=progress)
        lines = pilot_lines(result)
        record = {"sizes": result.sizes.as_dict(), "pilot": result.as_dict()}
    else:
        result = size_plan(cfg, prep)
        lines = size_lines(result)
        record = {"sizes": result.as_dict(), "pilot": None}
    if as_json:
        click.echo(json.dumps(record, indent=2))
    else:
        click.echo("\n".join(lines))


def _echo_outcome(outcome: Any, *, as_json: bool) -> None:
    """The verdict, every gate and the files written, or the JSON summary, on stdout."""
    ev = outcome.evidence
    if as_json:
        from auditor.judge.states import gate_state, state_counts

        summary = {
            "verdict": outcome.status,
            "exit_code": outcome.exit_code,
            "headline": ev["verdict"]["headline"],
            "counts": ev["verdict"]["counts"],
            "states": state_counts(ev["gates"]["results"]).as_dict(),  # powered and unpowered apart
            "files": {k: str(v) for k, v in outcome.files.items()},
            "gates": [
                {
                    **{k: g[k] for k in ("metric", "status", "gap", "tolerance")},
                    "state": gate_state(g).state,
                    "powered": bool(g.get("powered")),
                    "catches_original": (g.get("control") or {}).get("catches_original"),
                }
                for g in ev["gates"]["results"]
            ],
            "timings": outcome.timings,
            "run_id": ev["run"]["id"],
        }
        click.echo(json.dumps(summary, indent=2))
    else:
        colour = {"pass": "green", "fail": "red"}.get(outcome.status, "yellow")
        click.secho(ev["verdict"]["headline"], fg=colour, bold=True)
        click.echo(ev["verdict"]["statement"])
        from auditor.report.machine import console_lines

        for line in console_lines(ev):  # gates without power read NOT POWERED, never PASS
            click.echo(line)
        for name in ("report.html", "report.pdf", "evidence.json", "evidence.intoto.json", "run-log.json"):
            if name in outcome.files:
                click.echo(f"{name}: {shown_path(outcome.files[name])}")
        click.echo(f"total {outcome.timings['total_s']:.1f} s")


def _ci_outputs(
    evidence: dict[str, Any],
    files: dict[str, str],
    *,
    junit_xml: Path | None,
    summary_md: Path | None,
    annotate: bool,
) -> None:
    """JUnit, Markdown summary and GitHub annotations, written atomically."""
    import os

    from auditor.files import write_public
    from auditor.report.machine import github_annotations, summary_markdown
    from auditor.report.machine import junit_xml as to_junit

    if junit_xml is not None:  # read by CI runners and artefact uploaders: mode 0644
        write_public(junit_xml, to_junit(evidence).encode())
    summary = summary_markdown(evidence, files=files)
    if summary_md is not None:
        write_public(summary_md, summary.encode())
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(summary)
    if annotate and os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(evidence):
            click.echo(line)


REPORT_EPILOG = (
    "Exit codes: 0 the verdict recomputed from the record's gates is PASS; 1 FAIL or INCONCLUSIVE; 2 usage "
    "error (a file that is not an evidence record); 3 an output could not be written."
)


@cli.command(epilog=REPORT_EPILOG)
@click.argument("evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Folder (default: the evidence's)."
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["html", "pdf", "junit", "markdown"]),
    help="What to render (repeatable; default: html and pdf).",
)
@click.option(
    "--redacted",
    is_flag=True,
    default=None,
    help="Leave out per-record rows, file paths, commands and host names (default: the record's "
    "report.redacted), for a report that leaves the organisation.",
)
def report(evidence: Path, out: Path | None, formats: tuple[str, ...], redacted: bool | None) -> None:
    """Re-render the reports from an evidence record, without re-running anything.

    The verdict is recomputed from the record's gates (an evidence.json can be edited by anyone);
    where the record disagrees with its gates, the page says so and shows the recomputed verdict.
    The output is never signed, and its first page says UNSIGNED as prominently as the verdict.
    """
    from auditor.files import write_public
    from auditor.report.machine import junit_xml as to_junit
    from auditor.report.machine import summary_markdown
    from auditor.report.recheck import rechecked
    from auditor.report.render import render_html, render_pdf

    try:
        ev = json.loads(evidence.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {evidence} as JSON: {exc}", param_hint="EVIDENCE") from None
    from auditor.evidence.model import SCHEMA

    if not isinstance(ev, dict) or ev.get("schema") != SCHEMA:
        raise click.BadParameter(
            f"{evidence} is not an unlearn-audit evidence record (schema {SCHEMA})",
            param_hint="EVIDENCE",
        )
    try:
        shown, check = rechecked(ev)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise click.BadParameter(
            f"{evidence}: its verdict cannot be recomputed from its gates ({exc}); it is damaged or not written by "
            "unlearn-audit",
            param_hint="EVIDENCE",
        ) from None
    folder = out or evidence.parent
    wanted = formats or ("html", "pdf")
    html = ""
    if {"html", "pdf"} & set(wanted):  # says UNSIGNED; shows the recomputed verdict
        html = render_html(ev, rerendered=True, recheck=check, redacted=redacted)
    renderers = {
        "html": ("report.html", lambda: html.encode()),
        "pdf": ("report.pdf", lambda: render_pdf(html, evidence=ev)),
        "junit": ("junit.xml", lambda: to_junit(shown).encode()),
        "markdown": ("summary.md", lambda: summary_markdown(shown).encode()),
    }
    for fmt in wanted:
        name, render = renderers[fmt]
        write_public(folder / name, render())
        click.echo(f"{name}: {shown_path(folder / name)}")
    click.echo(f"verdict, recomputed from the gates: {check.status.upper()} (UNSIGNED copy)")
    for problem in check.problems:
        click.secho(f"warning: {problem}", fg="yellow", err=True)
    sys.exit(check.exit_code)


VERIFY_EPILOG = (
    "Exit codes: 0 verified (every check passed); 1 not verified: a check failed, or the report, "
    "statement, evidence or trust root is tampered with, damaged, unreadable or of the wrong kind (one "
    "FAIL line names the check); 2 usage error (unknown option, missing argument, a path that does not "
    "exist)."
)


@cli.command(epilog=VERIFY_EPILOG)
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="PEM certificate(s) to trust (your organisation's CA). Repeatable.",
)
@click.option(
    "--allow-untrusted", is_flag=True, help="Accept an intact signature whose signer is not trusted."
)
@click.option(
    "--evidence",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="An evidence.json to check against the signed statement (default: the evidence.json beside "
    "TARGET, when there is one).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A checkpoint to re-hash against the statement's model subjects. Repeatable.",
)
@click.option(
    "--config",
    "configs",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A config file to re-hash against the audited one. Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def verify(
    target: Path,
    trust_roots: tuple[Path, ...],
    allow_untrusted: bool,
    evidence: Path | None,
    models: tuple[Path, ...],
    configs: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Verify a signed report.pdf (or a bare evidence.intoto.json) and re-hash the given files.

    The PDF verifies only as signed: its signature must cover every byte of the file (anything
    appended or added as a later revision fails) and chain to a --trust-root. The statement inside
    must verify with the same key, and an evidence.json beside TARGET (or given with --evidence)
    must equal the signed evidence. An evidence.json alone cannot be verified: it is not signed.
    """
    from auditor.evidence.verify import verify as run_verify

    result = run_verify(
        target,
        trust_roots=list(trust_roots),
        allow_untrusted=allow_untrusted,
        models=list(models),
        configs=list(configs),
        evidence=evidence,
    )
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        from auditor.evidence.verify import signed_summary, summary_lines

        for c in result.checks:
            click.echo(f"{'OK  ' if c.ok else 'FAIL'} {c.name:<28} {c.detail}")
        if result.ok and result.statement is not None:
            click.echo("What was signed:")
            for line in summary_lines(signed_summary(result.statement)):
                click.echo(f"  {line}")
        for warning in result.warnings:
            click.secho(f"WARNING: {warning}", fg="yellow", bold=True)
        if result.ok:
            verdict = "VERIFIED" + (" (with the warning above)" if result.warnings else "")
            click.secho(verdict, fg="yellow" if result.warnings else "green", bold=True)
        else:
            click.secho("NOT VERIFIED", fg="red", bold=True)
    sys.exit(0 if result.ok else 1)


@cli.group()
def keys() -> None:
    """Signing keys."""


@keys.command("gen-test")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write into."
)
@click.option(
    "--passphrase-env",
    default=None,
    metavar="VAR",
    help="Encrypt the key and PKCS#12 bundle with the passphrase in this environment variable.",
)
def keys_gen_test(out: Path, passphrase_env: str | None) -> None:
    """Write a TEST-ONLY CA, signer key and certificate (PEM) and PKCS#12 bundle for trying signing out."""
    import os

    from auditor.evidence.sign import write_test_pki

    passphrase = None
    if passphrase_env:
        value = os.environ.get(passphrase_env)
        if not value:
            raise click.BadParameter(
                f"environment variable {passphrase_env} is not set", param_hint="--passphrase-env"
            )
        passphrase = value.encode()
    for name, path in write_test_pki(out, passphrase=passphrase).items():
        click.echo(f"{name}: {path}")
    click.echo(
        "TEST ONLY: sign with report.signing {key: signer.key.pem, cert: signer.cert.pem}; "
        "verify with --trust-root ca.pem"
    )


@cli.group("cache")
def cache_group() -> None:
    """Show or clear the trained-model cache ($UNLEARN_AUDIT_CACHE or ~/.cache/unlearn-audit)."""


def _cache_root(directory: Path | None) -> Path:
    from auditor.train.cache_admin import default_cache_dir

    return directory if directory is not None else default_cache_dir()


@cache_group.command("ls")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache folder (default: $UNLEARN_AUDIT_CACHE or ~/.cache/unlearn-audit).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def cache_ls(directory: Path | None, as_json: bool) -> None:
    """List cached models, newest first."""
    from auditor.train.cache_admin import entries

    root = _cache_root(directory)
    found = entries(root)
    if as_json:
        click.echo(json.dumps({"root": str(root), "entries": [e.as_dict() for e in found]}, indent=2))
        return
    import datetime as dt

    for e in found:
        when = dt.datetime.fromtimestamp(e.modified, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{e.key[:16]}  {e.role:<10} {e.arch:<12} seed {e.seed!s:<12} {e.size_bytes / 1e6:7.2f} MB  {when}"
        )
    total = sum(e.size_bytes for e in found)
    click.echo(f"{len(found)} model(s), {total / 1e6:.1f} MB in {root}")


@cache_group.command("prune")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache folder (default: $UNLEARN_AUDIT_CACHE or ~/.cache/unlearn-audit).",
)
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    default=None,
    metavar="DAYS",
    help="Remove models last written more than DAYS days ago.",
)
@click.option("--all", "everything", is_flag=True, help="Remove every cached model.")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
def cache_prune(directory: Path | None, older_than: float | None, everything: bool, dry_run: bool) -> None:
    """Remove cached models (they are retrained when next needed)."""
    from auditor.train.cache_admin import entries, remove, select

    if older_than is None and not everything:
        raise click.UsageError("say what to remove: --older-than DAYS or --all")
    root = _cache_root(directory)
    chosen = select(entries(root), older_than_days=older_than, everything=everything)
    size = sum(e.size_bytes for e in chosen)
    if dry_run:
        click.echo(f"would remove {len(chosen)} model(s), {size / 1e6:.1f} MB from {root}")
        return
    remove(chosen)
    click.echo(f"removed {len(chosen)} model(s), {size / 1e6:.1f} MB from {root}")


@cli.group()
def config() -> None:
    """Validate a config file or print its JSON Schema."""


@config.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--data/--no-data",
    default=False,
    help="Also load the dataset and check the forget request, checkpoints and output folder.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, as for run (repeatable).",
)
def config_validate(file: Path, data: bool, sets: tuple[str, ...]) -> None:
    """Check FILE and list every problem at once (exit 2 if any)."""
    cfg = _load(file, sets)
    if data:
        from auditor.run.preflight import preflight

        prep = preflight(cfg, out=cfg.report.out, source=str(file))
        counts = prep.splits.counts()
        click.echo(
            f"data: {prep.data.name}, {len(prep.data)} samples; forget {counts['forget']}, "
            f"retain {counts['retain']}, test {counts['test']}, population {counts['population']} "
            f"(split: {prep.splits.source})"
        )
    click.echo(f"{shown_path(file)}: valid (config sha256 {cfg.digest()[:16]}...)")


@config.command("schema")
@click.option("--evidence", is_flag=True, help="Print the evidence record's schema (evidence.json) instead.")
def config_schema(evidence: bool) -> None:
    """Print the config's JSON Schema (for editor completion), or the evidence record's."""
    if evidence:
        from auditor.evidence.model import Evidence

        click.echo(json.dumps(Evidence.model_json_schema(by_alias=True), indent=2))
        return
    from auditor.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="audit.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config for the embedded default (digits) to PATH."""
    from auditor.cli.init_template import STARTER

    if path.exists() and not force:
        raise UsageProblem(f"{shown_path(path)} exists; pass --force to overwrite it")
    path.write_text(STARTER, encoding="utf-8")
    click.echo(f"wrote {shown_path(path)}; run it with: unlearn-audit run {shown_path(path)}")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_plugins(as_json: bool) -> None:
    """List unlearning methods and attacks with their descriptions and citations."""
    from attacks import ATTACKS
    from unlearners import UNLEARNERS

    rows: dict[str, list[dict[str, Any]]] = {"unlearners": [], "attacks": []}
    for name in UNLEARNERS.names():
        method = UNLEARNERS.get(name)
        rows["unlearners"].append(
            {
                "name": name,
                "summary": method.summary,
                "citation": method.citation,
                "supports": sorted(method.supports),
            }
        )
    for name in ATTACKS.names():
        attack = ATTACKS.get(name)
        rows["attacks"].append({"name": name, "summary": attack.summary, "citation": attack.citation})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for kind, entries in rows.items():
        click.secho(kind.capitalize() + ":", bold=True)
        for e in entries:
            extra = f" [forget: {', '.join(e['supports'])}]" if "supports" in e else ""
            click.echo(f"  {e['name']:<16} {e['summary']}{extra}")
            click.echo(f"  {'':<16} {e['citation']}")


@cli.group("split")
def split_group() -> None:
    """Export the split an audit draws, so your original can be trained on exactly it."""


@split_group.command("export")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for train.txt, population.txt and test.txt (default: split/ beside CONFIG).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, as for run (repeatable).",
)
def split_export(config: Path, out: Path | None, sets: tuple[str, ...]) -> None:
    """Write the split CONFIG's audit would use (train, population, test) as files data.split reads back.

    Rows are named by record ID when the loader returns IDs, else by dataset index. Train your
    original on exactly the train rows, with the training function and arguments of the config;
    then declare the files (data.split) and give the checkpoint (model.checkpoint). No model is
    trained.
    """
    cfg = _load(config, sets)
    from auditor.data.datasets import load_dataset
    from auditor.data.declared import write_split_files
    from auditor.data.splits import base_parts
    from auditor.errors import ConfigError

    data = load_dataset(cfg.data)
    parts, source, problems = base_parts(data, cfg.data, cfg.seed)
    if parts is None:
        raise ConfigError(problems, source=str(config))
    ids = data.ids is not None
    folder = out if out is not None else config.parent / "split"
    note = f"exported from {config.name} (seed {cfg.seed}, split {source}); dataset {data.name}"
    written = write_split_files(data, parts, folder, ids=ids, note=note)
    for part, path in written.items():
        click.echo(f"{part}: {shown_path(path)} ({len(parts[part])} rows)")
    import os

    rel = {k: os.path.relpath(p, config.parent.resolve()) for k, p in written.items()}
    click.echo(
        f"Rows are named by {'record ID' if ids else 'dataset index'}. Train your original on the "
        f"{len(parts['train'])} train rows, with the config's training function and arguments, then add to "
        f"{config.name}:\n"
        "data:\n"
        f"  split: {{train: {rel['train']}, population: {rel['population']}, test: {rel['test']}}}\n"
        "model:\n"
        "  checkpoint: original.pt   # your trained original (a state_dict)"
        + (
            f"\nand remove data.{', data.'.join(cfg.data.seeded_split_keys())} (the files fix the split)."
            if cfg.data.seeded_split_keys()
            else ""
        )
    )


@cli.group("ids")
def ids_group() -> None:
    """Record IDs of an erasure request: the salted digest the evidence records instead of them."""


@ids_group.command("digest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--column", default=None, help="The CSV column holding the IDs (the file has a header row).")
@click.option(
    "--salt", default=None, metavar="HEX", help="The salt, as in evidence.json's data.forget.ids.salt."
)
@click.option(
    "--evidence",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="An evidence.json: take the salt from it and compare the digest with the one it records.",
)
def ids_digest(file: Path, column: str | None, salt: str | None, evidence: Path | None) -> None:
    """Print the salted sha256 of the record IDs in FILE (one per line, or a CSV --column).

    With --evidence, compare it with the evidence's data.forget.ids (exit 0 when it matches, 1 when
    not): the requester proves which list was audited without the evidence holding the IDs.
    """
    from auditor.data.records import read_id_file, salted_digest

    recorded, source = None, ""
    if evidence is not None:
        source = shown_path(evidence)
        try:
            recorded = json.loads(evidence.read_text(encoding="utf-8"))["data"]["forget"]["ids"]
        except (OSError, ValueError, KeyError, TypeError):
            raise UsageProblem(
                f"{source} records no digest of record IDs (data.forget.ids): its request did not "
                "name records by ID"
            ) from None
        salt = salt or recorded["salt"]
    if salt is None:
        raise UsageProblem(
            "give --salt HEX (data.forget.ids.salt of the evidence) or --evidence evidence.json"
        )
    try:
        salt_bytes = bytes.fromhex(salt)
    except ValueError:
        raise UsageProblem(f"--salt must be hexadecimal, got {salt!r}") from None
    try:
        ids = [value for _, value in read_id_file(file, column=column)]
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    digest = salted_digest(ids, salt_bytes)
    click.echo(f"{len(ids)} ID(s), salt {salt_bytes.hex()}, salted sha256 {digest}")
    if recorded is not None:
        same = digest == recorded.get("salted_sha256") and len(ids) == recorded.get("count")
        click.echo(
            f"{'MATCHES' if same else 'DOES NOT MATCH'} data.forget.ids in {source} "
            f"({recorded.get('count')} ID(s), {recorded.get('salted_sha256')})"
        )
        sys.exit(0 if same else 1)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="unlearn-audit")
