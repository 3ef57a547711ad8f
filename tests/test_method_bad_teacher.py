"""Bad Teacher on digits. The forget samples' predictions follow the random teacher; held-out\nsamples of the class generalise back partly (about 17-22 % test accuracy vs the reference's 0 %):\nan honest limit of this baseline on digits, asserted as such."""

from __future__ import annotations

from tests.helpers import accuracy, inputs, models
from unlearners import UNLEARNERS

Method = UNLEARNERS.get("bad_teacher")


def test_class_forgetting():
    original, reference = models()
    ins = inputs()
    out = Method().run(original, ins)
    assert accuracy(out, "forget") <= 0.35 < accuracy(original, "forget")
    assert (
        accuracy(out, "test", mask_fn=lambda y: y == 3) <= 0.35
    )  # reference: 0.0 (see the module docstring)
    assert (
        accuracy(out, "test", mask_fn=lambda y: y != 3)
        >= accuracy(original, "test", mask_fn=lambda y: y != 3) - 0.05
    )
    assert set(ins.reads) == {"forget", "retain"}


def test_random_forgetting_lands_near_the_reference():
    original, reference = models("random")
    ins = inputs("random")
    out = Method().run(original, ins)
    # Retrained models score 0.92-0.96 on this forget set (seed spread); over-forgetting fails.
    assert abs(accuracy(out, "forget", "random") - accuracy(reference, "forget", "random")) <= 0.05
    assert accuracy(out, "test", "random") >= accuracy(original, "test", "random") - 0.05
    assert set(ins.reads) == {"forget", "retain"}


def test_reads_only_a_thirty_percent_retain_subset():
    ins = inputs()
    Method().run(models()[0], ins)
    assert ins.reads["retain"] == -(-3 * ins.counts()["retain"] // 10)
