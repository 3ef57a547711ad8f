"""CONTRIBUTING.md's examples run: the method and the attack pass the conformance kit, and the
dataset entry makes a config name that loads."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

BLOCK = re.compile(r"<!-- tested: ([\w-]+) -->\s*```python\n(.*?)```", re.S)


def _blocks() -> dict[str, str]:
    text = (REPO / "CONTRIBUTING.md").read_text()
    found = {name: _dedent(code) for name, code in BLOCK.findall(text)}
    assert set(found) == {
        "method",
        "method-check",
        "attack",
        "attack-check",
        "dataset-loader",
        "dataset-entry",
    }
    return found


def _dedent(code: str) -> str:
    lines = code.splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines) + "\n"


def _module(name: str, code: str) -> types.ModuleType:
    """Run ``code`` as module ``name`` (so classes defined there pickle and report a module)."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(code, f"CONTRIBUTING.md:{name}", "exec"), module.__dict__)
    return module


@pytest.fixture
def blocks(monkeypatch):
    found = _blocks()
    yield found
    for name in ("contributing_method", "contributing_attack", "contributing_dataset"):
        sys.modules.pop(name, None)


def test_the_method_example_passes_the_conformance_kit(blocks):
    module = _module("contributing_method", blocks["method"])
    exec(blocks["method-check"], module.__dict__)  # check_unlearner, class and random forgetting
    from unlearners.base import ForgetRequest

    method = module.RetainTune(module.RetainTuneParams(max_forget_fraction=0.1))
    assert method.check(ForgetRequest("random", num_classes=10, forget_fraction=0.2)) == [
        "retain_tune serves at most 10%; this forgets 20%"
    ]


def test_the_attack_example_is_one_scores_method_and_passes_the_kit(blocks):
    module = _module("contributing_attack", blocks["attack"])
    exec(blocks["attack-check"], module.__dict__)
    attack = module.LossGap()
    assert attack.metric_keys("class") == [
        "loss_gap.auc",
        "loss_gap.balanced_accuracy",
        "loss_gap.tpr@fpr=0.001",
        "loss_gap.tpr@fpr=0.01",
        "loss_gap.tpr@fpr=0.1",
    ]
    assert attack.default_gates("class") == {"loss_gap.auc": 0.05}


def test_the_dataset_example_is_one_loader_and_one_entry(blocks, monkeypatch):
    from auditor.config import parse_config
    from auditor.data import datasets
    from auditor.errors import ConfigError

    module = _module("contributing_dataset", blocks["dataset-loader"])
    entry = eval(
        "{" + blocks["dataset-entry"] + "}", {"BuiltinDataset": datasets.BuiltinDataset, **vars(module)}
    )
    with pytest.raises(ConfigError, match="unknown dataset 'blobs'"):
        parse_config({"data": {"dataset": "blobs"}})
    for name, value in entry.items():  # the one new entry
        monkeypatch.setitem(datasets.DATASETS, name, value)
    cfg = parse_config({"data": {"dataset": "blobs"}, "model": {"arch": "mlp"}})
    data = datasets.load_dataset(cfg.data)
    assert (data.name, len(data), data.num_classes, tuple(data.input_shape)) == ("blobs", 600, 4, (16,))
