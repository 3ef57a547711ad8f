"""Training with the user's own function (``training.function: package.module:fit``).

A reference trained with another recipe than the original measures the recipe difference, not the
forgetting. A team whose model comes from its own training loop therefore
names that loop, and the audit calls it for the original (when no checkpoint is given), every
reference, every shadow model and every retrain, exactly where the built-in trainer would run.

The function's contract::

    def fit(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, seed: int,
            generator: torch.Generator, device: torch.device,
            progress: Callable[[int, int], None] | None, **kwargs) -> torch.nn.Module | None

* ``model`` is freshly initialised (from the seed) and on the CPU; train it in place, or return
  the trained model (of the same architecture).
* ``x`` / ``y`` are the samples to train on (float inputs, int64 labels), CPU tensors.
* ``seed`` and ``generator`` (a ``torch.Generator`` seeded with ``seed``) are the only sources of
  randomness the function may use: shuffling, augmentation, dropout masks. The same seed must give
  the same weights; :func:`check_deterministic` verifies that before any audit work.
* ``device`` is where to compute (``execution.device``).
* ``progress(done, total)`` may be called to drive the progress bar; it may be None.
* ``kwargs`` are ``training.kwargs`` from the config, as given.

Whatever it returns is put in eval mode. The evidence records the function's name and the sha256
of its source file, and both enter the model cache's key, so editing the function retrains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

ProgressFn = Callable[[int, int], None]


class TrainingFunctionError(ValueError):
    """The training function cannot be used: names ``training.function`` and says how to fix it."""


def resolve(spec: str) -> Callable[..., Any]:
    """The callable named by ``package.module:function``.

    Raises:
        TrainingFunctionError: It cannot be imported or is not callable.
    """
    from auditor.registry import import_callable

    try:
        return import_callable(
            spec, what="training function", hint="a function fit(model, x, y, *, seed, ...)"
        )
    except ValueError as exc:
        raise TrainingFunctionError(f"training.function: {exc}") from None


def source_digest(spec: str) -> str:
    """sha256 of the source file that defines the function named by ``spec`` (the cache key covers it)."""
    from auditor.registry import source_sha256

    digest = source_sha256(resolve(spec))
    if digest is None:
        raise TrainingFunctionError(
            f"training.function: {spec!r} has no source file to digest; define it in a "
            "Python module (not a notebook cell or a C extension)"
        )
    return digest


def call(
    spec: str,
    kwargs: Mapping[str, Any],
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    generator: torch.Generator,
    device: torch.device,
    progress: ProgressFn | None,
) -> nn.Module:
    """Train ``model`` with the user's function; returns the trained model in eval mode.

    Raises:
        TrainingFunctionError: The function returned something other than None or a module of the
            same architecture.
    """
    fn = resolve(spec)
    seed = int(generator.initial_seed())
    result = fn(model, x, y, seed=seed, generator=generator, device=device, progress=progress, **dict(kwargs))
    if result is None:
        result = model
    if not isinstance(result, nn.Module):
        raise TrainingFunctionError(
            f"training.function: {spec!r} returned a {type(result).__name__}; return the "
            "trained torch.nn.Module, or None after training the model in place"
        )
    if result is not model and set(result.state_dict()) != set(model.state_dict()):
        raise TrainingFunctionError(
            f"training.function: {spec!r} returned a model of another architecture "
            "(different parameter names); train and return the model it was given"
        )
    return result.eval()


@dataclass(frozen=True)
class DeterminismCheck:
    """What :func:`check_deterministic` found.

    Attributes:
        samples: Training samples of the probe runs.
        same_seed_equal: Two runs with the same seed gave identical weights (required).
        seeds_differ: Two runs from the same initial weights with different seeds gave different
            weights (False: the function draws no randomness from its seed, so references differ by
            their initialisation alone; allowed and recorded).
    """

    samples: int
    same_seed_equal: bool
    seeds_differ: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "same_seed_equal": self.same_seed_equal,
            "seeds_differ": self.seeds_differ,
        }


def _max_difference(a: nn.Module, b: nn.Module) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    return max((float((sa[k].double() - sb[k].double()).abs().max()) if sa[k].numel() else 0.0) for k in sa)


def check_deterministic(
    spec: str,
    kwargs: Mapping[str, Any],
    factory: Callable[[], nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    device: torch.device,
    samples: int = 256,
) -> DeterminismCheck:
    """Run the function three times on a small seeded subset and compare the weights.

    Runs 1 and 2 use the same initial weights and the same seed; they must agree exactly (within
    1e-6 on CUDA, whose kernels may sum in another order). Run 3 uses another seed from the same
    initial weights, to record whether the seed drives any randomness. A function that draws from
    torch's global generator, ``random`` or NumPy without seeding them from ``seed`` fails here.

    Raises:
        TrainingFunctionError: The same seed gave different weights.
    """
    from auditor.train.architectures import init_model

    n = min(samples, int(y.shape[0]))
    pick = torch.randperm(int(y.shape[0]), generator=torch.Generator().manual_seed(0))[:n]
    xs, ys = x[pick], y[pick]
    start = init_model(factory, 0).state_dict()

    def run(seed: int) -> nn.Module:
        model = factory()
        model.load_state_dict(start)
        return call(
            spec,
            kwargs,
            model,
            xs,
            ys,
            generator=torch.Generator().manual_seed(seed),
            device=device,
            progress=None,
        ).cpu()

    first, second, other = run(1), run(1), run(2)
    tolerance = 1e-6 if device.type == "cuda" else 0.0
    gap = _max_difference(first, second)
    if gap > tolerance:
        raise TrainingFunctionError(
            f"training.function: {spec!r} is not deterministic given its seed: two runs with seed 1 on the same "
            f"{n} samples from the same initial weights differ by up to {gap:.3g} in a weight. Draw all randomness "
            "from the `generator` argument (torch.randperm(n, generator=generator), a DataLoader with "
            "generator=generator) or seed torch, numpy and random from `seed` at the start of the function"
        )
    return DeterminismCheck(
        samples=n, same_seed_equal=True, seeds_differ=_max_difference(first, other) > tolerance
    )
