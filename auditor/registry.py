"""Name -> class registries for unlearners and attacks.

Built-in plugins register exactly as third-party ones do: through an entry-point group declared in
``pyproject.toml`` (``unlearn_audit.unlearners`` / ``unlearn_audit.attacks``). A config may also
name a class directly as ``package.module:Class``. Unknown names raise
:class:`~auditor.errors.PluginNotFoundError` listing the closest known names.
"""

from __future__ import annotations

import difflib
import importlib
from importlib import metadata
from typing import Any, Generic, TypeVar

from auditor.errors import PluginNotFoundError

T = TypeVar("T")


def import_object(spec: str) -> object:
    """Import ``package.module:attr`` and return the attribute.

    Raises:
        ImportError: The module cannot be imported or has no such attribute.
        ValueError: ``spec`` is not of the form ``package.module:attr``.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected 'package.module:attr', got {spec!r}")
    module = importlib.import_module(module_name)
    obj: object = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ImportError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def import_callable(spec: str, *, what: str, hint: str) -> Any:
    """The callable named by ``package.module:name``, for a user's plugin function.

    Args:
        spec: ``package.module:name``.
        what: What it is, for messages ("training function", "dataset loader").
        hint: What to name instead when it is not callable.

    Raises:
        ValueError: It cannot be imported (whatever the module raised) or is not callable; the
            message says how to fix it.
    """
    try:
        obj = import_object(spec)
    except Exception as exc:  # a user's module can fail to import in any way
        detail = (str(exc).splitlines() or [""])[0]
        raise ValueError(
            f"cannot import {what} {spec!r}: {type(exc).__name__}: {detail}. Give "
            "'package.module:name' naming an importable module (on the Python path, or beside the "
            "config file) and a function in it"
        ) from None
    if not callable(obj):
        raise ValueError(f"{what} {spec!r} is a {type(obj).__name__}, not callable; name {hint}")
    return obj


def source_sha256(obj: Any) -> str | None:
    """sha256 of the source file that defines ``obj`` (a user's function or class), or None.

    None when it has no source file (a builtin, a notebook cell). Model-cache keys and the evidence
    carry it, so editing the plugin retrains.
    """
    import hashlib
    import inspect
    from pathlib import Path

    try:
        path = inspect.getsourcefile(inspect.unwrap(obj)) or inspect.getsourcefile(inspect.getmodule(obj))  # type: ignore[arg-type]
    except TypeError:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path and Path(path).is_file() else None


def suggest(name: str, options: list[str]) -> str:
    """A ``did you mean`` phrase for a misspelt name, or an empty string."""
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


class Registry(Generic[T]):
    """A registry of plugin classes of one kind.

    Args:
        kind: Human name of the plugin kind, used in messages ("unlearner", "attack").
        group: The entry-point group that declares plugins.
        base: The base class every plugin must subclass.
    """

    def __init__(self, kind: str, group: str, base: type[T]) -> None:
        self.kind = kind
        self.group = group
        self.base = base
        self._classes: dict[str, type[T]] = {}
        self._entry_points: dict[str, metadata.EntryPoint] | None = None

    def _eps(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            self._entry_points = {ep.name: ep for ep in metadata.entry_points(group=self.group)}
        return self._entry_points

    def register(self, name: str, cls: type[T], *, force: bool = False) -> type[T]:
        """Register ``cls`` under ``name``; a duplicate name raises unless ``force``."""
        if not force and (name in self._classes or name in self._eps()):
            raise ValueError(f"{self.kind} {name!r} is already registered; pass force=True to replace it")
        self._check(name, cls)
        self._classes[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        """Remove a name registered with :meth:`register` (used by tests)."""
        self._classes.pop(name, None)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(set(self._classes) | set(self._eps()))

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``, or imported from ``package.module:Class``."""
        if name in self._classes:
            return self._classes[name]
        if name in self._eps():
            cls = self._eps()[name].load()
            self._check(name, cls)
            self._classes[name] = cls
            return cls
        if ":" in name:
            try:
                cls = import_object(name)
            except (ImportError, ValueError) as exc:
                raise PluginNotFoundError(f"cannot import {self.kind} {name!r}: {exc}") from exc
            self._check(name, cls)
            return cls  # type: ignore[return-value]
        raise PluginNotFoundError(
            f"unknown {self.kind} {name!r}.{suggest(name, self.names())} "
            f"Known: {', '.join(self.names())}; or give 'package.module:Class'."
        )

    def _check(self, name: str, cls: object) -> None:
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise PluginNotFoundError(
                f"{self.kind} {name!r} resolves to {cls!r}, which is not a subclass of "
                f"{self.base.__module__}.{self.base.__qualname__}"
            )
