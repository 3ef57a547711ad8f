"""SalUn on digits: the saliency mask is a hard constraint, and sets the trainable share.

Forgetting a class or a random subset is checked by its case in ``tests/unlearners/cases.py``.
"""

from __future__ import annotations

import torch

from tests.helpers import inputs, models
from tests.unlearners.cases import run
from unlearners.salun import Salun, saliency_mask


def _frozen_moved(original, out, fraction=0.5):
    """Counts: frozen entries that moved, frozen entries, salient entries that moved, salient entries."""
    masks = saliency_mask(
        original,
        inputs().forget(),
        fraction=fraction,
        batch_size=Salun.Params().batch_size,
        device=torch.device("cpu"),
    )
    before, after = dict(original.named_parameters()), dict(out.named_parameters())
    moved = frozen = changed = salient = 0
    for name, keep in masks.items():
        p0, p1 = before[name].detach(), after[name].detach()
        moved += int((p1[~keep] != p0[~keep]).sum())
        frozen += int((~keep).sum())
        changed += int((p1[keep] != p0[keep]).sum())
        salient += int(keep.sum())
    return moved, frozen, changed, salient


def test_every_non_salient_weight_is_exactly_the_original():
    original, _ = models()
    out, _ = run("salun")
    moved, frozen, changed, salient = _frozen_moved(original, out)
    total = frozen + salient
    assert salient == int(total * 0.5)
    assert moved == 0
    assert changed > 0.9 * salient
    assert all(not p._backward_hooks for p in out.parameters())  # the gradient masks are removed


def test_without_the_restore_weight_decay_and_momentum_move_masked_weights(monkeypatch):
    """The check above can fail: masking gradients alone lets weight decay and momentum move them."""
    original, _ = models()
    monkeypatch.setattr(Salun, "restore", staticmethod(lambda *args: None))
    out = Salun().run(original, inputs())
    moved, frozen, _, _ = _frozen_moved(original, out)
    assert moved > 0.5 * frozen


def test_mask_fraction_sets_the_trainable_share():
    original, _ = models()
    masks = saliency_mask(
        original, inputs().forget(), fraction=0.1, batch_size=256, device=torch.device("cpu")
    )
    total = sum(m.numel() for m in masks.values())
    assert sum(int(m.sum()) for m in masks.values()) == int(total * 0.1)
