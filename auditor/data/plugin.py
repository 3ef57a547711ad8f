"""Datasets from the user's own loader (``data.dataset: package.module:loader``).

The loader is called with ``data.options`` as keyword arguments and returns the samples::

    def loader(**options) -> tuple[x, y] | tuple[x, y, test_mask] | Mapping[str, Any]

* ``x``: ``(N, F)`` features, ``(N, H, W)`` or ``(N, C, H, W)`` images, already normalised; any
  real dtype (NumPy array or tensor); every value finite.
* ``y``: ``(N,)`` integer labels ``0 .. K-1``, at least two classes present. Float labels are
  refused, not rounded: a regression target or one-hot matrix passed by mistake would otherwise
  become a plausible-looking classification problem.
* ``test_mask`` (optional): ``(N,)`` booleans marking an official test split, kept as the test split.
* A mapping holds ``x``, ``y`` and optionally:

  - ``class_names``: one name per class;
  - ``ids``: one record ID per row, strings or integers, unique (:mod:`auditor.data.records`);
  - the split the user's original was trained on (:mod:`auditor.data.declared`): ``train_mask``
    with ``test_mask`` and/or ``population_mask`` (``(N,)`` booleans), or ``split``, one name per
    row (``train``, ``population``, ``test`` or ``unused``). Without ``train_mask`` or ``split``
    the audit draws the split from its seed, as for the built-in datasets.

  Any other key is refused (a misspelt ``train_masks`` would otherwise leave the seed to split).

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


MAPPING_KEYS = ("x", "y", "test_mask", "class_names", "ids", "train_mask", "population_mask", "split")
"""The keys a loader's mapping may hold."""

SPLIT_NAMES = ("train", "population", "test", "unused")
"""The names a loader's ``split`` may give a row."""


def _unpack(result: Any, spec: str) -> dict[str, Any]:
    """The loader's fields (``x``, ``y`` and the optional ones) from a tuple or mapping."""
    if isinstance(result, Mapping):
        missing = [k for k in ("x", "y") if k not in result]
        if missing:
            raise _fail(
                f"loader {spec!r} returned a mapping without {' and '.join(missing)}; return "
                "{'x': features, 'y': labels} (optionally 'test_mask', 'class_names', 'ids' and the split)"
            )
        unknown = [str(k) for k in result if k not in MAPPING_KEYS]
        if unknown:
            from auditor.registry import suggest

            hints = "".join(suggest(k, list(MAPPING_KEYS)) for k in unknown[:3])
            raise _fail(
                f"loader {spec!r} returned unknown key(s) {', '.join(map(repr, unknown))}.{hints} A loader's "
                f"mapping holds {', '.join(MAPPING_KEYS)}"
            )
        return dict(result)
    if isinstance(result, tuple) and len(result) in (2, 3):
        return {"x": result[0], "y": result[1], "test_mask": result[2] if len(result) == 3 else None}
    raise _fail(
        f"loader {spec!r} returned a {type(result).__name__}; return (x, y), (x, y, test_mask) or a "
        "mapping with keys x and y"
    )


def _mask(value: Any, name: str, spec: str, n: int) -> np.ndarray:
    mask = _as_array(value, f"a {name}", spec)
    if mask.dtype != bool or mask.shape != (n,):
        raise _fail(
            f"loader {spec!r}: {name} must be (N,) booleans with N = {n}, got {mask.dtype} of shape "
            f"{tuple(mask.shape)}"
        )
    return mask


def declared_masks(fields: dict[str, Any], spec: str, n: int) -> dict[str, np.ndarray | None]:
    """The split the loader declares, as ``train`` / ``population`` / ``test`` masks (None: not declared).

    From ``split`` (one name per row) or the masks. A ``population_mask`` needs a ``train_mask``
    (membership is declared by naming the training rows); so do ``test_mask`` and
    ``population_mask`` together. Whether the masks overlap or leave too little held out is checked
    with the config (:func:`auditor.data.declared.declared_split`).

    Raises:
        ConfigError: Malformed masks or names, ``split`` given with masks, or masks without ``train_mask``.
    """
    names = fields.get("split")
    if names is not None:
        if any(fields.get(k) is not None for k in ("train_mask", "population_mask", "test_mask")):
            raise _fail(f"loader {spec!r} returned both split (names per row) and masks; return one of them")
        arr = _as_array(names, "a split", spec)
        if arr.shape != (n,):
            raise _fail(
                f"loader {spec!r}: split must hold one name per row (N = {n}), got shape {tuple(arr.shape)}"
            )
        text = np.asarray([str(v).strip().lower() for v in arr.tolist()])
        bad = sorted(set(text.tolist()) - set(SPLIT_NAMES))
        if bad:
            raise _fail(
                f"loader {spec!r}: split names rows {', '.join(map(repr, bad[:5]))}; use "
                f"{', '.join(SPLIT_NAMES)}"
            )
        return {k: text == k for k in ("train", "population", "test")}
    masks = {
        k: _mask(fields[f"{k}_mask"], f"{k}_mask", spec, n) if fields.get(f"{k}_mask") is not None else None
        for k in ("train", "population", "test")
    }
    if masks["train"] is None:
        if masks["population"] is not None:
            raise _fail(
                f"loader {spec!r} returned population_mask without train_mask; declare the rows your "
                "original was trained on with train_mask (and test_mask and/or population_mask)"
            )
        return {"train": None, "population": None, "test": masks["test"]}
    if masks["population"] is None and masks["test"] is None:
        raise _fail(
            f"loader {spec!r} returned train_mask alone; also return test_mask or population_mask (the rows "
            "no mask names go to the one you leave out)"
        )
    return masks


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
    fields = _unpack(result, spec)
    x_arr, y_arr, _ = validate(spec, fields["x"], fields["y"], None)
    n = int(x_arr.shape[0])
    masks = declared_masks(fields, spec, n)
    mask = masks["test"]
    if masks["train"] is None and mask is not None and (mask.all() or not mask.any()):
        raise _fail(
            f"loader {spec!r}: test_mask marks {'every' if mask.all() else 'no'} sample as test; leave it "
            "out to split by the seed"
        )
    names = fields.get("class_names")
    if names is not None and len(names) != int(y_arr.max()) + 1:
        raise _fail(f"loader {spec!r}: class_names has {len(names)} names for labels 0..{int(y_arr.max())}")
    ids = None
    if fields.get("ids") is not None:
        from auditor.data.records import normalise_ids

        try:
            ids = normalise_ids(fields["ids"], count=n)
        except ValueError as exc:
            raise _fail(f"loader {spec!r}: {exc}") from None
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
            ids=ids,
            train_mask=masks["train"],
            population_mask=masks["population"],
        )
    except ValueError as exc:
        raise _fail(f"loader {spec!r}: {exc}") from None
