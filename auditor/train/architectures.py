"""Architectures, checkpoint loading and model digests.

Every architecture is a factory called with keyword arguments ``in_channels``, ``num_classes`` and
``input_shape``; a user's own is named ``package.module:factory`` and called the same way.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from auditor.errors import ConfigError, Problem
from auditor.registry import import_object


class MLP(nn.Module):
    """Two hidden layers of ReLU units over the flattened input."""

    def __init__(self, *, in_features: int, num_classes: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SmallCNN(nn.Module):
    """Two 3x3 conv blocks (32 and 64 channels), global average pooling and a linear head.

    No BatchNorm, so it suits batched training and every unlearning method (including the SVD
    projection of Kodge et al., which hooks each Conv2d and Linear layer). Works for any input of
    at least 4x4 pixels.
    """

    def __init__(self, *, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def mlp(*, in_channels: int, num_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """A 2-hidden-layer MLP on the flattened input."""
    n = 1
    for d in input_shape:
        n *= int(d)
    return MLP(in_features=n, num_classes=num_classes)


def small_cnn(*, in_channels: int, num_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """:class:`SmallCNN`."""
    if len(input_shape) != 3:
        raise ValueError(f"small_cnn needs image inputs (C, H, W), got shape {input_shape}; use arch: mlp")
    return SmallCNN(in_channels=in_channels, num_classes=num_classes)


def resnet18(*, in_channels: int, num_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """Torchvision's ResNet-18 with the CIFAR stem: a 3x3 stride-1 first conv and no max-pool.

    He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016); the CIFAR stem is the
    one used by SalUn, l1-sparse, SCRUB and SSD (METHODS.md C1).
    """
    import torchvision

    if len(input_shape) != 3:
        raise ValueError(f"resnet18 needs image inputs (C, H, W), got shape {input_shape}")
    model = torchvision.models.resnet18(num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp,
    "small_cnn": small_cnn,
    "resnet18": resnet18,
}


def model_factory(arch: str, *, input_shape: tuple[int, ...], num_classes: int) -> Callable[[], nn.Module]:
    """A zero-argument factory of fresh, randomly initialised models (seed them with torch's RNG)."""
    fn = ARCHITECTURES.get(arch) or import_object(arch)
    in_channels = int(input_shape[0]) if len(input_shape) == 3 else 1

    def make() -> nn.Module:
        model = fn(in_channels=in_channels, num_classes=num_classes, input_shape=tuple(input_shape))  # type: ignore[operator]
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"architecture factory {arch!r} returned {type(model).__name__}, not torch.nn.Module"
            )
        return model

    return make


@functools.lru_cache(maxsize=64)
def arch_key(arch: str) -> str:
    """The architecture as model-cache keys name it.

    A built-in's name, or for a user's ``package.module:factory`` the name plus the sha256 of the
    factory's source file, so that editing the factory retrains instead of reusing models of the
    old architecture.
    """
    if arch in ARCHITECTURES:
        return arch
    from auditor.registry import source_sha256

    digest = source_sha256(import_object(arch))
    return f"{arch}@sha256:{digest}" if digest else arch


def architecture_differences(
    model: nn.Module, factory: Callable[[], nn.Module], *, limit: int = 8
) -> list[str]:
    """How ``model``'s state_dict differs from the declared architecture's (keys and shapes); empty if it matches."""
    want = factory().state_dict()
    got = model.state_dict()
    diffs = [f"missing {k}" for k in want if k not in got]
    diffs += [f"unexpected {k}" for k in got if k not in want]
    diffs += [
        f"{k}: shape {tuple(got[k].shape)} instead of {tuple(want[k].shape)}"
        for k in want
        if k in got and got[k].shape != want[k].shape
    ]
    return diffs[:limit]


def init_model(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """A fresh model whose initial weights depend only on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()


def state_digest(model: nn.Module | dict[str, torch.Tensor]) -> str:
    """sha256 over (name, dtype, shape, bytes) of the state_dict in sorted key order.

    It survives re-serialisation (ECOSYSTEM.md 8.3), so the same weights give the same digest
    whether they came from a file, the cache or memory.
    """
    state = model.state_dict() if isinstance(model, nn.Module) else model
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (what an auditor re-computes with ``sha256sum``)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_state_dict(path: Path, *, key: str) -> dict[str, torch.Tensor]:
    """Load a state_dict with ``weights_only=True``; accepts ``{"state_dict": ...}`` wrappers.

    Raises:
        ConfigError: The file is missing, unreadable, or holds no tensors (located at ``key``).
    """
    if not path.is_file():
        raise ConfigError([Problem(key, f"no such checkpoint file: {path}")])
    if path.stat().st_size == 0:
        raise ConfigError(
            [
                Problem(
                    key,
                    f"{path} is empty (0 bytes); save the model with torch.save(model.state_dict(), path)",
                )
            ]
        )
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for bad files
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(
            [Problem(key, f"cannot load {path} as a PyTorch state_dict (weights_only=True): {detail}")]
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConfigError(
            [
                Problem(
                    key,
                    f"{path} does not hold a state_dict (a mapping of names to tensors); "
                    "save one with torch.save(model.state_dict(), path)",
                )
            ]
        )
    return obj


def check_fits(model: nn.Module, state: dict[str, torch.Tensor], *, key: str, arch: str) -> list[Problem]:
    """Problems that stop ``state`` from loading into ``model``: missing, unexpected, mis-shaped keys."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))

    def few(names: list[str]) -> str:
        return ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")

    parts = []
    if missing:
        parts.append(f"missing keys: {few(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {few(unexpected)}")
    if shapes:
        parts.append(
            "shape mismatch: "
            + few([f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in shapes])
        )
    if not parts:
        return []
    return [
        Problem(
            key,
            f"checkpoint does not fit architecture {arch!r}: {'; '.join(parts)}. "
            "Check model.arch and the dataset's input shape and class count.",
        )
    ]


def load_checkpoint(factory: Callable[[], nn.Module], path: Path, *, key: str, arch: str) -> nn.Module:
    """A model of the configured architecture with the checkpoint's weights."""
    state = read_state_dict(path, key=key)
    model = factory()
    problems = check_fits(model, state, key=key, arch=arch)
    if problems:
        raise ConfigError(problems)
    model.load_state_dict(state)
    return model


def nonfinite_names(state: dict[str, torch.Tensor]) -> list[str]:
    """Names of floating-point tensors in ``state`` holding NaN or infinity."""
    return [
        n
        for n, t in state.items()
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all())
    ]


def has_nonfinite(model: nn.Module) -> list[str]:
    """Names of parameters or buffers that hold NaN or infinity (:func:`nonfinite_names` of its state)."""
    return nonfinite_names(model.state_dict())
