"""Progress: timestamped lines off a terminal, nothing when quiet, and per model under a user's
training function (it used to sit at 0 % until every reference had trained)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import torch

from auditor.run.progress import Progress
from auditor.train.core import Recipe


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_off_a_terminal_each_phase_prints_timestamped_start_progress_and_end_lines(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("auditor.run.progress.time.monotonic", clock)
    out = io.StringIO()
    progress = Progress(stream=out, interval=10)
    assert progress.mode == "lines"
    with progress, progress.task("training 12 references", 12) as update:
        clock.now += 5
        update(1, 12)  # within the interval: no line
        clock.now += 10
        update(3, 12)
        clock.now += 45
    lines = out.getvalue().splitlines()
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines)
    assert [line[9:] for line in lines] == [
        "training 12 references ...",
        "training 12 references: 25 % (0:15 elapsed, about 0:45 left)",
        "training 12 references: done in 1:00",
    ]


def test_a_phase_that_raises_says_it_stopped():
    out = io.StringIO()
    progress = Progress(stream=out)
    try:
        with progress.task("attacks", 4):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert out.getvalue().splitlines()[-1].endswith("attacks: stopped after 0:00")


def test_quiet_prints_nothing():
    out = io.StringIO()
    progress = Progress(enabled=False, stream=out)
    with progress, progress.task("training original", 30) as update:
        update(10, 30)
    assert progress.mode == "off" and out.getvalue() == ""


def test_a_terminal_gets_bars():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Progress(stream=Terminal()).mode == "bars"


def test_a_user_training_function_reports_after_each_model():
    """References through a user's function train one at a time, and the bar moves after each."""
    from auditor.data.datasets import make_loaded
    from auditor.train.architectures import model_factory
    from auditor.train.cache import ModelCache
    from auditor.train.trainer import Trainer, TrainRequest

    x, y = torch.randn(40, 4), torch.arange(40) % 2
    data = make_loaded("toy", x.numpy(), y.numpy())
    recipe = Recipe(epochs=2, batch_size=16, function="tests.plugins:fit_seeded", kwargs={"epochs": 2})
    trainer = Trainer(
        data=data,
        arch="tests.plugins:tiny_linear",
        recipe=recipe,
        factory=model_factory("tests.plugins:tiny_linear", input_shape=(4,), num_classes=2),
        cache=ModelCache(Path("unused"), enabled=False),
        device=torch.device("cpu"),
    )
    seen = []
    requests = [TrainRequest(np.arange(40), seed) for seed in (1, 2, 3)]
    trainer.train_many(requests, label="reference", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_the_python_api_shows_progress_by_default(monkeypatch):
    """audit() passes an enabled display (lines off a terminal, as under pytest); progress=False silences it."""
    import auditor.run.pipeline as pipeline
    from auditor import audit

    seen = {}

    def fake_run_audit(cfg, *, out, progress, command, sign):
        seen["mode"] = progress.mode
        return "outcome"

    monkeypatch.setattr(pipeline, "run_audit", fake_run_audit)
    assert audit(forget={"kind": "class", "classes": [3]}) == "outcome"
    assert seen["mode"] == "lines"
    audit(forget={"kind": "class", "classes": [3]}, progress=False)
    assert seen["mode"] == "off"
