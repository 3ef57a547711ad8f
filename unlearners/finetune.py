"""``finetune``: fine-tune the original on the retain set (catastrophic forgetting)."""

from __future__ import annotations

from pydantic import Field
from torch import nn

from auditor.plugin.context import UnlearnInputs
from auditor.train.core import Recipe
from auditor.types import OptimizerName
from unlearners.base import Params, Unlearner


class FinetuneParams(Params):
    """Hyperparameters of :class:`Finetune`."""

    epochs: int = Field(5, ge=1, description="SSD repo: 5 epochs; Unlearn-Sparse README: 10.")
    lr: float = Field(0.02, gt=0, description="SSD repo: 0.02; Unlearn-Sparse README: 0.01.")
    optimizer: OptimizerName = Field("sgd", description="sgd (with momentum), adam or adamw.")
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(5e-4, ge=0)
    batch_size: int | None = Field(None, ge=1, description="Default: the training recipe's.")


class Finetune(Unlearner[FinetuneParams]):
    """Fine-tune on the retain set only, relying on catastrophic forgetting of the forget set.

    Baseline "FT" of Warnecke et al. (NDSS 2023) and of the SalUn / l1-sparse code bases
    (``OPTML-Group/Unlearn-Sparse``); defaults from the SSD repository (5 epochs, lr 0.02), with a
    cosine schedule, through the audit's trainer. Data read: the retain set. Augmentation: the
    training recipe's (``training.augment``). Known weakness: weak forgetting
    (the retain set alone moves the forget samples slowly).
    """

    name = "finetune"
    summary = "Fine-tune on the retain set (catastrophic forgetting baseline)."
    citation = "Warnecke et al., Machine Unlearning of Features and Labels, NDSS 2023; Jia et al., NeurIPS 2023 (FT)."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        p = self.params
        recipe = Recipe(
            epochs=p.epochs,
            batch_size=p.batch_size or inputs.recipe.batch_size,
            optimizer=p.optimizer,
            lr=p.lr,
            momentum=p.momentum,
            weight_decay=p.weight_decay,
            schedule="cosine",
            augment=inputs.recipe.augment,
        )
        return inputs.train(model, inputs.retain(), recipe=recipe, purpose="finetune")
