"""Inputs that cannot crash or poison the audit (reliability review, defects 2, 3, 4, 6, 7, 8, 9).

Every bad input is either refused before any training with a located, one-line problem (exit 2),
or, for a fault while writing, reported in one line naming the file (exit 3). A damaged cache
entry is retrained and recorded, and the verdict is the clean run's.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from auditor.cli.commands import cli
from auditor.config import (
    MAX_EXPANDED_NODES,
    AuditConfig,
    DataConfig,
    ForgetConfig,
    load_config,
    parse_overrides,
    read_yaml,
)
from auditor.data.datasets import load_digits, load_npz
from auditor.data.splits import base_splits, forget_indices
from auditor.errors import AuditFailedError, ConfigError, OutputError
from auditor.run.outputs import OWNER_FILE, RUN_ARTIFACTS, STALE_AFTER_S, Staging, stale_staging
from auditor.run.preflight import nonfinite_data_problems
from auditor.train.architectures import model_factory, state_digest
from auditor.train.cache import ModelCache, verify_entry
from tests.helpers import tiny_config

EXE = Path(sys.executable).parent / "unlearn-audit"
# BAD_INPUT_EXAMPLES=2000 explores further (the default keeps the file fast).
PROPERTY = settings(
    max_examples=int(os.environ.get("BAD_INPUT_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def problem_lines(output: str) -> list[str]:
    """The ``  - key: message`` lines of a ConfigError."""
    return [line for line in output.splitlines() if line.startswith("  - ")]


def assert_clean_config_error(res, key: str, *words: str) -> None:
    """Exit 2, no traceback, exactly one problem, on one line, naming ``key`` and ``words``."""
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output, res.output
    lines = problem_lines(res.output)
    assert len(lines) == 1, res.output
    assert lines[0].startswith(f"  - {key}"), res.output
    for word in words:
        assert word in lines[0], res.output


def nan_state(path: Path) -> Path:
    """A finite MLP state_dict for digits with one NaN in net.1.weight, saved at ``path``."""
    state = model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)().state_dict()
    state["net.1.weight"][0, 0] = float("nan")
    torch.save(state, path)
    return path


def models_in(cache: Path) -> list[Path]:
    return sorted(cache.glob("models/*/*.pt"))


# --------------------------------------------------------------------------------------------------
# A clean run shared by the cache-poisoning, stale-output and re-render tests


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """A signed tiny audit (its own model cache), run once: (config path, out folder, cache, evidence)."""
    base = tmp_path_factory.mktemp("clean")
    cache = base / "cache"
    path = base / "audit.yaml"
    path.write_text(yaml.safe_dump(tiny_config(execution={"cache_dir": str(cache)})), encoding="utf-8")
    res = invoke("run", path, "--out", base / "out", "-q")
    assert res.exit_code == 1, res.output  # noop fails
    evidence = json.loads((base / "out" / "evidence.json").read_text())
    assert evidence["signing"]["mode"] == "test-key" and (base / "out" / "evidence.intoto.json").is_file()
    return path, base / "out", cache, evidence


def fingerprint(ev: dict) -> dict:
    """What must not change between a clean run and a rerun after a corrupt entry was retrained."""
    models = ev["models"]
    return {
        "status": ev["verdict"]["status"],
        "headline": ev["verdict"]["headline"],
        "gates": [(g["metric"], g["status"], g["gap"]) for g in ev["gates"]["results"]],
        "original": models["original"]["sha256"],
        "unlearned": models["unlearned"]["sha256"],
        "references": [r["sha256"] for r in models["references"]],
    }


# --------------------------------------------------------------------------------------------------
# Defect 2 (a) and 7: NaN in a checkpoint or in the data is a preflight error naming its key


@pytest.mark.parametrize(
    "key, section",
    [
        ("model.checkpoint", lambda p: {"model": {"arch": "mlp", "checkpoint": p}}),
        ("reference.checkpoints.0", lambda p: {"reference": {"checkpoints": [p]}}),
        ("unlearner.checkpoint", lambda p: {"unlearner": {"checkpoint": p}}),
    ],
)
def test_nan_checkpoint_is_a_preflight_error_naming_its_key(
    write_config, tmp_path, monkeypatch, key, section
):
    nan_state(tmp_path / "nan.pt")
    cache = tmp_path / "cache"
    monkeypatch.setenv("UNLEARN_AUDIT_CACHE", str(cache))
    res = invoke("run", write_config(tiny_config(**section("nan.pt"))), "--out", tmp_path / "o", "-q")
    assert_clean_config_error(res, key, "non-finite", "net.1.weight")
    assert not models_in(cache), "something trained before the NaN checkpoint was refused"


def test_nan_in_the_data_is_a_preflight_error_naming_data(write_config, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 8)).astype(np.float32), np.arange(300) % 3
    x[7, 1], x[11, 0] = np.nan, np.inf
    np.savez(tmp_path / "d.npz", x=x, y=y)
    cache = tmp_path / "cache"
    monkeypatch.setenv("UNLEARN_AUDIT_CACHE", str(cache))
    cfg = tiny_config(data={"dataset": "npz", "path": "d.npz"}, forget={"kind": "random", "fraction": 0.1})
    res = invoke("run", write_config(cfg), "--out", tmp_path / "o", "-q")
    assert_clean_config_error(res, "data.path", "NaN or infinite", "2 of 300", "sample 7")
    assert not models_in(cache)


def test_a_diverging_recipe_is_blamed_not_the_method():
    from auditor.train.trainer import check_finite as _check_trained

    model = model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)()
    _check_trained(model, "original")  # finite: no error
    with torch.no_grad():
        model.net[1].weight[0, 0] = float("inf")
    with pytest.raises(AuditFailedError, match=r"original.*diverged.*net\.1\.weight.*training\.lr"):
        _check_trained(model, "original")


# --------------------------------------------------------------------------------------------------
# Defect 2 (b): the cache verifies a content digest and finite weights on every read


def _flip_bit_in_file(entry: Path) -> None:
    """Flip the lowest bit of one weight's bytes inside the saved file (torch.load still reads it)."""
    obj = torch.load(entry, weights_only=True)
    raw = bytearray(entry.read_bytes())
    offset = raw.find(obj["state_dict"]["net.1.weight"].numpy().tobytes()[:64])
    assert offset > 0
    raw[offset] ^= 0x01
    entry.write_bytes(bytes(raw))
    assert not torch.equal(
        torch.load(entry, weights_only=True)["state_dict"]["net.1.weight"], obj["state_dict"]["net.1.weight"]
    )


def _write_nan(entry: Path, *, rewrite_digest: bool) -> None:
    """Write a NaN into a stored weight, keeping the stale digest or forging a matching one."""
    obj = torch.load(entry, weights_only=True)
    obj["state_dict"]["net.1.weight"][0, 0] = float("nan")
    if rewrite_digest:
        obj["sha256"] = state_digest(obj["state_dict"])
    torch.save(obj, entry)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "poison, reason",
    [
        (_flip_bit_in_file, "digest mismatch"),
        (lambda e: _write_nan(e, rewrite_digest=False), "digest mismatch"),
        (lambda e: _write_nan(e, rewrite_digest=True), "non-finite"),
    ],
    ids=["bit-flipped-in-the-file", "nan-with-the-stale-digest", "nan-with-a-forged-digest"],
)
def test_a_poisoned_cache_entry_is_retrained_recorded_and_the_verdict_unchanged(
    clean_run, tmp_path, poison, reason
):
    config, _, cache, clean = clean_run
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    key = clean["models"]["references"][0]["cache_key"]
    entry = copy / "models" / key[:2] / f"{key}.pt"
    poison(entry)
    res = invoke(
        "run", config, "--out", tmp_path / "o", "-q", "--no-sign", "--set", f"execution.cache_dir={copy}"
    )
    assert res.exit_code == 1, res.output
    ev = json.loads((tmp_path / "o" / "evidence.json").read_text())
    assert ev["cache"]["corrupt_retrained"] == 1
    (record,) = ev["cache"]["corrupt"]
    assert record["key"] == key and reason in record["reason"] and record["role"].startswith("reference")
    # the original and the four incomplete-erasure controls came from the cache; the reference was retrained
    partial = sum(c.get("kind") == "incomplete_erasure" for c in ev["controls"])
    assert partial == 4 and ev["cache"]["hits"] == 1 + partial and ev["cache"]["misses"] == 1
    assert fingerprint(ev) == fingerprint(clean)
    state, why = verify_entry(torch.load(entry, weights_only=True))
    assert why is None and state_digest(state) == clean["models"]["references"][0]["sha256"]
    from auditor.report.render import render_html

    assert "1 corrupt entry retrained" in render_html(ev)


def test_cache_reads_verify_digest_and_never_store_nan(tmp_path):
    cache = ModelCache(tmp_path)
    make = model_factory("mlp", input_shape=(1, 8, 8), num_classes=10)
    trained = []

    def train():
        trained.append(1)
        return make()

    spec = {"data": "d", "seed": 1}
    _, key, _ = cache.get_or_train(spec, make, train)
    entry = tmp_path / "models" / key[:2] / f"{key}.pt"
    assert verify_entry(torch.load(entry, weights_only=True))[1] is None
    # a bare state_dict (no digest) at the key is not trusted
    torch.save(make().state_dict(), entry)
    _, _, hit = cache.get_or_train(spec, make, train, role="original")
    assert (
        hit is False
        and cache.corrupt[-1].reason.startswith("no content digest")
        and cache.corrupt[-1].role == "original"
    )
    _, _, hit = cache.get_or_train(spec, make, train)
    assert hit is True and len(trained) == 2
    # a model with NaN weights is not stored
    nan_model = make()
    with torch.no_grad():
        nan_model.net[1].weight.fill_(float("nan"))
    cache.put({"data": "d", "seed": 2}, nan_model)
    assert len(models_in(tmp_path)) == 1
    assert cache.record()["corrupt_retrained"] == 1


# --------------------------------------------------------------------------------------------------
# Defect 3: YAML alias bombs are refused before anything is expanded


def bomb(levels: int = 10, width: int = 10) -> str:
    """The classic "billion laughs": ``levels`` lists, each holding ``width`` aliases of the previous one."""
    lines = ["l0: &l0 [" + ",".join(['"lol"'] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize("where", ["top level", "report.title", "--set"])
def test_alias_bomb_is_refused_quickly_under_a_memory_cap(tmp_path, where):
    text = bomb()
    assert len(text.encode()) < 600
    args = [str(EXE), "run", str(tmp_path / "bomb.yaml"), "--out", str(tmp_path / "o"), "-q"]
    if where == "top level":
        (tmp_path / "bomb.yaml").write_text(text)
    elif where == "report.title":
        indented = "".join(f"    {line}\n" for line in text.splitlines())
        (tmp_path / "bomb.yaml").write_text(f"report:\n  title:\n{indented}")
    else:
        (tmp_path / "bomb.yaml").write_text("seed: 0\n")
        args += ["--set", "report.title={" + ", ".join(text.splitlines()) + "}"]
    start = time.monotonic()
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
        env={**os.environ, "UNLEARN_AUDIT_CACHE": str(tmp_path / "cache")},
    )
    assert time.monotonic() - start < 60
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = problem_lines(proc.stderr)
    assert len(lines) == 1 and "alias" in lines[0], proc.stderr


def test_aliases_within_the_limits_still_work(write_config):
    path = write_config(
        "report: {title: &t 'Erasure audit'}\n"
        "training: {epochs: &n 3, batch_size: 32}\n"
        "unlearner: {name: finetune, params: {epochs: *n}}\n"
        "attacks: [{name: accuracy}, {name: threshold, params: {signals: &s [loss]}}]\n"
        "gates: {controls: [], rules: [{metric: 'threshold.*', tolerance: 0.1}]}\n"
        "execution: {device: cpu}\n"
    )
    cfg = load_config(path)
    assert cfg.training.epochs == 3 and cfg.unlearner.params == {"epochs": 3}


@PROPERTY
@given(levels=st.integers(1, 12), width=st.integers(1, 12))
def test_nested_aliases_expand_within_the_limit_or_are_refused(levels, width):
    text = bomb(levels, width)
    level = 1 + width  # the first list and its scalars
    expanded = 1 + (1 + level)  # the root mapping, then each key and its list
    for _ in range(1, levels):
        level = 1 + width * level
        expanded += 1 + level
    aliases = width * (levels - 1)
    start = time.monotonic()
    try:
        tree, data = read_yaml(text)
        refused = False
    except ConfigError as exc:
        refused = True
        assert "alias" in exc.problems[0].message
    assert time.monotonic() - start < 2
    assert refused == (aliases > 100 or expanded > MAX_EXPANDED_NODES)
    if not refused:
        assert len(data) == levels


def test_recursive_alias_is_refused(write_config):
    with pytest.raises(ConfigError, match="recursive alias"):
        load_config(write_config("report: &r {title: *r}\n"))


# --------------------------------------------------------------------------------------------------
# Defect 4: an output folder holds one run


def _stage(out: Path, files: dict[str, str]) -> Staging:
    staging = Staging(out, "new")
    for name, text in files.items():
        staging.write_text(name, text)
    return staging


def test_publish_removes_the_earlier_runs_artifacts_but_never_user_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in RUN_ARTIFACTS:
        (out / name).write_text("old")
    for name in ("notes.txt", "summary.md", "model.pt"):
        (out / name).write_text("mine")
    _stage(out, {"evidence.json": "new", "forget_manifest.txt": "new"}).publish()
    assert {p.name for p in out.iterdir()} == {
        "evidence.json",
        "forget_manifest.txt",
        "notes.txt",
        "summary.md",
        "model.pt",
    }
    assert (out / "evidence.json").read_text() == "new" and (out / "notes.txt").read_text() == "mine"


@pytest.mark.e2e
def test_an_unsigned_rerun_into_a_signed_folder_keeps_nothing_signed(clean_run, tmp_path):
    config, clean_out, _, _ = clean_run
    out = tmp_path / "out"
    shutil.copytree(clean_out, out)
    (out / "report.pdf").write_bytes(b"%PDF- an old report")
    (out / "my-notes.txt").write_text("keep me")
    res = invoke("run", config, "--out", out, "-q", "--no-sign")
    assert res.exit_code == 1, res.output
    names = {p.name for p in out.iterdir()}
    assert names == {
        "evidence.json",
        "forget_manifest.txt",
        "run-log.json",
        "unlearned.pt",
        "my-notes.txt",
    }, names
    assert json.loads((out / "evidence.json").read_text())["signing"] == {"mode": "unsigned"}


def test_a_rerendered_report_says_unsigned(clean_run, tmp_path):
    _, clean_out, _, evidence = clean_run
    assert evidence["signing"]["mode"] == "test-key"
    res = invoke("report", clean_out / "evidence.json", "--out", tmp_path, "--format", "html")
    assert res.exit_code == (0 if evidence["verdict"]["status"] == "pass" else 1), (
        res.output
    )  # the verdict's code
    html = (tmp_path / "report.html").read_text()
    top = html[html.index('id="decision"') : html.index('id="verdict"')]  # before the verdict, on page 1
    assert "UNSIGNED COPY" in top and "a throwaway test key made for this run" not in html
    assert "(self-signed test key)" not in html


# --------------------------------------------------------------------------------------------------
# Defect 8: staging folders of killed runs are cleaned by the next run


def _owned(out: Path, name: str, *, pid: int, host: str) -> Path:
    folder = out / f".staging-{name}"
    folder.mkdir(parents=True)
    (folder / OWNER_FILE).write_text(json.dumps({"pid": pid, "host": host, "started": 0}))
    (folder / "evidence.intoto.json").write_text("{}")
    return folder


def test_staging_rule_removes_dead_and_old_folders_and_keeps_live_ones(tmp_path):
    import socket

    out = tmp_path / "out"
    host = socket.gethostname()
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    dead = _owned(out, "dead", pid=finished.pid, host=host)
    live = _owned(out, "live", pid=os.getpid(), host=host)
    other_fresh = _owned(out, "other-fresh", pid=1, host="another-host")
    other_old = _owned(out, "other-old", pid=1, host="another-host")
    legacy_old = out / ".staging-legacy-old"
    legacy_old.mkdir()
    legacy_fresh = out / ".staging-legacy-fresh"
    legacy_fresh.mkdir()
    old = time.time() - STALE_AFTER_S - 60
    for folder in (other_old, legacy_old):
        for p in (*folder.rglob("*"), folder):
            os.utime(p, (old, old))
    assert set(stale_staging(out)) == {dead, other_old, legacy_old}
    staging = Staging(out, "next")
    assert {p.name for p in out.iterdir()} == {
        live.name,
        other_fresh.name,
        legacy_fresh.name,
        staging.dir.name,
    }
    staging.discard()


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    code = (
        "import sys, time; from pathlib import Path; from auditor.run.outputs import Staging; "
        "s = Staging(Path(sys.argv[1]), 'killed'); s.write_text('evidence.intoto.json', '{}'); "
        "print('ready', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout.readline().strip() == "ready"
    assert (out / ".staging-killed" / "evidence.intoto.json").is_file()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    staging = Staging(out, "after")
    assert not (out / ".staging-killed").exists()
    assert [p.name for p in out.iterdir()] == [staging.dir.name]
    staging.discard()


# --------------------------------------------------------------------------------------------------
# Defect 6: bad config input is a one-line error with its key (exit 2), never a traceback


def _npz_without_samples(tmp: Path) -> tuple[dict, list[str]]:
    np.savez(tmp / "empty.npz", x=np.zeros((0, 8), dtype=np.float32), y=np.zeros(0, dtype=np.int64))
    return tiny_config(
        data={"dataset": "npz", "path": "empty.npz"}, forget={"kind": "random", "fraction": 0.1}
    ), []


def _empty_checkpoint(tmp: Path) -> tuple[dict, list[str]]:
    (tmp / "e.pt").write_bytes(b"")
    return tiny_config(model={"arch": "mlp", "checkpoint": "e.pt"}), []


def _huge_index(tmp: Path) -> tuple[dict, list[str]]:
    (tmp / "ids.txt").write_text("7\n" + "9" * 400 + "\n")
    return tiny_config(forget={"kind": "indices", "path": "ids.txt"}), []


def _with(**sections) -> Callable[[Path], tuple[dict, list[str]]]:
    return lambda tmp: (tiny_config(**sections), [])


def _set(*items: str) -> Callable[[Path], tuple[dict, list[str]]]:
    return lambda tmp: (tiny_config(), [arg for item in items for arg in ("--set", item)])


def _raw(content: bytes) -> Callable[[Path], tuple[bytes, list[str]]]:
    return lambda tmp: (content, [])


# case: (input writer returning (config mapping or raw bytes, extra CLI args), key, words in the problem)
BAD_INPUTS = {
    "latin-1 config": (_raw(b"seed: 0\nreport:\n  title: caf\xe9\n"), "(config) (line 3)", ["UTF-8"]),
    "utf-16 config": (_raw("seed: 0\n".encode("utf-16")), "(config)", ["UTF-16"]),
    "--set unclosed list": (_set("data.dataset=[unclosed"), "data.dataset", ["not valid YAML"]),
    "--set into a scalar": (_set("seed.x=1"), "seed.x", ["not a section"]),
    "--set list entry": (_set("attacks.0.name=foo"), "attacks.0.name", ["unknown attack 'foo'"]),
    "--set list index out of range": (_set("attacks.7.name=accuracy"), "attacks.7.name", ["index 7"]),
    "--set bad key": (_set("data..dataset=npz"), "data..dataset", ["dotted"]),
    "unimportable arch": (
        _with(model={"arch": "nonexistent.module:f"}),
        "model.arch",
        ["cannot import", "nonexistent"],
    ),
    "empty checkpoint": (_empty_checkpoint, "model.checkpoint", ["empty"]),
    "400-digit index": (_huge_index, "forget.path", ["line 2", "far outside"]),
    "npz without samples": (_npz_without_samples, "data.path", ["no samples"]),
    "huge weight decay": (
        _with(training={**tiny_config()["training"], "weight_decay": 1e300}),
        "training.weight_decay",
        ["less than or equal to 1"],
    ),
    "seed true": (_with(seed=True), "seed", ["boolean"]),
    "nan learning rate": (
        _with(training={**tiny_config()["training"], "lr": float("nan")}),
        "training.lr",
        ["finite"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clean_line_naming_the_key(tmp_path, monkeypatch, case):
    make, key, words = BAD_INPUTS[case]
    monkeypatch.setenv("UNLEARN_AUDIT_CACHE", str(tmp_path / "cache"))
    content, extra = make(tmp_path)
    path = tmp_path / "audit.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    res = invoke("run", path, "--out", tmp_path / "o", "-q", *extra)
    assert_clean_config_error(res, key, *words)
    assert not models_in(tmp_path / "cache")


@pytest.mark.e2e
def test_disk_full_while_writing_outputs_is_exit_3_in_one_line_naming_the_file(
    clean_run, tmp_path, monkeypatch
):
    config, clean_out, _, _ = clean_run
    out = tmp_path / "out"
    shutil.copytree(clean_out, out)
    before = (out / "evidence.json").read_bytes()
    real = pathlib.Path.write_bytes

    def full(self, data):
        if self.name == "evidence.json" and self.parent.name.startswith(".staging-"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    res = invoke("run", config, "--out", out, "-q", "--no-sign")
    assert res.exit_code == 3, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    (line,) = [ln for ln in res.output.splitlines() if ln.strip()]
    assert line.startswith("Error: could not write ") and "evidence.json" in line and "No space left" in line
    assert (out / "evidence.json").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".staging-")]


def test_an_unwritable_cache_is_exit_3_naming_the_cache_path(write_config, tmp_path):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("x")
    res = invoke(
        "run",
        write_config(tiny_config(execution={"cache_dir": str(blocker)})),
        "--out",
        tmp_path / "o",
        "-q",
        "--no-sign",
    )
    assert res.exit_code == 3, res.output
    (line,) = [ln for ln in res.output.splitlines() if ln.strip()]
    assert line.startswith("Error: could not write ") and str(blocker) in line, res.output


# --------------------------------------------------------------------------------------------------
# Defect 9: duplicate keys and booleans used as numbers are reported, with every other problem


def test_duplicate_keys_are_reported_with_path_and_line_among_other_problems(write_config):
    path = write_config(
        "seed: 0\n"
        "training:\n"
        "  epochs: 3\n"
        "  lr: -1\n"
        "  epochs: 4\n"
        "attacks:\n"
        "  - name: accuracy\n"
        "    name: threshold\n"
        "seed: 1\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    found = {(p.path, p.line): p.message for p in info.value.problems}
    assert ("training.epochs", 5) in found and "first on line 3" in found[("training.epochs", 5)]
    assert ("attacks.0.name", 8) in found and ("seed", 9) in found
    assert ("training.lr", 4) in found  # the validator's own problems are still all reported


def test_duplicate_keys_alone_still_fail_validation(write_config):
    with pytest.raises(ConfigError, match=r"report\.title \(line 3\): duplicate key 'title'"):
        load_config(write_config("report:\n  title: a\n  title: b\n"))


@pytest.mark.parametrize(
    "text, key",
    [
        ("seed: true\n", "seed"),
        ("training: {epochs: false}\n", "training.epochs"),
        ("forget: {kind: class, classes: [3, true]}\n", "forget.classes"),
        ("gates: {alpha: true}\n", "gates.alpha"),
    ],
)
def test_a_boolean_is_not_a_number(write_config, text, key):
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text))
    assert [p.path for p in info.value.problems] == [key] and "boolean" in info.value.problems[0].message


def test_booleans_stay_valid_where_booleans_belong(write_config):
    cfg = load_config(write_config("execution: {cache: false}\nreport: {signing: {enabled: false}}\n"))
    assert cfg.execution.cache is False and cfg.report.signing.enabled is False


# --------------------------------------------------------------------------------------------------
# Properties: whatever the bytes, the result is a config or a ConfigError


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
SECTIONS = sorted(AuditConfig.model_fields)


def _load_text(raw: bytes, overrides: dict | None = None):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.yaml"
        path.write_bytes(raw)
        return load_config(path, overrides=overrides)


@PROPERTY
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_give_a_config_or_a_config_error(raw):
    try:
        assert isinstance(_load_text(raw), AuditConfig)
    except ConfigError as exc:
        assert exc.problems and all("\n" not in p.render() for p in exc.problems)


@PROPERTY
@given(data=st.dictionaries(st.sampled_from(SECTIONS) | st.text(max_size=8), json_values, max_size=4))
def test_any_mapping_gives_a_config_or_a_config_error(data):
    try:
        raw = yaml.safe_dump(data, allow_unicode=True).encode()
    except yaml.YAMLError:
        return
    try:
        _load_text(raw)
    except ConfigError as exc:
        assert exc.problems


@PROPERTY
@given(
    items=st.lists(
        st.text(max_size=30)
        | st.builds(
            lambda k, v: f"{k}={v}",
            st.sampled_from(["seed", "seed.x", "attacks.0.name", "training.epochs", "data", "a..b", "0"]),
            st.text(max_size=20),
        ),
        max_size=4,
    )
)
def test_any_set_items_apply_or_are_a_config_error(items):
    try:
        overrides = parse_overrides(items)
        _load_text(yaml.safe_dump(tiny_config()).encode(), overrides)
    except ConfigError as exc:
        assert exc.problems


def _leaf_paths(node, prefix=()) -> list[str]:
    if isinstance(node, dict) and node:
        return [p for k, v in node.items() for p in _leaf_paths(v, (*prefix, str(k)))]
    if isinstance(node, list) and node:
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*prefix, str(i)))]
    return [".".join(prefix)]


CONFIG_PATHS = sorted(set(_leaf_paths(AuditConfig().model_dump(mode="json")) + _leaf_paths(tiny_config())))


@PROPERTY
@given(changes=st.lists(st.tuples(st.sampled_from(CONFIG_PATHS), json_values), min_size=1, max_size=3))
def test_any_value_at_any_config_key_gives_a_config_or_a_config_error(changes):
    try:
        cfg = _load_text(yaml.safe_dump(tiny_config()).encode(), dict(changes))
    except ConfigError as exc:
        assert exc.problems and all("\n" not in p.render() for p in exc.problems)
        return
    assert cfg.digest()  # a valid config is also serialisable (no NaN, no inf)


@pytest.fixture(scope="module")
def digits_train():
    data = load_digits(DataConfig())
    return data, base_splits(data, DataConfig(), 0)[0]


@PROPERTY
@given(
    lines=st.lists(
        st.integers(min_value=-(10**500), max_value=10**500).map(str)
        | st.text(max_size=20)
        | st.just("# comment"),
        max_size=8,
    )
)
def test_any_index_file_gives_indices_or_problems(digits_train, lines):
    data, train = digits_train
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ids.txt"
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        chosen, problems = forget_indices(data, train, ForgetConfig(kind="indices", path=path), 0)
    assert problems or (len(chosen) and set(chosen.tolist()) <= set(train.tolist()))
    assert all(p.path.startswith("forget") for p in problems)


@PROPERTY
@given(
    x=hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.int8, np.uint8, np.bool_, np.float16]),
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    ),
    y=hnp.arrays(
        st.sampled_from([np.int64, np.uint64, np.int8, np.float32]),
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=6),
    ),
)
def test_any_npz_arrays_load_or_are_a_config_error(x, y):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.npz"
        np.savez(path, x=x, y=y)
        cfg = DataConfig(dataset="npz", path=path)
        try:
            data = load_npz(cfg)
        except ConfigError as exc:
            assert exc.problems[0].path == "data.path"
            return
    problems = nonfinite_data_problems(data, cfg)
    assert bool(problems) == (not bool(torch.isfinite(data.x).all()))
    assert len(data) > 0


def test_write_failures_are_output_errors_naming_the_file(tmp_path):
    from auditor.files import atomic_write_bytes

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=re.escape(f"could not write {blocker / 'sub' / 'a.json'}: ")):
        atomic_write_bytes(blocker / "sub" / "a.json", b"{}")
