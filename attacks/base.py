"""The attack interface, as attack authors import it: re-exported from :mod:`auditor.plugin`.

The contract lives at the bottom of the engine (:mod:`auditor.plugin.attack`); this module keeps
``from attacks.base import Attack, Params`` working for attack authors.
"""

from auditor.plugin.attack import Attack, Need
from auditor.plugin.context import AuditContext
from auditor.plugin.params import P, Params, params_model
from auditor.plugin.results import Figure, Measurement, MetricResult, Series, Table

__all__ = [
    "Attack",
    "AuditContext",
    "Figure",
    "Measurement",
    "MetricResult",
    "Need",
    "P",
    "Params",
    "Series",
    "Table",
    "params_model",
]
