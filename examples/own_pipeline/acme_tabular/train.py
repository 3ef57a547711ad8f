"""The team's training loop: AdamW, a one-cycle learning-rate schedule, label smoothing.

It follows unlearn-audit's training-function contract (``auditor.train.plugin``): train the
model it is given on ``(x, y)``, drawing every random choice (here the shuffling) from
``generator``, so the same seed gives the same weights.
"""

from __future__ import annotations

import torch
from torch import nn


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
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    label_smoothing: float = 0.1,
) -> nn.Module:
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(y) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    done = 0
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=generator).split(batch_size):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx].to(device)), y[idx].to(device)).backward()
            opt.step()
            sched.step()
            done += 1
        if progress is not None:
            progress(done, steps)
    return model.eval()
