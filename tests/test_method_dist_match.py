"""dist_match on digits: forgets a class and a random subset down to the reference's level, and
stops on a held-out discriminator at chance."""

from __future__ import annotations

import torch

from tests.helpers import accuracy, inputs, models
from unlearners import UNLEARNERS
from unlearners.dist_match import mmd2

DistMatch = UNLEARNERS.get("dist_match")


def test_class_forgetting_stops_at_chance_and_reads_third_party_data():
    original, reference = models()
    ins = inputs()
    method = DistMatch()
    out = method.run(original, ins)
    assert accuracy(out, "test", mask_fn=lambda y: y == 3) <= accuracy(reference, "test", mask_fn=lambda y: y == 3) + 0.05
    assert accuracy(out, "test", mask_fn=lambda y: y != 3) >= accuracy(original, "test", mask_fn=lambda y: y != 3) - 0.05
    assert set(ins.reads) == {"forget", "retain", "population"}
    last = method.record["checks"][-1]
    assert method.record["stopped"].startswith("discriminator at chance") and last["at_chance"]
    assert last["n_forget"] > 0 and last["n_third_party"] > 0 and abs(last["auc"] - 0.5) <= last["margin"]
    assert not method.record["checks"][0]["at_chance"] or len(method.record["checks"]) == 1


def test_random_forgetting_lands_near_the_reference():
    original, reference = models("random")
    out = DistMatch().run(original, inputs("random"))
    assert abs(accuracy(out, "forget", "random") - accuracy(reference, "forget", "random")) <= 0.05
    assert accuracy(out, "test", "random") >= accuracy(original, "test", "random") - 0.04


def test_without_a_stop_rule_it_runs_to_the_cap():
    original, _ = models()
    method = DistMatch(DistMatch.Params(max_steps=15, min_steps=100))
    method.run(original, inputs())
    assert method.record["stopped"] == "max_steps" and method.record["checks"] == []


def test_mmd_is_zero_for_equal_samples_and_grows_with_shift():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(50, 3, generator=gen)
    assert float(mmd2(a, a.clone())) < 1e-6
    assert float(mmd2(a, a + 2.0)) > float(mmd2(a, a + 0.2)) > 0
