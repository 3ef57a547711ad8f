"""The unlearner contract: what an unlearning method declares and implements.

A method subclasses ``Unlearner[ItsParams]``, where ``ItsParams`` is the pydantic model of its
hyperparameters (keyword-only by construction, validated at config time), declares ``name``, a
one-line ``summary``, the ``citation`` of its paper and the forget kinds it ``supports``, and
implements :meth:`Unlearner.unlearn`. The pipeline calls :meth:`Unlearner.run`, which hands the
method a copy of the original and checks that the original was not touched.
"""

from __future__ import annotations

import abc
import copy
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, cast, final

from pydantic import BaseModel
from torch import nn

from auditor.errors import AuditFailedError
from auditor.plugin.context import UnlearnInputs
from auditor.plugin.params import P, Params, params_model
from auditor.train.architectures import has_nonfinite, state_digest
from auditor.types import FORGET_KINDS


@dataclass(frozen=True)
class ForgetRequest:
    """What an unlearning request asks, as far as a method can check it before any training.

    Attributes:
        forget_kind: ``class``, ``random``, ``indices`` or ``backdoor``.
        num_classes: Classes of the dataset.
        forget_classes: The labels being forgotten (class forgetting), else empty.
        forget_fraction: The forget set's share of the training set (preflight computes it from the
            drawn splits for every forget kind); None when a caller cannot know it.
    """

    forget_kind: str
    num_classes: int
    forget_classes: tuple[int, ...] = ()
    forget_fraction: float | None = None


class Unlearner(abc.ABC, Generic[P]):
    """Base class of unlearning methods.

    Subclass it as ``class MyMethod(Unlearner[MyParams])``; ``MyMethod.Params`` is then
    ``MyParams`` and ``self.params`` is typed as one. Subclasses fill in :meth:`unlearn`; they
    never override :meth:`run`. A method reads data only through ``inputs`` (so the evidence can
    state which data it read), trains only through ``inputs.train`` or its own loop over the data
    it was given, and records its diagnostics with ``inputs.note`` (they reach the evidence).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    citation: ClassVar[str]
    supports: ClassVar[frozenset[str]] = FORGET_KINDS
    Params: ClassVar[type[BaseModel]] = Params

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = params_model(cls, Unlearner)
        if declared is not None:
            cls.Params = declared

    def __init__(self, params: P | None = None) -> None:
        self.params: P = params if params is not None else cast(P, self.Params())

    def check(self, request: ForgetRequest) -> list[str]:
        """Problems with running this method on ``request``, found before any training.

        The config checks call it (with the key path ``unlearner.params``), so a request the
        method cannot serve is a config error, not a failure after the original was trained.
        The default finds none.
        """
        return []

    @abc.abstractmethod
    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        """Return the unlearned model; ``model`` is already a private copy of the original."""

    @final
    def run(self, original: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        """Unlearn a copy of ``original``; raise if the original changed or the result is unusable."""
        before = state_digest(original)
        result = self.unlearn(copy.deepcopy(original), inputs)
        if state_digest(original) != before:
            raise AuditFailedError(
                f"unlearner {self.name!r} modified the original model in place; "
                "it must work on the copy it is given"
            )
        if not isinstance(result, nn.Module):
            raise AuditFailedError(
                f"unlearner {self.name!r} returned {type(result).__name__}, not a torch.nn.Module"
            )
        bad = has_nonfinite(result)
        if bad:
            raise AuditFailedError(
                f"unlearner {self.name!r} produced non-finite weights (NaN or inf) in "
                f"{', '.join(bad[:5])}; lower its learning rate or check its loss"
            )
        return result.eval()
