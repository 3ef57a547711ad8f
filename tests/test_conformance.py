"""Every registered unlearner and attack against the public conformance kit (auditor.testing).

The parametrisations read the real registries, so a newly registered built-in is checked without
editing this file. The negative tests show that the kit catches what it must.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from attacks import ATTACKS
from attacks.base import Attack, Measurement, MetricResult, Need, Params
from auditor.plugin.context import AuditContext, UnlearnInputs
from auditor.testing import (
    TINY_RECIPE,
    Check,
    attack_checks,
    check_attack,
    check_unlearner,
    tiny_audit_context,
    tiny_setup,
    unlearner_checks,
)
from unlearners import UNLEARNERS
from unlearners.base import Unlearner
from unlearners.deceptive import CONTROLS

# Cheap parameters where a plugin's defaults would be slow on the tiny world (few epochs, shadows, runs).
UNLEARNER_PARAMS: dict[str, dict[str, Any]] = {
    "bad_teacher": {"epochs": 1},
    "dist_match": {"max_steps": 30, "min_steps": 10},
    "finetune": {"epochs": 1},
    "gradient_ascent": {"epochs": 1},
    "l1_sparse": {"epochs": 2},
    "nabla_tau": {"max_epochs": 2},
    "neggrad_plus": {"epochs": 1},
    "random_labels": {"epochs": 1},
    "retrain": {"epochs": 2},
    "salun": {"epochs": 2},
    "scrub": {"epochs": 2, "msteps": 1},
    "unsir": {"noise_steps": 5, "noise_copies": 2, "retain_per_class": 20, "repair_epochs": 1},
}
ATTACK_PARAMS: dict[str, dict[str, Any]] = {
    "backdoor": {"resurgence_steps": 5},
    "differencing": {"shadows": 4, "classifier": "logistic"},
    "distinguishability": {
        "runs": 11,
        "gate_tolerance": 0.1,
    },  # the fewest runs whose bound can exceed the gate
    "lira": {"shadows": 4},
    "probe": {"max_fit": 300},
    "relearn": {"seeds": 2, "max_steps": 20},
    "rmia": {"shadows": 4},
    "shadow_mia": {"shadows": 4, "classifier": "logistic", "max_train": 1000},
    "ulira": {"shadows": 4},
}
# Built-ins that fail the kit for a bug of their own: name -> the reason (xfail, strict).
UNLEARNER_BUGS: dict[str, str] = {}
ATTACK_BUGS: dict[str, str] = {}


def _cases(registry: Any, kinds_of: str, bugs: dict[str, str], checks: tuple[str, ...]) -> list[Any]:
    """(name, kind, check) for class and random forgetting where the plugin takes them, else its first kind.

    Class and random forgetting take different paths in most plugins (metric sets, non-members,
    which data a method reads); a backdoor-only attack gets the backdoor world. Each check of the kit
    is its own test (scikit-learn's ``parametrize_with_checks``), so the first failure hides nothing.
    """
    cases = []
    for name in registry.names():
        supported = getattr(registry.get(name), kinds_of)
        kinds = [k for k in ("class", "random") if k in supported] or [sorted(supported)[0]]
        marks = [pytest.mark.xfail(reason=bugs[name], strict=True)] if name in bugs else []
        cases += [
            pytest.param(name, kind, check, marks=marks, id=f"{name}-{kind}-{check}")
            for kind in kinds
            for check in checks
        ]
    return cases


@cache
def _unlearner_checks(name: str, kind: str) -> dict[str, Check]:
    """The kit's checks of one method on one kind; they share the method's runs."""
    cls = UNLEARNERS.get(name)
    return {c.name: c for c in unlearner_checks(cls, params=UNLEARNER_PARAMS.get(name), forget_kind=kind)}


@cache
def _attack_checks(name: str, kind: str) -> dict[str, Check]:
    """The kit's checks of one attack on one kind; they share its measurements."""
    cls = ATTACKS.get(name)
    return {c.name: c for c in attack_checks(cls, params=ATTACK_PARAMS.get(name), forget_kind=kind)}


UNLEARNER_CHECKS = tuple(c.name for c in unlearner_checks(UNLEARNERS.get("noop")))
ATTACK_CHECKS = tuple(c.name for c in attack_checks(ATTACKS.get("accuracy")))


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One thread for torch and BLAS: tiny models and attack classifiers gain nothing from more, and
    threads thrash on a shared machine (shadow_mia's logistic fits took 7x longer with two)."""
    import sklearn.linear_model  # noqa: F401  (loads scipy's and sklearn's BLAS, so the limit reaches them)
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("name", "kind", "check"), _cases(UNLEARNERS, "supports", UNLEARNER_BUGS, UNLEARNER_CHECKS)
)
def test_unlearner_conforms(name, kind, check):
    cls = UNLEARNERS.get(name)
    assert cls.name == name, f"unlearner registered as {name!r} declares name = {cls.name!r}; make them equal"
    _unlearner_checks(name, kind)[check]()


@pytest.mark.parametrize(
    ("name", "kind", "check"), _cases(ATTACKS, "forget_kinds", ATTACK_BUGS, ATTACK_CHECKS)
)
def test_attack_conforms(name, kind, check):
    cls = ATTACKS.get(name)
    assert cls.name == name, f"attack registered as {name!r} declares name = {cls.name!r}; make them equal"
    _attack_checks(name, kind)[check]()


@pytest.mark.parametrize("name", list(CONTROLS))
def test_deception_control_conforms(name):
    """The deceptive methods behind the audit's controls are unlearners too, run through the same run()."""
    cls = CONTROLS[name]
    for kind in [k for k in ("class", "random") if k in cls.supports]:
        check_unlearner(cls, forget_kind=kind)


def test_tiny_world_is_shared_and_context_holds_copies():
    world = tiny_setup("class")
    assert tiny_setup("class") is world and world.recipe == TINY_RECIPE
    assert len(world.references) == 2 and world.trigger is None
    ctx = tiny_audit_context(world=world, controls=("head_bias",))
    assert ctx.original is not world.original and ctx.shadows is not None and ctx.method is None
    assert set(ctx.models()) == {"unlearned", "reference", "original", "control:head_bias"}
    backdoor = tiny_setup("backdoor")
    assert backdoor.trigger is not None and len(backdoor.splits.decoys) == len(backdoor.splits.forget)


# --------------------------------------------------------------------------------------------------
# The kit catches broken unlearners.


class _Shift(Unlearner):
    """Adds a small constant to the head's bias: cheap, deterministic, within the contract."""

    name = "kit_shift"
    summary = "Shift the head's bias."
    citation = "None (a test fixture)."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        inputs.forget()
        with torch.no_grad():
            list(model.parameters())[-1].add_(0.01)
        inputs.note("shift", 0.01)
        return model


class _InPlace(_Shift):
    """Skips the copy: edits the original itself."""

    def run(self, original: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        return self.unlearn(original, inputs)


class _Copies(_Shift):
    """Overrides run() but copies correctly: still a contract breach."""

    def run(self, original: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        import copy

        return self.unlearn(copy.deepcopy(original), inputs)


class _GlobalNoise(_Shift):
    """Draws from torch's global generator instead of inputs.generator()."""

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1e-3 * torch.randn(p.shape))
        return model


class _NaNNote(_Shift):
    """Records a diagnostic the evidence cannot hold."""

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        inputs.note("loss", float("nan"))
        return model


class _NumpyNote(_Shift):
    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        inputs.note("steps", {"per_epoch": np.int64(3)})
        return model


class _Wider(_Shift):
    """Returns a model of another architecture."""

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


class _BadSupports(_Shift):
    supports = frozenset({"class", "everything"})


class _NoCitation(_Shift):
    citation = ""


def test_the_reference_unlearner_passes():
    check_unlearner(_Shift)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (_InPlace, "modified the original model in place"),
        (_Copies, "overrides run()"),
        (_GlobalNoise, "is not deterministic"),
        (_NaNNote, r"inputs.notes\['loss'\] is nan"),
        (_NumpyNote, r"inputs.notes\['steps'\]\['per_epoch'\] is a numpy.int64"),
        (_Wider, "another architecture"),
        (_BadSupports, "supports = "),
        (_NoCitation, "declares no citation"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_kit_catches_broken_unlearners(cls, message):
    with pytest.raises(AssertionError, match=message) as info:
        check_unlearner(cls)
    assert "unlearner 'kit_shift'" in str(info.value)  # names the plugin


def test_third_party_style_plugins():
    """tests/plugins.py holds plugins loaded as 'package.module:Class': one keeps the contract, one does not."""
    from tests.plugins import HeadOnlyUnlearner, NaNUnlearner

    check_unlearner(HeadOnlyUnlearner)
    with pytest.raises(AssertionError, match="unlearner 'nan' .*non-finite weights"):
        check_unlearner(NaNUnlearner)


def test_unlearner_kit_refuses_what_it_cannot_check():
    with pytest.raises(ValueError, match="supports"):
        check_unlearner(UNLEARNERS.get("unsir"), forget_kind="random")
    with pytest.raises(ValueError, match="params given to the check are invalid"):
        check_unlearner(_Shift, params={"epochs": 1})


# --------------------------------------------------------------------------------------------------
# The kit catches broken attacks.


class _ForgetAccuracy(Attack[Params]):
    """Forget-set accuracy on every model: cheap, deterministic, within the contract."""

    name = "kit_acc"
    title = "Forget accuracy"
    summary = "Forget-set accuracy."
    citation = "None (a test fixture)."
    threat_model = "None."
    default_category = "forgetting"

    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["kit_acc.forget"]

    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"kit_acc.forget": 0.05}

    def _outcomes(self, ctx: AuditContext) -> dict[str, list[np.ndarray]]:
        y = ctx.split("forget").y
        return {
            role: [(ctx.logits(m, "forget").argmax(1) == y).numpy().astype(float) for m in ms]
            for role, ms in ctx.models().items()
        }

    def measure(self, ctx: AuditContext) -> Measurement:
        comp = ctx.comparer("attack/kit_acc").proportions(self._outcomes(ctx))
        return Measurement((MetricResult("kit_acc.forget", "Forget accuracy", "more are correct", comp),))


class _ExtraKey(_ForgetAccuracy):
    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["kit_acc.forget", "kit_acc.retain"]


class _Unprefixed(_ForgetAccuracy):
    def metric_keys(self, forget_kind: str) -> list[str]:
        return ["forget"]


class _UnknownGate(_ForgetAccuracy):
    def default_gates(self, forget_kind: str) -> dict[str, float]:
        return {"kit_acc.test": 0.05}


class _Mutates(_ForgetAccuracy):
    def measure(self, ctx: AuditContext) -> Measurement:
        with torch.no_grad():
            next(ctx.unlearned.parameters()).mul_(0.5)
        return super().measure(ctx)


class _GlobalDraw(_ForgetAccuracy):
    def measure(self, ctx: AuditContext) -> Measurement:
        m = super().measure(ctx)
        return Measurement(m.metrics, details={"draw": float(np.random.random())})


class _NumpyDetail(_ForgetAccuracy):
    def measure(self, ctx: AuditContext) -> Measurement:
        m = super().measure(ctx)
        return Measurement(m.metrics, details={"auc": np.float32(0.5)})


class _UndeclaredShadows(_ForgetAccuracy):
    def measure(self, ctx: AuditContext) -> Measurement:
        ctx.shadow_store()
        return super().measure(ctx)


class _UnusedNeed(_ForgetAccuracy):
    requires = Need.SHADOWS


class _TriggerAnyKind(_ForgetAccuracy):
    requires = Need.TRIGGER


class _BadCategory(_ForgetAccuracy):
    def category(self, key: str, forget_kind: str) -> str:
        return "membership"


def test_the_reference_attack_passes():
    check_attack(_ForgetAccuracy)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (_ExtraKey, r"disagrees with measure\(\): declared but not reported \['kit_acc.retain'\]"),
        (_Unprefixed, "do not start with 'kit_acc.'"),
        (_UnknownGate, r"names \['kit_acc.test'\]"),
        (_Mutates, "modified the unlearned model's weights"),
        (_GlobalDraw, r"is not deterministic: .*\['details'\]\['draw'\]"),
        (_NumpyDetail, r"measure\(\).details\['auc'\] is a numpy.float32"),
        (_UndeclaredShadows, "declare what it needs in requires"),
        (_UnusedNeed, "never read it"),
        (_TriggerAnyKind, "forget_kinds = frozenset"),
        (_BadCategory, "'membership', not one of"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_kit_catches_broken_attacks(cls, message):
    with pytest.raises(AssertionError, match=message) as info:
        check_attack(cls)
    assert "attack 'kit_acc'" in str(info.value)  # names the plugin
