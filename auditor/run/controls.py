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

A third kind measures the battery's sensitivity: **incomplete-erasure controls** retrain without
only part of the request (a quarter of it, an eighth; drawn at random, or the records the original
classifies most robustly), as a pipeline bug that left a shard undeleted would. The smallest share
the battery catches is what the report states as the audit's sensitivity
(:func:`auditor.judge.sensitivity.sensitivity`), and no PASS is possible when the battery cannot
catch the required share (``gates.incomplete_erasure.required``).

Controls are roles ``control:<name>`` in :meth:`auditor.plugin.context.AuditContext.models`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from auditor.plugin.context import UnlearnInputs
from auditor.seeding import derive_seed, numpy_rng
from auditor.train.attest import Attested, attest
from auditor.train.trainer import Trainer, TrainRequest
from unlearners.deceptive import CONTROLS, DESCRIPTIONS


@dataclass(frozen=True)
class BuiltControl:
    """One deception control: its attested model and what the evidence records about it.

    Attributes:
        name: The control's name (:data:`CONTROLS`).
        attested: The model rebuilt from the state the control's method returned
            (:func:`auditor.train.attest.attest`): controls are measured like the unlearned model.
        description: What the fake does, in words.
        runtime_s: How long building it took.
    """

    name: str
    attested: Attested
    description: str
    runtime_s: float

    @property
    def model(self) -> nn.Module:
        return self.attested.model

    @property
    def sha256(self) -> str:
        return self.attested.sha256


def build_controls(
    original: nn.Module,
    names: list[str],
    *,
    inputs_for: Callable[[int], UnlearnInputs],
    seed: int,
    factory: Callable[[], nn.Module],
    probe: torch.Tensor | None,
    device: torch.device,
) -> list[BuiltControl]:
    """Build each named control from a copy of the original, and attest it.

    Args:
        original: The original model (never modified).
        names: Control names from :data:`CONTROLS`.
        inputs_for: Seed -> the inputs a method would get (the audit's data and splits).
        seed: The audit's root seed.
        factory: The declared architecture's factory (controls are rebuilt from their state).
        probe: Inputs on which a control and its rebuilt state must agree.
        device: Where the rebuilt controls compute.
    """
    import time

    out = []
    for name in names:
        method = CONTROLS[name]()
        t = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            model = method.run(original, inputs_for(derive_seed(seed, f"control/{name}")))
        attested = attest(model, factory, who=f"deception control {name!r}", probe=probe, device=device)
        out.append(BuiltControl(name, attested, DESCRIPTIONS[name], round(time.perf_counter() - t, 3)))
    return out


# --------------------------------------------------------------------------------------------------
# Incomplete-erasure controls: retrains that keep part of the request in training.

SELECTIONS = {
    "random": "drawn at random",
    "least_exposed": "the records the original classifies with the largest margin (the least exposed)",
}


@dataclass(frozen=True)
class PartialErasure:
    """One incomplete-erasure control: a retrain on the retain set plus part of the forget set.

    Attributes:
        name: ``partial_<selection>_<percent>`` (``partial_random_25``).
        selection: ``random`` or ``least_exposed``.
        kept_fraction: The share of the request left in training.
        kept: The dataset indices left in training.
    """

    name: str
    selection: str
    kept_fraction: float
    kept: np.ndarray

    @property
    def description(self) -> str:
        return (
            f"retrained with {self.kept_fraction:.1%} of the request ({len(self.kept)} records, "
            f"{SELECTIONS[self.selection]}) left in training"
        )


def partial_name(selection: str, fraction: float) -> str:
    """The control's name, e.g. ``partial_random_25`` or ``partial_least_exposed_12_5``."""
    return f"partial_{selection}_{fraction * 100:g}".replace(".", "_")


def robustness_order(
    original: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device
) -> np.ndarray:
    """Positions of the forget samples, most robustly classified by the original first (largest margin)."""
    from auditor.train.core import predict_logits

    logits = predict_logits(original, x, device=device)
    true = logits.gather(1, y[:, None])[:, 0]
    others = logits.clone()
    others[torch.arange(len(y)), y] = -torch.inf
    margin = (true - others.max(dim=1).values).numpy()
    return np.argsort(-margin, kind="stable")


def partial_erasures(
    forget: np.ndarray, *, random: list[float], least_exposed: list[float], order: np.ndarray, seed: int
) -> list[PartialErasure]:
    """The incomplete-erasure controls of a request: nested shares at random and the least exposed first.

    Args:
        forget: The forget set (sorted dataset indices).
        random: Shares kept at random; each smaller share is a subset of the larger (one permutation).
        least_exposed: Shares kept among the records ``order`` puts first.
        order: Positions of the forget records, least exposed first (:func:`robustness_order`).
        seed: The audit's root seed.
    """
    perm = numpy_rng(seed, "control/partial/random").permutation(len(forget))
    out = []
    for selection, fractions, ranking in (("random", random, perm), ("least_exposed", least_exposed, order)):
        for f in sorted(set(fractions), reverse=True):
            k = max(1, int(round(f * len(forget))))
            if k >= len(forget):
                continue
            kept = np.sort(forget[ranking[:k]])
            out.append(PartialErasure(partial_name(selection, f), selection, float(f), kept))
    return out


def build_partial_erasures(
    partials: list[PartialErasure],
    *,
    trainer: Trainer,
    retain: np.ndarray,
    seed: int,
    factory: Callable[[], nn.Module],
    device: torch.device,
) -> list[BuiltControl]:
    """Train each incomplete-erasure control with the audit's one trainer (cached, batched with each other)."""
    import time

    t = time.perf_counter()
    requests = [
        TrainRequest(np.union1d(retain, p.kept), derive_seed(seed, f"control/{p.name}")) for p in partials
    ]
    trained = (
        trainer.train_many(requests, role="control", label="incomplete-erasure control") if partials else []
    )
    each = round((time.perf_counter() - t) / max(len(partials), 1), 3)
    return [
        BuiltControl(
            p.name,
            attest(m.model, factory, who=f"control {p.name!r}", probe=None, device=device),
            p.description,
            each,
        )
        for p, m in zip(partials, trained)
    ]
