"""Auditing a model from the user's own pipeline: a training function, a dataset loader and a model
factory named in the config (or given as Python objects), end to end through the CLI and the API."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from auditor.cli.commands import cli as main
from auditor.config import load_config
from auditor.errors import ConfigError
from tests.helpers import REPO, tiny_config

EXAMPLE = REPO / "examples" / "own_pipeline"


def _run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, cwd=REPO, timeout=1200
    )


@pytest.fixture(scope="module")
def own_runs(tmp_path_factory):
    """noop and retrain on examples/own_pipeline/audit.yaml through the CLI, then retrain through the API."""
    base = tmp_path_factory.mktemp("own")
    cache = base / "cache"
    runs = {}
    for method in ("retrain", "noop"):
        proc = _run_cli(
            [
                "run",
                str(EXAMPLE / "audit.yaml"),
                "--out",
                str(base / method),
                "--no-sign",
                "--set",
                f"unlearner.name={method}",
                "--set",
                "unlearner.params={}",
                "--set",
                f"execution.cache_dir={cache}",
                "--set",
                "report.formats=[json]",
            ]
        )
        runs[method] = (proc, json.loads((base / method / "evidence.json").read_text()))
    sys.path.insert(0, str(EXAMPLE))
    try:
        from acme_tabular.data import load
        from acme_tabular.model import make_model
        from acme_tabular.train import fit

        from auditor import audit

        outcome = audit(
            seed=0,
            data={"dataset": load, "options": {"clip": 5.0}},
            model=make_model,
            training={
                "function": fit,
                "kwargs": {
                    "epochs": 40,
                    "batch_size": 64,
                    "lr": 0.003,
                    "weight_decay": 0.0001,
                    "label_smoothing": 0.1,
                },
            },
            forget={"kind": "class", "classes": [3]},
            unlearner={"name": "retrain", "params": {}},
            report={
                "out": str(base / "api"),
                "formats": ["json"],
                "title": "ACME tabular model: erasing digit 3",
                "operator": "unlearn-audit example",
                "request_id": "EXAMPLE-OWN-PIPELINE",
            },
            execution={"cache_dir": str(cache)},
            sign=False,
        )
    finally:
        sys.path.remove(str(EXAMPLE))
    runs["api"] = (None, outcome.evidence)
    return runs


def test_the_users_pipeline_fails_noop_and_passes_retrain(own_runs):
    (noop_proc, noop), (retrain_proc, retrain) = own_runs["noop"], own_runs["retrain"]
    assert noop_proc.returncode == 1 and noop["verdict"]["status"] == "fail", noop_proc.stdout[-2000:]
    assert retrain_proc.returncode == 0 and retrain["verdict"]["status"] == "pass", retrain_proc.stdout[
        -2000:
    ]


def test_the_evidence_names_and_digests_the_training_function(own_runs):
    import hashlib

    ev = own_runs["retrain"][1]
    record = ev["models"]["training_function"]
    assert record["function"] == "acme_tabular.train:fit"
    source = (EXAMPLE / "acme_tabular" / "train.py").read_bytes()
    assert record["source_sha256"] == hashlib.sha256(source).hexdigest()
    assert record["same_seed_equal"] is True and record["seeds_differ"] is True
    assert ev["data"]["source"]["loader"] == "acme_tabular.data:load"
    assert ev["config"]["model"]["arch"] == "acme_tabular.model:make_model"
    # shadows cannot be batched through a user's function: they go through the executor one by one
    lira = next(a for a in ev["attacks"] if a["name"] == "lira")
    assert "user training function" in json.dumps(lira["details"])


def _comparable(ev: dict) -> dict:
    drop = {"run", "timings", "cache", "environment", "config_sha256", "config_file_sha256", "signing"}
    out = {k: v for k, v in ev.items() if k not in drop}
    out["attacks"] = json.loads(
        json.dumps([{k: v for k, v in a.items() if k != "runtime_s"} for a in ev["attacks"]])
    )
    for attack in out["attacks"]:  # shadows trained now or found in the cache: provenance, not evidence
        for key in ("from_cache", "trained_now", "training_path"):
            ((attack.get("details") or {}).get("shadows") or {}).pop(key, None)
    out["method"] = {k: v for k, v in ev["method"].items() if k != "runtime_s"}
    out["controls"] = [{k: v for k, v in c.items() if k != "runtime_s"} for c in ev["controls"]]
    models = json.loads(json.dumps(ev["models"]))
    for record in [models["original"], models["unlearned"], *models["references"]]:
        record.pop("source", None)  # trained now or found in the cache
    out["models"] = models
    out["config"] = {k: v for k, v in ev["config"].items() if k not in ("report", "execution")}
    return out


def test_the_python_api_gives_the_same_verdict_and_evidence(own_runs):
    cli, api = own_runs["retrain"][1], own_runs["api"][1]
    assert api["verdict"] == cli["verdict"]
    assert _comparable(api) == _comparable(cli)


def test_a_training_function_that_ignores_its_seed_is_refused_before_any_work(tmp_path, write_config):
    cfg = tiny_config(training={"function": "tests.plugins:fit_ignoring_seed", "kwargs": {"epochs": 2}})
    path = write_config(cfg)
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "training.function" in result.output and "not deterministic given its seed" in result.output
    assert not (tmp_path / "out" / "evidence.json").exists()
    # the same loop drawing from its generator is accepted
    ok = tiny_config(training={"function": "tests.plugins:fit_seeded", "kwargs": {"epochs": 2}})
    result = CliRunner().invoke(
        main, ["run", str(write_config(ok, "ok.yaml")), "--out", str(tmp_path / "ok")]
    )
    assert result.exit_code in (0, 1), result.output
    ev = json.loads((tmp_path / "ok" / "evidence.json").read_text())
    assert ev["models"]["training_function"]["same_seed_equal"] is True


def test_a_loader_returning_float_labels_is_refused_before_any_work(tmp_path, write_config):
    path = write_config(tiny_config(data={"dataset": "tests.plugins:float_labels"}, model={"arch": "mlp"}))
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "data.dataset" in result.output and "labels must be integers" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    "section, needle",
    [
        ({"data": {"dataset": "tests.plugins:no_such_loader"}}, "data.dataset"),
        ({"data": {"dataset": "digits", "options": {"a": 1}}}, "data.options are keyword arguments"),
        ({"training": {"function": "tests.plugins:no_such_fit"}}, "training.function"),
        ({"training": {"kwargs": {"epochs": 3}}}, "training.kwargs are arguments for training.function"),
    ],
)
def test_plugin_mistakes_are_config_errors_naming_the_key(write_config, section, needle):
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tiny_config(**section)))
    assert needle in str(err.value)


def test_the_api_refuses_functions_it_cannot_name(tmp_path):
    from auditor import audit

    with pytest.raises(ConfigError, match="module-level"):
        audit(data=lambda: None, out=tmp_path)


def test_the_api_runs_on_arrays(tmp_path):
    """Arrays are stored by content under the cache and audited as an npz dataset."""
    from auditor import audit
    from tests.plugins import small_table

    x, y = small_table(400)
    cfg = tiny_config()
    outcome = audit(
        data=(x, y),
        model="mlp",
        training=cfg["training"],
        forget={"kind": "class", "classes": [2]},
        unlearner="noop",
        reference={"seeds": 1},
        attacks=["accuracy"],
        gates={"bootstrap": 300},
        report={"formats": ["json"]},
        out=tmp_path / "arrays",
        sign=False,
    )
    assert outcome.status in ("fail", "inconclusive")
    assert outcome.evidence["data"]["dataset"] == "npz" and outcome.evidence["data"]["counts"]["total"] == 400


def test_a_users_architecture_is_keyed_by_its_source():
    """Editing a model factory must retrain: the cache key carries the sha256 of its source file."""
    import hashlib

    from auditor.train.architectures import arch_key

    assert arch_key("mlp") == "mlp"  # built-ins keep their keys
    source = (REPO / "tests" / "plugins.py").read_bytes()
    assert (
        arch_key("tests.plugins:tiny_linear")
        == f"tests.plugins:tiny_linear@sha256:{hashlib.sha256(source).hexdigest()}"
    )
