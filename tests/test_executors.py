"""Executors change where shadow models train, never what they are."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auditor.config import AuditConfig
from auditor.train.core import Recipe
from auditor.train.executors import (
    EXECUTORS,
    LocalExecutor,
    ModelJob,
    ProcessExecutor,
    split_groups,
    train_group,
)
from tests.helpers import digits_setup

RECIPE = Recipe(epochs=3, batch_size=64, optimizer="adam", lr=0.003, weight_decay=0.0)


def jobs(n: int, arch: str = "mlp") -> list[ModelJob]:
    data, _, _ = digits_setup()
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        idx = torch.as_tensor(np.sort(rng.permutation(len(data))[: len(data) // 2]))
        out.append(
            ModelJob(
                arch, tuple(data.input_shape), data.num_classes, data.x[idx], data.y[idx], 10 + k, 20 + k
            )
        )
    return out


def test_split_groups():
    assert split_groups([3, 5, 7], batchable=False, chunk=16, workers=2) == [[3], [5], [7]]
    assert split_groups(list(range(5)), batchable=True, chunk=16, workers=1) == [list(range(5))]
    assert split_groups(list(range(5)), batchable=True, chunk=16, workers=2) == [[0, 1, 2], [3, 4]]
    assert split_groups(list(range(40)), batchable=True, chunk=16, workers=1)[-1] == list(range(32, 40))


def test_process_pool_gives_the_models_local_training_gives():
    js = jobs(4)
    local = dict(LocalExecutor().run([js], RECIPE, "cpu"))[0]  # one batched group of 4
    pool = ProcessExecutor(workers=2)
    got = dict(pool.run([js[:2], js[2:]], RECIPE, "cpu"))  # two groups, two spawned workers
    remote = got[0] + got[1]
    assert len(remote) == 4
    for a, b in zip(local, remote):
        assert a.keys() == b.keys()
        for name in a:
            torch.testing.assert_close(a[name], b[name], atol=1e-4, rtol=1e-4)
    # a different seed gives a different model: the comparison above can fail
    other = train_group([ModelJob(**{**js[0].__dict__, "init_seed": 99})], RECIPE, "cpu")[0]
    first = next(iter(other))
    assert not torch.allclose(other[first], local[0][first], atol=1e-3)


def test_executor_names_are_validated_in_the_config():
    assert set(EXECUTORS) == {"local", "process", "ray"}
    assert (
        AuditConfig.model_validate({"execution": {"executor": "process", "workers": 2}}).execution.workers
        == 2
    )
    with pytest.raises(Exception, match="executor"):
        AuditConfig.model_validate({"execution": {"executor": "threads"}})


@pytest.mark.e2e
def test_audit_is_the_same_under_both_executors(tmp_path):
    from auditor.config import load_config
    from auditor.run.pipeline import run_audit

    cfg_file = tmp_path / "audit.yaml"
    cfg_file.write_text(
        "seed: 4\nmodel: {arch: mlp}\n"
        "training: {epochs: 10, batch_size: 64, optimizer: adam, lr: 0.003, weight_decay: 0.0}\n"
        "unlearner: {name: noop}\nreference: {seeds: 1}\n"
        "attacks: [{name: accuracy}, {name: lira, params: {shadows: 6}}]\n"
        "report: {formats: [json]}\n"
    )
    evidence = {}
    for name in ("local", "process"):
        cfg = load_config(
            cfg_file,
            overrides={
                "execution.executor": name,
                "execution.workers": 2,
                "execution.cache_dir": str(tmp_path / f"cache-{name}"),
            },
        )
        evidence[name] = run_audit(cfg, out=tmp_path / name).evidence
    local, pool = evidence["local"], evidence["process"]
    assert local["verdict"]["status"] == pool["verdict"]["status"] == "fail"
    shadows = [
        next(a for a in ev["attacks"] if a["name"] == "lira")["details"]["shadows"] for ev in (local, pool)
    ]
    assert "local" in shadows[0]["training_path"] and "process pool" in shadows[1]["training_path"]
    assert shadows[0]["trained_now"] == shadows[1]["trained_now"] == 6
    metrics = [{m["key"]: m for a in ev["attacks"] for m in a["metrics"]} for ev in (local, pool)]
    for key, m in metrics[0].items():
        a, b = m["values"]["unlearned"], metrics[1][key]["values"]["unlearned"]
        if a["value"] is None:
            assert b["value"] is None
            continue
        assert a["ci"][0] <= b["value"] <= a["ci"][1], key  # within the other run's interval
        assert b["value"] == pytest.approx(a["value"], abs=0.02), key


@pytest.mark.e2e
def test_small_audit_on_a_local_two_cpu_ray_instance(tmp_path):
    ray = pytest.importorskip("ray")
    from auditor.config import load_config
    from auditor.run.pipeline import run_audit

    cfg_file = tmp_path / "audit.yaml"
    cfg_file.write_text(
        "seed: 4\nmodel: {arch: mlp}\n"
        "training: {epochs: 10, batch_size: 64, optimizer: adam, lr: 0.003, weight_decay: 0.0}\n"
        "unlearner: {name: noop}\nreference: {seeds: 1}\n"
        "attacks: [{name: accuracy}, {name: lira, params: {shadows: 6}}]\n"
        "execution: {executor: ray, workers: 2, cpus_per_task: 1}\n"
        "report: {formats: [json]}\n"
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # the local two-CPU instance
    try:
        cfg = load_config(cfg_file, overrides={"execution.cache_dir": str(tmp_path / "cache")})
        ev = run_audit(cfg, out=tmp_path / "ray").evidence
    finally:
        ray.shutdown()
    shadows = next(a for a in ev["attacks"] if a["name"] == "lira")["details"]["shadows"]
    assert "Ray tasks" in shadows["training_path"] and shadows["trained_now"] == 6
    assert ev["verdict"]["status"] == "fail"
    # the same shadows as the local executor trains
    local = load_config(
        cfg_file,
        overrides={"execution.executor": "local", "execution.cache_dir": str(tmp_path / "cache-local")},
    )
    ev_local = run_audit(local, out=tmp_path / "local").evidence
    lira = [
        next(m for a in e["attacks"] for m in a["metrics"] if m["key"] == "lira.auc") for e in (ev, ev_local)
    ]
    a, b = lira[1]["values"]["unlearned"], lira[0]["values"]["unlearned"]
    assert a["ci"][0] <= b["value"] <= a["ci"][1] and b["value"] == pytest.approx(a["value"], abs=0.02)


def test_ray_executor_without_ray_is_a_config_error(tmp_path, monkeypatch):
    import importlib.util

    from auditor.config import AuditConfig
    from auditor.errors import ConfigError
    from auditor.run.preflight import preflight

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    cfg = AuditConfig.model_validate({"execution": {"executor": "ray"}})
    with pytest.raises(ConfigError) as err:
        preflight(cfg, out=tmp_path / "out", sign=False)
    assert any(
        p.path == "execution.executor" and "unlearn-audit[ray]" in p.message for p in err.value.problems
    )
