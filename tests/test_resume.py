"""A run killed during shadow training and started again reuses every shadow it had finished.

Shadows are trained (batched) in chunks of ``BATCH_CHUNK`` and each chunk is stored in the model
cache as soon as it finishes; this test kills a real ``unlearn-audit run`` with SIGKILL once the
first chunk is on disk and checks what the second run trains.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from auditor.train.shadows import BATCH_CHUNK

pytestmark = pytest.mark.e2e
EXE = Path(sys.executable).parent / "unlearn-audit"
SHADOWS = 2 * BATCH_CHUNK


def shadow_entries(cache: Path) -> int:
    specs = (json.loads(p.read_text()) for p in (cache / "models").glob("*/*.json"))
    return sum(s.get("role") == "shadow" for s in specs)


def test_killed_run_resumes_from_finished_shadows(tmp_path):
    cache = tmp_path / "cache"
    cfg = {
        "seed": 3,
        "model": {"arch": "mlp"},
        "training": {"epochs": 60, "batch_size": 64, "optimizer": "adam", "lr": 0.003, "weight_decay": 0.0},
        "forget": {"kind": "class", "classes": [3]},
        "unlearner": {"name": "noop"},
        "reference": {"seeds": 1},
        "attacks": [{"name": "lira", "params": {"shadows": SHADOWS}}],
        "report": {"formats": ["json"]},
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "UNLEARN_AUDIT_CACHE": str(cache)}
    args = [str(EXE), "run", str(path), "--no-sign", "-q"]
    first = subprocess.Popen(
        args + ["--out", str(tmp_path / "first")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while shadow_entries(cache) < BATCH_CHUNK and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    stored = shadow_entries(cache)
    assert BATCH_CHUNK <= stored < SHADOWS, f"kill came too late or too early: {stored} shadows stored"
    assert not (tmp_path / "first" / "evidence.json").exists()

    second = subprocess.run(
        args + ["--out", str(tmp_path / "second")], env=env, capture_output=True, text=True, timeout=600
    )
    assert second.returncode in (0, 1), second.stdout + second.stderr
    ev = json.loads((tmp_path / "second" / "evidence.json").read_text())
    shadows = next(a for a in ev["attacks"] if a["name"] == "lira")["details"]["shadows"]
    assert shadows["from_cache"] == stored and shadows["trained_now"] == SHADOWS - stored
    assert ev["models"]["original"]["source"] == "cache"  # trained before the kill, reused too
    assert shadow_entries(cache) == SHADOWS
