"""Unlearning methods, registered by name.

Built-ins are declared in the ``unlearn_audit.unlearners`` entry-point group, exactly as a third
party declares its own; a config can also name ``package.module:Class``.
"""

from typing import Any, cast

from auditor.registry import Registry
from unlearners.base import ForgetRequest, Params, Unlearner

# The cast: mypy refuses an abstract class where ``type[T]`` is expected (type-abstract), and the
# registry only uses the base for issubclass checks; the classes it returns are concrete.
UNLEARNERS: Registry[Unlearner[Any]] = Registry(
    "unlearner", "unlearn_audit.unlearners", cast("type[Unlearner[Any]]", Unlearner)
)

__all__ = ["UNLEARNERS", "ForgetRequest", "Params", "Unlearner"]
