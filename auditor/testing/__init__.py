"""A conformance kit for unlearner and attack plugins, public for their authors.

A plugin author checks a method or an attack against the contract the audit relies on with one
call, the way scikit-learn's ``check_estimator`` checks an estimator::

    from auditor.testing import check_attack, check_unlearner

    def test_my_method_conforms():
        check_unlearner(MyMethod, params={"epochs": 1})

    def test_my_attack_conforms():
        check_attack(MyAttack, params={"shadows": 4})

Each check raises :class:`AssertionError` naming the plugin and what to fix. They run on a tiny,
deterministic audit world built by the engine's own functions (:func:`tiny_setup`): scikit-learn's
8x8 digits (shipped with scikit-learn, no download), the engine's splits, a small MLP trained with
the engine's trainer, two retrained references and a shadow store. The worlds are built once per
(forget kind, seed) and shared between calls, so checking every registered plugin takes seconds
of training, not minutes. Nothing here imports pytest.
"""

from auditor.testing.attacks import attack_checks, check_attack
from auditor.testing.common import Check
from auditor.testing.unlearners import check_unlearner, unlearner_checks
from auditor.testing.world import TINY_RECIPE, TinyWorld, tiny_audit_context, tiny_setup

__all__ = [
    "TINY_RECIPE",
    "Check",
    "TinyWorld",
    "attack_checks",
    "check_attack",
    "check_unlearner",
    "tiny_audit_context",
    "tiny_setup",
    "unlearner_checks",
]
