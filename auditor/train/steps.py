"""The pieces of training loops that unlearning methods share.

A method that trains through :meth:`auditor.plugin.context.UnlearnInputs.train` needs none of this. A
method with its own loop (gradient ascent, NegGrad+, SCRUB, SalUn, ∇τ, ...) takes from here what
every such loop rewrote: the optimiser step, random wrong labels, the first samples of each
class, an accuracy, and the batch count of an epoch. Each helper keeps the exact operations, and
the exact draws from the generator it is given, of the code it replaced, so a method that moves
onto it produces bitwise the same model.

Batches go to the device with :func:`auditor.train.core.to_device` (pinned memory on CUDA), seeded
generators come from :meth:`~auditor.plugin.context.UnlearnInputs.generator`.
"""

from __future__ import annotations

import torch
from torch import nn

from auditor.data.tensors import SplitData
from auditor.train.core import predict_logits


def ceil_div(n: int, d: int) -> int:
    """``ceil(n / d)`` in integer arithmetic, e.g. the batches of an epoch: ``ceil_div(len(split), batch_size)``."""
    return -(-n // d)


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor, *, clip: float | None = None) -> None:
    """One update: clear the gradients, backpropagate ``loss``, clip their norm, step.

    Args:
        opt: The optimiser; its parameters are the ones clipped.
        loss: A scalar loss.
        clip: The largest global L2 norm of the gradients of ``opt``'s parameters
            (:func:`torch.nn.utils.clip_grad_norm_`, as Kodge et al.'s NegGrad clips); None: no clipping.
    """
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip is not None:
        nn.utils.clip_grad_norm_([p for group in opt.param_groups for p in group["params"]], clip)
    opt.step()


def wrong_labels(y: torch.Tensor, num_classes: int, *, generator: torch.Generator) -> torch.Tensor:
    """A label drawn uniformly from the *other* classes for each label of ``y``.

    ``(y + s) % K`` with ``s`` uniform on ``1 .. K-1``: the relabelling of the amnesiac baseline
    (Graves, Nagisetty & Ganesh, AAAI 2021) and of the "unseen-data" targets of ∇τ and
    distribution matching. It draws one ``torch.randint`` of ``y``'s shape from ``generator``.

    Args:
        y: Integer labels (on the CPU).
        num_classes: K, at least 2.
        generator: The seeded generator to draw from.

    Raises:
        ValueError: Fewer than two classes, so there is no wrong label to draw.
    """
    if num_classes < 2:
        raise ValueError(f"a wrong label needs at least 2 classes; this dataset has {num_classes}")
    shift = torch.randint(1, num_classes, y.shape, generator=generator)
    return (y + shift) % num_classes


def first_per_class(split: SplitData, n: int) -> SplitData:
    """The first ``n`` samples of each class of ``split``, classes in ascending order.

    UNSIR's impair/repair sets and Deep Unlearning's retain activations take a fixed number of
    samples per retained class this way (the official code bases take the first ones a loader gives).
    """
    if len(split) == 0:
        return split
    keep = torch.cat([torch.nonzero(split.y == c).flatten()[:n] for c in sorted(set(split.y.tolist()))])
    return SplitData(x=split.x[keep], y=split.y[keep], indices=split.indices[keep.numpy()])


def accuracy(model: nn.Module, split: SplitData, *, device: torch.device) -> float:
    """Top-1 accuracy of ``model`` on ``split`` in eval mode (its train/eval mode is restored); NaN if empty."""
    if len(split) == 0:
        return float("nan")
    return float((predict_logits(model, split.x, device=device).argmax(1) == split.y).float().mean())
