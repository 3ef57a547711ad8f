"""MNIST-1D, generated here with the ``mnist1d`` package (never downloaded).

MNIST-1D (S. Greydanus and D. Kobak, "Scaling Down Deep Learning with MNIST-1D", ICML 2024) turns
ten hand-made 1-D digit templates into sequences of length 40 by random padding, scaling,
translation, correlated and independent noise, and shear. It is small enough to train many models
on a CPU in seconds, yet, unlike scikit-learn's digits, far from linearly separable: an MLP fits
its training split but generalises to only about 60-70 % test accuracy, which makes membership
signal large.

The sequences come from ``mnist1d.data.make_dataset`` with ``get_dataset_args()`` overridden by the
config's ``data.mnist1d`` options. The package's ``get_dataset`` (which downloads a pickle) is never
called. ``make_dataset`` seeds numpy's and Python's global random generators; their states are
restored afterwards, so generating the data does not disturb anything else.
"""

from __future__ import annotations

import random
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.data.datasets import LoadedData, make_loaded
from auditor.errors import ConfigError, Problem

if TYPE_CHECKING:
    from auditor.config import DataConfig, Mnist1dConfig

_CLASSES = tuple(str(d) for d in range(10))


def generate(options: Mnist1dConfig) -> dict[str, Any]:
    """Run ``mnist1d.data.make_dataset`` with ``options``; the global RNG states are left as they were.

    Args:
        options: The generation options (``data.mnist1d``).

    Returns:
        make_dataset's dict: ``x`` / ``y`` (official training split), ``x_test`` / ``y_test``.

    Raises:
        ConfigError: The ``mnist1d`` package is not installed (key ``data.dataset``).
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:
        raise ConfigError(
            [
                Problem(
                    "data.dataset",
                    f"dataset 'mnist1d' needs the mnist1d package, which cannot be "
                    f"imported ({exc}): pip install mnist1d (it comes with "
                    "unlearn-audit's dependencies)",
                )
            ]
        ) from None
    args = get_dataset_args()  # an ObjectView; make_dataset reads its attributes
    for key, value in options.model_dump().items():
        setattr(args, key, list(value) if isinstance(value, tuple) else value)
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        return make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def load_mnist1d(cfg: DataConfig) -> LoadedData:
    """MNIST-1D: 10 classes of 1-D sequences, 40 values each, with the official train/test split.

    With the default options this is the official dataset: 4,000 training and 1,000 test
    sequences. The values are used as make_dataset returns them (already centred and scaled to
    unit standard deviation over the whole dataset), as float32 of shape ``(40,)``: tabular
    inputs, for the ``mlp`` architecture (``small_cnn`` and ``resnet18`` need images).

    Reference: S. Greydanus and D. Kobak, "Scaling Down Deep Learning with MNIST-1D",
    Proceedings of the 41st International Conference on Machine Learning (ICML), 2024.

    Args:
        cfg: The data section; ``cfg.mnist1d`` holds the generation options.

    Returns:
        The training split then the test split; ``test_mask`` marks the test split. ``source``
        records the options and the versions of the packages that generated the arrays.

    Raises:
        ConfigError: The ``mnist1d`` package is missing.
    """
    # The default options come from the data section's own schema, which this layer does not import.
    options = cfg.mnist1d or type(cfg).model_validate({"dataset": "mnist1d", "mnist1d": {}}).mnist1d
    assert options is not None
    ds = generate(options)
    x = np.concatenate([np.asarray(ds["x"]), np.asarray(ds["x_test"])]).astype(np.float32)
    y = np.concatenate([np.asarray(ds["y"]), np.asarray(ds["y_test"])]).astype(np.int64)
    test_mask = np.concatenate([np.zeros(len(ds["y"]), bool), np.ones(len(ds["y_test"]), bool)])
    versions = {name: _version(name) for name in ("mnist1d", "numpy", "scipy")}
    source = {
        "origin": "mnist1d.data.make_dataset (generated, never downloaded)",
        "options": ",".join(f"{k}={v}" for k, v in sorted(options.model_dump(mode="json").items())),
        "versions": ",".join(f"{k}={v}" for k, v in versions.items()),
    }
    return make_loaded(
        "mnist1d", x, y, class_names=_CLASSES, num_classes=10, test_mask=test_mask, source=source
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
