"""``unsir``: error-maximising noise, then impair and repair (UNSIR)."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from auditor.plugin.context import UnlearnInputs
from auditor.train.core import batches, make_optimizer, to_device
from auditor.train.steps import ceil_div, first_per_class, optimizer_step
from unlearners.base import Params, Unlearner


class UnsirParams(Params):
    """Hyperparameters of :class:`Unsir`."""

    noise_batch: int = Field(
        256,
        ge=1,
        description=(
            "Noise samples learned per forget class. Official notebook: 256 (its batch size). The noise is "
            "synthetic, so the forgotten class's size does not bound it."
        ),
    )
    noise_steps: int = Field(
        40, ge=1, description="Adam steps on the noise. Official notebook: 5 epochs x 8 steps = 40."
    )
    noise_lr: float = Field(0.1, gt=0, description="Adam learning rate of the noise. Official notebook: 0.1.")
    noise_l2: float = Field(
        0.1,
        ge=0,
        description=(
            "Weight of the mean per-sample squared L2 norm of the noise in its loss. Official notebook: 0.1."
        ),
    )
    noise_copies: int = Field(
        20,
        ge=1,
        description=(
            "How many times the noise batch is repeated in the impair set. Official notebook: 20 (num_batches)."
        ),
    )
    retain_per_class: int = Field(
        1000,
        ge=1,
        description=(
            "Retain samples per retained class in the impair and repair sets (the first ones of each class). "
            "Official notebook: 1000; on digits every retain sample is used since a class has fewer."
        ),
    )
    batch_size: int = Field(
        64,
        ge=1,
        description=(
            "Impair and repair batch size. Official notebook: 256 (about 55 impair and 35 repair steps on "
            "CIFAR-10). 64 here: at the learning rates below, more and smaller steps forget the class with less "
            "damage (Fashion-MNIST MLP, class 7: 0.097 retain accuracy lost after the impair at 64 against 0.168 "
            "at 256, with the class forgotten both times)."
        ),
    )
    impair_lr: float = Field(
        0.003,
        gt=0,
        description=(
            "Adam learning rate of the impair epoch. Official notebook: 0.02 (a ResNet-18 with BatchNorm, whose "
            "original it trained with Adam at 0.01). On BatchNorm-free MLPs the official 0.02 and 0.01 with batch "
            "256 and one repair epoch cost 0.22 retain and 0.10 test accuracy on Fashion-MNIST (class 7; "
            "docs/results_papers.md); 0.003 still forgets the class (0.002 does not: 5 % of it is left and "
            "returns during the repair)."
        ),
    )
    repair_lr: float = Field(
        0.001,
        gt=0,
        description=(
            "Adam learning rate of the repair epochs. Official notebook: 0.01. 0.001 here, a third of the impair "
            "rate (the notebook's is a half); 0.01 after a lowered impair re-damaged the model (retain accuracy "
            "0.10 further down after its first epoch on Fashion-MNIST)."
        ),
    )
    impair_epochs: int = Field(1, ge=1, description="Official notebook: 1.")
    repair_epochs: int = Field(
        4,
        ge=1,
        description=(
            "Official notebook: 1. The impair removes what the model memorised of its retain samples along with "
            "the class; one repair epoch restores test accuracy but not that (Fashion-MNIST: retain accuracy "
            "0.05-0.06 below the references after one epoch, 0.04 after four), so 4 here."
        ),
    )


class Unsir(Unlearner[UnsirParams]):
    """UNSIR: learn noise that maximises the error on each forgotten class, impair, then repair.

    Tarun, Chundawat, Mandal & Kankanhalli, "Fast Yet Effective Machine Unlearning", IEEE
    TNNLS 2023 (arXiv 2111.08947); official notebook ``vikram2000b/Fast-Machine-Unlearning``.
    For each forgotten class c a batch of inputs N is optimised on the frozen original to maximise
    ``CE(f(N), c)`` with an L2 penalty; the model is then trained one epoch at a high learning rate
    on the noise (labelled c) mixed with a retain subset (impair), and then on the retain subset
    alone (repair).

    Threat model: "zero-glance" class unlearning: the forget samples are never read. Data read: the
    forgotten class labels and up to ``retain_per_class`` retain samples per retained class; no
    forget samples, no third-party data (the evidence shows ``reads_forget_samples: false``). No
    augmentation (the notebook has none).

    Faithfulness notes: every noise sample is labelled with the class it was learned for (the
    official notebook labels all noise class 0, ``vikram2000b/Fast-Machine-Unlearning#2``; this
    port does not copy that bug). The noise is learned with the model in eval mode so BatchNorm
    running statistics are not fitted to noise (the notebook runs it in train mode); impair and
    repair run in train mode as in the notebook. The noise is not clamped to the data range, as in
    the notebook. Class forgetting only: the noise is per class, so random or sample-level
    forgetting is not supported (the paper's zero-glance setting is class removal).

    What is kept from the notebook and what is not: the noise (256 samples per class, 40 Adam steps
    at 0.1, L2 weight 0.1), the impair set's composition (the noise batch repeated 20 times per
    forgotten class, plus the first 1,000 training samples of each retained class), one impair
    epoch and a repair on the same retain subset, all parameters trained with Adam. Not kept: the
    learning rates, the batch size and the single repair epoch, re-set on BatchNorm-free MLPs
    (digits, Fashion-MNIST; each field says what it was measured against). The notebook's own
    run loses retained-class test accuracy too (77.2 % overall before, 71.0 % on the retained
    classes after); on Fashion-MNIST the cost that remains is memorisation: the impair undoes
    what the model memorised of its retain samples, and the repair relearns it at the speed of
    ordinary training (docs/results_papers.md).

    Diagnostics (``method.diagnostics``): ``noise_samples`` and ``retain_samples`` (the impair
    set's two parts), ``impair_steps`` and ``repair_steps`` (the update steps taken, to compare
    single- and multi-class requests).
    """

    name = "unsir"
    summary = "Error-maximising noise per forgotten class, one impair epoch, then a repair (zero-glance)."
    citation = (
        "Tarun, Chundawat, Mandal & Kankanhalli, Fast Yet Effective Machine Unlearning, IEEE TNNLS 2023."
    )
    supports = frozenset({"class"})

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        p = self.params
        device = inputs.device
        model.to(device)
        noise = [(self._noise(model, c, inputs), c) for c in inputs.forget_classes]
        kept = first_per_class(inputs.retain(), p.retain_per_class)
        rx, ry = kept.x, kept.y
        nx = torch.cat([n.repeat(p.noise_copies, *([1] * (n.ndim - 1))) for n, _ in noise])
        ny = torch.cat([torch.full((len(n) * p.noise_copies,), c, dtype=ry.dtype) for n, c in noise])
        impair_x, impair_y = torch.cat([nx, rx]), torch.cat([ny, ry])
        impair_steps = p.impair_epochs * ceil_div(len(impair_y), p.batch_size)
        repair_steps = p.repair_epochs * ceil_div(len(ry), p.batch_size)
        total = impair_steps + repair_steps
        inputs.note("noise_samples", int(len(ny)))
        inputs.note("retain_samples", int(len(ry)))
        inputs.note("impair_steps", impair_steps)
        inputs.note("repair_steps", repair_steps)
        done = self._epochs(
            model,
            impair_x,
            impair_y,
            lr=p.impair_lr,
            epochs=p.impair_epochs,
            inputs=inputs,
            purpose="unsir/impair",
            done=0,
            total=total,
        )
        self._epochs(
            model,
            rx,
            ry,
            lr=p.repair_lr,
            epochs=p.repair_epochs,
            inputs=inputs,
            purpose="unsir/repair",
            done=done,
            total=total,
        )
        return model.eval()

    def _noise(self, model: nn.Module, label: int, inputs: UnlearnInputs) -> torch.Tensor:
        """Learn the error-maximising noise batch for ``label`` on the frozen model (eval mode)."""
        p = self.params
        gen = inputs.generator(f"unsir/noise/{label}")
        noise = (
            torch.randn((p.noise_batch, *inputs.input_shape), generator=gen)
            .to(inputs.device)
            .requires_grad_(True)
        )
        target = torch.full((p.noise_batch,), int(label), device=inputs.device)
        opt = torch.optim.Adam([noise], lr=p.noise_lr)
        model.eval()
        for param in model.parameters():
            param.requires_grad_(False)
        try:
            for _ in range(p.noise_steps):
                loss = (
                    -F.cross_entropy(model(noise), target)
                    + p.noise_l2 * noise.pow(2).flatten(1).sum(1).mean()
                )
                optimizer_step(opt, loss)
        finally:
            for param in model.parameters():
                param.requires_grad_(True)
        return noise.detach().cpu()

    def _epochs(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        lr: float,
        epochs: int,
        inputs: UnlearnInputs,
        purpose: str,
        done: int,
        total: int,
    ) -> int:
        opt = make_optimizer(list(model.parameters()), name="adam", lr=lr)
        gen = inputs.generator(purpose)
        model.train()
        for _ in range(epochs):
            for idx in batches(len(y), self.params.batch_size, generator=gen):
                loss = F.cross_entropy(
                    model(to_device(x[idx], inputs.device)), to_device(y[idx], inputs.device)
                )
                optimizer_step(opt, loss)
                done += 1
                inputs.progress(done, total)
        return done
