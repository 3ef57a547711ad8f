"""The unlearner interface, as method authors import it: re-exported from :mod:`auditor.plugin`.

The contract lives at the bottom of the engine (:mod:`auditor.plugin.unlearner`); this module keeps
``from unlearners.base import Params, Unlearner`` working for method authors.
"""

from auditor.plugin.context import UnlearnInputs
from auditor.plugin.params import P, Params
from auditor.plugin.unlearner import ForgetRequest, Unlearner

__all__ = ["ForgetRequest", "P", "Params", "UnlearnInputs", "Unlearner"]
