"""``--set`` overrides applied to a config file's mapping, switching a choice cleanly.

A key that chooses *what* a section describes (the method, an attack, the forget kind, the
dataset) owns the keys beside it that only make sense for that choice: ``unlearner.params`` are
the old method's hyperparameters, ``forget.classes`` belong to ``kind: class``. So
``--set unlearner.name=noop`` on a config written for ``finetune`` drops the file's
``unlearner.params`` (``noop`` takes none, and ``finetune``'s ``epochs`` would be an unknown key),
unless the same command line sets them too. Each dropped key is reported as a note, so nothing
changes silently. Only keys that the command line changes trigger a switch; the file itself is
validated as written.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.config.load import set_dotted
from auditor.errors import Problem

# The choosing key (a dotted path; ``N`` stands for a list index) -> the keys beside it that
# belong to the old choice. Forget kinds keep what the new kind also takes (see _FORGET_FIELDS).
SWITCHES: dict[str, tuple[str, ...]] = {
    "unlearner.name": ("params", "checkpoint"),
    "unlearner.checkpoint": ("name", "params"),
    "attacks.N.name": ("params",),
    "forget.kind": ("classes", "fraction", "count", "path", "target", "trigger", "by", "column"),
    "data.dataset": ("options", "root", "path", "image_size", "mnist1d", "split"),
}

# The forget fields each kind takes (the schema's ForgetConfig refuses the others).
_FORGET_FIELDS: dict[str, frozenset[str]] = {
    "class": frozenset({"classes"}),
    "random": frozenset({"fraction", "count"}),
    "indices": frozenset({"path", "by", "column"}),
    "ids": frozenset({"path", "by", "column"}),
    "backdoor": frozenset({"fraction", "count", "target", "trigger"}),
}

_INDEX = re.compile(r"\.\d+\.")


def _get(data: Any, parts: list[str]) -> Any:
    node = data
    for part in parts:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> tuple[list[Problem], list[str]]:
    """Set each dotted key of ``overrides`` in ``data`` (in place), dropping what a switched choice owned.

    Returns:
        (the problems that stopped an override, e.g. an index past the end of a list; one note per
        dropped key, saying what was dropped and why).
    """
    problems: list[Problem] = []
    notes: list[str] = []
    given = set(overrides)
    for key, value in overrides.items():
        pattern = _INDEX.sub(".N.", key)
        owned = SWITCHES.get(pattern)
        parts = key.split(".")
        old = _get(data, parts)
        section = _get(data, parts[:-1])
        if owned and isinstance(section, dict) and old != value and value is not None:
            if pattern == "forget.kind":
                keep = _FORGET_FIELDS.get(str(value), frozenset())
                owned = tuple(k for k in owned if k not in keep)
            prefix = ".".join(parts[:-1])
            for sibling in owned:
                if section.get(sibling) in (None, {}, []) or f"{prefix}.{sibling}" in given:
                    continue
                why = (
                    f"it belongs to {parts[-1]} {old!r}"
                    if old is not None
                    else f"it does not go with {parts[-1]}"
                )
                notes.append(
                    f"--set {key}={value}: dropped {prefix}.{sibling} {_short(section[sibling])} from the file "
                    f"({why}); set it too if you meant to keep it"
                )
                del section[sibling]
        problems += set_dotted(data, key, value)
    return problems, notes
