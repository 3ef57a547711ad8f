"""The unlearning methods' test cases: one row per registered method (add a method = add a row).

Each :class:`Case` states what the method may read and how close to the retrained reference it
must land on the tests' digits setup (``tests/helpers.py``: an MLP trained on digits, then class 3
forgotten, or a random 10 % of the training split). ``test_forgetting.py`` runs every case; a
method's own ``tests/test_method_<name>.py`` keeps only what is particular to it and reads the
same runs through :func:`run`, so each default run happens once per session.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from torch import nn

from auditor.plugin.context import UnlearnInputs
from tests.helpers import inputs, models
from unlearners import UNLEARNERS

FORGET = frozenset({"forget"})
RETAIN = frozenset({"retain"})
FORGET_RETAIN = frozenset({"forget", "retain"})
WITH_POPULATION = frozenset({"forget", "retain", "population"})


@dataclass(frozen=True)
class Case:
    """How one method, with its default hyperparameters, must behave on the digits setup.

    Attributes:
        name: The registered name.
        reads: The splits it reads under class forgetting (``UnlearnInputs.reads``), exactly.
        random_reads: The splits it reads under random forgetting; None: it does not support random
            forgetting (``"random" not in supports``).
        class_slack: Forgotten-class test accuracy may exceed the reference's (0.0) by this.
        random_slack: Under random forgetting, the forget-set accuracy may differ from the reference's by
            this (retrained MLPs score 0.92-0.96 on this forget set over 8 seeds: 0.05 is seed noise).
        utility_slack: Test accuracy (retained classes under class forgetting, all under random
            forgetting) may fall below the original's by this.
    """

    name: str
    reads: frozenset[str]
    random_reads: frozenset[str] | None = None
    class_slack: float = 0.05
    random_slack: float = 0.05
    utility_slack: float = 0.05


CASES: tuple[Case, ...] = (
    Case("retrain", RETAIN, RETAIN),
    # Catastrophic forgetting only: the class keeps 0.39 test accuracy (reference: 0.0).
    Case("finetune", RETAIN, RETAIN, class_slack=0.45),
    Case("neggrad_plus", FORGET_RETAIN, FORGET_RETAIN),
    # Stops at chance (0.1) by design; measured 0.09 on held-out class-3 samples.
    Case("gradient_ascent", FORGET, frozenset({"forget", "population"}), class_slack=0.15),
    Case("random_labels", FORGET_RETAIN, FORGET_RETAIN),
    Case("l1_sparse", RETAIN, RETAIN),
    # Held-out class-3 samples generalise back partly (0.17-0.22; reference 0.0): a limit of the
    # baseline on digits (the student matches a near-uniform teacher whose argmax is often right).
    Case("bad_teacher", FORGET_RETAIN, FORGET_RETAIN, class_slack=0.35),
    Case("scrub", FORGET_RETAIN, FORGET_RETAIN, class_slack=0.1, utility_slack=0.03),
    Case("salun", FORGET_RETAIN, FORGET_RETAIN, class_slack=0.1, utility_slack=0.03),
    Case("ssd", FORGET_RETAIN, FORGET_RETAIN, class_slack=0.1, utility_slack=0.03),
    Case("nabla_tau", WITH_POPULATION, WITH_POPULATION, utility_slack=0.03),
    Case("dist_match", WITH_POPULATION, WITH_POPULATION, utility_slack=0.04),
    Case("unsir", RETAIN),  # zero-glance: never reads the forget samples; class forgetting only
    # The alpha_r sweep is scored on training samples (official val-set-mode), not on the population.
    Case("svd_projection", FORGET_RETAIN, class_slack=0.08, utility_slack=0.03),
)
"""Every registered method but ``noop`` (a control that must not forget; ``test_unlearners.py``)."""

CASE = {case.name: case for case in CASES}


def run(name: str, kind: str = "class") -> tuple[nn.Module, UnlearnInputs]:
    """The method, default hyperparameters, run once per session on the digits setup's original.

    Returns the unlearned model and the inputs it was given (``reads``, ``notes``); both are shared
    by every test that asks for the same run, so treat them as read-only.
    """
    return _run(name, kind)


@cache  # keyed on both arguments always (run("x") and run("x", "class") are one run)
def _run(name: str, kind: str) -> tuple[nn.Module, UnlearnInputs]:
    ins = inputs(kind)
    return UNLEARNERS.get(name)().run(models(kind)[0], ins), ins
