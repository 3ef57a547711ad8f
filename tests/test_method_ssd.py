"""SSD on digits: training-free dampening, and why its selection threshold is scaled.

Forgetting a class or a random subset is checked by its case in ``tests/unlearners/cases.py``.
"""

from __future__ import annotations

import torch

from auditor.train.architectures import state_digest
from tests.helpers import inputs, models
from tests.unlearners.cases import run
from unlearners.ssd import Ssd


def test_ssd_only_dampens():
    """Training-free: each entry is kept or multiplied by a factor in [0, 1), and a minority change."""
    original, _ = models()
    out, _ = run("ssd")
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
