"""``retrain``: the gold standard, retraining from scratch on the retain set."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field
from torch import nn

from auditor.plugin.context import UnlearnInputs
from unlearners.base import Params, Unlearner


class RetrainParams(Params):
    """Hyperparameters of :class:`Retrain`."""

    epochs: int | None = Field(
        None, ge=1, description="Override the recipe's epochs (default: the recipe's)."
    )


class Retrain(Unlearner[RetrainParams]):
    """Retrain from a fresh random initialisation on the retain set with the original recipe.

    This is exact unlearning by construction (the standard "gold" reference in every unlearning
    paper, e.g. Bourtoule et al., "Machine Unlearning", S&P 2021). Its seed differs from the
    reference seeds, so auditing it measures the retrain-to-retrain noise. Data read: the retain
    set only. Trains with the audit's recipe, augmentation included.
    """

    name = "retrain"
    summary = (
        "Retrain from scratch on the retain set (exact unlearning; the reference's recipe, another seed)."
    )
    citation = "Bourtoule et al., Machine Unlearning, IEEE S&P 2021 (retraining as exact unlearning)."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        recipe = (
            inputs.recipe if self.params.epochs is None else replace(inputs.recipe, epochs=self.params.epochs)
        )
        fresh = inputs.fresh_model("retrain/init")
        return inputs.train(fresh, inputs.retain(), recipe=recipe, purpose="retrain/train")
