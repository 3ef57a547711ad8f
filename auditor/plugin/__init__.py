"""The plugin contract, in one place: what an attack or an unlearning method imports.

Like ``mkdocs.plugins``, this package sits at the bottom of the engine: it imports nothing above
``auditor.train`` and ``auditor.judge``; the attacks, the methods and the pipeline import it.

* :mod:`auditor.plugin.params`: ``Params``, the typed parameters of a plugin;
* :mod:`auditor.plugin.results`: ``Measurement``, ``MetricResult``, ``Table``, ``Figure``, ``Series``;
* :mod:`auditor.plugin.attack`: ``Attack`` and ``Need``;
* :mod:`auditor.plugin.unlearner`: ``Unlearner`` and ``ForgetRequest``;
* :mod:`auditor.plugin.context`: ``AuditContext``, ``UnlearnInputs``, ``Comparer``.
"""

from auditor.plugin.attack import Attack, Need
from auditor.plugin.context import AuditContext, Comparer, MethodRunner, MissingCapabilityError, UnlearnInputs
from auditor.plugin.params import P, Params, params_model
from auditor.plugin.results import Figure, Measurement, MetricResult, Series, Table
from auditor.plugin.unlearner import ForgetRequest, Unlearner

__all__ = [
    "Attack",
    "AuditContext",
    "Comparer",
    "Figure",
    "ForgetRequest",
    "Measurement",
    "MethodRunner",
    "MetricResult",
    "MissingCapabilityError",
    "Need",
    "P",
    "Params",
    "Series",
    "Table",
    "UnlearnInputs",
    "Unlearner",
    "params_model",
]
