"""Measure exactly the model you sign: the audit rebuilds every model from the state it attests."""

from __future__ import annotations

import copy

import pytest
import torch

from auditor.errors import AuditFailedError
from auditor.train.architectures import state_digest
from auditor.train.attest import attest
from tests import deceptions
from tests.helpers import digits_setup, inputs, models


def _run(method_cls):
    original, _ = models("class")
    return method_cls().run(original, inputs("class")), original


def _probe():
    return inputs("class").probe_batch()


def test_an_honest_model_is_rebuilt_with_the_same_state_and_outputs():
    _, splits, factory = digits_setup("class")
    original, _ = models("class")
    out = attest(original, factory, who="original", probe=_probe(), device=torch.device("cpu"))
    assert out.model is not original
    assert out.sha256 == state_digest(original) == state_digest(out.state)
    x = _probe()
    assert torch.equal(out.model(x), original.eval()(x))


@pytest.mark.parametrize(
    "fake",
    [deceptions.StateMasquerade, deceptions.ForwardOverride, deceptions.OutputHook],
    ids=lambda c: c.name,
)
def test_a_model_that_computes_with_other_weights_than_its_state_is_refused(fake):
    _, _, factory = digits_setup("class")
    returned, _ = _run(fake)
    with pytest.raises(AuditFailedError, match="behaves differently from its own state_dict") as err:
        attest(returned, factory, who=f"unlearner {fake.name!r}", probe=_probe(), device=torch.device("cpu"))
    assert fake.name in str(err.value)


def test_a_fake_that_passes_the_probe_check_is_measured_as_the_state_it_attests():
    """The probe batch is public; the audit still measures only the rebuilt state (here the original)."""
    _, splits, factory = digits_setup("class")
    returned, original = _run(deceptions.ProbeAwareMasquerade)
    out = attest(returned, factory, who="unlearner", probe=_probe(), device=torch.device("cpu"))
    assert out.sha256 == state_digest(original)
    data = digits_setup("class")[0]
    x = data.x[torch.as_tensor(splits.test[:50])]
    assert torch.equal(out.model(x), original(x))  # the state's behaviour ...
    assert not torch.allclose(returned(x), original(x))  # ... not the object's


def test_a_state_of_another_architecture_is_refused_naming_model_arch():
    _, _, factory = digits_setup("class")
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    with pytest.raises(AuditFailedError, match="model.arch"):
        attest(other, factory, who="unlearner 'x'", probe=None, device=torch.device("cpu"))


def test_a_float64_state_is_measured_and_signed_as_the_declared_dtype():
    _, _, factory = digits_setup("class")
    original, _ = models("class")
    wide = copy.deepcopy(original).double()
    out = attest(wide, factory, who="unlearner", probe=None, device=torch.device("cpu"))
    assert all(v.dtype == torch.float32 for v in out.state.values())
    assert out.sha256 == state_digest(out.model)
