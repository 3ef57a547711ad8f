"""Deceptive unlearners for the tests: variants of the classes the audit's controls stand for, with
other magnitudes and mechanics than :mod:`unlearners.deceptive`, so that a test passing here is not
a control recognising itself (``tests.deceptions:Name`` as ``unlearner.name``)."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from unlearners.base import Params, Unlearner


def _head(model: nn.Module) -> nn.Linear:
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1]


class ShiftParams(Params):
    shift: float = Field(12.0)


class BiasShift(Unlearner):
    """A fixed bias shift on the forgotten classes (smaller than the review's 30)."""

    name = "bias_shift"
    summary = "test deception"
    citation = "none"
    supports = frozenset({"class"})
    Params = ShiftParams

    def unlearn(self, model, inputs):
        with torch.no_grad():
            for c in inputs.forget_classes:
                _head(model).bias[c] -= self.params.shift
        return model


class RowParams(Params):
    scale: float = Field(0.1)
    shift: float = Field(3.0)


class ScaleRows(Unlearner):
    """Shrink the forgotten classes' head rows to a tenth and lower their bias a little."""

    name = "scale_rows"
    summary = "test deception"
    citation = "none"
    supports = frozenset({"class"})
    Params = RowParams

    def unlearn(self, model, inputs):
        head = _head(model)
        with torch.no_grad():
            for c in inputs.forget_classes:
                head.weight[c] *= self.params.scale
                head.bias[c] -= self.params.shift
        return model


class NegateParams(RowParams):
    scale: float = Field(-1.0)
    shift: float = Field(1.0)


class NegateRows(ScaleRows):
    """Flip the sign of the forgotten classes' head rows (their logits become anti-correlated with the class)."""

    name = "negate_rows"
    Params = NegateParams


def _train_top_layers(model, inputs, *, layers: int, reinit: bool, make_opt, epochs: int, purpose: str):
    """Train only the last ``layers`` nn.Linear layers on the retain set, everything below frozen."""
    top = [m for m in model.modules() if isinstance(m, nn.Linear)][-layers:]
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for layer in top:
        if reinit:
            layer.reset_parameters()
        for p in layer.parameters():
            p.requires_grad_(True)
            params.append(p)
    retain = inputs.retain()
    opt = make_opt(params)
    gen = inputs.generator(purpose)
    for _ in range(epochs):
        for idx in torch.randperm(len(retain), generator=gen).split(64):
            opt.zero_grad()
            F.cross_entropy(model(retain.x[idx]), retain.y[idx]).backward()
            opt.step()
    for p in model.parameters():
        p.requires_grad_(True)
    return model.eval()


class LastTwoLayers(Unlearner):
    """EU-2: re-initialise the last two linear layers and train them on the retain set (Goel et al.)."""

    name = "last_two_layers"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        return _train_top_layers(
            model,
            inputs,
            layers=2,
            reinit=True,
            epochs=15,
            purpose="eu2",
            make_opt=lambda ps: torch.optim.Adam(ps, lr=3e-3),
        )


class HeadOnForgetAscent(Unlearner):
    """Gradient ascent on the forget set through the head only (body frozen), a few steps."""

    name = "head_ascent"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        forget = inputs.forget()
        head = _head(model)
        for p in model.parameters():
            p.requires_grad_(False)
        for p in head.parameters():
            p.requires_grad_(True)
        opt = torch.optim.SGD(head.parameters(), lr=0.05)
        for _ in range(40):
            opt.zero_grad()
            (-F.cross_entropy(model(forget.x), forget.y).clamp(max=20.0)).backward()
            opt.step()
        for p in model.parameters():
            p.requires_grad_(True)
        return model.eval()


class FinetuneLastTwo(Unlearner):
    """CF-2: fine-tune the last two linear layers on the retain set, everything below frozen (Goel et al.)."""

    name = "finetune_last_two"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        return _train_top_layers(
            model,
            inputs,
            layers=2,
            reinit=False,
            epochs=10,
            purpose="cf2",
            make_opt=lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
        )


class WholeModelAscent(Unlearner):
    """Over-forgetting: gradient ascent on the forget set through the whole model, far past retraining."""

    name = "whole_model_ascent"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        forget = inputs.forget()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        for _ in range(60):
            opt.zero_grad()
            (-F.cross_entropy(model(forget.x), forget.y).clamp(max=8.0)).backward()
            opt.step()
        return model.eval()


class RelabelFinetune(Unlearner):
    """Label noise: fine-tune the whole model on the forget set with random wrong labels (no retain repair)."""

    name = "relabel_finetune"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        forget = inputs.forget()
        gen = inputs.generator("relabel")
        num_classes = [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
        shift = torch.randint(1, num_classes, forget.y.shape, generator=gen)
        wrong = (forget.y + shift) % num_classes
        opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        for _ in range(20):
            opt.zero_grad()
            F.cross_entropy(model(forget.x), wrong).backward()
            opt.step()
        return model.eval()
