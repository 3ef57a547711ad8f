"""Config validation: every problem at once, located, with suggestions."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.config import AuditConfig, load_config
from auditor.errors import ConfigError
from auditor.starter import STARTER


def problems(path):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return {p.path: p for p in info.value.problems}


def test_defaults_are_valid_and_the_starter_validates(write_config):
    assert AuditConfig().data.dataset == "digits"
    cfg = load_config(write_config(STARTER))
    assert cfg.forget.classes == [3] and cfg.unlearner.name == "finetune"


def test_all_errors_reported_at_once_with_paths_lines_and_suggestions(write_config):
    path = write_config(
        "seed: 0\n"
        "data:\n"
        "  datset: digits\n"  # misspelt key, line 3
        "training:\n"
        "  epochs: many\n"  # wrong type, line 5
        "  lr: -1\n"  # out of range, line 6
        "forget:\n"
        "  kind: clas\n"  # misspelt literal, line 8
        "unlearner:\n"
        "  name: finetun\n"  # misspelt registry name, line 10
    )
    found = problems(path)
    assert set(found) == {"data.datset", "training.epochs", "training.lr", "forget.kind", "unlearner.name"}
    assert "Did you mean 'dataset'" in found["data.datset"].message and found["data.datset"].line == 3
    assert found["training.epochs"].line == 5 and "many" in found["training.epochs"].message
    assert found["training.lr"].line == 6
    assert "'class'" in found["forget.kind"].message
    assert "'finetune'" in found["unlearner.name"].message and found["unlearner.name"].line == 10


def test_plugin_params_are_validated_against_the_plugin_schema(write_config):
    path = write_config(
        {
            "unlearner": {"name": "finetune", "params": {"epoch": 3}},
            "attacks": [{"name": "threshold", "params": {"signals": ["los"]}}],
        }
    )
    found = problems(path)
    assert "Did you mean 'epochs'" in found["unlearner.params.epoch"].message
    assert "attacks.0.params.signals.0" in found


def test_cross_field_checks(write_config):
    found = problems(write_config({"gates": {"rules": [{"metric": "accuracy.forgett", "tolerance": 0.1}]}}))
    assert "accuracy.forget" in found["gates.rules.0.metric"].message
    assert "forget" in problems(write_config({"forget": {"kind": "class"}}))
    assert "backdoor" in problems(write_config({"forget": {"kind": "backdoor"}}))["forget"].message
    found = problems(write_config({"forget": {"kind": "random", "fraction": 0.1, "count": 5}}))
    assert "exactly one" in found["forget"].message


def test_malformed_yaml_and_non_mapping(write_config):
    found = problems(write_config("data: [unclosed\n"))
    assert "not valid YAML" in found[""].message
    assert "mapping" in problems(write_config("- a\n- b\n"))[""].message


def test_relative_paths_resolve_against_the_config_folder(write_config, tmp_path):
    cfg = load_config(write_config({"data": {"dataset": "npz", "path": "d.npz"}, "report": {"out": "out"}}))
    assert cfg.data.path == tmp_path / "d.npz" and cfg.report.out == tmp_path / "out"


def test_cli_validate_exit_codes_and_schema(write_config):
    runner = CliRunner()
    ok = runner.invoke(cli, ["config", "validate", str(write_config({"seed": 1}))])
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = runner.invoke(cli, ["config", "validate", str(write_config({"sed": 1}))])
    assert bad.exit_code == 2 and "sed" in bad.output and "Did you mean 'seed'" in bad.output
    schema = json.loads(runner.invoke(cli, ["config", "schema"]).output)
    assert schema["additionalProperties"] is False and "forget" in schema["properties"]


def test_init_writes_a_valid_config(tmp_path):
    runner = CliRunner()
    target = tmp_path / "audit.yaml"
    assert runner.invoke(cli, ["init", str(target)]).exit_code == 0
    assert load_config(target).data.dataset == "digits"
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code != 0 and "--force" in again.output


def test_plugin_params_are_checked_even_when_other_sections_fail(write_config):
    found = problems(write_config({"seed": -1, "unlearner": {"name": "finetune", "params": {"lr": "fast"}}}))
    assert {"seed", "unlearner.params.lr"} <= set(found)


def test_a_fail_only_check_that_could_never_fail_is_refused(write_config):
    """distinguishability with too few runs: its ceiling is below the tolerance (statistics review C2)."""
    found = problems(write_config({"attacks": [{"name": "distinguishability", "params": {"runs": 8}}]}))
    ((key, problem),) = [(k, p) for k, p in found.items() if k.startswith("attacks.0.params")]
    assert "could never fail" in problem.message and "runs >= 15" in problem.message
