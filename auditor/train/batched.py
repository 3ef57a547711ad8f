"""Train many small models at once with ``torch.func``: stacked parameters, one vmapped forward.

Shadow models and reference seeds share an architecture and a recipe and differ only in their data
subset, initialisation and shuffling. Stacking their parameters (``torch.func.stack_module_state``)
and running one vmapped ``functional_call`` turns K small matrix products into one batched one,
which is where small models spend their time on a CPU.

Equivalence with :func:`auditor.train.core.train_model`: each model keeps its own generator and draws
its shuffles and augmentations in the same order as sequential training; the loss is the sum over
models of each model's mean cross-entropy, so each model's slice of the gradient is its own; SGD,
Adam and AdamW act elementwise, so one optimiser over the stacked tensors is K optimisers; the
cosine schedule is shared because every model takes the same number of steps. Subsets of different
sizes are padded and masked. Results match sequential training up to floating-point summation order.

Models with buffers (BatchNorm running statistics) are not batched: :func:`can_batch` says so and
callers fall back to sequential training.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.nn import functional as F

from auditor.train.core import ProgressFn, Recipe, augment_batch, batches, make_optimizer, to_device


def can_batch(model: nn.Module) -> bool:
    """True when the model has no buffers (e.g. no BatchNorm running statistics) and no dropout."""
    has_buffers = any(True for _ in model.buffers())
    has_dropout = any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.modules())
    return not has_buffers and not has_dropout


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


def train_batched(
    models: list[nn.Module],
    data: list[tuple[torch.Tensor, torch.Tensor]],
    *,
    recipe: Recipe,
    generators: list[torch.Generator],
    device: torch.device | str = "cpu",
    progress: ProgressFn | None = None,
) -> list[nn.Module]:
    """Train ``models[k]`` on ``data[k]`` under ``recipe`` with ``generators[k]``, all at once.

    Args:
        models: Freshly initialised models of one architecture (not modified).
        data: One ``(x, y)`` per model.
        recipe: The shared recipe.
        generators: One generator per model (shuffling and augmentation).
        device: Where to train.
        progress: Optional ``(done, total)`` callback, per epoch.

    Returns:
        The trained models, in eval mode.

    Raises:
        ValueError: The models cannot be batched (buffers or dropout) or their subsets need
            different numbers of steps per epoch.
    """
    if not models or not (len(models) == len(data) == len(generators)):
        raise ValueError("give one dataset and one generator per model")
    if not all(can_batch(m) for m in models):
        raise ValueError(
            "models with buffers (BatchNorm) or dropout cannot be trained batched; train them sequentially"
        )
    steps = {steps_per_epoch(len(y), recipe.batch_size) for _, y in data}
    if len(steps) != 1:
        raise ValueError(
            f"subsets need different numbers of steps per epoch ({sorted(steps)}); train sequentially"
        )
    per_epoch = steps.pop()
    device = torch.device(device)
    params, _ = stack_module_state([m.to(device) for m in models])
    params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")

    def forward(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(base, (p,), (x,))

    batched_forward = vmap(forward, in_dims=(0, 0))
    opt = make_optimizer(
        list(params.values()),
        name=recipe.optimizer,
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
    )
    total = recipe.epochs * per_epoch
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total) if recipe.schedule == "cosine" else None
    )
    k = len(models)
    width = recipe.batch_size
    for epoch in range(recipe.epochs):
        orders = [batches(len(y), recipe.batch_size, generator=g) for (_, y), g in zip(data, generators)]
        for step in range(per_epoch):
            xs, ys, mask = [], [], torch.zeros(k, width)
            for i, ((x, y), g) in enumerate(zip(data, generators)):
                idx = orders[i][step]
                xb = augment_batch(x[idx], kind=recipe.augment, generator=g)
                pad = width - len(idx)
                mask[i, : len(idx)] = 1.0
                xs.append(torch.cat([xb, xb.new_zeros((pad, *xb.shape[1:]))]) if pad else xb)
                ys.append(torch.cat([y[idx], y.new_zeros(pad)]) if pad else y[idx])
            xb, yb, mask = (
                to_device(torch.stack(xs), device),
                to_device(torch.stack(ys), device),
                to_device(mask, device),
            )
            logits = batched_forward(params, xb)  # (K, B, classes)
            ce = F.cross_entropy(logits.flatten(0, 1), yb.flatten(), reduction="none").view(k, width)
            loss = ((ce * mask).sum(1) / mask.sum(1).clamp_min(1)).sum()  # sum of per-model means
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        if progress is not None:
            progress(epoch + 1, recipe.epochs)
    out = []
    for i, m in enumerate(models):
        trained = copy.deepcopy(m)
        trained.load_state_dict({name: params[name][i].detach().clone() for name in params})
        out.append(trained.eval())
    return out


__all__ = ["can_batch", "train_batched"]
