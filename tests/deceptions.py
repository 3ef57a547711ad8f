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


# --------------------------------------------------------------------------------------------------
# The measured object is not the signed artefact (adversarial review 2): a module that computes like an
# honest retrain while its state_dict() is the original's. The audit measures the model its state
# defines (auditor.train.attest), so these are refused, or measured as the original they attest.


def _honest_retrain(inputs) -> nn.Module:
    return inputs.train(inputs.fresh_model("masquerade"), inputs.retain(), purpose="masquerade")


class _StateOf(nn.Module):
    """Computes with ``inner`` while ``state_dict()`` answers with ``shown`` (keys and shapes of the original)."""

    def __init__(self, inner: nn.Module, shown: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.inner = inner
        self._shown = shown

    def forward(self, x):
        return self.inner(x)

    def state_dict(self, *args, **kwargs):  # noqa: D102 - the deception itself
        return {k: v.clone() for k, v in self._shown.items()}


class StateMasquerade(Unlearner):
    """Forward is an honest retrain; state_dict() is the original's weights plus a whisper of noise."""

    name = "state_masquerade"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        gen = inputs.generator("whisper")
        shown = {k: v + 1e-4 * torch.randn(v.shape, generator=gen) for k, v in model.state_dict().items()}
        return _StateOf(_honest_retrain(inputs), shown).eval()


class ForwardOverride(Unlearner):
    """The original's weights, with the instance's forward replaced by an honest retrain's."""

    name = "forward_override"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        retrained = _honest_retrain(inputs)
        model.forward = retrained.forward  # the state stays the original's
        return model.eval()


class OutputHook(Unlearner):
    """The original's weights, with a forward hook that replaces every output by an honest retrain's."""

    name = "output_hook"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        retrained = _honest_retrain(inputs)
        model.register_forward_hook(lambda module, args, output: retrained(args[0]))
        return model.eval()


class ProbeAwareMasquerade(Unlearner):
    """Like StateMasquerade, but on the inputs the audit checks it with, it answers as its state does.

    Someone who read the code knows the check's probe batch; the audit must then measure the model
    the state defines (the original), never the object.
    """

    name = "probe_aware_masquerade"
    summary = "test deception"
    citation = "none"

    def unlearn(self, model, inputs):
        retrained = _honest_retrain(inputs)
        probe = inputs.probe_batch()
        original = model

        class Switch(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = original

            def forward(self, x):
                out = retrained(x)
                if x.shape[1:] == probe.shape[1:] and len(x) == len(probe) and torch.equal(x.cpu(), probe):
                    return self.net(x)
                return out

            def state_dict(self, *args, **kwargs):  # noqa: D102 - the deception itself
                return original.state_dict(*args, **kwargs)

        return Switch().eval()


# --------------------------------------------------------------------------------------------------
# Incomplete erasure (adversarial review 2): an honest retrain that keeps part of the request in training,
# as a pipeline bug would (a shard not deleted, a join that dropped rows). Other seeds and mechanics than
# the audit's own incomplete-erasure controls (auditor.run.controls).


class KeepParams(Params):
    kept: float = Field(0.25, gt=0, lt=1)
    selection: str = Field("random", pattern="^(random|least_exposed)$")


class PartialRetrain(Unlearner):
    """Retrain from scratch on the retain set plus a share of the forget set (random, or the least exposed)."""

    name = "partial_retrain"
    summary = "test deception"
    citation = "none"
    Params = KeepParams

    def unlearn(self, model, inputs):
        from auditor.data.tensors import SplitData
        from auditor.train.core import predict_logits

        forget, retain = inputs.forget(), inputs.retain()
        k = max(1, round(self.params.kept * len(forget)))
        if self.params.selection == "random":
            order = torch.randperm(len(forget), generator=inputs.generator("partial-retrain"))
        else:  # the records the original classifies with the largest margin
            logits = predict_logits(model, forget.x)
            true = logits.gather(1, forget.y[:, None])[:, 0]
            others = logits.clone()
            others[torch.arange(len(forget)), forget.y] = -torch.inf
            order = torch.argsort(true - others.max(dim=1).values, descending=True)
        kept = order[:k]
        split = SplitData(
            torch.cat([retain.x, forget.x[kept]]),
            torch.cat([retain.y, forget.y[kept]]),
            retain.indices,
        )
        return inputs.train(inputs.fresh_model("partial-retrain"), split, purpose="partial-retrain").eval()


class ForgetFeaturesOnly(Unlearner):
    """Class fake: fine-tune so only the named forget samples move to their runner-up class (CE + retain distillation).

    Unlike the audit's own control (unlearners.deceptive.ForgetFeatures), it matches no feature targets and
    shifts no bias: it only relabels the forget samples to their runner-up class while distilling the
    retain outputs, as in the adversarial review.
    """

    name = "forget_features_only"
    summary = "test deception"
    citation = "none"
    supports = frozenset({"class"})

    def unlearn(self, model, inputs):
        forget, retain = inputs.forget(), inputs.retain()
        import copy

        teacher = copy.deepcopy(model).eval()
        keep = torch.tensor([c for c in range(inputs.num_classes) if c not in inputs.forget_classes])
        with torch.no_grad():
            runner_up = keep[teacher(forget.x)[:, keep].argmax(dim=1)]
            soft = teacher(retain.x).softmax(dim=1)
        opt = torch.optim.Adam(model.parameters(), lr=5e-4)
        gen = inputs.generator("forget-features-only")
        for _ in range(30):
            for idx in torch.randperm(len(retain), generator=gen).split(128):
                model.train()
                loss = F.cross_entropy(model(forget.x), runner_up) + F.kl_div(
                    model(retain.x[idx]).log_softmax(dim=1), soft[idx], reduction="batchmean"
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
        return model.eval()
