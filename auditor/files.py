"""Atomic file writes: a temporary file in the same folder, fsync, then a rename.

At the bottom of the engine, so the model cache, the signing keys and the run's outputs write the
same way without importing the orchestration.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from auditor.errors import OutputError


def write_failed(path: Path, exc: OSError) -> OutputError:
    """One-line error for a failed write (disk full, read-only folder), naming the file."""
    return OutputError(
        f"could not write {path}: {exc.strerror or exc}. Free space or choose a writable folder, "
        "then run again."
    )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise write_failed(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise write_failed(path, exc) from exc
        raise
