"""Deceptive "unlearners": cheap edits of the original that look like forgetting and are not.

The audit builds each one that applies to the request and requires its battery to FAIL it
(:mod:`auditor.run.controls`): a battery that would pass one of them cannot license a PASS. They come
from the classes the literature uses to show that an unlearning evaluation can be fooled:

* **output-layer suppression** of the forgotten classes (a lowered bias, zeroed head rows): the
  features, and everything they memorised, are the original's;
* **head-only retraining and fine-tuning** with the body frozen, the EU-k and CF-k baselines of
  Goel, Prabhu, Sanyal, Lim, Torr & Kumaraguru, "Towards Adversarial Evaluation of Machine
  Unlearning" (arXiv 2201.06640, 2023), with k = 1 (only the last layer moves);
* **over-forgetting**: gradient ascent on the forget set until its accuracy falls far below what
  retraining gives, which makes the deleted records stand out (the "Streisand effect"; Chundawat
  et al., AAAI 2023; Hayes et al., arXiv 2403.01218);
* **label-noise fine-tuning** on the forget set (random wrong labels, as in the random-labels
  baseline of Golatkar et al. and Graves et al., AAAI 2021), with nothing to repair utility;
* **a forget-samples-only feature move** (class requests): only the named forget samples' top-layer
  features move, so every check scored on them sees the class gone while new images of the class
  still carry it (the adversarial review's class fake).

They are ordinary :class:`~unlearners.base.Unlearner` subclasses, so a user can also audit one
directly (``unlearner.name: unlearners.deceptive:HeadBiasSuppress``) to see the battery catch it.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from auditor.plugin.context import UnlearnInputs
from auditor.train.core import batches, predict_logits, to_device
from auditor.train.steps import accuracy, optimizer_step, wrong_labels
from unlearners.base import Params, Unlearner


def classification_head(model: nn.Module) -> nn.Linear:
    """The model's last ``nn.Linear`` (its classification head)."""
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not heads:
        raise ValueError("this control needs a model whose last layer is an nn.Linear head")
    return heads[-1]


def _frozen_body_training(
    model: nn.Module, inputs: UnlearnInputs, *, epochs: int, lr: float, reinit: bool, purpose: str
) -> nn.Module:
    """Train only the head on the retain set, every other parameter frozen."""
    head = classification_head(model)
    if reinit:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(inputs.generator(f"{purpose}/init").initial_seed()))
            head.reset_parameters()
    retain = inputs.retain(max_samples=20_000)
    model.to(inputs.device)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head.parameters():
        p.requires_grad_(True)
    opt = torch.optim.SGD(head.parameters(), lr=lr, momentum=0.9)
    gen = inputs.generator(purpose)
    model.eval()  # the body's BatchNorm statistics stay the original's
    for _ in range(epochs):
        for idx in batches(len(retain), inputs.recipe.batch_size, generator=gen):
            loss = F.cross_entropy(
                model(to_device(retain.x[idx], inputs.device)), to_device(retain.y[idx], inputs.device)
            )
            optimizer_step(opt, loss)
    for p in model.parameters():
        p.requires_grad_(True)
    return model


class SuppressParams(Params):
    """Hyperparameters of the output-layer suppression controls."""

    margin: float = Field(
        1.0, gt=0, description="How far below the runner-up logit the forgotten classes are pushed."
    )


class HeadBiasSuppress(Unlearner[SuppressParams]):
    """Lower the forgotten classes' output bias just enough that they never win on the forget set.

    Output-layer suppression: no feature changes, no data removed (statistics review C1).
    """

    name = "control_head_bias"
    summary = (
        "Lower the forgotten classes' bias in the last layer until they stop winning (features untouched)."
    )
    citation = "Goel et al., Towards Adversarial Evaluation of Machine Unlearning, 2023 (output-layer edits)."
    supports = frozenset({"class"})

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        forget = inputs.forget()
        logits = predict_logits(model, forget.x, device=inputs.device)
        head = classification_head(model)
        with torch.no_grad():
            for c in inputs.forget_classes:
                others = torch.cat([logits[:, :c], logits[:, c + 1 :]], dim=1).max(dim=1).values
                shift = float((logits[:, c] - others).max()) + self.params.margin
                head.bias[c] -= max(shift, 0.0)
        return model


class HeadRowsZero(Unlearner[SuppressParams]):
    """Zero the forgotten classes' rows of the head and set their bias below every other logit."""

    name = "control_head_rows"
    summary = "Zero the forgotten classes' head rows (a constant, losing logit); features untouched."
    citation = "Goel et al., Towards Adversarial Evaluation of Machine Unlearning, 2023 (output-layer edits)."
    supports = frozenset({"class"})

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        forget = inputs.forget()
        logits = predict_logits(model, forget.x, device=inputs.device)
        keep = [c for c in range(inputs.num_classes) if c not in inputs.forget_classes]
        floor = float(logits[:, keep].max(dim=1).values.min()) - self.params.margin
        head = classification_head(model)
        with torch.no_grad():
            for c in inputs.forget_classes:
                head.weight[c] = 0.0
                head.bias[c] = floor
        return model


class HeadParams(Params):
    """Hyperparameters of the head-only training controls."""

    epochs: int = Field(5, ge=1, le=200, description="Epochs over the retain set (body frozen).")
    lr: float = Field(0.05, gt=0, le=10, description="SGD learning rate of the head.")


class HeadRetrain(Unlearner[HeadParams]):
    """EU-k with k = 1: re-initialise the head and train it on the retain set, body frozen."""

    name = "control_head_retrain"
    summary = "Re-initialise the last layer and train it on the retain set with the body frozen (EU-1)."
    citation = "Goel et al., Towards Adversarial Evaluation of Machine Unlearning, arXiv 2201.06640 (EU-k)."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        return _frozen_body_training(
            model,
            inputs,
            epochs=self.params.epochs,
            lr=self.params.lr,
            reinit=True,
            purpose="control/head-retrain",
        )


class HeadFinetune(Unlearner[HeadParams]):
    """CF-k with k = 1: fine-tune the head on the retain set, body frozen."""

    name = "control_head_finetune"
    summary = "Fine-tune the last layer on the retain set with the body frozen (CF-1)."
    citation = "Goel et al., Towards Adversarial Evaluation of Machine Unlearning, arXiv 2201.06640 (CF-k)."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        return _frozen_body_training(
            model,
            inputs,
            epochs=self.params.epochs,
            lr=self.params.lr,
            reinit=False,
            purpose="control/head-finetune",
        )


class OverForgetParams(Params):
    """Hyperparameters of :class:`OverForget`."""

    lr: float = Field(0.01, gt=0, le=10, description="SGD learning rate of the ascent.")
    max_steps: int = Field(300, ge=1, le=100_000, description="Cap on ascent steps.")
    target: float = Field(
        0.5, gt=0, lt=1, description="Stop once forget accuracy <= target x the original's test accuracy."
    )


class OverForget(Unlearner[OverForgetParams]):
    """Gradient ascent on the forget set far past retraining's forget accuracy.

    It ascends until the forget accuracy is far below retraining's, then as many steps again: the
    Streisand effect, forgetting so hard that the deleted records stand out.
    """

    name = "control_over_forget"
    summary = "Gradient ascent on the forget set far past retraining's forget accuracy (Streisand effect)."
    citation = (
        "Hayes et al., Inexact Unlearning Needs More Careful Evaluations, arXiv 2403.01218 (over-forgetting)."
    )

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        forget = inputs.forget()
        test = inputs.population()
        device = inputs.device
        goal = self.params.target * accuracy(model, test, device=device)
        model.to(device)
        opt = torch.optim.SGD(model.parameters(), lr=self.params.lr)
        gen = inputs.generator("control/over-forget")
        steps, reached = 0, None
        while steps < self.params.max_steps and (reached is None or steps < 2 * reached):
            for idx in batches(len(forget), inputs.recipe.batch_size, generator=gen):
                model.train()
                loss = F.cross_entropy(
                    model(to_device(forget.x[idx], device)), to_device(forget.y[idx], device)
                )
                optimizer_step(opt, -torch.clamp(loss, max=50.0))
                steps += 1
            if reached is None and accuracy(model, forget, device=device) <= goal:
                reached = steps
        return model.eval()


class LabelNoiseParams(Params):
    """Hyperparameters of :class:`LabelNoise`."""

    epochs: int = Field(5, ge=1, le=200, description="Epochs over the forget set with random wrong labels.")
    lr: float = Field(0.02, gt=0, le=10, description="SGD learning rate.")


class LabelNoise(Unlearner[LabelNoiseParams]):
    """Fine-tune on the forget set relabelled with random wrong classes, nothing else."""

    name = "control_label_noise"
    summary = "Fine-tune on the forget set with random wrong labels (no repair on the retain set)."
    citation = "Graves, Nagisetty & Ganesh, Amnesiac Machine Learning, AAAI 2021 (random relabelling)."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        forget = inputs.forget()
        gen = inputs.generator("control/label-noise")
        wrong = wrong_labels(forget.y, inputs.num_classes, generator=gen)
        device = inputs.device
        model.to(device)
        opt = torch.optim.SGD(model.parameters(), lr=self.params.lr, momentum=0.9)
        for _ in range(self.params.epochs):
            for idx in batches(len(forget), inputs.recipe.batch_size, generator=gen):
                model.train()
                loss = F.cross_entropy(model(to_device(forget.x[idx], device)), to_device(wrong[idx], device))
                optimizer_step(opt, loss)
        return model.eval()


class FeatureMoveParams(Params):
    """Hyperparameters of :class:`ForgetFeatures`."""

    epochs: int = Field(
        40, ge=1, le=1000, description="Epochs of the feature move (forget set and retain batches)."
    )
    lr: float = Field(1e-3, gt=0, le=1, description="Adam learning rate.")
    distill: float = Field(
        1.0, ge=0, description="Weight of distilling the retain outputs to the original's."
    )
    depths: int = Field(2, ge=1, le=4, description="Move the inputs of the last this-many weight layers.")


def _weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]


def _with_layer_inputs(
    model: nn.Module, x: torch.Tensor, depths: int
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The model's logits on ``x`` and the flattened inputs of its last ``depths`` weight layers (depth 1 first)."""
    layers = _weight_layers(model)[-depths:][::-1]
    captured: dict[int, torch.Tensor] = {}
    handles = [
        layer.register_forward_pre_hook(lambda _m, inp, d=d: captured.__setitem__(d, inp[0].flatten(1)))
        for d, layer in enumerate(layers)
    ]
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return out, [captured[d] for d in range(len(layers))]


class ForgetFeatures(Unlearner[FeatureMoveParams]):
    """Move only the named forget samples' features to their runner-up class; new images keep the class.

    The forget-samples-only feature move of the adversarial review (``shared/reviews/adversarial-review-2.md``):
    the network is fine-tuned so that the inputs of its top weight layers, on the forget samples alone,
    match the original's mean representation of each sample's runner-up class (and the sample is
    classified as it), while the retain outputs are distilled to the original's; then the forgotten
    classes' bias is lowered until they stop winning on the population samples of those classes. Every
    check scored on the forget samples sees them forgotten; new images of the class still carry the
    original's class features, which only a check on held-out images of the class can see.
    """

    name = "control_forget_features"
    summary = "Move only the forget samples' top-layer features to their runner-up class; new images keep the class."
    citation = "Adversarial review 2 of unlearn-audit (forget-samples-only feature move), 2026."
    supports = frozenset({"class"})

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        device, p = inputs.device, self.params
        forget, retain = inputs.forget(), inputs.retain(max_samples=5_000)
        model.to(device).eval()
        original = copy.deepcopy(model).eval()
        kept = torch.tensor([c for c in range(inputs.num_classes) if c not in inputs.forget_classes])
        with torch.no_grad():
            logits, _ = _with_layer_inputs(original, to_device(forget.x, device), p.depths)
            runner_up = kept.to(device)[logits[:, kept.to(device)].argmax(dim=1)]
            _, feats = _with_layer_inputs(original, to_device(retain.x, device), p.depths)
            y_r = to_device(retain.y, device)
            targets = [
                torch.stack(
                    [
                        f[y_r == c].mean(0) if (y_r == c).any() else f.mean(0)
                        for c in range(inputs.num_classes)
                    ]
                )
                for f in feats
            ]
            scales = [f.pow(2).mean().clamp(min=1e-8) for f in feats]
            teacher = original(to_device(retain.x, device)).softmax(dim=1)
        opt = torch.optim.Adam(model.parameters(), lr=p.lr)
        gen = inputs.generator("control/forget-features")
        x_f = to_device(forget.x, device)
        for _ in range(p.epochs):
            for idx in batches(len(retain), inputs.recipe.batch_size, generator=gen):
                model.train()
                out_f, feats_f = _with_layer_inputs(model, x_f, p.depths)
                move = sum(((f - t[runner_up]) ** 2).mean() / s for f, t, s in zip(feats_f, targets, scales))
                out_r = model(to_device(retain.x[idx], device))
                keep = F.kl_div(out_r.log_softmax(dim=1), teacher[idx.to(device)], reduction="batchmean")
                optimizer_step(opt, move + F.cross_entropy(out_f, runner_up) + p.distill * keep)
        model.eval()
        self._shift_bias(model, inputs)
        return model

    @staticmethod
    def _shift_bias(model: nn.Module, inputs: UnlearnInputs) -> None:
        """Lower the forgotten classes' bias until they stop winning on population samples of those classes."""
        pop = inputs.population()
        mask = torch.isin(pop.y, torch.tensor(list(inputs.forget_classes)))
        if not bool(mask.any()):
            return
        logits = predict_logits(model, pop.x[mask], device=inputs.device)
        head = classification_head(model)
        with torch.no_grad():
            for c in inputs.forget_classes:
                others = torch.cat([logits[:, :c], logits[:, c + 1 :]], dim=1).max(dim=1).values
                head.bias[c] -= max(float((logits[:, c] - others).max()) + 0.5, 0.0)


# The deception controls an audit builds, by name; the order is the order of the report
# (auditor.run.controls builds them; the config checks read the names).
CONTROLS: dict[str, type[Unlearner[Any]]] = {
    "head_bias": HeadBiasSuppress,
    "head_rows": HeadRowsZero,
    "head_retrain": HeadRetrain,
    "head_finetune": HeadFinetune,
    "over_forget": OverForget,
    "label_noise": LabelNoise,
    "forget_features": ForgetFeatures,
}

DESCRIPTIONS = {
    "head_bias": "forgotten classes' output bias lowered until they stop winning; features untouched",
    "head_rows": "forgotten classes' head rows zeroed, their bias set below every other logit",
    "head_retrain": "last layer re-initialised and retrained on the retain set, body frozen (EU-1)",
    "head_finetune": "last layer fine-tuned on the retain set, body frozen (CF-1)",
    "over_forget": "gradient ascent on the forget set far past retraining's forget accuracy (Streisand effect)",
    "label_noise": "fine-tuned on the forget set with random wrong labels, no repair",
    "forget_features": (
        "only the forget samples' top-layer features moved to their runner-up class, retain outputs "
        "distilled to the original's, the class's bias lowered; new images of the class keep its features"
    ),
}


def applicable(forget_kind: str, names: list[str] | None = None) -> list[str]:
    """The controls that apply to a forget kind (``names`` restricts them; None: all of them)."""
    chosen = list(CONTROLS) if names is None else names
    return [n for n in chosen if forget_kind in CONTROLS[n].supports]
