"""``noop``: the original model, unchanged. A sanity baseline the battery must flag."""

from __future__ import annotations

from torch import nn

from auditor.plugin.context import UnlearnInputs
from unlearners.base import Params, Unlearner


class Noop(Unlearner[Params]):
    """Returns the original model unchanged.

    Threat model: none; this is a control. An audit that passes ``noop`` on a forget request has
    no power to detect anything. Data read: none.
    """

    name = "noop"
    summary = "Does nothing: the original model, as a control the audit must fail."
    citation = "Control baseline (no paper)."

    def unlearn(self, model: nn.Module, inputs: UnlearnInputs) -> nn.Module:
        return model
