"""The command line: exit codes, bad input, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from auditor.cli.commands import cli
from auditor.train.architectures import model_factory
from tests.helpers import tiny_config

REPORT_FILES = {"evidence.json", "report.html", "report.pdf", "forget_manifest.txt"}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def leftovers(out):
    return {p.name for p in out.rglob("*")} if out.exists() else set()


def test_help_does_not_import_torch():
    code = "import sys; from auditor.cli.commands import cli; cli(['--help'], standalone_mode=False); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False")
    assert "Exit codes" in out.stdout


def test_list_shows_methods_and_attacks_with_citations():
    res = invoke("list", "--json")
    data = json.loads(res.output)
    names = {e["name"] for e in data["unlearners"]}
    assert {"noop", "retrain", "finetune", "neggrad_plus"} <= names
    assert {e["name"] for e in data["attacks"]} >= {"accuracy", "threshold"}
    assert all(e["citation"] for e in data["unlearners"] + data["attacks"])
    assert "retrain" in invoke("list").output


@pytest.mark.parametrize(
    "case, mutate, code, path, words",
    [
        ("unknown key", lambda c: c.update(colour=1), 2, "colour", "unknown key"),
        ("wrong type", lambda c: c["training"].update(epochs="ten"), 2, "training.epochs", "integer"),
        (
            "missing dataset folder",
            lambda c: c.update(data={"dataset": "cifar10", "root": "nowhere"}),
            2,
            "data.root",
            "data_batch_1",
        ),
        (
            "forget class not in dataset",
            lambda c: c.update(forget={"kind": "class", "classes": [42]}),
            2,
            "forget.classes",
            "0..9",
        ),
        (
            "forget whole training set",
            lambda c: c.update(forget={"kind": "class", "classes": list(range(10))}),
            2,
            "forget",
            "whole training set",
        ),
        (
            "unsupported unlearner",
            lambda c: c.update(unlearner={"name": "tests.plugins:NaNUnlearner"}),
            3,
            None,
            "non-finite",
        ),
    ],
)
def test_bad_input_exit_codes_and_nothing_written(write_config, tmp_path, case, mutate, code, path, words):
    cfg = tiny_config()
    mutate(cfg)
    out = tmp_path / "out"
    res = invoke("run", write_config(cfg), "--out", out, "-q")
    assert res.exit_code == code, res.output
    assert words in res.output
    if path:
        assert path in res.output
    assert not (leftovers(out) & REPORT_FILES)
    assert not [p for p in leftovers(out) if p.startswith(".staging")]


def test_malformed_yaml_via_run(write_config, tmp_path):
    res = invoke("run", write_config("seed: [1,\n"), "--out", tmp_path / "o")
    assert res.exit_code == 2 and "not valid YAML" in res.output


def test_empty_forget_set_from_index_file(write_config, tmp_path):
    (tmp_path / "ids.txt").write_text("# no ids\n")
    res = invoke(
        "run",
        write_config(tiny_config(forget={"kind": "indices", "path": "ids.txt"})),
        "--out",
        tmp_path / "o",
    )
    assert res.exit_code == 2 and "forget set is empty" in res.output


def test_checkpoint_that_does_not_fit(write_config, tmp_path):
    wrong = model_factory("small_cnn", input_shape=(1, 8, 8), num_classes=10)()
    torch.save(wrong.state_dict(), tmp_path / "orig.pt")
    res = invoke(
        "run",
        write_config(tiny_config(model={"arch": "mlp", "checkpoint": "orig.pt"})),
        "--out",
        tmp_path / "o",
    )
    assert res.exit_code == 2 and "model.checkpoint" in res.output and "missing keys" in res.output


def test_output_folder_not_writable(write_config, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = invoke("run", write_config(tiny_config()), "--out", blocker / "sub")
    assert res.exit_code == 2 and "report.out" in res.output and "cannot write" in res.output


def test_supplied_unlearned_checkpoint_is_audited(write_config, tmp_path):
    """The common compliance case: the user's own pipeline already unlearned the model."""
    untrained = model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)()
    torch.save(untrained.state_dict(), tmp_path / "unlearned.pt")  # clearly not equivalent to retraining
    res = invoke(
        "run",
        write_config(tiny_config(unlearner={"checkpoint": "unlearned.pt"})),
        "--out",
        tmp_path / "c",
        "--json",
    )
    summary = json.loads(res.output)
    assert res.exit_code == 1 and summary["verdict"] == "fail"
    ev = json.loads((tmp_path / "c" / "evidence.json").read_text())
    assert ev["models"]["unlearned"]["source"] == "checkpoint"
    assert ev["models"]["unlearned"]["file_sha256"] and ev["method"]["source"] == "checkpoint"
    assert ev["method"]["data_read"] is None


def test_a_crashed_run_leaves_the_previous_report_intact(write_config, tmp_path):
    out = tmp_path / "out"
    first = invoke("run", write_config(tiny_config()), "--out", out, "-q")
    assert first.exit_code == 1  # noop fails
    before = (out / "evidence.json").read_bytes()
    crash = invoke(
        "run",
        write_config(tiny_config(unlearner={"name": "tests.plugins:NaNUnlearner"}), "crash.yaml"),
        "--out",
        out,
        "-q",
    )
    assert crash.exit_code == 3
    assert (out / "evidence.json").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


def test_a_closed_stdout_keeps_the_verdict_as_the_exit_code(write_config, tmp_path):
    """`unlearn-audit run ... | true`: the reader is gone before the verdict is printed; the audit is
    complete, so the exit code is still the verdict (1: noop fails), not 3, and no traceback."""
    exe = Path(sys.executable).parent / "unlearn-audit"
    cfg = write_config(tiny_config())
    script = f'"{exe}" run "{cfg}" --out "{tmp_path / "o"}" -q --no-sign | true; exit ${{PIPESTATUS[0]}}'
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "could not complete" not in proc.stderr
    assert (tmp_path / "o" / "evidence.json").exists()
