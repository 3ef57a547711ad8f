"""``gradient_ascent``: ascend the loss on the forget set, with Kodge et al.'s stop rule."""

from __future__ import annotations

from pydantic import Field
from torch import nn
from torch.nn import functional as F

from auditor.plugin.context import SplitData, UnlearnInputs
from auditor.train.core import batches, make_optimizer, to_device
from auditor.train.steps import accuracy, optimizer_step
from unlearners.base import Params, Unlearner


class GradientAscentParams(Params):
    """Hyperparameters of :class:`GradientAscent`."""

    epochs: int = Field(5, ge=1, description="Passes over the forget set. Unlearn-Sparse README: 5.")
    lr: float = Field(
        0.01,
        gt=0,
        description=(
            "SGD learning rate. Unlearn-Sparse README: 1e-4, which maintainers say does nothing (Unlearn-Saliency#8: "
            "use 5e-4 to 1e-3); digits' forget set makes 2 steps per epoch, so 0.01."
        ),
    )
    momentum: float = Field(0.9, ge=0, lt=1)
    batch_size: int = Field(64, ge=1)
    max_grad_norm: float | None = Field(
        1.0, gt=0, description="Gradient clipping, as Kodge et al.'s NegGrad (E3)."
    )
    stop_accuracy: float | None = Field(
        None,
        ge=0,
        le=1,
        description=(
            "Stop once forget-set accuracy is at or below this. Default: chance (1/K) for class forgetting (Kodge et "
            "al. stop at 1e-3); the model's accuracy on unseen population data for other kinds, since a retrained "
            "model still classifies most of a random forget set correctly."
        ),
    )


class GradientAscent(Unlearner[GradientAscentParams]):
    """Gradient ascent (NegGrad): maximise the cross-entropy on the forget set.

    Thudi, Deza, Chandrasekaran & Papernot, "Unrolling SGD: Understanding Factors Influencing
    Machine Unlearning" (EuroS&P 2022); Graves, Nagisetty & Ganesh, "Amnesiac Machine Learning"
    (AAAI 2021); baseline "GA" of ``OPTML-Group/Unlearn-Sparse``. The ascent is unbounded and
    collapses models, so it is clipped and stopped: before each step the forget-set
    accuracy is compared with ``stop_accuracy``.

    Threat model: white-box, forget samples only (plus unseen population data for the default stop
    rule outside class forgetting). Data read: the forget set; the population split when
    ``stop_accuracy`` is unset and the forgetting is not by class. No augmentation. BatchNorm:
    train mode during steps.

    Diagnostics (``method.diagnostics`` in the evidence): ``stop_accuracy`` (the target used),
    ``steps`` (ascent steps taken) and ``stopped`` (why the loop ended).
    """

    name = "gradient_ascent"
    summary = "Gradient ascent on the forget set, clipped, stopped at chance or unseen-data accuracy."
    citation = (
        "Thudi et al., Unrolling SGD, EuroS&P 2022; Graves et al., Amnesiac Machine Learning, AAAI 2021."
    )

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        p = self.params
        forget = inputs.forget()
        target = p.stop_accuracy
        if target is None:
            if inputs.forget_kind == "class":
                target = 1.0 / inputs.num_classes
            else:
                target = accuracy(model, inputs.population(), device=inputs.device)
        inputs.note("stop_accuracy", target)
        steps, stopped = self._ascend(model, forget, target, inputs)
        inputs.note("steps", steps)
        inputs.note("stopped", stopped)
        return model.eval()

    def _ascend(
        self, model: nn.Module, forget: SplitData, target: float, inputs: UnlearnInputs
    ) -> tuple[int, str]:
        """Ascend until the forget accuracy reaches ``target`` or the epochs run out: (steps, why it stopped)."""
        p = self.params
        device = inputs.device
        opt = make_optimizer(list(model.parameters()), name="sgd", lr=p.lr, momentum=p.momentum)
        gen = inputs.generator("gradient_ascent")
        model.to(device)
        steps = 0
        for epoch in range(p.epochs):
            for idx in batches(len(forget), p.batch_size, generator=gen):
                if accuracy(model, forget, device=device) <= target:
                    return steps, f"forget accuracy <= {target:.3f}"
                model.train()
                loss = -F.cross_entropy(
                    model(to_device(forget.x[idx], device)), to_device(forget.y[idx], device)
                )
                optimizer_step(opt, loss, clip=p.max_grad_norm)
                steps += 1
            inputs.progress(epoch + 1, p.epochs)
        return steps, "epochs"
