"""Backdoor canaries: planting, the trigger check, Athena's test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attacks.checks.backdoor import athena
from auditor.config import TriggerConfig, parse_config
from auditor.data.triggers import make_trigger, plant
from auditor.errors import ConfigError
from auditor.run.pipeline import run_audit
from tests.helpers import tiny_config


def test_trigger_positions_and_planting():
    patch = make_trigger(TriggerConfig(size=2), target=0, image_shape=(1, 8, 8), data_max=2.0, seed=0)
    assert set(zip(patch.rows, patch.cols)) == {(6, 6), (6, 7), (7, 6), (7, 7)}
    pixels = make_trigger(
        TriggerConfig(pattern="pixels", size=4), target=1, image_shape=(3, 8, 8), data_max=2.0, seed=0
    )
    again = make_trigger(
        TriggerConfig(pattern="pixels", size=4), target=1, image_shape=(3, 8, 8), data_max=2.0, seed=0
    )
    assert len(set(zip(pixels.rows, pixels.cols))) == 4 and pixels == again
    x = torch.zeros(3, 3, 8, 8)
    stamped = pixels.stamp(x)
    assert float(stamped.sum()) == 3 * 3 * 4 * 2.0 and float(x.sum()) == 0.0  # the input is not modified
    from auditor.data.datasets import make_loaded

    data = make_loaded("npz", np.zeros((6, 1, 8, 8), np.float32), np.array([1, 2, 3, 1, 2, 3]))
    planted = plant(data, np.array([0, 2]), patch)
    assert planted.y.tolist() == [0, 2, 0, 1, 2, 3] and planted.fingerprint != data.fingerprint
    assert float(planted.x[0, 0, 7, 7]) == 2.0 and float(planted.x[1].abs().sum()) == 0.0


def test_athena_by_hand():
    res = athena(20, 0.1, 0.9, 0.01)
    from scipy.stats import binom

    t = res["threshold"]
    assert binom.sf(t - 1, 20, 0.1) <= 0.01 < binom.sf(t - 2, 20, 0.1)  # the smallest such t
    assert res["rho"] == pytest.approx(binom.sf(t - 1, 20, 0.9))
    weak = athena(3, 0.9, 0.95, 1e-6)  # no reachable count is rare enough under H0: no power at all
    assert weak["threshold"] == 4 and weak["rho"] == 0.0


def _audit(tmp_path, unlearner):
    cfg = parse_config(
        tiny_config(
            forget={"kind": "backdoor", "count": 60, "target": 0},
            unlearner={"name": unlearner},
            reference={"seeds": 6},
            attacks=[{"name": "backdoor", "params": {"resurgence_steps": 5}}],
        )
    )
    return run_audit(cfg, out=tmp_path / unlearner).evidence


def test_noop_keeps_the_backdoor_and_fails_retrain_passes(tmp_path):
    noop = _audit(tmp_path, "noop")
    gate = {g["metric"]: g for g in noop["gates"]["results"]}["backdoor.asr"]
    assert gate["status"] == "fail" and gate["gap"] > 0.5
    details = noop["attacks"][0]["details"]
    assert details["athena"]["n"] > 100 and details["athena"]["alpha"] == 1e-3
    assert details["athena"]["rho"] > 0.99 and details["athena"]["decision"].startswith("not deleted")
    assert noop["data"]["forget"]["trigger"]["pixels"] == 4
    retrain = _audit(tmp_path, "retrain")
    gate = {g["metric"]: g for g in retrain["gates"]["results"]}["backdoor.asr"]
    assert gate["status"] == "pass"
    assert retrain["attacks"][0]["details"]["athena"]["decision"] == "consistent with deletion"


def test_backdoor_config_errors(write_config):
    from auditor.config import load_config

    with pytest.raises(ConfigError, match="needs target"):
        load_config(write_config({"forget": {"kind": "backdoor", "count": 5}}))
    with pytest.raises(ConfigError, match="does not take"):
        load_config(write_config({"forget": {"kind": "backdoor", "count": 5, "target": 0, "classes": [1]}}))


def test_decoys_carry_the_trigger_and_serve_as_non_members(tmp_path):
    """Statistics review M4.3: membership non-members of a backdoor audit carry the trigger and the target
    label like the canaries, were never trained on, and leave the clean population."""
    from auditor.plugin.context import AuditContext
    from auditor.run.preflight import preflight
    from auditor.train.shadows import shadow_group

    cfg = parse_config(tiny_config(forget={"kind": "backdoor", "count": 40, "target": 0}))
    prep = preflight(cfg, out=tmp_path / "out", sign=False)
    s, y = prep.splits, prep.data.y.numpy()
    assert len(s.decoys) == 40 and s.counts()["decoys"] == 40
    assert not np.intersect1d(s.decoys, np.concatenate([s.train, s.test, s.population])).size
    assert (y[s.decoys] == 0).all() and (y[s.forget] == 0).all()
    trig = prep.trigger
    corner = prep.data.x[torch.as_tensor(s.decoys)][:, :, list(trig.rows), list(trig.cols)]
    assert bool((corner == trig.value).all())
    ctx = AuditContext(
        data=prep.data,
        splits=s,
        unlearned=None,
        references=[],
        original=None,
        forget_kind="backdoor",
        forget_classes=(),
        recipe=None,
        model_factory=prep.factory,
        device=prep.device,
        seed=0,
        bootstrap=10,
        level=0.95,
    )
    assert np.array_equal(ctx.nonmember_indices(), s.decoys)
    assert np.array_equal(shadow_group("backdoor", prep.data, s, ()), np.union1d(s.forget, s.decoys))
