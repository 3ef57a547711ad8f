"""Listing and pruning the model cache (``unlearn-audit cache ls|prune``), without importing torch."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

DAY_S = 86400.0


def default_cache_dir() -> Path:
    """``$UNLEARN_AUDIT_CACHE``, else ``$XDG_CACHE_HOME/unlearn-audit``, else ``~/.cache/unlearn-audit``."""
    env = os.environ.get("UNLEARN_AUDIT_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "unlearn-audit"


@dataclass(frozen=True)
class CacheEntry:
    """One cached model: its key, files, size, age and what it is (from its spec file)."""

    key: str
    path: Path
    size_bytes: int
    modified: float
    role: str
    arch: str
    seed: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "modified": self.modified,
            "role": self.role,
            "arch": self.arch,
            "seed": self.seed,
        }


def entries(root: Path) -> list[CacheEntry]:
    """Every model under ``root/models``, newest first."""
    out = []
    for pt in sorted((Path(root) / "models").glob("*/*.pt")):
        try:
            spec = json.loads(pt.with_suffix(".json").read_text())
        except (OSError, ValueError):
            spec = {}
        stat = pt.stat()
        out.append(
            CacheEntry(
                key=pt.stem,
                path=pt,
                size_bytes=stat.st_size,
                modified=stat.st_mtime,
                role=str(spec.get("role", "model")),
                arch=str(spec.get("arch", "?")),
                seed=spec.get("seed"),
            )
        )
    return sorted(out, key=lambda e: e.modified, reverse=True)


def select(
    found: list[CacheEntry], *, older_than_days: float | None, everything: bool, now: float | None = None
) -> list[CacheEntry]:
    """The entries a prune would remove: all, or those last written more than N days ago."""
    if everything:
        return list(found)
    if older_than_days is None:
        return []
    cutoff = (time.time() if now is None else now) - older_than_days * DAY_S
    return [e for e in found if e.modified < cutoff]


def remove(chosen: list[CacheEntry]) -> int:
    """Delete the chosen entries (model and spec files); returns the bytes freed."""
    freed = 0
    for e in chosen:
        freed += e.size_bytes
        e.path.unlink(missing_ok=True)
        e.path.with_suffix(".json").unlink(missing_ok=True)
    return freed


__all__ = ["CacheEntry", "default_cache_dir", "entries", "remove", "select"]
