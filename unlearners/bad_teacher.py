"""``bad_teacher``: distil from the original on retain data and from a random model on forget data."""

from __future__ import annotations

import copy
import math

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from auditor.plugin.context import UnlearnInputs
from auditor.train.core import batches, make_optimizer, to_device
from auditor.train.steps import optimizer_step
from unlearners.base import Params, Unlearner


class BadTeacherParams(Params):
    """Hyperparameters of :class:`BadTeacher`."""

    epochs: int = Field(
        5,
        ge=1,
        description=(
            "Passes over forget + retain subset. Official unlearn.py: 1 epoch over CIFAR (~60 steps at batch 256); "
            "digits' ~370 samples make 6 steps at batch 64, so 5 epochs."
        ),
    )
    lr: float = Field(
        1e-3, gt=0, description="Adam learning rate. Official: 1e-4 (CIFAR); 1e-3 for digits' few steps."
    )
    temperature: float = Field(1.0, gt=0, description="KD temperature. Official: 1.")
    retain_fraction: float = Field(
        0.3, gt=0, le=1, description="Share of the retain set used. Official: 30 %."
    )
    batch_size: int = Field(64, ge=1, description="Official: 256; 64 for digits.")


class BadTeacher(Unlearner[BadTeacherParams]):
    """Bad Teacher: a competent and an incompetent teacher distilled into the student.

    Chundawat, Tarun, Mandal & Kankanhalli, "Can Bad Teaching Induce Forgetting? Unlearning in
    Deep Networks using an Incompetent Teacher" (AAAI 2023); official code
    ``vikram2000b/bad-teaching-unlearning`` (``unlearn.py``). The student starts from the original;
    each sample's target is the softmax (temperature T) of the frozen original for retain samples
    and of a randomly initialised model of the same architecture for forget samples; the loss is
    ``KL(target || student)`` averaged over the batch (``reduction="batchmean"``: the official
    ``F.kl_div`` default ``"mean"`` also divides by the class count, which only rescales the lr).

    Threat model: white-box; forget samples and a retain subset. Data read: the forget set and a
    seeded ``retain_fraction`` subset of the retain set. No augmentation. Teachers in eval mode,
    student in train mode.

    On digits the forgotten class keeps about 20 % accuracy (retrain: 0 %): the student matches
    the incompetent teacher's near-uniform distribution, whose argmax is often still the true
    class. The paper measures forgetting by ZRF, not accuracy; the audit's gates report the gap.
    """

    name = "bad_teacher"
    summary = "Distil the original on retain data and a random model on forget data (Bad Teacher)."
    citation = "Chundawat et al., Can Bad Teaching Induce Forgetting?, AAAI 2023."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        p = self.params
        device = inputs.device
        forget = inputs.forget()
        retain = inputs.retain(max_samples=max(1, math.ceil(p.retain_fraction * inputs.counts()["retain"])))
        good = copy.deepcopy(model).to(device).eval()
        bad = inputs.fresh_model("bad_teacher/incompetent").to(device).eval()
        x = torch.cat([forget.x, retain.x])
        y_is_forget = torch.cat(
            [torch.ones(len(forget), dtype=torch.bool), torch.zeros(len(retain), dtype=torch.bool)]
        )
        opt = make_optimizer(list(model.parameters()), name="adam", lr=p.lr)
        gen = inputs.generator("bad_teacher")
        model.to(device).train()
        for epoch in range(p.epochs):
            for idx in batches(len(x), p.batch_size, generator=gen):
                xb, fb = to_device(x[idx], device), to_device(y_is_forget[idx], device).unsqueeze(1)
                with torch.no_grad():
                    target = torch.where(
                        fb, F.softmax(bad(xb) / p.temperature, 1), F.softmax(good(xb) / p.temperature, 1)
                    )
                loss = F.kl_div(F.log_softmax(model(xb) / p.temperature, 1), target, reduction="batchmean")
                optimizer_step(opt, loss)
            inputs.progress(epoch + 1, p.epochs)
        return model.eval()
