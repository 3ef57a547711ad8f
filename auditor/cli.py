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

from auditor import __version__

EPILOG = ("Exit codes: 0 pass, 1 fail or inconclusive, 2 usage or config error, 3 audit could not complete. "
          "Shell completion: eval \"$(_UNLEARN_AUDIT_COMPLETE=bash_source unlearn-audit)\".")


def _parse_set(values: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    out = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        out[key.strip()] = yaml.safe_load(raw)
    return out


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
            raise AuditFailedError(f"the audit could not complete: {type(exc).__name__}: {exc}\n{detail}") from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EPILOG)
@click.version_option(__version__, prog_name="unlearn-audit")
def cli() -> None:
    """Audit a machine-unlearning method against a model retrained without the forgotten data.

    Start with `unlearn-audit init audit.yaml`, then `unlearn-audit run audit.yaml`.
    """


@cli.command(epilog=EPILOG)
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: report.out).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set unlearner.name=retrain (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def run(config: Path, out: Path | None, sets: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Run the audit in CONFIG and write report.html, report.pdf and evidence.json."""
    from auditor.config import load_config

    cfg = load_config(config, overrides=_parse_set(sets))
    from auditor.pipeline import run_audit
    from auditor.progress import Progress

    progress = Progress(enabled=False if (quiet or as_json) else None)
    command = "unlearn-audit run " + " ".join([str(config), *(f"--set {s}" for s in sets)])
    outcome = run_audit(cfg, out=out, config_path=config, progress=progress, command=command)
    ev = outcome.evidence
    if as_json:
        summary = {"verdict": outcome.status, "exit_code": outcome.exit_code, "headline": ev["verdict"]["headline"],
                   "counts": ev["verdict"]["counts"], "files": {k: str(v) for k, v in outcome.files.items()},
                   "gates": [{k: g[k] for k in ("metric", "status", "gap", "tolerance")} for g in ev["gates"]["results"]],
                   "timings": ev["timings"], "run_id": ev["run"]["id"]}
        click.echo(json.dumps(summary, indent=2))
    else:
        colour = {"pass": "green", "fail": "red"}.get(outcome.status, "yellow")
        click.secho(ev["verdict"]["headline"], fg=colour, bold=True)
        click.echo(ev["verdict"]["statement"])
        for g in ev["gates"]["results"]:
            gap = "n/a" if g["gap"] is None else f"{g['gap']:+.3f}"
            click.echo(f"  {g['status'].upper():<13} {g['metric']:<40} gap {gap:>7}  (tolerance ±{g['tolerance']:g})")
        for name in ("report.html", "report.pdf", "evidence.json"):
            if name in outcome.files:
                click.echo(f"{name}: {outcome.files[name]}")
        click.echo(f"total {ev['timings']['total_s']:.1f} s")
    sys.exit(outcome.exit_code)


@cli.group()
def config() -> None:
    """Validate a config file or print its JSON Schema."""


@config.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data/--no-data", default=False,
              help="Also load the dataset and check the forget request, checkpoints and output folder.")
def config_validate(file: Path, data: bool) -> None:
    """Check FILE and list every problem at once (exit 2 if any)."""
    from auditor.config import load_config

    cfg = load_config(file)
    if data:
        from auditor.preflight import preflight

        prep = preflight(cfg, out=cfg.report.out, source=str(file))
        counts = prep.splits.counts()
        click.echo(f"data: {prep.data.name}, {len(prep.data)} samples; forget {counts['forget']}, "
                   f"retain {counts['retain']}, test {counts['test']}, population {counts['population']}")
    click.echo(f"{file}: valid (config sha256 {cfg.digest()[:16]}...)")


@config.command("schema")
def config_schema() -> None:
    """Print the config's JSON Schema (for editor completion)."""
    from auditor.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="audit.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config for the embedded default (digits) to PATH."""
    from auditor.starter import STARTER

    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it")
    path.write_text(STARTER, encoding="utf-8")
    click.echo(f"wrote {path}; run it with: unlearn-audit run {path}")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_plugins(as_json: bool) -> None:
    """List unlearning methods and attacks with their descriptions and citations."""
    from attacks import ATTACKS
    from unlearners import UNLEARNERS

    rows = {"unlearners": [], "attacks": []}
    for kind, reg in (("unlearners", UNLEARNERS), ("attacks", ATTACKS)):
        for name in reg.names():
            cls = reg.get(name)
            entry = {"name": name, "summary": cls.summary, "citation": cls.citation}
            if kind == "unlearners":
                entry["supports"] = sorted(cls.supports)
            rows[kind].append(entry)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for kind, entries in rows.items():
        click.secho(kind.capitalize() + ":", bold=True)
        for e in entries:
            extra = f" [forget: {', '.join(e['supports'])}]" if "supports" in e else ""
            click.echo(f"  {e['name']:<16} {e['summary']}{extra}")
            click.echo(f"  {'':<16} {e['citation']}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="unlearn-audit")
