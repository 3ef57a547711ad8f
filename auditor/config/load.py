"""Reading a config file: UTF-8 text, hardened YAML, ``--set`` overrides, and located errors.

YAML is composed with limits against alias bombs, and pydantic errors become problems located by
key path and YAML line.

Nothing here knows the schema's sections or a plugin: :func:`problems_from` takes any pydantic
model, and :func:`yaml_line` any composed YAML tree.
"""

from __future__ import annotations

import codecs
import re
import sys
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from auditor.errors import ConfigError, Problem
from auditor.registry import suggest


def yaml_line(root: yaml.Node | None, loc: tuple[Any, ...], *, key: bool = False) -> int | None:
    """1-based line of the node at ``loc`` in a composed YAML tree (the key's line if ``key``)."""
    node = root
    line = None
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line
            last = i == len(loc) - 1
            line = (match[0] if key and last else match[1]).start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line if line is not None else (node.start_mark.line + 1 if node is not None else None)


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that holds the keys at ``loc`` (for close-match suggestions)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
        for arg in typing.get_args(current) or ():
            if isinstance(arg, type) and issubclass(arg, BaseModel) or typing.get_origin(arg) is list:
                current = arg
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def problems_from(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    prefix: tuple[Any, ...] = (),
    tree: yaml.Node | None = None,
) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into located, human-sized problems."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        full = prefix + loc
        path = ".".join(str(p) for p in full)
        if err["type"] == "extra_forbidden":
            parent = model_at(model, loc[:-1])
            hint = suggest(str(loc[-1]), sorted(parent.model_fields)) if parent else ""
            allowed = f" Allowed keys: {', '.join(sorted(parent.model_fields))}." if parent else ""
            msg = f"unknown key {loc[-1]!r}.{hint}{allowed if not hint else ''}"
            out.append(Problem(path, msg, yaml_line(tree, full, key=True)))
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "literal_error" and isinstance(err.get("input"), str):
            expected = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
            msg += suggest(err["input"], expected)
        elif "input" in err and err["type"] not in ("missing", "value_error", "model_type"):
            shown = repr(err["input"])
            msg += f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
        out.append(Problem(path, msg, yaml_line(tree, full)))
    return out


# --------------------------------------------------------------------------------------------------
# Reading YAML safely
#
# ``yaml.safe_load`` executes no code, but it expands aliases: a 530-byte file of ten nested
# ``&a [*a, *a, ...]`` levels ("billion laughs") describes 10^10 values, and validating it exhausts
# memory. Configs are small, so aliases stay allowed within two limits, checked on the composed
# node graph before any Python object is built: at most MAX_ALIASES alias uses, and at most
# MAX_EXPANDED_NODES nodes once every alias is expanded (each scalar, list and mapping counts as
# one). A recursive alias (a value containing itself) is refused.

MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _YamlLimitError(yaml.YAMLError):
    """A document that breaks one of the alias limits."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that stops composing after :data:`MAX_ALIASES` alias uses."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_uses = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_uses += 1
            if self.alias_uses > MAX_ALIASES:
                raise _YamlLimitError(
                    f"more than {MAX_ALIASES} alias uses (*name); configs this tool reads need "
                    "far fewer: write the values out",
                    self.peek_event().start_mark,
                )
        return super().compose_node(parent, index)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node | None, *, limit: int = MAX_EXPANDED_NODES) -> int:
    """Nodes in ``root`` with every alias expanded, counted without expanding anything.

    Shared (aliased) nodes are counted once per use through a memo, so the count costs one visit
    per distinct node. Counting stops just past ``limit``.

    Raises:
        _YamlLimitError: A node contains itself through an alias (a recursive structure).
    """
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in active:
            raise _YamlLimitError(
                "a recursive alias (a value that contains itself); write the values out", node.start_mark
            )
        active.add(key)
        total = 1
        for child in _children(node):
            total += size(child)
            if total > limit:
                break
        active.discard(key)
        memo[key] = min(total, limit + 1)
        return memo[key]

    return 0 if root is None else size(root)


def duplicate_key_problems(root: yaml.Node | None) -> list[Problem]:
    """A problem for every mapping key given twice (YAML keeps the last value without a word)."""
    problems: list[Problem] = []
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                walk(child, (*path, str(i)))
            return
        if not isinstance(node, yaml.MappingNode):
            return
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                ident, line = (key.tag, key.value), key.start_mark.line + 1
                if ident in first:
                    problems.append(
                        Problem(
                            ".".join((*path, name)),
                            f"duplicate key {name!r} (first on line "
                            f"{first[ident]}): YAML keeps only the last value; remove one of them",
                            line,
                        )
                    )
                else:
                    first[ident] = line
            walk(value, (*path, name))

    if root is not None:
        walk(root, ())
    return problems


def read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Compose, check and construct one YAML document with the alias limits above.

    Returns:
        (the composed node tree, for line numbers; the constructed data).

    Raises:
        ConfigError: Not valid YAML, too deeply nested, or over an alias limit (one problem, located
            by line when known).
    """
    loader = None
    try:
        loader = _ConfigLoader(text)  # the reader already refuses control characters here
        tree = loader.get_single_node()
        if expanded_size(tree) > MAX_EXPANDED_NODES:
            raise _YamlLimitError(
                f"aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?); "
                "write the values out or use fewer aliases"
            )
        data = loader.construct_document(tree) if tree is not None else None
    except _YamlLimitError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError([Problem("", f"YAML refused: {exc.problem}", line)]) from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a multi-line str()
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        raise ConfigError(
            [
                Problem(
                    "",
                    f"not valid YAML: character #x{exc.character:04x} is not allowed "
                    "(a control character); remove it",
                    line,
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(str(getattr(exc, "problem", None) or exc).split())  # always one line
        raise ConfigError([Problem("", f"not valid YAML: {detail}", line)]) from None
    except RecursionError:
        raise ConfigError(
            [Problem("", "not usable YAML: nested too deeply; flatten the structure")]
        ) from None
    except (
        Exception
    ) as exc:  # a tagged scalar that does not convert (!!int x, !!timestamp x) fails in many ways
        detail = " ".join(str(exc).split())
        raise ConfigError([Problem("", f"not valid YAML: {type(exc).__name__}: {detail}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return tree, data


def decode_config_bytes(raw: bytes) -> str:
    """The text of a config file, which must be UTF-8 (a UTF-8 byte-order mark is allowed).

    Raises:
        ConfigError: UTF-16/UTF-32 text or bytes that are not UTF-8 (says where and how to fix it).
    """
    wide = {
        codecs.BOM_UTF32_LE: "UTF-32",
        codecs.BOM_UTF32_BE: "UTF-32",
        codecs.BOM_UTF16_LE: "UTF-16",
        codecs.BOM_UTF16_BE: "UTF-16",
    }
    for bom, name in wide.items():
        if raw.startswith(bom):
            raise ConfigError([Problem("", f"the file is {name} text; save it as UTF-8")])
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ConfigError(
            [
                Problem(
                    "",
                    "the file holds NUL bytes (UTF-16 text or a binary file?); save it as UTF-8 text",
                    line,
                )
            ]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [
                Problem(
                    "",
                    f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} cannot "
                    "be decoded; save the file as UTF-8",
                    line,
                )
            ]
        ) from None


def read_config_file(path: Path) -> tuple[yaml.Node | None, Any]:
    """Read, decode and parse one config file with the limits of :func:`read_yaml`.

    Returns:
        (the composed node tree, for line numbers; the constructed data).

    Raises:
        ConfigError: The file is unreadable, not UTF-8, not valid YAML or over the alias limits
            (its ``source`` is the file name).
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [Problem("", f"cannot read the config file: {exc.strerror or exc}")], source=source
        ) from None
    try:
        return read_yaml(decode_config_bytes(raw))
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=source) from None


def importable_beside(folder: Path) -> None:
    """Let ``package.module:name`` references name modules that sit next to the config file.

    That is where the user's own package (model.arch, training.function, a dataset loader,
    plugins) usually is.

    The folder goes at the *end* of ``sys.path``, so it never shadows an installed package or the
    standard library; spawned worker processes inherit it.
    """
    entry = str(folder)
    if entry not in sys.path:
        sys.path.append(entry)


_OVERRIDE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*")


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--set``) as a mapping of dotted keys to YAML-parsed values.

    Raises:
        ConfigError: Listing every item that is not ``KEY=VALUE``, whose key is not a dotted path of
            names and list indices, or whose value is not valid YAML (the alias limits apply).
    """
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(
                Problem("--set", f"expected KEY=VALUE, got {item!r}; e.g. --set unlearner.name=retrain")
            )
            continue
        if not _OVERRIDE_KEY.fullmatch(key):
            problems.append(
                Problem(
                    key,
                    f"--set {item!r}: the key must be dotted names and list indices, e.g. "
                    "training.epochs or attacks.0.name",
                )
            )
            continue
        try:
            out[key] = read_yaml(raw)[1]
        except ConfigError as exc:
            detail = exc.problems[0].message
            problems.append(Problem(key, f"--set {item!r}: {detail}; quote the value or fix the YAML"))
    if problems:
        raise ConfigError(problems, source="--set")
    return out


def set_dotted(data: dict[str, Any], key: str, value: Any) -> list[Problem]:
    """Set ``data[a][b]...`` for the dotted ``key`` (integer parts index lists); the problems that stop it.

    Missing mappings on the way are created; an existing scalar or a list index out of range is a
    problem (the config is left unchanged).
    """
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[:depth]) or "the config"
        if isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        elif isinstance(node, list) and part.isdigit():
            index = int(part)
            if index >= len(node):
                return [
                    Problem(
                        key,
                        f"--set {key}: {where} has {len(node)} entr{'y' if len(node) == 1 else 'ies'}, "
                        f"so index {index} does not exist; add the entry in the config file",
                    )
                ]
            if last:
                node[index] = value
            else:
                node = node[index]
        else:
            shown = repr(node)
            shown = shown[:40] + "..." if len(shown) > 40 else shown
            kind = "a list (use an index, e.g. .0)" if isinstance(node, list) else f"the value {shown}"
            return [Problem(key, f"--set {key}: {where} is {kind}, not a section, so it has no key {part!r}")]
    return []
