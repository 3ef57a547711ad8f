"""What every conformance check shares: failure messages, parameters, JSON and determinism helpers."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ValidationError

from auditor.types import FORGET_KINDS


@dataclass(frozen=True)
class Check:
    """One conformance check: its name (a pytest id) and the call that runs it.

    The checks of one plugin share their expensive work (running the method or the attack), done
    once on the first check that needs it, so running them one by one costs what one call did.
    Calling a check raises :class:`AssertionError` naming the plugin and what to fix.
    """

    name: str
    run: Callable[[], None]

    def __call__(self) -> None:
        self.run()


def _fail(what: str, problem: str) -> AssertionError:
    return AssertionError(f"{what}: {problem}")


def _resolve_params(cls: type, what: str, params: BaseModel | Mapping[str, Any] | None) -> BaseModel:
    """``params`` validated by ``cls.Params`` (None: its defaults)."""
    model: type[BaseModel] = cls.Params  # type: ignore[attr-defined]
    if isinstance(params, model):
        return params
    if isinstance(params, BaseModel):
        raise ValueError(
            f"{what}: params is a {type(params).__name__}, not a {model.__name__}; pass one, or a dict"
        )
    try:
        return model.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise ValueError(
            f"{what}: the params given to the check are invalid for {model.__name__}: {exc}"
        ) from None


@contextmanager
def _global_rng(seed: int) -> Iterator[None]:
    """Run with torch's, NumPy's and ``random``'s global generators seeded to ``seed``; restore them after.

    The checks run a plugin twice under different global seeds: a plugin that draws from a global
    generator instead of the seeded ones it is given then gives different results.
    """
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


def _json_problem(value: Any, path: str) -> str | None:
    """Where ``value`` holds something :func:`json.dumps` with ``allow_nan=False`` refuses, or None."""
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value!r} (write None, or a finite number)"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) and key is not None:
                return f"{path} has a key of type {type(key).__name__} ({key!r}); use str keys"
            found = _json_problem(item, f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _json_problem(item, f"{path}[{i}]")
            if found:
                return found
        return None
    return (
        f"{path} is a {type(value).__module__}.{type(value).__qualname__} ({value!r:.60}); "
        "convert it with float(), int(), str() or .tolist()"
    )


def _check_json(what: str, value: Any, path: str) -> None:
    """``value`` is written to the evidence: json.dumps(allow_nan=False) must take it."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        where = _json_problem(value, path) or f"{path}: {exc}"
        raise _fail(what, f"{where}; the evidence is JSON written with allow_nan=False") from None


def _first_difference(a: Any, b: Any, path: str) -> str | None:
    """The path of the first place two JSON-like values differ, with both values, or None."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if list(a) != list(b):
            return f"{path} has keys {list(a)} then {list(b)}"
        for key in a:
            found = _first_difference(a[key], b[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"{path} has {len(a)} items then {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    try:
        same = bool(a == b) or (
            isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
        )
    except (TypeError, ValueError):  # arrays and other values without a plain truth value
        same = repr(a) == repr(b)
    return None if same else f"{path} is {a!r:.60} then {b!r:.60}"


def _check_text_attrs(cls: type, what: str, names: tuple[str, ...]) -> None:
    """Each class attribute in ``names`` is a non-empty string."""
    for attr in names:
        value = getattr(cls, attr, None)
        if not isinstance(value, str) or not value.strip():
            raise _fail(what, f"declares no {attr} (got {value!r}); set the class attribute {attr} = '...'")


def _check_name(cls: type, what: str) -> None:
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name or any(c.isspace() or c in ".:" for c in name):
        raise _fail(
            what,
            f"name {name!r} must be a non-empty string without spaces, dots or colons (it names the plugin "
            "in configs and prefixes its metric keys); set name = 'my_plugin'",
        )


def _check_params_class(cls: type, what: str) -> None:
    """``cls.Params`` is a pydantic model that forbids unknown keys and builds from its defaults."""
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise _fail(
            what, f"Params is {params!r}, not a pydantic model; declare class {cls.__name__}(Base[MyParams])"
        )
    if params.model_config.get("extra") != "forbid":
        raise _fail(
            what,
            f"{params.__name__} accepts unknown keys, so a misspelt parameter would be ignored silently; "
            "subclass the plugin base's Params (model_config extra='forbid')",
        )
    try:
        defaults = params()
    except ValidationError as exc:
        raise _fail(
            what, f"{params.__name__}() fails without arguments; give every field a default ({exc})"
        ) from None
    _check_json(what, defaults.model_dump(mode="json"), "Params().model_dump(mode='json')")


def _check_forget_kinds(kinds: object, what: str, attr: str) -> None:
    if not isinstance(kinds, frozenset) or not kinds or not kinds <= FORGET_KINDS:
        raise _fail(
            what,
            f"{attr} = {kinds!r} must be a non-empty frozenset of {', '.join(sorted(FORGET_KINDS))}",
        )
