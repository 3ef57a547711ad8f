"""Record IDs: the names an erasure request and a declared split use for the rows of a dataset.

A loader may return one ID per row (``"ids"``: strings or integers, unique), e.g. a customer number
or a row key. An erasure request then names records by ID (``forget: {kind: ids, path:
erase.csv}``) and a declared split may list them by ID (``data.split``), which stays right when
the table is re-read in another order, where dataset indices would not.

IDs are personal data. They are read to find the rows and checked, and never written into the
evidence, the report or the forget manifest: the evidence records how many were requested and a
salted digest of the sorted list (:func:`salted_digest`), so the requester, who holds the list, can
show which list was audited without anyone else learning it. The recipe, so anyone can recompute
it: sha256 over the salt's bytes followed by every ID in sorted order (Python's string order, by
Unicode code point), each followed by a newline, UTF-8. ``unlearn-audit ids digest`` computes it.

Every ID is held as text: an integer ID ``42`` is ``"42"``, and surrounding spaces are removed. An ID
cannot be empty, hold a line break or start with ``#`` (the files here are one ID per line, with
``#`` comment lines).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SALT_BYTES = 16

INDEX_LIMIT = 2**62  # larger than any dataset; keeps every index inside int64


def read_index_file(path: Path) -> list[int]:
    """Integers, one per line; blank lines and ``#`` comments ignored.

    Raises:
        ValueError: A line is not an integer or is far outside any dataset (its line number named),
            or the file is not UTF-8 text.
        OSError: The file cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not UTF-8 text (byte offset {exc.start}); write one index per line"
        ) from None
    out = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        shown = raw.strip() if len(raw.strip()) <= 40 else raw.strip()[:40] + "..."
        try:
            value = int(line)
        except ValueError:
            raise ValueError(f"line {lineno} of {path} is not an integer index: {shown!r}") from None
        if not -INDEX_LIMIT < value < INDEX_LIMIT:
            raise ValueError(
                f"line {lineno} of {path} holds {shown!r}, far outside any dataset's indices; "
                "list dataset indices of training samples"
            ) from None
        out.append(value)
    return out


def _one(value: Any) -> str:
    """One ID as text, or ``ValueError`` saying what is wrong with it."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{value!r} is a boolean")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        raise ValueError(
            f"{value!r} is a float (convert integer IDs with astype(int), so 12.0 and 12 cannot both name a row)"
        )
    if isinstance(value, (str, np.str_)):
        text = str(value).strip()
        if not text:
            raise ValueError("an empty ID")
        if "\n" in text or "\r" in text:
            raise ValueError(f"{text[:20]!r} holds a line break")
        if text.startswith("#"):
            raise ValueError(f"{text[:20]!r} starts with '#', which the ID files read as a comment")
        return text
    raise ValueError(f"a {type(value).__name__} ({value!r:.40}); IDs are strings or integers")


def normalise_ids(values: Any, *, count: int) -> tuple[str, ...]:
    """The loader's IDs as unique text, one per row.

    Args:
        values: A sequence (list, NumPy array, tensor of integers) of strings or integers.
        count: The number of rows the IDs must match.

    Raises:
        ValueError: Wrong length, an ID that is not a string or integer (or is empty, holds a line
            break, starts with ``#``), or an ID given twice (the first few named).
    """
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ValueError(f"ids must be a sequence with one ID per row, got a {type(values).__name__}")
    if len(values) != count:
        raise ValueError(f"ids holds {len(values)} IDs for {count} rows; give one ID per row")
    out = []
    for row, value in enumerate(values.tolist() if hasattr(values, "tolist") else values):
        try:
            out.append(_one(value))
        except ValueError as exc:
            raise ValueError(f"the ID of row {row} is {exc}") from None
    repeated = [i for i, n in Counter(out).items() if n > 1]
    if repeated:
        raise ValueError(
            f"{len(repeated)} ID(s) name more than one row, e.g. {', '.join(map(repr, repeated[:5]))}; "
            "IDs must be unique (integer 12 and text '12' are the same ID)"
        )
    return tuple(out)


def read_id_file(path: Path, *, column: str | None = None) -> list[tuple[int, str]]:
    """The IDs a file lists, each with its line number.

    Without ``column``: one ID per line; blank lines and lines starting with ``#`` are skipped.
    With ``column``: a CSV file with a header row, the IDs in the named column (empty cells are
    errors).

    Raises:
        ValueError: Not UTF-8 text, no such column, or an empty cell (its line named).
        OSError: The file cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text (byte offset {exc.start}); save it as UTF-8") from None
    if column is None:
        return [
            (lineno, line.strip())
            for lineno, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.strip().startswith("#")
        ]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path} is empty; a CSV file with a header row holding {column!r} was expected")
    names = [h.strip() for h in header]
    if column not in names:
        from auditor.registry import suggest

        raise ValueError(
            f"{path} has no column {column!r}.{suggest(column, names)} Its columns: {', '.join(names)}"
        )
    at = names.index(column)
    out = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        lineno = reader.line_num
        cell = row[at].strip() if at < len(row) else ""
        if not cell:
            raise ValueError(f"line {lineno} of {path} has no value in column {column!r}")
        out.append((lineno, cell))
    return out


def salted_digest(ids: Iterable[str], salt: bytes) -> str:
    """sha256 over ``salt`` then each ID in sorted order followed by a newline (UTF-8)."""
    h = hashlib.sha256(salt)
    for record in sorted(ids):
        h.update(record.encode("utf-8") + b"\n")
    return h.hexdigest()


def new_salt(*, reproducible_from: str | None = None) -> bytes:
    """A fresh random salt, or, in reproducible mode, one derived from ``reproducible_from``.

    Reproducible runs (``SOURCE_DATE_EPOCH``) must write identical evidence, so their salt comes
    from what defines the run (its epoch, config and data); it still differs between audits, so no
    table of digests computed for one audit serves another.
    """
    if reproducible_from is not None:
        return hashlib.sha256(b"unlearn-audit/ids-salt|" + reproducible_from.encode()).digest()[:SALT_BYTES]
    return os.urandom(SALT_BYTES)


def ids_record(ids: Sequence[str], salt: bytes) -> dict[str, Any]:
    """The evidence's ``data.forget.ids``: how many IDs, the salt and the salted digest; never the IDs."""
    return {"count": len(ids), "salt": salt.hex(), "salted_sha256": salted_digest(ids, salt)}
