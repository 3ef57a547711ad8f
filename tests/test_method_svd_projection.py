"""Deep Unlearning's SVD projection: no gradient step, an alpha_r sweep, every built-in architecture.

It runs on every built-in architecture through its hooks and refuses grouped convolutions;
forgetting the class is checked by its case in ``tests/unlearners/cases.py``.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from auditor.config import DataConfig, ForgetConfig
from auditor.data.datasets import LoadedData
from auditor.data.splits import make_splits
from auditor.errors import AuditFailedError
from auditor.plugin.context import UnlearnInputs
from auditor.train.architectures import model_factory, state_digest
from auditor.train.core import Recipe
from tests.helpers import inputs, models
from tests.unlearners.cases import run
from unlearners import UNLEARNERS
from unlearners.svd_projection import _columns, project, retained_score, scaled_basis, scaled_projector

Svd = UNLEARNERS.get("svd_projection")


def test_forgets_the_class_without_gradient_steps_and_records_the_sweep():
    out, ins = run("svd_projection")
    assert all(p.grad is None for p in out.parameters())
    sweep = ins.notes["sweep"]
    assert [row["alpha_r"] for row in sweep] == list(Svd.Params().alpha_r_grid)
    (chosen,) = [row for row in sweep if row["alpha_r"] == ins.notes["alpha_r"]]

    def score(row):
        return retained_score(row["retained_accuracy"], row["forgotten_accuracy"])

    assert all(score(chosen) >= score(row) - 1e-3 for row in sweep)  # the best trade-off (4-decimal rounding)
    assert ins.notes["alpha_f"] == 3.0
    # Scored on training samples (official val-set-mode): the population stays clean for the attacks.
    assert "population" not in ins.reads
    assert sweep[0]["n"] == min(ins.reads["retain"] + ins.reads["forget"], Svd.Params().val_samples)


def test_the_sweep_score_is_the_official_metric():
    """retained x (1 - forgotten): 0 when the class is still known or nothing is kept."""
    assert retained_score(0.9, 0.0) == 0.9
    assert retained_score(1.0, 1.0) == 0.0 and retained_score(0.0, 0.0) == 0.0
    assert retained_score(0.95, 0.1) < retained_score(0.93, 0.0)


def test_a_fixed_alpha_r_needs_no_validation_data():
    original, _ = models()
    ins = inputs()
    Svd(Svd.Params(alpha_r=100.0)).run(original, ins)
    assert set(ins.reads) == {"retain", "forget"} and ins.notes["alpha_r"] == 100.0
    assert ins.notes["sweep"] == []


def test_conv_columns_match_the_layer():
    """W_flat @ columns reproduces the convolution (so projecting the columns projects the layer)."""
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=2, dilation=2, bias=False)
    x = torch.randn(2, 3, 7, 7)
    cols = _columns(conv, x, generator=torch.Generator().manual_seed(0))  # 7 < 3k: no crop
    out = conv.weight.reshape(5, -1) @ cols
    expected = conv(x).permute(1, 0, 2, 3).reshape(5, -1)
    assert torch.allclose(out, expected, atol=1e-5)


def _image_inputs(arch: str, groups: bool = False):
    gen = torch.Generator().manual_seed(0)
    n, classes = 120, 4
    x = torch.randn(n, 3, 16, 16, generator=gen)
    y = torch.arange(n) % classes
    data = LoadedData(
        name="synthetic", x=x, y=y, num_classes=classes, class_names=tuple("abcd"), fingerprint="0" * 64
    )
    splits, problems = make_splits(
        data,
        DataConfig(test_fraction=0.2, population_fraction=0.1),
        ForgetConfig(kind="class", classes=[1]),
        0,
    )
    assert not problems, problems
    factory = model_factory(arch, input_shape=(3, 16, 16), num_classes=classes)
    ins = UnlearnInputs(
        data=data,
        splits=splits,
        forget_kind="class",
        forget_classes=(1,),
        recipe=Recipe(epochs=1, batch_size=32),
        model_factory=factory,
        device=torch.device("cpu"),
        seed=0,
    )
    torch.manual_seed(0)
    return factory(), ins


def test_low_rank_projection_equals_the_dense_formula():
    gen = torch.Generator().manual_seed(1)
    r, f, w = (
        torch.randn(12, 30, generator=gen),
        torch.randn(12, 7, generator=gen),
        torch.randn(5, 12, generator=gen),
    )
    m_r, m_f = scaled_projector(r, 100.0), scaled_projector(f, 3.0)
    dense = w.double() @ (torch.eye(12, dtype=torch.float64) - (m_f - m_f @ m_r)).T
    assert torch.allclose(
        project(w.double(), scaled_basis(r, 100.0), scaled_basis(f, 3.0)), dense, atol=1e-10
    )
    assert float(torch.linalg.eigvalsh(m_r).max()) <= 1 + 1e-9  # energies scaled into [0, 1]


@pytest.mark.parametrize("arch", ["small_cnn", "resnet18"])
def test_runs_on_conv_architectures(arch):
    model, ins = _image_inputs(arch)
    params = Svd.Params(retain_per_class=8, forget_samples=8, max_patches=500)
    out = Svd(params).run(model, ins)
    assert state_digest(out) != state_digest(model)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in out.state_dict().items()} == shapes
    # BatchNorm buffers are untouched (training-free, eval mode).
    for (k, a), b in zip(model.state_dict().items(), out.state_dict().values()):
        if "running_" in k:
            assert torch.equal(a, b)


def test_grouped_convolution_is_refused():
    model, ins = _image_inputs("small_cnn")
    model.features[2] = nn.Conv2d(32, 32, 3, padding=1, groups=4)
    with pytest.raises(AuditFailedError, match="grouped convolution 'features.2'"):
        Svd().run(model, ins)


def test_random_forgetting_is_a_config_error(write_config):
    from auditor.config import load_config
    from auditor.errors import ConfigError
    from tests.helpers import tiny_config

    cfg = write_config(
        tiny_config(forget={"kind": "random", "fraction": 0.1}, unlearner={"name": "svd_projection"})
    )
    with pytest.raises(ConfigError, match="class"):
        load_config(cfg)
