"""Atomic outputs: a run writes into a hidden staging folder and publishes it at the end.

A crashed or interrupted run never leaves files that look like a finished report: until
:meth:`Staging.publish`, everything sits in ``OUT/.staging-<id>/``, which is removed on failure.
Publishing renames each file into place (``os.replace``, atomic per file) with ``evidence.json``
last, so a folder holding an ``evidence.json`` holds the report that goes with it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from auditor.errors import ConfigError, OutputError, Problem

PUBLISH_LAST = "evidence.json"


def check_writable(out: Path, *, key: str = "report.out") -> list[Problem]:
    """Problems that would stop outputs from being written to ``out`` (checked before any work)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return [Problem(key, f"cannot write to output folder {out}: {exc.strerror or exc}. "
                             "Choose another folder with --out or report.out.")]
    return []


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Staging:
    """A staging folder inside the output folder."""

    def __init__(self, out: Path, run_id: str) -> None:
        self.out = out
        problems = check_writable(out)
        if problems:
            raise ConfigError(problems)
        self.dir = out / f".staging-{run_id}"
        self.dir.mkdir(parents=True, exist_ok=False)
        self.files: list[str] = []

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        if name not in self.files:
            self.files.append(name)
        return path

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def publish(self) -> dict[str, Path]:
        """Move every staged file into the output folder; ``evidence.json`` goes last."""
        order = [f for f in self.files if f != PUBLISH_LAST] + [f for f in self.files if f == PUBLISH_LAST]
        published = {}
        try:
            for name in order:
                target = self.out / name
                os.replace(self.dir / name, target)
                published[name] = target
        except OSError as exc:
            raise OutputError(f"could not publish outputs into {self.out}: {exc}") from exc
        finally:
            self.discard()
        return published

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
