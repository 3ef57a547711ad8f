"""Plugin parameters: the pydantic base every attack's and method's hyperparameters derive from.

A plugin declares its parameters once, on its class line (``class MyAttack(Attack[MyParams])``), the
way mkdocs' ``BasePlugin[Config]`` does; :func:`params_model` reads them back.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    """Base of every plugin's parameters: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = typing.TypeVar("P", bound=BaseModel)
"""A plugin's parameter model (bound to pydantic's ``BaseModel``: a user's own model works too)."""


def params_model(cls: type, base: type) -> type[BaseModel] | None:
    """The pydantic model ``M`` of a class declared ``class X(base[M])``, else None.

    Plugin bases call this from ``__init_subclass__``, so the class line names the parameters
    once and ``cls.Params`` follows from it (the way mkdocs' ``BasePlugin[Config]`` does).
    """
    for declared in getattr(cls, "__orig_bases__", ()):
        origin = typing.get_origin(declared)
        if isinstance(origin, type) and issubclass(origin, base):
            args = typing.get_args(declared)
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                return args[0]
    return None
