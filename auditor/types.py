"""The small vocabularies shared across the engine and the plugins, defined once.

The config schema, the audit context, the statistics and the figures all speak of forget kinds
and model roles; they import the names from here instead of spelling the strings again.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, get_args

ForgetKind: TypeAlias = Literal["class", "random", "indices", "backdoor"]
"""How the forget set is chosen (``forget.kind`` in the config)."""

FORGET_KINDS: frozenset[str] = frozenset(get_args(ForgetKind))
"""Every :data:`ForgetKind`; the default of ``Unlearner.supports`` and ``Attack.forget_kinds``."""

Role: TypeAlias = Literal["unlearned", "reference", "original"]
"""The three audited roles; deception controls add ``control:<name>`` roles beside them."""

ROLES: tuple[Role, ...] = get_args(Role)

CONTROL_PREFIX = "control:"
"""Every control (deception or incomplete erasure) is scored under the role ``control:<name>``."""


def control_role(name: str) -> str:
    """The role under which control ``name`` is scored (``control:head_bias``)."""
    return CONTROL_PREFIX + name


def control_name(role: str) -> str | None:
    """The control a role belongs to, or None for the unlearned, reference and original roles."""
    return role[len(CONTROL_PREFIX) :] if role.startswith(CONTROL_PREFIX) else None


OptimizerName: TypeAlias = Literal["sgd", "adam", "adamw"]
"""The optimisers :func:`auditor.train.core.make_optimizer` builds (the recipe's and the methods' own)."""
