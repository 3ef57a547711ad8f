"""Datasets from the user's own loader (``data.dataset: package.module:loader``).

The loader is called with ``data.options`` as keyword arguments and returns the samples::

    def loader(**options) -> tuple[x, y] | tuple[x, y, test_mask] | Mapping[str, Any]

* ``x``: ``(N, F)`` features, ``(N, H, W)`` or ``(N, C, H, W)`` images, already normalised; any
  real dtype (NumPy array or tensor); every value finite.
* ``y``: ``(N,)`` integer labels ``0 .. K-1``, at least two classes present. Float labels are
  refused, not rounded: a regression target or one-hot matrix passed by mistake would otherwise
  become a plausible-looking classification problem.
* ``test_mask`` (optional): ``(N,)`` booleans marking an official test split, kept as the test split.
* A mapping may hold ``x``, ``y`` and optionally ``test_mask`` and ``class_names``.

The result is validated like the built-in datasets and fingerprinted by content; the evidence
records the loader's name and the sha256 of its source file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.errors import ConfigError, Problem
from auditor.registry import import_callable, source_sha256

if TYPE_CHECKING:
    from auditor.config.schema import DataConfig
    from auditor.data.datasets import LoadedData

KEY = "data.dataset"


def _fail(message: str) -> ConfigError:
    return ConfigError([Problem(KEY, message)])


def _as_array(value: Any, what: str, spec: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise _fail(
            f"loader {spec!r} returned {what} that is not an array ({type(exc).__name__}: {exc})"
        ) from None


def _unpack(result: Any, spec: str) -> tuple[Any, Any, Any, Any]:
    """(x, y, test_mask, class_names) from a tuple or mapping."""
    if isinstance(result, Mapping):
        missing = [k for k in ("x", "y") if k not in result]
        if missing:
            raise _fail(
                f"loader {spec!r} returned a mapping without {' and '.join(missing)}; return "
                "{'x': features, 'y': labels} (optionally 'test_mask' and 'class_names')"
            )
        return result["x"], result["y"], result.get("test_mask"), result.get("class_names")
    if isinstance(result, tuple) and len(result) in (2, 3):
        return result[0], result[1], result[2] if len(result) == 3 else None, None
    raise _fail(
        f"loader {spec!r} returned a {type(result).__name__}; return (x, y), (x, y, test_mask) or a "
        "mapping with keys x and y"
    )


def validate(spec: str, x: Any, y: Any, test_mask: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check what a loader returned; every error names ``data.dataset`` and what was wrong.

    Raises:
        ConfigError: Wrong shapes, non-real or non-finite inputs, non-integer labels, fewer than two
            classes, or a malformed test mask.
    """
    x_arr, y_arr = _as_array(x, "inputs (x)", spec), _as_array(y, "labels (y)", spec)
    if x_arr.ndim not in (2, 3, 4) or x_arr.shape[0] == 0:
        raise _fail(
            f"loader {spec!r}: inputs must be (N, F), (N, H, W) or (N, C, H, W) with N > 0, got shape "
            f"{tuple(x_arr.shape)}"
        )
    if not (np.issubdtype(x_arr.dtype, np.floating) or np.issubdtype(x_arr.dtype, np.integer)):
        raise _fail(f"loader {spec!r}: inputs must be real numbers, got dtype {x_arr.dtype}")
    if not np.isfinite(x_arr.astype(np.float64, copy=False)).all():
        bad = int((~np.isfinite(x_arr.astype(np.float64, copy=False))).sum())
        raise _fail(f"loader {spec!r}: {bad} input values are NaN or infinite; impute or drop those samples")
    if y_arr.ndim != 1 or y_arr.shape[0] != x_arr.shape[0]:
        raise _fail(
            f"loader {spec!r}: labels must be (N,) with N = {x_arr.shape[0]}, got shape {tuple(y_arr.shape)}"
            + ("; pass class indices, not one-hot rows" if y_arr.ndim == 2 else "")
        )
    if not np.issubdtype(y_arr.dtype, np.integer):
        raise _fail(
            f"loader {spec!r}: labels must be integers 0..K-1, got dtype {y_arr.dtype}; convert class "
            "labels with y.astype(int) (or sklearn's LabelEncoder) in the loader, so nothing is rounded "
            "silently"
        )
    if y_arr.min() < 0:
        raise _fail(f"loader {spec!r}: labels must be 0..K-1, got a label {int(y_arr.min())}")
    if np.unique(y_arr).size < 2:
        raise _fail(
            f"loader {spec!r}: labels hold {np.unique(y_arr).size} class; an audit needs at least two"
        )
    mask = None
    if test_mask is not None:
        mask = _as_array(test_mask, "a test mask", spec)
        if mask.dtype != bool or mask.shape != (x_arr.shape[0],):
            raise _fail(
                f"loader {spec!r}: test_mask must be (N,) booleans with N = {x_arr.shape[0]}, got "
                f"{mask.dtype} of shape {tuple(mask.shape)}"
            )
        if mask.all() or not mask.any():
            raise _fail(
                f"loader {spec!r}: test_mask marks {'every' if mask.all() else 'no'} sample as test; "
                "leave it out to split by the seed"
            )
    return x_arr, y_arr, mask


def load_plugin(cfg: DataConfig) -> LoadedData:
    """Call the loader the config names, validate what it returns, and fingerprint it.

    Raises:
        ConfigError: The loader cannot be imported, raises, or returns something invalid.
    """
    from auditor.data.datasets import make_loaded

    spec = cfg.dataset
    try:
        fn = import_callable(spec, what="dataset loader", hint="a function returning (x, y)")
    except ValueError as exc:
        raise _fail(str(exc)) from None
    options = dict(cfg.options or {})
    try:
        result = fn(**options)
    except TypeError as exc:
        raise _fail(f"loader {spec!r} does not accept data.options {sorted(options)}: {exc}") from None
    x, y, mask, names = _unpack(result, spec)
    x_arr, y_arr, mask = validate(spec, x, y, mask)
    if names is not None and len(names) != int(y_arr.max()) + 1:
        raise _fail(f"loader {spec!r}: class_names has {len(names)} names for labels 0..{int(y_arr.max())}")
    source = {"loader": spec, "options": repr(options)}
    digest = source_sha256(fn)
    if digest:
        source["loader_sha256"] = digest
    try:
        return make_loaded(
            spec,
            x_arr,
            y_arr,
            test_mask=mask,
            class_names=tuple(map(str, names)) if names else None,
            source=source,
        )
    except ValueError as exc:
        raise _fail(f"loader {spec!r}: {exc}") from None
