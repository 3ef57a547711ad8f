"""∇τ on digits: the ascent's bound per forget kind, and forget fractions beyond the paper's 30 % refused.

Class removal reaching the reference and random forgetting landing near it (not at zero) are
checked by its case in ``tests/unlearners/cases.py``.
"""

from __future__ import annotations

import pytest
import torch

from auditor.config import DataConfig, ForgetConfig, parse_config
from auditor.data.splits import make_splits
from auditor.errors import ConfigError
from auditor.plugin.context import UnlearnInputs
from auditor.run.preflight import preflight
from tests.helpers import RECIPE, digits_setup, models, tiny_config
from tests.unlearners.cases import run
from unlearners import UNLEARNERS, ForgetRequest

NablaTau = UNLEARNERS.get("nabla_tau")


def test_class_removal_bound_is_the_wrong_label_loss_on_unseen_data():
    _, ins = run("nabla_tau")
    assert 0.1 < ins.notes["alpha0"] < 0.2 and ins.notes["epochs"] >= 10  # 5/3 x 10 %, 21 epochs
    # Far above chance (log 10 = 2.3), recomputed every 5 of the 21 epochs.
    assert min(ins.notes["l_val"]) > 5 and len(ins.notes["l_val"]) == 5


def test_random_forgetting_bound_is_the_plain_validation_loss():
    _, ins = run("nabla_tau", "random")
    assert max(ins.notes["l_val"]) < 0.5


def test_check_refuses_more_than_thirty_percent_before_training():
    request = ForgetRequest(forget_kind="random", num_classes=10, forget_fraction=0.4)
    (problem,) = NablaTau().check(request)
    assert "up to 30%" in problem and "40.0%" in problem and "Forget less" in problem
    assert NablaTau().check(ForgetRequest(forget_kind="random", num_classes=10, forget_fraction=0.3)) == []
    assert NablaTau().check(ForgetRequest(forget_kind="class", num_classes=10, forget_classes=(3,))) == []


def test_the_audit_refuses_it_in_preflight(tmp_path):
    cfg = parse_config(
        tiny_config(forget={"kind": "random", "fraction": 0.4}, unlearner={"name": "nabla_tau"})
    )
    with pytest.raises(ConfigError) as refused:
        preflight(cfg, out=tmp_path / "out", sign=False)
    assert [(p.path, "up to 30%" in p.message) for p in refused.value.problems] == [
        ("unlearner.params", True)
    ]


def test_unlearn_refuses_more_than_thirty_percent_when_no_request_said_so():
    data, _, factory = digits_setup()
    splits, problems = make_splits(data, DataConfig(), ForgetConfig(kind="random", fraction=0.4), 0)
    assert not problems
    ins = UnlearnInputs(
        data=data,
        splits=splits,
        forget_kind="random",
        forget_classes=(),
        recipe=RECIPE,
        model_factory=factory,
        device=torch.device("cpu"),
        seed=0,
    )
    with pytest.raises(ConfigError, match="up to 30%"):
        NablaTau().run(models()[0], ins)
    assert ins.reads == {}  # refused before reading any data
