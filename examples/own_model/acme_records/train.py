"""The team's training loop: Adam with a step decay, mini-batches shuffled by the generator it is given.

It follows unlearn-audit's training-function contract (``auditor.train.plugin``): train the model it
is given on ``(x, y)``, drawing every random choice from ``generator``, so the same seed gives the
same weights. ``train_original.py`` trains the production model with it, and the audit trains every
reference, shadow model and retrain with it too (``training.function``), with the same arguments.
"""

from __future__ import annotations

import torch
from torch import nn

RECIPE = {"epochs": 40, "batch_size": 256, "lr": 0.003}
"""The arguments the production model was trained with; audit.yaml's training.kwargs must say the same."""


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    seed: int,
    generator: torch.Generator,
    device: torch.device,
    progress=None,
    epochs: int = 40,
    batch_size: int = 256,
    lr: float = 0.003,
) -> nn.Module:
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 2), gamma=0.3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        for idx in torch.randperm(len(y), generator=generator).split(batch_size):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx].to(device)), y[idx].to(device)).backward()
            opt.step()
        sched.step()
        if progress is not None:
            progress(epoch + 1, epochs)
    return model.eval()
