"""Attacks and checks, registered by name.

Built-ins are declared in the ``unlearn_audit.attacks`` entry-point group, exactly as a third
party declares its own; a config can also name ``package.module:Class``.
"""

from typing import Any, cast

from attacks.base import Attack, Measurement, MetricResult, Need, Params, Table
from attacks.membership.base import MembershipAttack, MembershipScores
from auditor.registry import Registry

# The cast: mypy refuses an abstract class where ``type[T]`` is expected (type-abstract), and the
# registry only uses the base for issubclass checks; the classes it returns are concrete.
ATTACKS: Registry[Attack[Any]] = Registry(
    "attack", "unlearn_audit.attacks", cast("type[Attack[Any]]", Attack)
)

__all__ = [
    "ATTACKS",
    "Attack",
    "MembershipAttack",
    "MembershipScores",
    "Measurement",
    "MetricResult",
    "Need",
    "Params",
    "Table",
]
