"""The first minutes of a newcomer: every command the README prints runs as printed, ``init`` writes
today's defaults, usage errors exit 2, ``--set`` switches a method cleanly, printed paths are
normalised."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml
from click.testing import CliRunner

from auditor.cli.commands import cli, shown_path
from auditor.cli.init_template import STARTER
from auditor.config import AuditConfig, load_config, parse_overrides
from tests.helpers import REPO


def _readme_runs() -> list[list[str]]:
    """Every ``unlearn-audit run ...`` command in README.md, as words."""
    text = (REPO / "README.md").read_text()
    commands = []
    for match in re.finditer(r"(?:\.venv/bin/)?unlearn-audit run [^`\n]*(?:\\\n[^`\n]*)*", text):
        words = shlex.split(match.group(0).replace("\\\n", " "), comments=True)
        if any(w.endswith((".yaml", ".yml")) for w in words) and "CONFIG" not in words:
            commands.append(words)
    return commands


def _options(words: list[str]) -> tuple[str, dict[str, str], str | None]:
    config, sets, out = "", {}, None
    i = words.index("run") + 1
    while i < len(words):
        word = words[i]
        if word == "--set":
            key, _, value = words[i + 1].partition("=")
            sets[key] = value
            i += 2
        elif word == "--out":
            out, i = words[i + 1], i + 2
        elif word.startswith("-"):
            i += 2 if word in ("--junit-xml", "--summary-md") else 1
        else:
            config, i = word, i + 1
    return config, sets, out


def test_the_readme_prints_variants_of_the_demo():
    variants = [c for c in _readme_runs() if "--set" in c]
    names = {_options(c)[1].get("unlearner.name") for c in variants}
    assert {"retrain", "noop", "unlearners.deceptive:HeadBiasSuppress"} <= names


@pytest.mark.parametrize("words", _readme_runs(), ids=lambda w: " ".join(w[2:])[:60])
def test_every_readme_run_command_validates_as_printed_and_keeps_the_demos_report(words, tmp_path):
    config, sets, out = _options(words)
    path = REPO / config
    if not path.is_file():
        pytest.skip(f"{config} is a placeholder")
    overrides = parse_overrides([f"{k}={v}" for k, v in sets.items()])
    cfg = load_config(path, overrides=overrides)  # no ConfigError: it runs as printed
    if sets:  # a variant writes its own report folder, never the demo's
        assert out is not None, f"{' '.join(words)} would overwrite {cfg.report.out}"
        assert (REPO / out).resolve() != cfg.report.out.resolve()


def test_switching_the_method_drops_the_old_methods_params_with_a_note():
    notes: list[str] = []
    cfg = load_config(REPO / "examples/digits.yaml", overrides={"unlearner.name": "noop"}, notes=notes)
    assert cfg.unlearner.name == "noop" and cfg.unlearner.params == {}
    assert notes and "dropped unlearner.params" in notes[0] and "'finetune'" in notes[0]
    kept = load_config(
        REPO / "examples/digits.yaml",
        overrides={"unlearner.name": "scrub", "unlearner.params": {"epochs": 2}},
    )
    assert kept.unlearner.params == {"epochs": 2}
    same = load_config(REPO / "examples/digits.yaml", overrides={"unlearner.name": "finetune"})
    assert same.unlearner.params == {"epochs": 5, "lr": 0.02}  # not a switch: kept


def test_switching_the_forget_kind_or_an_attack_drops_what_the_old_one_owned(write_config):
    path = write_config(
        {
            "forget": {"kind": "class", "classes": [3]},
            "attacks": [{"name": "threshold", "params": {"signals": ["loss"]}}, {"name": "accuracy"}],
        }
    )
    cfg = load_config(
        path,
        overrides={"forget.kind": "random", "forget.fraction": 0.1, "attacks.0.name": "lira"},
    )
    assert cfg.forget.classes is None and cfg.forget.fraction == 0.1
    assert cfg.attacks[0].name == "lira" and cfg.attacks[0].params == {}
    checkpoint = load_config(REPO / "examples/digits.yaml", overrides={"unlearner.checkpoint": "u.pt"})
    assert checkpoint.unlearner.name is None and checkpoint.unlearner.params == {}


def test_config_validate_takes_set_and_prints_the_note(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["config", "validate", str(REPO / "examples/digits.yaml"), "--set", "unlearner.name=noop"]
    )
    assert ok.exit_code == 0, ok.output
    assert "note: --set unlearner.name=noop: dropped unlearner.params" in ok.output and "valid" in ok.output
    bad = runner.invoke(cli, ["config", "validate", str(REPO / "examples/digits.yaml"), "--set", "seed=-1"])
    assert bad.exit_code == 2 and "seed" in bad.output


def test_init_writes_todays_defaults():
    written = load_config_text(STARTER)
    defaults = AuditConfig()
    for section in ("data", "model", "training", "reference", "gates", "execution"):
        assert getattr(written, section) == getattr(defaults, section), section
    assert [a.name for a in written.attacks] == [a.name for a in defaults.attacks]
    assert written.unlearner.name == "finetune"
    assert "0.15" not in STARTER  # the tolerance docs/statistics.md shows lets 10-20 % exposure pass


def load_config_text(text: str) -> AuditConfig:
    from auditor.config import parse_config

    return parse_config(yaml.safe_load(text))


def test_init_on_an_existing_file_is_a_usage_error_and_paths_print_normalised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    runner = CliRunner()
    first = runner.invoke(cli, ["init", "sub/../audit.yaml"])
    assert first.exit_code == 0 and "wrote audit.yaml;" in first.output
    again = runner.invoke(cli, ["init", "audit.yaml"])
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(cli, ["init", "audit.yaml", "--force"]).exit_code == 0


def test_paths_in_the_config_and_on_screen_are_normalised(write_config, tmp_path, monkeypatch):
    cfg = load_config(write_config({"report": {"out": "a/../runs/./x"}}))
    assert cfg.report.out == tmp_path / "runs" / "x"
    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "runs" / ".." / "runs" / "x" / "report.pdf") == "runs/x/report.pdf"
    assert shown_path("/elsewhere/../tmp/r.pdf") == "/tmp/r.pdf"


@pytest.mark.parametrize(
    "args",
    [
        ["cache", "prune"],  # says what to remove
        ["config", "validate", "missing.yaml"],
        ["run", "missing.yaml"],
        ["split", "export", "missing.yaml"],
        ["ids", "digest", "missing.txt"],
        ["run", "audit.yaml", "--set", "seed"],  # not KEY=VALUE
        ["nonsense"],
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_exit_2(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audit.yaml").write_text("seed: 0\n")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
