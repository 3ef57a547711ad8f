"""``random_labels``: fine-tune on the forget set relabelled at random, mixed with retain data."""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import nn

from auditor.plugin.context import SplitData, UnlearnInputs
from auditor.train.core import Recipe
from auditor.train.steps import wrong_labels
from unlearners.base import Params, Unlearner


class RandomLabelsParams(Params):
    """Hyperparameters of :class:`RandomLabels`."""

    epochs: int = Field(3, ge=1, description="SSD / Bad-Teacher code's amnesiac baseline: 3 epochs.")
    lr: float = Field(
        1e-3,
        gt=0,
        description=(
            "Adam learning rate. SSD / Bad-Teacher code: 1e-4 with CIFAR's ~350 steps per epoch; digits makes ~16, so "
            "1e-3."
        ),
    )
    batch_size: int = Field(64, ge=1, description="SSD / Bad-Teacher code: 128; 64 for digits' small sets.")


class RandomLabels(Unlearner[RandomLabelsParams]):
    """Relabel the forget samples with random *wrong* labels, mix them with the retain set, fine-tune.

    The "amnesiac" baseline as the SSD, Bad-Teacher and ∇τ code bases implement it (Graves,
    Nagisetty & Ganesh, "Amnesiac Machine Learning", AAAI 2021; the original amnesiac
    method subtracts stored updates, which no baseline code does). Each forget
    sample gets a label drawn uniformly from the other classes, once, from the run's seed.

    Threat model: white-box; forget and retain samples. Data read: forget and retain sets. Trains
    through the audit's trainer with Adam at a constant learning rate; augmentation: the training
    recipe's (``training.augment``). BatchNorm: train mode. Known weakness: over-forgets under
    random forgetting.
    """

    name = "random_labels"
    summary = "Fine-tune on forget samples relabelled with random wrong labels, mixed with retain data."
    citation = "Graves, Nagisetty & Ganesh, Amnesiac Machine Learning, AAAI 2021 (relabelling baseline)."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        p = self.params
        forget, retain = inputs.forget(), inputs.retain()
        wrong = wrong_labels(forget.y, inputs.num_classes, generator=inputs.generator("random_labels/labels"))
        mixed = SplitData(
            x=torch.cat([forget.x, retain.x]),
            y=torch.cat([wrong, retain.y]),
            indices=np.concatenate([forget.indices, retain.indices]),
        )
        recipe = Recipe(
            epochs=p.epochs,
            batch_size=p.batch_size,
            optimizer="adam",
            lr=p.lr,
            weight_decay=0.0,
            schedule="constant",
            augment=inputs.recipe.augment,
        )
        return inputs.train(model, mixed, recipe=recipe, purpose="random_labels")
