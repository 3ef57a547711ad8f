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

OptimizerName: TypeAlias = Literal["sgd", "adam", "adamw"]
"""The optimisers :func:`auditor.train.core.make_optimizer` builds (the recipe's and the methods' own)."""
