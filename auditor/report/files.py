"""Write a file that others read (JUnit, Markdown summary, a re-rendered report): atomic, mode 0644.

A CI runner, an artefact uploader or a reviewer's account reads these files, often as another user,
so they are world-readable (``rw-r--r--``) whatever the process umask and the temporary file's
mode (``mkstemp`` creates files ``0600``). The write goes through a temporary file in the same
folder and a rename, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from auditor.errors import OutputError

PUBLIC_MODE = 0o644


def write_public(path: Path, data: bytes, *, mode: int = PUBLIC_MODE) -> None:
    """Write ``data`` to ``path`` atomically, with permissions ``mode`` (default ``0644``).

    Raises:
        OutputError: The folder cannot be created or written (disk full, read-only, vanished);
            one line naming the file and how to fix it. No temporary file is left behind.
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputError(
            f"could not write {path}: {exc.strerror or exc}. Free space or choose a writable folder and run again."
        ) from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


__all__ = ["PUBLIC_MODE", "write_public"]
