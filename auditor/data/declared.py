"""A declared split: the rows the user's original was trained on, and the rows it never saw.

The audit draws its own split from the seed unless told otherwise. A model trained before the
audit was trained on the team's own split, and only that split makes the audit valid: a forget
record must be a training row, and a held-out row must never have been trained on. So the user
can declare it, in one of two ways:

* the loader returns ``train_mask`` with ``test_mask`` and/or ``population_mask``, or ``split`` (a
  name per row; :mod:`auditor.data.plugin`): ``split_source`` ``loader``;
* ``data.split`` names files listing the rows, by record ID or by dataset index: ``split_source``
  ``files``. :func:`write_split_files` writes them for any split (``unlearn-audit split export``),
  so a team can also train its original on exactly the split the audit would draw.

Either way ``train`` is given and at least one of ``population`` and ``test``; the rows nothing
names go to the one left out, and with all three given they are not used. The split is checked
before anything trains: the parts are disjoint and none is empty, and ``test`` and
``population`` each hold at least :data:`MIN_HELD_OUT` rows. The forget request is checked
against it by :mod:`auditor.data.splits` (every forget record a training row), and
:func:`held_out_problems` checks that enough held-out rows share the forget set's classes.

A file of dataset indices carries the fingerprint of the dataset it was written for (a ``#``
comment line): indices are positions, and against other data they name other rows, so a
mismatch is an error. IDs name the same rows whatever the order, so ID files carry none.

This module reads the config through the :class:`SplitFiles` protocol, never the config schema.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from auditor.data.datasets import LoadedData
from auditor.data.records import read_id_file, read_index_file
from auditor.errors import Problem

MIN_HELD_OUT = 10
"""Fewest rows a declared test or population split may hold: the attacks compare the forget records
with held-out rows, and some methods read the population."""

PARTS = ("train", "population", "test")
FINGERPRINT_PREFIX = "# dataset fingerprint: "


class SplitFiles(Protocol):
    """The files of a declared split (the config's ``data.split`` section has these attributes)."""

    @property
    def train(self) -> Path:
        """The rows the original was trained on."""

    @property
    def population(self) -> Path | None:
        """Rows never trained on (population)."""

    @property
    def test(self) -> Path | None:
        """Held-out test rows."""

    @property
    def by(self) -> str | None:
        """``id``, ``index``, or None: IDs when the dataset has them."""


@dataclass(frozen=True)
class Declared:
    """A declared split: sorted dataset indices of each part, and where it came from.

    Attributes:
        train: The rows the original was trained on.
        test: Held-out rows.
        population: Rows never trained on.
        source: ``loader`` or ``files``.
        unused: Rows no part names.
    """

    train: np.ndarray
    test: np.ndarray
    population: np.ndarray
    source: str
    unused: int


def _shown(values: Sequence[object] | np.ndarray, limit: int = 5) -> str:
    return ", ".join(repr(v) for v in list(values)[:limit])


def by_ids(files: SplitFiles, data: LoadedData) -> bool:
    """Whether the split files name rows by record ID (``by: id``, or the default with a dataset that has IDs)."""
    return files.by == "id" or (files.by is None and data.ids is not None)


def read_rows(
    path: Path, data: LoadedData, *, key: str, ids: bool
) -> tuple[np.ndarray | None, list[Problem]]:
    """The dataset indices a split file lists, or the problems with it (all under ``key``)."""
    listed: list[str] | list[int]
    try:
        if ids:
            listed = [value for _, value in read_id_file(path)]
        else:
            text = path.read_text(encoding="utf-8")
            listed = read_index_file(path)
    except OSError as exc:
        return None, [Problem(key, f"cannot read {path}: {exc.strerror or exc}")]
    except ValueError as exc:
        return None, [Problem(key, str(exc))]
    problems: list[Problem] = []
    if not ids:
        marks = [
            line[len(FINGERPRINT_PREFIX) :].strip()
            for line in text.splitlines()
            if line.startswith(FINGERPRINT_PREFIX)
        ]
        if marks and marks[0] != data.fingerprint:
            problems.append(
                Problem(
                    key,
                    f"{path} lists dataset indices of another dataset (fingerprint {marks[0][:16]}..., this one "
                    f"{data.fingerprint[:16]}...): indices are positions and would name other rows. Export the "
                    "split again from this data, or name rows by record ID (a loader's ids)",
                )
            )
    values, counts = np.unique(np.asarray(listed, dtype=object if ids else np.int64), return_counts=True)
    if (counts > 1).any():
        problems.append(
            Problem(
                key,
                f"{int((counts > 1).sum())} row(s) listed twice in {path}, e.g. {_shown(values[counts > 1])}",
            )
        )
    if ids:
        position = {record: i for i, record in enumerate(data.ids or ())}
        unknown = [v for v in values if v not in position]
        if unknown:
            problems.append(
                Problem(
                    key,
                    f"{len(unknown)} ID(s) in {path} are not among the loader's {len(position)} record IDs, e.g. "
                    f"{_shown(unknown)}",
                )
            )
        found = np.asarray([position[v] for v in values if v in position], dtype=np.int64)
    else:
        n = len(data)
        outside = values[(values < 0) | (values >= n)]
        if len(outside):
            problems.append(
                Problem(
                    key,
                    f"{len(outside)} index(es) in {path} are outside 0..{n - 1}, e.g. {_shown(outside.tolist())}",
                )
            )
        found = values[(values >= 0) & (values < n)].astype(np.int64)
    if not problems and len(found) == 0:
        problems.append(Problem(key, f"{path} lists no rows"))
    return (None if problems else np.sort(found)), problems


def _names(data: LoadedData, rows: np.ndarray, ids: bool) -> list[object]:
    return [data.ids[i] for i in rows] if ids and data.ids is not None else rows.tolist()


def declared_split(data: LoadedData, files: SplitFiles | None) -> tuple[Declared | None, list[Problem]]:
    """The declared split (from ``files``, else from the loader's masks), None when nothing is declared.

    Raises nothing: every problem is returned, located at ``data.split.<part>`` for files and at
    ``data.dataset`` for a loader's masks.
    """
    n = len(data)
    parts: dict[str, np.ndarray | None]
    if files is not None:
        if data.train_mask is not None:
            return None, [
                Problem(
                    "data.split",
                    "the loader declares the split (train_mask or split) and data.split names files: keep one",
                )
            ]
        if files.by == "id" and data.ids is None:
            return None, [
                Problem(
                    "data.split.by",
                    "by: id reads record IDs, and the loader returns none; return 'ids' from the loader, or name "
                    "rows by dataset index (by: index)",
                )
            ]
        ids = by_ids(files, data)
        parts, problems = {}, list[Problem]()
        for part in PARTS:
            path = getattr(files, part)
            if path is None:
                parts[part] = None
                continue
            rows, found = read_rows(Path(path), data, key=f"data.split.{part}", ids=ids)
            parts[part], problems = rows, problems + found
        if problems:
            return None, problems
        source, where = "files", "data.split"
    elif data.train_mask is not None:
        masks = {"train": data.train_mask, "population": data.population_mask, "test": data.test_mask}
        parts = {k: None if m is None else np.flatnonzero(m).astype(np.int64) for k, m in masks.items()}
        ids, source, where = data.ids is not None, "loader", "data.dataset"
    else:
        return None, []
    return _complete(data, parts, source=source, where=where, ids=ids, n=n)


def _complete(
    data: LoadedData, parts: dict[str, np.ndarray | None], *, source: str, where: str, ids: bool, n: int
) -> tuple[Declared | None, list[Problem]]:
    """Fill the part left out with the rows nothing names, and check the parts are disjoint and large enough."""

    def key(part: str) -> str:
        return f"{where}.{part}" if where == "data.split" else where

    given = {k: v for k, v in parts.items() if v is not None}
    problems = []
    for i, a in enumerate(PARTS):
        for b in PARTS[i + 1 :]:
            if a in given and b in given:
                both = np.intersect1d(given[a], given[b])
                if len(both):
                    problems.append(
                        Problem(
                            key(b),
                            f"{len(both)} row(s) are declared both {a} and {b}, e.g. {_shown(_names(data, both, ids))}; a "
                            "row the original trained on cannot be held out, and a held-out row belongs to one part",
                        )
                    )
    if problems:
        return None, problems
    named = np.unique(np.concatenate(list(given.values()))) if given else np.empty(0, dtype=np.int64)
    rest = np.setdiff1d(np.arange(n, dtype=np.int64), named)
    missing = [k for k in PARTS if k not in given]
    out = dict(given)
    if missing:
        out[missing[0]] = rest
    unused = 0 if missing else int(len(rest))
    counts = {k: int(len(out[k])) for k in PARTS}
    if counts["train"] == 0:
        problems.append(Problem(key("train"), "the declared training split is empty"))
    for part in ("test", "population"):
        if counts[part] < MIN_HELD_OUT:
            left = " (the rows no other part names)" if part in missing else ""
            problems.append(
                Problem(
                    key(part),
                    f"the declared {part} split holds {counts[part]} row(s){left}; it needs at least "
                    f"{MIN_HELD_OUT}: the attacks compare the forget records with held-out rows, and methods "
                    f"read the population. Of the {n} rows, {counts['train']} are declared train, "
                    f"{counts['test']} test and {counts['population']} population",
                )
            )
    if problems:
        return None, problems
    return (
        Declared(
            train=np.sort(out["train"]),
            test=np.sort(out["test"]),
            population=np.sort(out["population"]),
            source=source,
            unused=unused,
        ),
        [],
    )


def held_out_problems(
    data: LoadedData, forget: np.ndarray, test: np.ndarray, population: np.ndarray, *, where: str
) -> list[Problem]:
    """A problem when fewer than :data:`MIN_HELD_OUT` held-out rows share the forget set's classes.

    Membership attacks compare the forget records with held-out rows of the same classes; a declared
    split can leave none (a seeded split is stratified and cannot).
    """
    y = data.y.numpy()
    classes = np.unique(y[forget])
    held = np.union1d(test, population)
    same = int(np.isin(y[held], classes).sum())
    if same >= MIN_HELD_OUT:
        return []
    return [
        Problem(
            where,
            f"only {same} held-out row(s) (test and population) share the classes of the {len(forget)} forget "
            f"records ({', '.join(map(str, classes[:10].tolist()))}); the membership attacks need at least "
            f"{MIN_HELD_OUT} as non-members: hold out more rows of these classes",
        )
    ]


def write_split_files(
    data: LoadedData, parts: dict[str, np.ndarray], folder: Path, *, ids: bool, note: str
) -> dict[str, Path]:
    """Write ``train.txt``, ``population.txt`` and ``test.txt`` (one row per line) into ``folder``, atomically.

    Rows are named by record ID when ``ids`` (the dataset must have them), else by dataset index,
    with the dataset's fingerprint in a comment line. ``data.split`` reads the files back.

    Returns:
        Part name -> the file written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for part in PARTS:
        rows = np.sort(parts[part])
        header = [
            f"# unlearn-audit split: {part}, {len(rows)} rows by {'record ID' if ids else 'dataset index'}",
            f"# {note}",
        ]
        if not ids:
            header.append(FINGERPRINT_PREFIX + data.fingerprint)
        names = sorted(map(str, _names(data, rows, True))) if ids else rows.tolist()
        text = "\n".join(header + [str(v) for v in names]) + "\n"
        path = folder / f"{part}.txt"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{part}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written[part] = path
    return written
