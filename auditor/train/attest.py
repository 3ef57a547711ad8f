"""Measure exactly the model you sign: every audited model is rebuilt from the state it attests.

The evidence names a model by the digest of its ``state_dict()``, and that state is what anyone
who saves the model ships. A module's ``forward`` need not be a function of that state, though: a
wrapper can answer ``state_dict()`` with one set of weights and compute with another, a subclass
can override ``forward``, a hook can rewrite the outputs. An audit that measured the object a
method returned would then certify behaviour the signed weights do not have (the masquerade of
``shared/reviews/adversarial-review-2.md``).

:func:`attest` closes that gap. It copies the returned model's state to the CPU, loads it into a
fresh instance from the declared architecture's factory with ``strict=True``, and hands back that
rebuilt model together with the very tensors it hashed (the bytes written to ``unlearned.pt``). The
audit then measures only the rebuilt model. As a courtesy it also runs the returned object and the
rebuilt one on a probe batch: a method whose object behaves differently from its own state is
refused with an error naming it, rather than silently audited as something else. Security does not
rest on the probe batch (which an adversary who reads the code could special-case): whatever the
returned object does, only the rebuilt model is ever measured, and its digest is what is signed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from auditor.errors import AuditFailedError
from auditor.train.architectures import state_digest

PROBE_BATCH = 512
"""Largest probe batch on which a returned model and its rebuilt state must agree."""


@dataclass(frozen=True)
class Attested:
    """A model rebuilt from its own state, with the state and its digest.

    Attributes:
        model: A fresh instance of the declared architecture holding ``state`` (eval mode, on the
            audit's device). Every attack, probe and control is run on it.
        state: The tensors it was loaded from, on the CPU: what is hashed, signed and saved.
        sha256: :func:`auditor.train.architectures.state_digest` of ``state``.
    """

    model: nn.Module
    state: dict[str, torch.Tensor]
    sha256: str


def _max_abs_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        return float("inf")
    diff = (a.double() - b.double()).abs()
    return float(diff.max()) if diff.numel() else 0.0


@torch.no_grad()
def attest(
    model: nn.Module,
    factory: Callable[[], nn.Module],
    *,
    who: str,
    probe: torch.Tensor | None,
    device: torch.device,
) -> Attested:
    """Rebuild ``model`` from its ``state_dict()`` in the declared architecture, and check it behaves the same.

    Args:
        model: What a method returned, a checkpoint loaded, or the trainer produced.
        factory: The declared architecture's factory (fresh, randomly initialised instances).
        who: The model's role in words, for errors (``"unlearner 'finetune'"``, ``"control head_bias"``).
        probe: Inputs on which the returned object and the rebuilt model must give the same logits
            (None skips the comparison, for models the audit built itself from a state).
        device: Where the rebuilt model computes.

    Raises:
        AuditFailedError: The state does not load into the declared architecture (missing,
            unexpected or mis-shaped keys), or the returned object's outputs differ from its
            state's.
    """
    state = {k: v.detach().to("cpu").clone().contiguous() for k, v in model.state_dict().items()}
    rebuilt = factory()
    try:
        rebuilt.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise AuditFailedError(
            f"{who} returned a model whose state_dict does not load into the declared architecture "
            f"(model.arch): {detail[:400]}. The audit measures and signs the weights it can rebuild "
            "from the state_dict in the declared architecture; return a model of that architecture, "
            "or declare the architecture you return in model.arch"
        ) from None
    # The state as the declared architecture holds it (a float64 tensor loaded into a float32
    # parameter is cast): these are the bytes measured, hashed and saved.
    state = {k: v.detach().to("cpu").clone().contiguous() for k, v in rebuilt.state_dict().items()}
    rebuilt = rebuilt.to(device).eval()
    if probe is not None and len(probe):
        was_training = model.training
        model.eval()
        try:
            theirs = model(probe.to(device))
        finally:
            model.train(was_training)
        ours = rebuilt(probe.to(device))
        if not isinstance(theirs, torch.Tensor):
            raise AuditFailedError(
                f"{who} returned a model whose forward gives {type(theirs).__name__}, not a tensor of logits"
            )
        gap = _max_abs_difference(theirs, ours)
        scale = float(ours.abs().max()) if ours.numel() else 0.0
        if not gap <= 1e-5 + 1e-4 * scale:
            raise AuditFailedError(
                f"{who} returned a model that behaves differently from its own state_dict: on "
                f"{len(probe)} probe inputs its logits differ from those of a fresh "
                f"{type(rebuilt).__name__} loaded with its state by up to {gap:.3g}. The audit "
                "measures and signs the model its weights define, so it refuses an object whose "
                "forward is not determined by its state (an overridden forward, a hook, a wrapper "
                "computing with other weights). Return a plain model of the declared architecture"
            )
    return Attested(rebuilt, state, state_digest(state))


def probe_batch(x: torch.Tensor, forget: np.ndarray, retain: np.ndarray) -> torch.Tensor:
    """The probe batch of an audit: up to half of :data:`PROBE_BATCH` forget samples, then retain samples."""
    half = PROBE_BATCH // 2
    idx = np.concatenate(
        [np.asarray(forget)[:half], np.asarray(retain)[: PROBE_BATCH - min(len(forget), half)]]
    )
    return x[torch.as_tensor(idx, dtype=torch.long)]
