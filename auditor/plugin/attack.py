"""The attack contract: what an attack or check declares and implements.

An attack (or check) subclasses ``Attack[ItsParams]`` (the pydantic model of its parameters),
declares ``name``, ``title``, a one-line ``summary``, the ``citation`` of its paper, its
``threat_model`` in one sentence and what it ``requires`` beyond the three audited models, and
implements :meth:`Attack.metric_keys`, :meth:`Attack.default_gates` and :meth:`Attack.measure`.
Membership inference attacks subclass :class:`attacks.membership.base.MembershipAttack` instead and
implement one ``scores()`` method. Attacks *measure*; they never decide pass or fail: the verdict
(:mod:`auditor.judge.verdict`) judges the gaps to the references.
"""

from __future__ import annotations

import abc
import enum
from typing import Any, ClassVar, Generic, cast

from pydantic import BaseModel

from auditor.plugin.context import AuditContext
from auditor.plugin.params import P, Params, params_model
from auditor.plugin.results import Measurement
from auditor.types import FORGET_KINDS


class Need(enum.Flag):
    """What an attack needs beyond the unlearned, reference and original models.

    The config checks compare an attack's ``requires`` with what the audit provides, so an unmet
    need is a config error (exit 2) before any training, not an inconclusive attack afterwards.
    """

    NONE = 0
    SHADOWS = enum.auto()  # ctx.shadow_store(): shadow models trained with the target's recipe
    METHOD = enum.auto()  # ctx.audited_method(): re-runs the method (not with unlearner.checkpoint)
    TRIGGER = enum.auto()  # ctx.backdoor_trigger(): only under forget.kind: backdoor


class Attack(abc.ABC, Generic[P]):
    """Base class of attacks and checks run against the unlearned, reference and original models.

    Subclass it as ``class MyAttack(Attack[MyParams])``; ``MyAttack.Params`` is then ``MyParams``
    and ``self.params`` is typed as one.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    citation: ClassVar[str]
    threat_model: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = Params
    # What the attack reads beyond the three audited models; checked against the config before training.
    requires: ClassVar[Need] = Need.NONE
    # The forget kinds it can measure (symmetric with Unlearner.supports); others are a config error.
    forget_kinds: ClassVar[frozenset[str]] = FORGET_KINDS
    # The claim its metrics are evidence for: utility, forgetting, privacy or recoverability.
    default_category: ClassVar[str] = "privacy"
    # Metrics that are one-sided lower bounds or have no calibrated retrain null: they can FAIL a
    # model but never PASS one or show power (statistics review C2, M5, M6).
    fail_only: ClassVar[bool] = False
    # Reads the weights or internal activations, so it only makes sense on the declared architecture.
    white_box: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = params_model(cls, Attack)
        if declared is not None:
            cls.Params = declared

    def __init__(self, params: P | None = None) -> None:
        self.params: P = params if params is not None else cast(P, self.Params())

    @abc.abstractmethod
    def metric_keys(self, forget_kind: str) -> list[str]:
        """Every metric key :meth:`measure` reports for this forget kind."""

    @abc.abstractmethod
    def default_gates(self, forget_kind: str) -> dict[str, float]:
        """Metric key -> the smallest tolerance on |unlearned - reference| for the default gates.

        The verdict widens it to the retrain noise floor it measures (``gates.seed_multiplier``
        times the spread of a new retrain), so the number here is the floor a reviewer would
        accept when retraining is perfectly repeatable.
        """

    def category(self, key: str, forget_kind: str) -> str:
        """The claim metric ``key`` is evidence for (utility, forgetting, privacy, recoverability)."""
        return self.default_category

    @abc.abstractmethod
    def measure(self, ctx: AuditContext) -> Measurement:
        """Measure every metric on ``ctx.unlearned``, each of ``ctx.references`` and ``ctx.original``."""
