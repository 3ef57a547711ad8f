"""Run an audit from Python objects, for notebooks and pipelines.

:func:`audit` takes the same sections as the YAML config, but each may be given as a Python
object: a model factory, a training function or a dataset loader (any module-level function), an
unlearning method class, arrays, or trained models. It turns them into the config the CLI would
read (functions by their ``module:name``, arrays and models stored by content digest under the
model cache) and then runs exactly what ``unlearn-audit run`` runs: the same validation, the same
outputs (report, evidence, signature) and the same verdict. Example::

    from auditor import audit
    from acme_tabular.data import load
    from acme_tabular.model import make_model
    from acme_tabular.train import fit

    outcome = audit(data=load, model=make_model, training={"function": fit, "kwargs": {"epochs": 40}},
                    forget={"kind": "class", "classes": [3]}, unlearner="retrain",
                    report={"out": "runs/acme"})
    print(outcome.status, outcome.files["report.pdf"])

Functions must be importable by their ``module:name`` (defined at module level, not inside
another function or as a lambda): the evidence records the name, the model cache digests the
source file, and worker processes import it.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError, Problem

__all__ = ["audit", "build_config"]


def _spec(obj: Any, key: str) -> str:
    """``module:qualname`` of a module-level function or class, checked to import back to ``obj``."""
    from auditor.registry import import_object

    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not name or "<locals>" in name or "<lambda>" in name:
        raise ConfigError(
            [
                Problem(
                    key,
                    f"{obj!r} is not a module-level function or class; define it at the top "
                    "level of an importable module, so the evidence can name it, the cache "
                    "can digest its source and worker processes can import it",
                )
            ]
        )
    spec = f"{module}:{name}"
    try:
        found = import_object(spec)
    except (ImportError, ValueError):
        found = None
    if found is not obj:
        raise ConfigError(
            [
                Problem(
                    key,
                    f"{spec!r} does not import back to the object given; define it at the top "
                    "level of a module on the Python path",
                )
            ]
        )
    return spec


def _store(payload: bytes, folder: Path, suffix: str) -> Path:
    """Write ``payload`` once under ``folder`` by its sha256 (atomically) and return the path."""
    from auditor.files import atomic_write_bytes

    path = folder / f"{hashlib.sha256(payload).hexdigest()}{suffix}"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, payload)
    return path


def _cache_root(execution: Mapping[str, Any] | None) -> Path:
    from auditor.train.cache_admin import default_cache_dir

    chosen = (execution or {}).get("cache_dir")
    return Path(chosen) if chosen else Path(default_cache_dir())


def _arrays_to_npz(arrays: tuple, folder: Path) -> Path:
    """Save ``(x, y)`` or ``(x, y, test_mask)`` as an .npz addressed by its content."""
    import numpy as np

    if len(arrays) not in (2, 3):
        raise ConfigError(
            [Problem("data", f"arrays must be (x, y) or (x, y, test_mask), got {len(arrays)} items")]
        )
    names = ("x", "y", "test_mask")
    tensors = {
        n: (a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a))
        for n, a in zip(names, arrays)
    }
    buf = io.BytesIO()
    np.savez(buf, **tensors)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle
    return _store(buf.getvalue(), folder / "inputs", ".npz")


def _model_to_checkpoint(model: Any, folder: Path, key: str) -> Path:
    """Save an ``nn.Module``'s state_dict (or a state_dict) as a checkpoint addressed by its content."""
    import torch

    state = model.state_dict() if hasattr(model, "state_dict") else model
    if not isinstance(state, Mapping):
        raise ConfigError(
            [Problem(key, f"expected a torch.nn.Module, a state_dict or a path, got {type(model).__name__}")]
        )
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state.items()}, buf)
    return _store(buf.getvalue(), folder / "inputs", ".pt")


def _section(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError([Problem(key, f"expected a mapping of {key} settings, got {type(value).__name__}")])
    return dict(value)


def _named_section(value: Any, section: str, field: str) -> dict[str, Any]:
    """A config section from a name, a Python object or a mapping whose ``field`` may be such an object.

    An object (a function or class) is named by its ``module:name``.
    """
    key = f"{section}.{field}"
    if isinstance(value, str):
        return {field: value}
    if isinstance(value, Mapping):
        out = dict(value)
        if callable(out.get(field)):
            out[field] = _spec(out[field], key)
        return out
    if callable(value) and not hasattr(value, "state_dict"):
        return {field: _spec(value, key)}
    raise ConfigError(
        [
            Problem(
                section,
                f"expected a name, a function or class, or a mapping of {section} settings, "
                f"got {type(value).__name__}",
            )
        ]
    )


def build_config(
    *,
    data: Any = None,
    model: Any = None,
    training: Any = None,
    forget: Any = None,
    unlearner: Any = None,
    unlearned: Any = None,
    original: Any = None,
    reference: Any = None,
    attacks: Any = None,
    gates: Any = None,
    report: Any = None,
    execution: Any = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """The raw config mapping :func:`audit` validates (see there for the arguments).

    Raises:
        ConfigError: An object cannot be named (a lambda, a nested function) or has the wrong type.
    """
    raw: dict[str, Any] = {}
    store = _cache_root(execution if isinstance(execution, Mapping) else None)
    if seed is not None:
        raw["seed"] = seed

    if isinstance(data, tuple):
        raw["data"] = {"dataset": "npz", "path": str(_arrays_to_npz(data, store))}
    elif data is not None:
        raw["data"] = _named_section(data, "data", "dataset")
    if model is not None:
        raw["model"] = _named_section(model, "model", "arch")
    if training is not None:
        raw["training"] = _named_section(training, "training", "function")
    if unlearner is not None:
        raw["unlearner"] = _named_section(unlearner, "unlearner", "name")
    for section, field, model_object in (
        ("model", "checkpoint", original),
        ("unlearner", "checkpoint", unlearned),
    ):
        if model_object is not None:
            key = f"{section}.{field}"
            path = (
                model_object
                if isinstance(model_object, (str, os.PathLike))
                else _model_to_checkpoint(model_object, store, key)
            )
            raw.setdefault(section, {})[field] = str(path)

    for key, value in (
        ("forget", forget),
        ("reference", reference),
        ("gates", gates),
        ("report", report),
        ("execution", execution),
    ):
        if value is not None:
            raw[key] = _section(value, key)
    if attacks is not None:
        raw["attacks"] = [{"name": a} if isinstance(a, str) else dict(a) for a in attacks]
    return raw


def audit(
    *,
    data: Any = None,
    model: Any = None,
    training: Any = None,
    forget: Any = None,
    unlearner: Any = None,
    unlearned: Any = None,
    original: Any = None,
    reference: Any = None,
    attacks: Any = None,
    gates: Any = None,
    report: Any = None,
    execution: Any = None,
    seed: int | None = None,
    out: str | Path | None = None,
    sign: bool = True,
    progress: bool | None = None,
) -> Any:
    """Run an audit and write its report, as ``unlearn-audit run`` does for a config file.

    Every argument is optional and mirrors a config section; the defaults are the config's.

    Args:
        data: A dataset name (``"digits"``, ``"fashion_mnist"``, ...), a loader function (called with
            no arguments; give ``{"dataset": fn, "options": {...}}`` to pass some), a tuple of arrays
            ``(x, y)`` or ``(x, y, test_mask)``, or a ``data`` section mapping.
        model: An architecture name, a model factory ``f(*, in_channels, num_classes, input_shape)``, or a
            ``model`` section mapping.
        training: A training function (``auditor.train.plugin`` gives its signature), or a
            ``training`` section mapping whose ``function`` may be the function itself.
        forget: The ``forget`` section (e.g. ``{"kind": "random", "fraction": 0.1}``).
        unlearner: A method name, an :class:`unlearners.base.Unlearner` subclass, or an ``unlearner``
            section mapping (``{"name": ..., "params": {...}}``).
        unlearned: The already-unlearned model (an ``nn.Module``, a state_dict or a checkpoint path),
            audited instead of running a method.
        original: The trained original (``nn.Module``, state_dict or path); trained when absent.
        reference: The ``reference`` section (``{"seeds": 12}``).
        attacks: Attack names or ``{"name": ..., "params": ...}`` mappings (default: the default set).
        gates: The ``gates`` section.
        report: The ``report`` section (``out``, ``title``, ``formats``, ``signing``...).
        execution: The ``execution`` section (``device``, ``cache_dir``, ``executor``...).
        seed: The root seed.
        out: Output folder (default ``report.out``).
        sign: False leaves the report unsigned (the CLI's ``--no-sign``).
        progress: Progress on stderr, on by default: bars when stderr is a terminal, timestamped
            lines when it is not (a notebook, a job log); False shows nothing
            (:mod:`auditor.run.progress`).

    Returns:
        :class:`auditor.run.pipeline.AuditOutcome`: ``status`` (pass, fail, inconclusive), ``evidence``
        (the evidence.json content), ``files`` (name -> path) and ``exit_code`` (the CLI's).

    Raises:
        ConfigError: Any problem with the inputs, every one listed with its key path, before any
            work is done (the same checks as the CLI).
        AuditFailedError: A component failed; nothing that looks like a report is left behind.
    """
    from auditor.config import parse_config
    from auditor.run.pipeline import run_audit
    from auditor.run.progress import Progress

    raw = build_config(
        data=data,
        model=model,
        training=training,
        forget=forget,
        unlearner=unlearner,
        unlearned=unlearned,
        original=original,
        reference=reference,
        attacks=attacks,
        gates=gates,
        report=report,
        execution=execution,
        seed=seed,
    )
    cfg = parse_config(raw, base_dir=Path.cwd(), source="auditor.audit()")
    return run_audit(
        cfg,
        out=Path(out) if out is not None else None,
        progress=Progress(enabled=progress),
        command="auditor.audit() (Python API)",
        sign=sign,
    )
