"""Deception controls: known cheap fakes of unlearning that the battery must be shown to fail.

A positive control in assay validation is a sample known to be positive, run beside the unknown to
show that the assay can detect it. The audit has two kinds:

* the **original** ("did nothing"): every gate is judged on it too; a gate that does not fail it
  has no power for its claim (:mod:`auditor.judge.verdict`);
* the **deceptions** below, built from the original by :mod:`unlearners.deceptive`: output-layer
  suppression, head-only retraining and fine-tuning (EU-k / CF-k), over-forgetting and
  label-noise fine-tuning. Each one that applies to the forget kind is scored by every attack
  like the unlearned model; if no gate fails it, the battery cannot tell that fake from
  retraining, and the audit cannot PASS anything (the verdict names the control).

Controls are roles ``control:<name>`` in :meth:`auditor.run.context.AuditContext.models`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from auditor.run.context import UnlearnInputs
from auditor.seeding import derive_seed
from unlearners import deceptive
from unlearners.base import Unlearner

ROLE_PREFIX = "control:"

# Name -> the deceptive method that builds it. Order is the order of the report.
CONTROLS: dict[str, type[Unlearner]] = {
    "head_bias": deceptive.HeadBiasSuppress,
    "head_rows": deceptive.HeadRowsZero,
    "head_retrain": deceptive.HeadRetrain,
    "head_finetune": deceptive.HeadFinetune,
    "over_forget": deceptive.OverForget,
    "label_noise": deceptive.LabelNoise,
}

DESCRIPTIONS = {
    "head_bias": "forgotten classes' output bias lowered until they stop winning; features untouched",
    "head_rows": "forgotten classes' head rows zeroed, their bias set below every other logit",
    "head_retrain": "last layer re-initialised and retrained on the retain set, body frozen (EU-1)",
    "head_finetune": "last layer fine-tuned on the retain set, body frozen (CF-1)",
    "over_forget": "gradient ascent on the forget set far past retraining's forget accuracy (Streisand effect)",
    "label_noise": "fine-tuned on the forget set with random wrong labels, no repair",
}


def applicable(forget_kind: str, names: list[str] | None = None) -> list[str]:
    """The controls that apply to a forget kind (``names`` restricts them; None: all of them)."""
    chosen = list(CONTROLS) if names is None else names
    return [n for n in chosen if forget_kind in CONTROLS[n].supports]


def role(name: str) -> str:
    """The role under which a control is scored."""
    return ROLE_PREFIX + name


def is_control(role_name: str) -> bool:
    """Whether a role is a deception control's (``control:<name>``)."""
    return role_name.startswith(ROLE_PREFIX)


@dataclass(frozen=True)
class BuiltControl:
    """One deception control: its model and what the evidence records about it."""

    name: str
    model: nn.Module
    description: str
    runtime_s: float


def build_controls(
    original: nn.Module, names: list[str], *, inputs_for: Callable[[int], UnlearnInputs], seed: int
) -> list[BuiltControl]:
    """Build each named control from a copy of the original.

    Args:
        original: The original model (never modified).
        names: Control names from :data:`CONTROLS`.
        inputs_for: Seed -> the inputs a method would get (the audit's data and splits).
        seed: The audit's root seed.
    """
    import time

    out = []
    for name in names:
        method = CONTROLS[name]()
        t = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            model = method.run(original, inputs_for(derive_seed(seed, f"control/{name}")))
        out.append(BuiltControl(name, model, DESCRIPTIONS[name], round(time.perf_counter() - t, 3)))
    return out
