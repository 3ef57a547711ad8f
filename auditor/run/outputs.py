"""Atomic outputs: a run writes into a hidden staging folder and publishes it at the end.

A crashed or interrupted run never leaves files that look like a finished report: until
:meth:`Staging.publish`, everything sits in ``OUT/.staging-<id>/``, which is removed on failure.
Publishing first takes away the previous run's ``evidence.json`` and every other file the tool
writes (:data:`RUN_ARTIFACTS`) that the new run did not produce, then renames each new file into
place (``os.replace``, atomic per file) with ``evidence.json`` last, so a folder holding an
``evidence.json`` holds the report that goes with it and nothing from an earlier run. Files with
other names (the user's own) are never touched.

A run killed with SIGKILL cannot remove its staging folder; the next run into the same folder
does (:func:`stale_staging`): a folder whose owner file names this host and a process that no
longer exists, or, when the owner is unknown (another host, or no owner file), one untouched
for :data:`STALE_AFTER_S` (24 hours), longer than any audit runs. A folder of a live run is kept.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from auditor.errors import ConfigError, OutputError, Problem
from auditor.files import write_failed

PUBLISH_LAST = "evidence.json"
# Every file ``unlearn-audit run`` may publish into an output folder. A new artifact must be added here,
# or an earlier run's copy of it would survive next to a newer evidence.json.
RUN_ARTIFACTS = (
    "report.html",
    "report.pdf",
    "evidence.json",
    "evidence.intoto.json",
    "run-log.json",
    "forget_manifest.txt",
    "unlearned.pt",
    "signer-test.cert.pem",
    "signer-test-ca.pem",
)
STAGING_PREFIX = ".staging-"
OWNER_FILE = ".owner.json"
STALE_AFTER_S = 24 * 3600.0


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (a reused id counts as alive: the safe side)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _newest_mtime(folder: Path) -> float:
    """The latest modification time of ``folder`` and anything in it."""
    newest = folder.stat().st_mtime
    for child in folder.rglob("*"):
        try:
            newest = max(newest, child.stat().st_mtime)
        except OSError:
            continue
    return newest


def stale_staging(out: Path, *, now: float | None = None, host: str | None = None) -> list[Path]:
    """Staging folders in ``out`` that no running audit owns (see the module docstring for the rule).

    Args:
        out: The output folder.
        now: The current time (tests).
        host: This host's name (tests).
    """
    now = time.time() if now is None else now
    host = socket.gethostname() if host is None else host
    found = []
    for folder in sorted(out.glob(f"{STAGING_PREFIX}*")):
        try:
            if not folder.is_dir() or folder.is_symlink():
                continue
            try:
                owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
                pid, owner_host = int(owner["pid"]), str(owner["host"])
            except (OSError, ValueError, KeyError, TypeError):
                pid, owner_host = None, None
            if pid is not None and owner_host == host:
                if not _pid_alive(pid):
                    found.append(folder)
            elif now - _newest_mtime(folder) > STALE_AFTER_S:
                found.append(folder)
        except OSError:
            continue
    return found


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove the staging folders of killed runs in ``out`` (best effort); returns those removed."""
    removed = []
    for folder in stale_staging(out):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def check_writable(out: Path, *, key: str = "report.out") -> list[Problem]:
    """Problems that would stop outputs from being written to ``out`` (checked before any work)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return [
            Problem(
                key,
                f"cannot write to output folder {out}: {exc.strerror or exc}. "
                "Choose another folder with --out or report.out.",
            )
        ]
    return []


class Staging:
    """A staging folder inside the output folder, owned by this process.

    Creating one first removes the staging folders of killed runs (:func:`remove_stale_staging`),
    then writes an owner file (host, pid, start time) so that later runs can tell this one is live.
    """

    def __init__(self, out: Path, run_id: str) -> None:
        self.out = out
        problems = check_writable(out)
        if problems:
            raise ConfigError(problems)
        self.removed_stale = remove_stale_staging(out)
        self.dir = out / f"{STAGING_PREFIX}{run_id}"
        try:
            self.dir.mkdir(parents=True, exist_ok=False)
            owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
            (self.dir / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
        except OSError as exc:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise write_failed(self.dir, exc) from exc
        self.files: list[str] = []

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise write_failed(path, exc) from exc
        if name not in self.files:
            self.files.append(name)
        return path

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def stale_artifacts(self) -> list[Path]:
        """Files of an earlier run in the output folder that this run does not replace."""
        return [
            self.out / name
            for name in RUN_ARTIFACTS
            if name not in self.files and (self.out / name).is_file() and not (self.out / name).is_symlink()
        ]

    def publish(self) -> dict[str, Path]:
        """Move every staged file into the output folder; ``evidence.json`` goes last.

        The earlier run's ``evidence.json`` is removed first and its other artifacts that this run
        does not write next, so no moment shows an ``evidence.json`` beside files of another run.
        """
        order = [f for f in self.files if f != PUBLISH_LAST] + [f for f in self.files if f == PUBLISH_LAST]
        published = {}
        try:
            (self.out / PUBLISH_LAST).unlink(missing_ok=True)
            for old in self.stale_artifacts():
                old.unlink(missing_ok=True)
            for name in order:
                target = self.out / name
                os.replace(self.dir / name, target)
                published[name] = target
        except OSError as exc:
            raise OutputError(f"could not publish outputs into {self.out}: {exc.strerror or exc}") from exc
        finally:
            self.discard()
        return published

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
