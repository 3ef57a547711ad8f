"""Datasets, loaded into memory as tensors, with a content fingerprint.

Every loader returns a :class:`LoadedData`: float32 inputs shaped ``(N, C, H, W)`` (already
normalised), int64 labels, and, for datasets that have one, the official test split. Nothing is
ever downloaded: ``digits`` ships inside scikit-learn, the torchvision datasets and image folders are
read from ``data.root``, and ``npz`` from ``data.path``. A missing file raises
:class:`~auditor.errors.ConfigError` naming the files expected and where.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from auditor.errors import ConfigError, Problem
from auditor.registry import import_object

if TYPE_CHECKING:
    import torch

    from auditor.config import DataConfig


@dataclass(frozen=True)
class LoadedData:
    """A dataset held in memory.

    Attributes:
        name: The config's dataset name.
        x: Inputs, float32, shape ``(N, C, H, W)``.
        y: Labels, int64, shape ``(N,)``, values in ``[0, num_classes)``.
        num_classes: Number of classes.
        class_names: One name per class.
        test_mask: Boolean array marking the official test split, or None when the dataset has none.
        fingerprint: sha256 over the name, shapes, input bytes and labels.
        source: How it was read (files, folder), for the evidence.
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    class_names: tuple[str, ...]
    test_mask: np.ndarray | None = None
    fingerprint: str = ""
    source: dict[str, str] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.y.shape[0])


def fingerprint(name: str, x: torch.Tensor, y: torch.Tensor) -> str:
    """sha256 of a dataset's content (not of the files it came from)."""
    h = hashlib.sha256()
    h.update(f"{name}|{tuple(x.shape)}|{x.dtype}|{tuple(y.shape)}".encode())
    h.update(x.contiguous().numpy().tobytes())
    h.update(y.contiguous().numpy().astype("<i8").tobytes())
    return h.hexdigest()


def make_loaded(name: str, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, *,
                class_names: tuple[str, ...] | None = None, num_classes: int | None = None,
                test_mask: np.ndarray | None = None, source: dict[str, str] | None = None) -> LoadedData:
    """Build a :class:`LoadedData` from arrays, checking shapes and labels.

    ``x`` may be ``(N, H, W)`` (a channel axis is added), ``(N, C, H, W)``, or ``(N, F)`` for
    tabular features (usable with the ``mlp`` architecture only).
    """
    import torch

    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    yt = torch.as_tensor(np.asarray(y)).long()
    if xt.ndim == 3:
        xt = xt.unsqueeze(1)
    if xt.ndim not in (2, 4):
        raise ValueError(f"inputs must be (N, F), (N, H, W) or (N, C, H, W), got shape {tuple(xt.shape)}")
    if yt.ndim != 1 or yt.shape[0] != xt.shape[0]:
        raise ValueError(f"labels must be (N,) with N = {xt.shape[0]}, got shape {tuple(yt.shape)}")
    if yt.numel() and int(yt.min()) < 0:
        raise ValueError("labels must be non-negative integers")
    k = num_classes if num_classes is not None else int(yt.max()) + 1
    names = class_names or tuple(str(i) for i in range(k))
    xt = xt.contiguous()
    return LoadedData(name=name, x=xt, y=yt, num_classes=k, class_names=tuple(names),
                      test_mask=test_mask, fingerprint=fingerprint(name, xt, yt), source=dict(source or {}))


def standardise(x: np.ndarray, *, mean: np.ndarray | float, std: np.ndarray | float) -> np.ndarray:
    """``(x - mean) / std`` in float32."""
    return ((np.asarray(x, dtype=np.float32) - mean) / std).astype(np.float32)


def load_digits(cfg: DataConfig) -> LoadedData:
    """scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), scaled to [0, 1].

    Reference: Alpaydin & Kaynak, UCI "Optical Recognition of Handwritten Digits" (1998), as
    shipped by ``sklearn.datasets.load_digits``.
    """
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]
    x = standardise(x, mean=0.3, std=0.4)
    return make_loaded("digits", x, bunch.target, class_names=tuple(str(c) for c in bunch.target_names),
                       source={"origin": "sklearn.datasets.load_digits"})


def load_npz(cfg: DataConfig) -> LoadedData:
    """An ``.npz`` file with arrays ``x`` (N, ...) and ``y`` (N,); optional ``test_mask`` (N,) bool.

    Inputs are used as given (normalise them before saving).
    """
    path = Path(cfg.path)  # type: ignore[arg-type]
    if not path.is_file():
        raise ConfigError([Problem("data.path", f"no such file: {path} (expected an .npz with arrays 'x' and 'y')")])
    try:
        with np.load(path, allow_pickle=False) as arrays:
            missing = [k for k in ("x", "y") if k not in arrays.files]
            if missing:
                raise ConfigError([Problem("data.path", f"{path} lacks array(s) {', '.join(missing)}; "
                                                        f"it holds {', '.join(arrays.files) or 'nothing'}")])
            x, y = arrays["x"], arrays["y"]
            test_mask = arrays["test_mask"].astype(bool) if "test_mask" in arrays.files else None
    except (OSError, ValueError) as exc:
        raise ConfigError([Problem("data.path", f"cannot read {path} as .npz: {exc}")]) from None
    if not np.issubdtype(y.dtype, np.integer):
        raise ConfigError([Problem("data.path", f"labels 'y' must be integers, got dtype {y.dtype}")])
    try:
        return make_loaded("npz", x, y, test_mask=test_mask, source={"path": str(path)})
    except ValueError as exc:
        raise ConfigError([Problem("data.path", str(exc))]) from None


# Name -> loader. Loaders reading torchvision formats live in auditor.local_datasets (imported
# lazily: it imports torchvision).
LOADERS: dict[str, str | Callable[[DataConfig], LoadedData]] = {
    "digits": load_digits,
    "npz": load_npz,
    "mnist": "auditor.local_datasets:load_mnist",
    "fashion_mnist": "auditor.local_datasets:load_fashion_mnist",
    "cifar10": "auditor.local_datasets:load_cifar10",
    "cifar100": "auditor.local_datasets:load_cifar100",
    "svhn": "auditor.local_datasets:load_svhn",
    "imagefolder": "auditor.local_datasets:load_imagefolder",
}


def load_dataset(cfg: DataConfig) -> LoadedData:
    """Load the dataset the config names.

    Raises:
        ConfigError: The files are missing or unreadable (the message names what was expected).
    """
    loader = LOADERS[cfg.dataset]
    if isinstance(loader, str):
        loader = import_object(loader)  # type: ignore[assignment]
    return loader(cfg)  # type: ignore[operator]
