"""The unlearner interface.

A method subclasses :class:`Unlearner`, declares ``name``, a one-line ``summary``, the
``citation`` of its paper, the forget kinds it ``supports`` and a pydantic ``Params`` model of its
hyperparameters (keyword-only by construction, validated at config time), and implements
:meth:`Unlearner.unlearn`. The pipeline calls :meth:`Unlearner.run`, which hands the method a copy
of the original and checks that the original was not touched.
"""

from __future__ import annotations

import abc
import copy
from typing import ClassVar, final

from pydantic import BaseModel, ConfigDict
from torch import nn

from auditor.context import UnlearnInputs
from auditor.errors import AuditFailedError
from auditor.models import has_nonfinite, state_digest


class Params(BaseModel):
    """Base of every method's hyperparameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Unlearner(abc.ABC):
    """Base class of unlearning methods.

    Subclasses fill in :meth:`unlearn`; they never override :meth:`run`. A method reads data only
    through ``inputs`` (so the evidence can state which data it read) and trains only through
    ``inputs.train`` or its own loop over the data it was given.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    citation: ClassVar[str]
    supports: ClassVar[frozenset[str]] = frozenset({"class", "random", "indices", "backdoor"})
    Params: ClassVar[type[BaseModel]] = Params

    def __init__(self, params: BaseModel | None = None) -> None:
        self.params = params if params is not None else self.Params()

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
