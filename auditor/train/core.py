"""The one trainer, through which every model of an audit trains.

The original, the references, the retrain unlearner, the shadow models and the relearn runs all
train through :func:`train_model`, so an attack never measures a recipe difference instead of
membership.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Recipe:
    """A training recipe (the config's ``training`` section, or an unlearner's own)."""

    epochs: int
    batch_size: int
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    augment: str = "none"
    function: str | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    function_sha256: str | None = None

    @classmethod
    def from_fields(cls, **fields: Any) -> Recipe:
        """A recipe from the config's ``training`` fields, e.g. ``Recipe.from_fields(**cfg.training.model_dump())``.

        With ``function``, the function's source digest is added as ``function_sha256``: it enters
        the model cache keys, so editing the function retrains.
        """
        if fields.get("function"):
            from auditor.train.plugin import source_digest

            fields["function_sha256"] = source_digest(fields["function"])
        return cls(**fields)

    @property
    def batchable(self) -> bool:
        """Whether the built-in trainer runs it (only that one can train several models at once)."""
        return self.function is None

    def as_dict(self) -> dict[str, object]:
        """The recipe for evidence and cache keys; a user function's fields only when one is named."""
        out = dict(self.__dict__)
        if self.function is None:
            for key in ("function", "kwargs", "function_sha256"):
                out.pop(key)
        else:
            out["kwargs"] = dict(self.kwargs)
        return out


def make_optimizer(
    params: Iterator[nn.Parameter] | list[nn.Parameter],
    *,
    name: str,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """SGD (with momentum), Adam or AdamW."""
    factories: dict[str, Callable[[], torch.optim.Optimizer]] = {
        "sgd": lambda: torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay),
        "adam": lambda: torch.optim.Adam(params, lr=lr, weight_decay=weight_decay),
        "adamw": lambda: torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay),
    }
    return factories[name]()


def augment_batch(x: torch.Tensor, *, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip (``hflip``), plus a 4-pixel-padded random crop (``crop_hflip``)."""
    if kind == "none" or x.ndim != 4:
        return x
    n = x.shape[0]
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1).to(x.device), x.flip(-1), x)
    if kind == "crop_hflip":
        pad = 4
        h, w = x.shape[-2:]
        padded = F.pad(x, (pad, pad, pad, pad))
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).tolist()
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).tolist()
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    return x


def batches(n: int, batch_size: int, *, generator: torch.Generator | None) -> list[torch.Tensor]:
    """Index batches over ``range(n)``: shuffled by ``generator``, or in order when it is None."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.split(batch_size))


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a CPU batch to ``device``; on CUDA through pinned memory, so the copy is asynchronous."""
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def train_model(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    recipe: Recipe,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    progress: ProgressFn | None = None,
) -> nn.Module:
    """Train ``model`` in place on ``(x, y)`` with cross-entropy under ``recipe``; returns it.

    Shuffling and augmentation draw only from ``generator``, so a (model init, data, recipe,
    generator seed) tuple always gives the same weights on the same machine. A recipe that names
    a user's training function (``recipe.function``) is trained by that function instead
    (:mod:`auditor.train.plugin`).
    """
    device = torch.device(device)
    if recipe.function is not None:
        from auditor.train import plugin as training_plugin

        return training_plugin.call(
            recipe.function,
            recipe.kwargs,
            model.to(device),
            x,
            y,
            generator=generator,
            device=device,
            progress=progress,
        )
    model.to(device).train()
    opt = make_optimizer(
        list(model.parameters()),
        name=recipe.optimizer,
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
    )
    steps_per_epoch = max(1, math.ceil(len(y) / recipe.batch_size))
    total = recipe.epochs * steps_per_epoch
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total) if recipe.schedule == "cosine" else None
    )
    step = 0
    for _ in range(recipe.epochs):
        for idx in batches(len(y), recipe.batch_size, generator=generator):
            xb = to_device(augment_batch(x[idx], kind=recipe.augment, generator=generator), device)
            yb = to_device(y[idx], device)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
            if sched is not None:
                sched.step()
            step += 1
        if progress is not None:
            progress(step, total)
    model.eval()
    return model


@torch.no_grad()
def predict_logits(
    model: nn.Module, x: torch.Tensor, *, device: torch.device | str = "cpu", batch_size: int = 512
) -> torch.Tensor:
    """Logits of ``model`` on ``x`` in eval mode, returned on the CPU as float32."""
    device = torch.device(device)
    was_training = model.training
    model.to(device).eval()
    out = [
        model(x[i : i + batch_size].to(device, non_blocking=True)).float()
        for i in range(0, len(x), batch_size)
    ]
    model.train(was_training)
    return torch.cat(out).cpu() if out else torch.empty(0)
