"""unlearn-audit: privacy auditing and certification for machine unlearning.

The engine's subpackages follow the audit's stages: ``config`` (read and check the YAML),
``data`` (datasets, splits, triggers), ``train`` (the one trainer, architectures, the model cache,
shadows), ``plugin`` (the contract attacks and methods implement), ``run`` (the pipeline's steps
and the Python API), ``judge``
(statistics and the verdict), ``evidence`` (signing and verification), ``report`` (HTML/PDF and
machine outputs) and ``cli``. Attacks and unlearning methods are plugins in the top-level
``attacks`` and ``unlearners`` packages, registered by name; ``auditor.testing`` is the
conformance kit for them.

The public API is re-exported here. Importing this package is cheap: the names are resolved on
first use (PEP 562), and torch is imported only by the modules that need it, so
``unlearn-audit --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from auditor.version import __version__

if TYPE_CHECKING:
    from attacks.membership import MembershipAttack, MembershipScores
    from auditor.config import AuditConfig, load_config, parse_config
    from auditor.plugin.attack import Attack, Need
    from auditor.plugin.context import AuditContext, UnlearnInputs
    from auditor.plugin.results import Measurement
    from auditor.plugin.unlearner import ForgetRequest, Unlearner
    from auditor.run.api import audit, build_config
    from auditor.run.pipeline import run_audit

# name -> the module that defines it
_EXPORTS = {
    "audit": "auditor.run.api",
    "build_config": "auditor.run.api",
    "run_audit": "auditor.run.pipeline",
    "AuditConfig": "auditor.config",
    "load_config": "auditor.config",
    "parse_config": "auditor.config",
    "AuditContext": "auditor.plugin.context",
    "UnlearnInputs": "auditor.plugin.context",
    "Attack": "auditor.plugin.attack",
    "Measurement": "auditor.plugin.results",
    "Need": "auditor.plugin.attack",
    "MembershipAttack": "attacks.membership",
    "MembershipScores": "attacks.membership",
    "Unlearner": "auditor.plugin.unlearner",
    "ForgetRequest": "auditor.plugin.unlearner",
}

__all__ = [
    "Attack",
    "AuditConfig",
    "AuditContext",
    "ForgetRequest",
    "Measurement",
    "MembershipAttack",
    "MembershipScores",
    "Need",
    "UnlearnInputs",
    "Unlearner",
    "__version__",
    "audit",
    "build_config",
    "load_config",
    "parse_config",
    "run_audit",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'auditor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
