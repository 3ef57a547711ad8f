"""Reproducible runs: fixed dates and run id, wall-clock facts kept out of the signed record.

With ``SOURCE_DATE_EPOCH`` set (the reproducible-builds.org convention), a run stamps its start and
finish with that time, derives its run id from what was audited, and moves the facts that differ
between two otherwise identical runs (durations, cache hits and corrupt entries retrained, whether a
model was trained or loaded from the cache) out of ``evidence.json`` into a ``run-log.json`` sidecar.
Two runs of the same config, data and seed then give the same evidence and byte-identical PDFs
before signing.
"""

from __future__ import annotations

import copy
import hashlib
import os
from typing import Any

from auditor.errors import ConfigError, Problem

ENV = "SOURCE_DATE_EPOCH"


def source_date_epoch(environ: dict[str, str] | None = None) -> int | None:
    """The epoch from ``SOURCE_DATE_EPOCH``, or None when unset.

    Raises:
        ConfigError: The variable is set but is not a non-negative integer.
    """
    value = (os.environ if environ is None else environ).get(ENV)
    if value is None or value == "":
        return None
    if not value.strip().isdigit():
        raise ConfigError(
            [
                Problem(
                    f"${ENV}",
                    f"expected seconds since 1970 as an integer, got {value!r}; "
                    f"unset it or use e.g. {ENV}=$(git log -1 --format=%ct)",
                )
            ]
        )
    return int(value)


def run_id(*, epoch: int, config_sha256: str, data_fingerprint: str, seed: int) -> str:
    """A run id that depends only on what was audited and the fixed date."""
    text = f"unlearn-audit/run/{epoch}/{config_sha256}/{data_fingerprint}/{seed}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def split_volatile(evidence: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split an evidence record into its reproducible part and the run's wall-clock log.

    Returns:
        ``(stable, volatile)``: ``stable`` is a copy without durations, cache counters and model
        provenance (trained now vs found in the cache: both are "seeded training"); ``volatile`` holds exactly what was removed, keyed by where
        it was.
    """
    stable = copy.deepcopy(evidence)
    volatile: dict[str, Any] = {"timings": stable.pop("timings", {})}
    cache = stable.get("cache") or {}
    volatile["cache"] = {
        k: cache.pop(k) for k in ("hits", "misses", "corrupt_retrained", "corrupt") if k in cache
    }
    method = stable.get("method") or {}
    volatile["method.runtime_s"] = method.pop("runtime_s", None)
    volatile["attacks.runtime_s"] = {a["name"]: a.pop("runtime_s", None) for a in stable.get("attacks", [])}
    volatile["controls.runtime_s"] = {c["name"]: c.pop("runtime_s", None) for c in stable.get("controls", [])}
    models = stable.get("models") or {}
    sources: dict[str, Any] = {}
    records = [(role, models.get(role) or {}) for role in ("original", "unlearned")]
    records += [(f"reference[{ref.get('index')}]", ref) for ref in models.get("references", [])]
    for where, record in records:
        if record.get("source") in ("cache", "trained"):
            sources[where] = record["source"]
            record["source"] = "seeded training"  # the cache is keyed by content, so both give the same model
    volatile["models.source"] = sources
    stable.setdefault("run", {})["reproducible"] = {
        "source_date_epoch": stable["run"].get("source_date_epoch"),
        "omitted": "durations, cache counters and trained-vs-cached provenance are in run-log.json",
    }
    return stable, volatile


__all__ = ["ENV", "run_id", "source_date_epoch", "split_volatile"]
