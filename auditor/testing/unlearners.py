"""The unlearner checks: one :class:`~auditor.testing.common.Check` at a time, or all with :func:`check_unlearner`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import torch
from pydantic import BaseModel
from torch import nn

from auditor.data.splits import Splits
from auditor.errors import AuditFailedError
from auditor.plugin.context import UnlearnInputs
from auditor.testing.common import (
    Check,
    _check_forget_kinds,
    _check_json,
    _check_name,
    _check_params_class,
    _check_text_attrs,
    _fail,
    _first_difference,
    _global_rng,
    _resolve_params,
)
from auditor.testing.world import (
    FORGET_CLASSES,
    FORGET_FRACTION,
    TinyWorld,
    tiny_setup,
)
from auditor.train.architectures import architecture_differences, has_nonfinite, state_digest
from unlearners.base import ForgetRequest, Unlearner


def unlearner_checks(
    cls: type[Unlearner[Any]],
    *,
    params: BaseModel | Mapping[str, Any] | None = None,
    forget_kind: str = "class",
) -> list[Check]:
    """Each check of an unlearning method's contract, one at a time (a pytest id per check).

    In order: ``declarations`` (``name``, ``summary``, ``citation``, a pydantic ``Params`` whose
    fields all have defaults, ``supports`` a subset of the four forget kinds), ``params`` (JSON),
    ``check`` (``check(request)`` returns a list of strings for every supported kind), ``request``
    (it serves the kit's small request of ``forget_kind``), ``model`` (``run()`` leaves the original
    untouched and returns a finite model of the same architecture that behaves like its own state),
    ``reads`` (``inputs.reads`` names only splits, with no more samples than they hold), ``notes``
    (``inputs.notes`` are JSON), ``deterministic`` (the same seed gives bitwise the same weights,
    reads and notes, whatever the global random generators hold) and ``run`` (``run()`` is not
    overridden). The method runs at most twice, for whichever checks need it first.

    Args:
        cls: The method's class.
        params: Its parameters (a ``cls.Params`` or a mapping; None: the defaults). Pass small ones
            (few epochs) to keep the check fast.
        forget_kind: The request to run it on; one of ``cls.supports``.
    """
    what = f"unlearner {getattr(cls, 'name', cls.__name__)!r} ({cls.__module__}.{cls.__qualname__})"
    runs = _MethodRuns(cls, params, forget_kind, what)
    return [
        Check("declarations", lambda: _check_unlearner_declarations(cls, what)),
        Check(
            "params",
            lambda: _check_json(
                what, runs.method().params.model_dump(mode="json"), "params.model_dump(mode='json')"
            ),
        ),
        Check("check", lambda: _check_unlearner_check(runs.method(), what)),
        Check("request", runs.check_request),
        Check("model", lambda: _check_unlearned_model(runs.first()[0], runs.original(), runs.world(), what)),
        Check("reads", lambda: _check_reads(runs.first()[1], runs.world(), what)),
        Check("notes", lambda: _check_json(what, runs.first()[1].notes, "inputs.notes")),
        Check("deterministic", lambda: _check_method_deterministic(runs.first(), runs.second(), what)),
        Check("run", lambda: _check_run_not_overridden(cls, what)),
    ]


def check_unlearner(
    cls: type[Unlearner[Any]],
    *,
    params: BaseModel | Mapping[str, Any] | None = None,
    forget_kind: str = "class",
) -> None:
    """Run every check of :func:`unlearner_checks` in order; the first broken one raises.

    Raises:
        AssertionError: The method breaks the contract; the message says what to fix.
        ValueError: ``params`` or ``forget_kind`` do not fit the method.
    """
    for check in unlearner_checks(cls, params=params, forget_kind=forget_kind):
        check()


class _MethodRuns:
    """The method, the kit's world and the method's two runs, made once for all the checks that need them."""

    def __init__(
        self, cls: type[Unlearner[Any]], params: BaseModel | Mapping[str, Any] | None, kind: str, what: str
    ) -> None:
        self.cls, self.params, self.kind, self.what = cls, params, kind, what
        self._method: Unlearner[Any] | None = None
        self._original: nn.Module | None = None
        self._runs: dict[int, tuple[nn.Module, UnlearnInputs]] = {}

    def method(self) -> Unlearner[Any]:
        if self._method is None:
            _check_unlearner_declarations(self.cls, self.what)
            self._method = self.cls(_resolve_params(self.cls, self.what, self.params))
        return self._method

    def world(self) -> TinyWorld:
        if self.kind not in self.cls.supports:
            raise ValueError(
                f"{self.what} supports {sorted(self.cls.supports)}, not {self.kind!r}; pass forget_kind= one of them"
            )
        return tiny_setup(self.kind)

    def check_request(self) -> None:
        world = self.world()
        problems = self.method().check(world.request())
        if problems:
            raise _fail(
                self.what,
                f"check() refuses the kit's {self.kind} request ({world.request()}): {problems}; "
                "a method that supports a kind must serve such a small, ordinary request",
            )

    def original(self) -> nn.Module:
        if self._original is None:
            self._original = copy.deepcopy(self.world().original)
        return self._original

    def _run(self, global_seed: int) -> tuple[nn.Module, UnlearnInputs]:
        if global_seed not in self._runs:
            self.check_request()
            self._runs[global_seed] = _run_method(
                self.method(), self.original(), self.world(), self.what, global_seed=global_seed
            )
        return self._runs[global_seed]

    def first(self) -> tuple[nn.Module, UnlearnInputs]:
        return self._run(1)

    def second(self) -> tuple[nn.Module, UnlearnInputs]:
        return self._run(2)


def _check_run_not_overridden(cls: type[Unlearner[Any]], what: str) -> None:
    """``run()`` is the base class's: it hands the method a copy and checks the result.

    Checked last, so that a ``run()`` that breaks the contract is reported by what it breaks.
    """
    if cls.run is not Unlearner.run:
        raise _fail(
            what,
            "overrides run(), which copies the original and checks the result; implement unlearn() instead",
        )


def _check_unlearner_declarations(cls: type, what: str) -> None:
    """The class attributes: base class, texts, ``supports`` and ``Params``."""
    if not (isinstance(cls, type) and issubclass(cls, Unlearner)):
        raise AssertionError(f"{cls!r} is not a subclass of unlearners.base.Unlearner; subclass it")
    _check_name(cls, what)
    _check_text_attrs(cls, what, ("summary", "citation"))
    _check_forget_kinds(getattr(cls, "supports", None), what, "supports")
    _check_params_class(cls, what)


def _check_unlearner_check(method: Unlearner[Any], what: str) -> None:
    """``check(request)`` answers a list of strings for every kind the method supports."""
    for kind in sorted(method.supports):
        request = ForgetRequest(
            forget_kind=kind,
            num_classes=10,
            forget_classes=FORGET_CLASSES if kind == "class" else (),
            forget_fraction=FORGET_FRACTION if kind == "random" else None,
        )
        answer = method.check(request)
        if not isinstance(answer, list) or not all(isinstance(p, str) for p in answer):
            raise _fail(
                what, f"check({request}) returned {answer!r}; return a list of problem strings ([] if none)"
            )


def _run_method(
    method: Unlearner[Any], original: nn.Module, world: TinyWorld, what: str, *, global_seed: int
) -> tuple[nn.Module, UnlearnInputs]:
    """One run of the method on fresh inputs with the audit's seed, under the given global seed."""
    before = state_digest(original)
    inputs = world.inputs()
    try:
        with _global_rng(global_seed):
            model = method.run(original, inputs)
    except AuditFailedError as exc:  # run()'s own checks: the original modified, a non-finite result
        raise _fail(what, str(exc)) from exc
    except Exception as exc:
        raise _fail(what, f"run() raised {type(exc).__name__}: {exc}") from exc
    if state_digest(original) != before:
        raise _fail(what, "modified the original model in place; work on the copy unlearn() is given")
    return model, inputs


def _check_unlearned_model(model: object, original: nn.Module, world: TinyWorld, what: str) -> None:
    """The result is a finite module of the declared architecture, and not the original itself."""
    if not isinstance(model, nn.Module):
        raise _fail(what, f"returned {type(model).__name__}, not a torch.nn.Module")
    if model is original:
        raise _fail(what, "returned the original object itself; return the copy unlearn() is given")
    bad = has_nonfinite(model)
    if bad:
        raise _fail(what, f"produced non-finite weights in {', '.join(bad[:5])}; lower its learning rate")
    diffs = architecture_differences(model, world.model_factory)
    if diffs:
        raise _fail(
            what,
            f"returned another architecture than the original's ({'; '.join(diffs)}); "
            "attacks compare it with references of the declared one, so keep its layers and shapes",
        )
    from auditor.train.attest import attest

    try:  # the audit measures the model its state defines; the returned object must behave like it
        attest(model, world.model_factory, who=what, probe=world.inputs().probe_batch(), device=world.device)
    except AuditFailedError as exc:
        raise _fail(what, str(exc)) from exc


def _check_reads(inputs: UnlearnInputs, world: TinyWorld, what: str) -> None:
    """``inputs.reads`` names splits only, with at most as many samples as each holds."""
    known = {f.name for f in fields(Splits)}
    for name, count in inputs.reads.items():
        if name not in known:
            raise _fail(
                what,
                f"inputs.reads names {name!r}, not a split ({', '.join(sorted(known))}); read data only "
                "through inputs.forget(), inputs.retain() and inputs.population()",
            )
        size = len(getattr(world.splits, name))
        if not isinstance(count, int) or not 0 <= count <= size:
            raise _fail(what, f"inputs.reads[{name!r}] = {count!r}, but the split holds {size} samples")


def _check_method_deterministic(
    first: tuple[nn.Module, UnlearnInputs], second: tuple[nn.Module, UnlearnInputs], what: str
) -> None:
    """Two runs with one seed give the same weights, reads and notes."""
    (m1, in1), (m2, in2) = first, second
    if state_digest(m1) != state_digest(m2):
        differ = [
            k
            for k, v in m1.state_dict().items()
            if not torch.equal(v, m2.state_dict().get(k, torch.empty(0)))
        ]
        raise _fail(
            what,
            "is not deterministic: two runs with the same seed gave different weights "
            f"({', '.join(differ[:3])}); draw every random number from inputs.generator(purpose) or "
            "inputs.fresh_model(), never from torch's, NumPy's or random's global generators",
        )
    if in1.reads != in2.reads:
        raise _fail(what, f"read different data on two runs with one seed: {in1.reads} then {in2.reads}")
    diff = _first_difference(in1.notes, in2.notes, "inputs.notes")
    if diff:
        raise _fail(
            what,
            f"recorded different notes on two runs with one seed ({diff}); the evidence must be "
            "reproducible, so keep timings and other varying values out of inputs.note()",
        )
