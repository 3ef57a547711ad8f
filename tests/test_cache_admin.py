"""``unlearn-audit cache ls|prune`` on a real cache filled by the trainer's cache."""

from __future__ import annotations

import json
import os
import time

from click.testing import CliRunner

from auditor.cli.commands import cli
from auditor.train.architectures import init_model, model_factory
from auditor.train.cache import ModelCache


def _fill(root):
    cache = ModelCache(root)
    factory = model_factory("mlp", input_shape=(64,), num_classes=10)
    for seed in (1, 2, 3):
        cache.get_or_train(
            {"role": "shadow", "arch": "mlp", "seed": seed}, factory, lambda s=seed: init_model(factory, s)
        )
    return cache


def test_ls_lists_and_prune_removes_old_entries(tmp_path):
    _fill(tmp_path)
    res = CliRunner().invoke(cli, ["cache", "ls", "--dir", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)["entries"]
    assert (
        len(listed) == 3
        and {e["seed"] for e in listed} == {1, 2, 3}
        and all(e["arch"] == "mlp" for e in listed)
    )
    old = next(e for e in listed if e["seed"] == 1)
    week_ago = time.time() - 8 * 86400
    os.utime(old["path"], (week_ago, week_ago))

    res = CliRunner().invoke(
        cli, ["cache", "prune", "--dir", str(tmp_path), "--older-than", "7", "--dry-run"]
    )
    assert res.exit_code == 0 and "would remove 1 model(s)" in res.output
    assert (
        len(
            json.loads(CliRunner().invoke(cli, ["cache", "ls", "--dir", str(tmp_path), "--json"]).output)[
                "entries"
            ]
        )
        == 3
    )
    res = CliRunner().invoke(cli, ["cache", "prune", "--dir", str(tmp_path), "--older-than", "7"])
    assert res.exit_code == 0 and "removed 1 model(s)" in res.output
    remaining = json.loads(CliRunner().invoke(cli, ["cache", "ls", "--dir", str(tmp_path), "--json"]).output)[
        "entries"
    ]
    assert {e["seed"] for e in remaining} == {2, 3}
    # a pruned model is simply retrained (a miss) the next time it is needed
    cache = _fill(tmp_path)
    assert cache.misses == 1 and cache.hits == 2
    res = CliRunner().invoke(cli, ["cache", "prune", "--dir", str(tmp_path), "--all"])
    assert "removed 3 model(s)" in res.output and not list(tmp_path.glob("models/*/*.pt"))


def test_prune_needs_a_selector(tmp_path):
    res = CliRunner().invoke(cli, ["cache", "prune", "--dir", str(tmp_path)])
    assert res.exit_code == 2 and "--older-than DAYS or --all" in res.output
