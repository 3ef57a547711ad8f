"""``l1_sparse``: fine-tune on the retain set with a decaying L1 penalty (sparsity-aware unlearning)."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from auditor.plugin.context import UnlearnInputs
from auditor.train.core import augment_batch, batches, make_optimizer, to_device
from auditor.train.steps import optimizer_step
from unlearners.base import Params, Unlearner


class L1SparseParams(Params):
    """Hyperparameters of :class:`L1Sparse`."""

    epochs: int = Field(10, ge=1, description="Unlearn-Sparse README (FT_prune): 10 epochs.")
    lr: float = Field(0.01, gt=0, description="SGD learning rate. Unlearn-Sparse README: 0.01.")
    gamma: float = Field(
        5e-3,
        ge=0,
        description=(
            "Initial L1 weight (on the sum of |theta|), decayed linearly to 0. Unlearn-Sparse README passes --alpha; "
            "~5e-4 is typical on CIFAR (grid it). Gridded on digits: 5e-4 left the forgotten class at "
            "44 % test accuracy, 2e-3 at 26 %, 5e-3 at 0 % with retained classes unchanged."
        ),
    )
    no_l1_epochs: int = Field(
        0, ge=0, description="Final epochs without the penalty. Unlearn-Sparse default: 0."
    )
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(5e-4, ge=0, description="Unlearn-Sparse default: 5e-4.")
    batch_size: int = Field(64, ge=1, description="Unlearn-Sparse: 256; 64 for digits' small retain set.")


class L1Sparse(Unlearner[L1SparseParams]):
    """Fine-tune on the retain set with ``gamma_t ||theta||_1``, gamma_t falling linearly to 0.

    Jia, Liu, Ram, Yao, Liu, Liu, Sharma & Liu, "Model Sparsity Can Simplify Machine Unlearning"
    (NeurIPS 2023), code ``OPTML-Group/Unlearn-Sparse`` (``FT_prune``). The penalty of epoch t is
    ``gamma (1 - t / T)`` with T = epochs - no_l1_epochs (0 afterwards), applied to every
    parameter. Data read: the retain set only (the forget set is never read). Augmentation: the
    training recipe's (``training.augment``), drawn from the method's generator. BatchNorm: train
    mode.
    """

    name = "l1_sparse"
    summary = "Fine-tune on retain data with an L1 penalty that decays to zero (sparsity-aware unlearning)."
    citation = "Jia et al., Model Sparsity Can Simplify Machine Unlearning, NeurIPS 2023."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        p = self.params
        device = inputs.device
        retain = inputs.retain()
        opt = make_optimizer(
            list(model.parameters()), name="sgd", lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay
        )
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=p.epochs)  # Unlearn-Sparse default
        gen = inputs.generator("l1_sparse")
        l1_epochs = max(p.epochs - p.no_l1_epochs, 1)
        model.to(device).train()
        for epoch in range(p.epochs):
            gamma = p.gamma * (1 - epoch / l1_epochs) if epoch < l1_epochs else 0.0
            for idx in batches(len(retain), p.batch_size, generator=gen):
                x = to_device(augment_batch(retain.x[idx], kind=inputs.recipe.augment, generator=gen), device)
                loss = F.cross_entropy(model(x), to_device(retain.y[idx], device))
                if gamma:
                    loss = loss + gamma * sum(q.abs().sum() for q in model.parameters())
                optimizer_step(opt, loss)
            sched.step()
            inputs.progress(epoch + 1, p.epochs)
        return model.eval()
