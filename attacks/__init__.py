"""Attacks and checks, registered by name.

Built-ins are declared in the ``unlearn_audit.attacks`` entry-point group, exactly as a third
party declares its own; a config can also name ``package.module:Class``.
"""

from attacks.base import Attack, Measurement, MetricResult, Params, Table
from auditor.registry import Registry

ATTACKS: Registry[Attack] = Registry("attack", "unlearn_audit.attacks", Attack)

__all__ = ["ATTACKS", "Attack", "Measurement", "MetricResult", "Params", "Table"]
