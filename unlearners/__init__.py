"""Unlearning methods, registered by name.

Built-ins are declared in the ``unlearn_audit.unlearners`` entry-point group, exactly as a third
party declares its own; a config can also name ``package.module:Class``.
"""

from auditor.registry import Registry
from unlearners.base import Params, Unlearner

UNLEARNERS: Registry[Unlearner] = Registry("unlearner", "unlearn_audit.unlearners", Unlearner)

__all__ = ["UNLEARNERS", "Params", "Unlearner"]
