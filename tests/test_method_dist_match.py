"""dist_match on digits: stops on a held-out discriminator at chance, and removes a backdoor.

Forgetting a class or a random subset down to the reference's level is checked by its case in
``tests/unlearners/cases.py``.
"""

from __future__ import annotations

import torch

from auditor.config import parse_config
from auditor.run.pipeline import run_audit
from tests.helpers import inputs, models, tiny_config
from tests.unlearners.cases import run
from unlearners import UNLEARNERS
from unlearners.dist_match import mmd2

DistMatch = UNLEARNERS.get("dist_match")


def test_class_forgetting_stops_once_the_held_out_discriminator_is_at_chance():
    _, ins = run("dist_match")
    checks = ins.notes["checks"]
    # The first check still tells the forget class from unseen data; training went on until it could not.
    assert not checks[0]["at_chance"] and checks[0]["auc"] > 0.6
    last = checks[-1]
    assert last["at_chance"] and ins.notes["stopped"].startswith("discriminator at chance")
    assert abs(last["auc"] - 0.5) <= last["margin"] and 0.3 < last["balanced_accuracy"] < 0.7
    # Held out: half of each side is scored, the other half fit (forget 100, class-3-free population).
    n_forget, n_third = ins.counts()["forget"], ins.notes["third_party"]
    assert last["n_forget"] == n_forget - n_forget // 2 and last["n_third_party"] == n_third - n_third // 2
    assert last["n_fit"] == n_forget // 2 + n_third // 2


def test_random_forgetting_stops_at_chance():
    _, ins = run("dist_match", "random")
    assert ins.notes["checks"][-1]["at_chance"]


def test_without_a_stop_rule_it_runs_to_the_cap():
    ins = inputs()
    DistMatch(DistMatch.Params(max_steps=15, min_steps=100)).run(models()[0], ins)
    assert ins.notes["stopped"] == "max_steps" and ins.notes["checks"] == []


def test_backdoor_trigger_is_removed(tmp_path):
    attacks = [{"name": "backdoor", "params": {"resurgence_steps": 5}}]
    cfg = parse_config(
        tiny_config(
            forget={"kind": "backdoor", "count": 60, "target": 0},
            unlearner={"name": "dist_match"},
            attacks=attacks,
        )
    )
    evidence = run_audit(cfg, out=tmp_path / "bd").evidence
    metrics = {m["key"]: m["values"] for m in evidence["attacks"][0]["metrics"]}
    asr, clean = metrics["backdoor.asr"], metrics["backdoor.clean_accuracy"]
    assert asr["original"]["value"] > 0.9 and asr["unlearned"]["value"] < 0.2  # measured 0.96 -> 0.07
    assert clean["unlearned"]["value"] >= clean["original"]["value"] - 0.05
    assert "population" in evidence["method"]["data_read"]
    assert set(evidence["method"]["diagnostics"]) == {"checks", "stopped", "third_party"}  # inputs.note()


def test_mmd_is_zero_for_equal_samples_and_grows_with_shift():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(50, 3, generator=gen)
    assert float(mmd2(a, a.clone())) < 1e-6
    assert float(mmd2(a, a + 2.0)) > float(mmd2(a, a + 0.2)) > 0
