"""SSD on digits: training-free dampening that removes a class and holds utility."""

from __future__ import annotations

import torch

from auditor.models import state_digest
from tests.helpers import accuracy, inputs, models
from unlearners import UNLEARNERS
from unlearners.ssd import Ssd

# Retrained MLPs (8 seeds) classify 0.919-0.960 of this random forget set correctly, so a gap to
# the reference of up to 0.05 (5 of 99 samples) is retrain-to-retrain noise, not over-forgetting.
RANDOM_TOLERANCE = 0.05


def is3(y):
    return y == 3


def not3(y):
    return y != 3


def test_ssd_is_registered():
    assert UNLEARNERS.get("ssd") is Ssd
    assert Ssd.supports == {"class", "random", "indices", "backdoor"}


def test_ssd_forgets_the_class_and_keeps_utility():
    original, reference = models()
    ins = inputs()
    out = Ssd().run(original, ins)
    assert accuracy(original, "test", mask_fn=is3) > 0.8
    assert accuracy(reference, "test", mask_fn=is3) < 0.1
    assert accuracy(out, "test", mask_fn=is3) < 0.1
    assert accuracy(out, "test", mask_fn=not3) >= accuracy(original, "test", mask_fn=not3) - 0.05
    counts = ins.counts()
    # the full training set is the retain set plus the forget set
    assert ins.reads == {"forget": counts["forget"], "retain": counts["retain"]}


def test_ssd_only_dampens():
    """Training-free: each entry is kept or multiplied by a factor in [0, 1), and a minority change."""
    original, _ = models()
    out = Ssd().run(original, inputs())
    before, after = dict(original.named_parameters()), dict(out.named_parameters())
    changed = total = 0
    for name, p0 in before.items():
        p1 = after[name].detach()
        moved = p1 != p0.detach()
        assert torch.all(p1[moved].abs() < p0.detach()[moved].abs())
        assert torch.all(p1[moved] * p0.detach()[moved] >= 0)
        changed += int(moved.sum())
        total += p0.numel()
    assert 0 < changed < 0.2 * total  # measured: 2,950 of 26,122 entries (11 %)


def test_flat_official_alpha_selects_nothing_at_a_ten_percent_forget_fraction():
    """Why alpha is scaled: I_f / I_D cannot exceed about |D| / |D_f| (about 10 here)."""
    original, _ = models()
    out = Ssd(Ssd.Params(alpha=10.0)).run(original, inputs())
    assert state_digest(out) == state_digest(original)


def test_default_alpha_is_the_official_ten_on_the_official_settings():
    ssd = Ssd()
    assert ssd.alpha(500, 50_000) == 10.0  # one CIFAR-100 class
    assert ssd.alpha(2_500, 50_000) == 10.0  # one CIFAR-20 superclass
    assert ssd.alpha(100, 50_000) == 10.0  # 100 random CIFAR-10 samples
    assert abs(ssd.alpha(100, 988) - 4.94) < 1e-9  # digits, one class
    assert Ssd(Ssd.Params(alpha=3.0)).alpha(100, 988) == 3.0


def test_ssd_random_forgetting_lands_near_the_reference():
    original, reference = models("random")
    ins = inputs("random")
    out = Ssd().run(original, ins)
    gap = accuracy(out, "forget", "random") - accuracy(reference, "forget", "random")
    assert abs(gap) <= RANDOM_TOLERANCE
    assert accuracy(out, "test", "random") >= accuracy(original, "test", "random") - 0.03
