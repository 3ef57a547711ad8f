"""Planning an audit: what its sample sizes and references allow, and what would settle it.

Every number here is a pure function of sizes and gap evidence, and every prediction goes through
the verdict's own rules (:func:`auditor.judge.verdict.widen_to_noise`, :func:`~auditor.judge.verdict.judge`,
:func:`~auditor.judge.verdict.mde_at_power`), so a plan cannot drift from the audit it plans.
Three uses:

* **From the data sizes alone** (:func:`size_check`), before anything is trained: the narrowest
  interval a 0/1 outcome on n samples allows (Wilson's score interval at 0/n, where every retrain
  agrees; Wilson 1927), the excess of flagged records a per-record gate needs to FAIL when each
  retrain flags a record with probability ``rate`` (binomial chance, sd ``sqrt(n rate (1 - rate))``,
  the Bonferroni Student-t quantile on R - 1 degrees of freedom and the prediction factor
  ``sqrt(1 + 1/R)``), the standard error of one model's AUC (Hanley & McNeil, Radiology 1982), and
  the smallest effect of the original each gate needs to be powered.
* **From a pilot** (:func:`predict_gate`): the original and a few references trained, one reference
  held out as a stand-in for an honest unlearned model. Its gap to the other pilot references gives
  the sample part of an honest model's interval; its gap and their spread give the retrain spread
  (pooled, :func:`pooled_spread`); the original's gap gives its effect. The gate is then judged as
  the audit would judge it with R references.
* **After an INCONCLUSIVE audit** (:func:`next_steps`), from the audit's own gate evidence: the
  forget-set size, held-out size or reference count at which the deciding gates would be settled.

Extrapolating to other sizes assumes (stated in every plan) that the original's effect and the
observed gaps stay where they are, that the sample part and the retrain spread of a metric shrink
as 1/sqrt(n) in the samples it is computed on (for a membership AUC split between members and
non-members by Hanley & McNeil's weights 1/n_members : 1/n_nonmembers), and that more references
change only R. A retrain spread that is a property of the models rather than of the samples does
not shrink with n, so the forget and held-out sizes stated are lower bounds where that part
dominates; the reference counts are exact under the model.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from scipy import stats as sps

from auditor.judge.inference import GapEvidence, wilson
from auditor.judge.verdict import (
    FAIL,
    INCONCLUSIVE,
    Gate,
    GateResult,
    Outcome,
    judge,
    judge_evidence,
    mde_at_power,
    widen_to_noise,
)

ASSUMPTION = (
    "the original's effect and the observed gaps stay as measured, the sample part and the retrain spread "
    "of each metric shrink as 1/sqrt(n) in the samples it is computed on, and more references change only R"
)
"""The extrapolation assumption, in words, for every plan and every INCONCLUSIVE record."""

MAX_REFERENCES = 64
"""The most references a plan considers within reach (the most `reference.seeds` takes)."""

MAX_HELDOUT_FACTOR = 100
"""The largest multiple of the held-out data a plan considers within reach."""


@dataclass(frozen=True)
class RuleParams:
    """The verdict's parameters a plan needs: alpha, the family size and the seed multiplier."""

    alpha: float
    family: int
    multiplier: float


# Which samples a metric is computed on. The held-out sets all grow with the "heldout" lever.
FORGET, RETAIN, TEST, NONMEMBER = "forget", "retain", "test", "nonmember"
TEST_FORGOTTEN, TEST_RETAINED, HELDOUT_CLASS = "test_forgotten", "test_retained", "heldout_class"
HELDOUT_SETS = (TEST, TEST_FORGOTTEN, TEST_RETAINED, NONMEMBER, HELDOUT_CLASS)
LEVERS: dict[str, tuple[str, ...]] = {"forget": (FORGET,), "heldout": HELDOUT_SETS}
SET_WORDS = {
    FORGET: "forget samples",
    RETAIN: "retain samples",
    TEST: "test samples",
    TEST_FORGOTTEN: "held-out samples of the forgotten classes (test split)",
    TEST_RETAINED: "test samples of the retained classes",
    NONMEMBER: "held-out non-members",
    HELDOUT_CLASS: "held-out samples of the forgotten classes",
}


@dataclass(frozen=True)
class SampleModel:
    """Which samples a metric is computed on, and which sizes-only analysis applies to it.

    Attributes:
        sets: The sample sets (``forget``, ``nonmember``, ...); two for a membership AUC (members, non-members).
        analysis: A key of :data:`ANALYSES`.
    """

    sets: tuple[str, ...]
    analysis: str


# (metric pattern, forget kinds it applies to or None for all, model); the first match wins.
SAMPLE_MODELS: tuple[tuple[str, frozenset[str] | None, SampleModel], ...] = (
    ("accuracy.forget", frozenset({"class"}), SampleModel((FORGET,), "boundary")),
    ("accuracy.test_forgotten_classes", frozenset({"class"}), SampleModel((TEST_FORGOTTEN,), "boundary")),
    ("accuracy.forget", None, SampleModel((FORGET,), "proportion")),
    ("accuracy.retain", None, SampleModel((RETAIN,), "utility")),
    ("accuracy.test", None, SampleModel((TEST,), "utility")),
    ("accuracy.test_retained_classes", None, SampleModel((TEST_RETAINED,), "utility")),
    ("records.exposed", None, SampleModel((FORGET,), "chance")),
    ("lira.exposure", None, SampleModel((FORGET,), "chance")),
    ("*.auc", None, SampleModel((FORGET, NONMEMBER), "auc")),
    ("probe*.forget_*", None, SampleModel((FORGET,), "continuous")),
    ("probe*.heldout_*", None, SampleModel((HELDOUT_CLASS,), "continuous")),
)


def sample_model(metric: str, forget_kind: str) -> SampleModel | None:
    """The :class:`SampleModel` of ``metric`` under ``forget_kind`` (None: no size model for it)."""
    for pattern, kinds, model in SAMPLE_MODELS:
        if fnmatch.fnmatchcase(metric, pattern) and (kinds is None or forget_kind in kinds):
            return model
    return None


def variance_shares(model: SampleModel | None, sizes: dict[str, int]) -> dict[str, float]:
    """How a metric's variance splits over its sample sets (Hanley & McNeil's 1/n weights for two sets)."""
    if model is None:
        return {}
    present = [s for s in model.sets if sizes.get(s)]
    if not present:
        return {}
    inverse = {s: 1.0 / sizes[s] for s in present}
    total = sum(inverse.values())
    return {s: v / total for s, v in inverse.items()}


# --------------------------------------------------------------------------------------------------
# Levels and small formulas


def pct(x: float, digits: int = 0) -> str:
    """``x`` as a percentage with a space before the sign (``90 %``), the project's style."""
    return f"{100 * x:.{digits}f} %"


def equivalence_level(alpha: float) -> float:
    """The level of the pass interval, 1 - 2 alpha (the TOST)."""
    return 1.0 - 2.0 * alpha


def failure_level(alpha: float, family: int) -> float:
    """The level of the fail interval, 1 - 2 alpha / m (Bonferroni, one tail per gate)."""
    return 1.0 - 2.0 * alpha / max(family, 1)


def boundary_half_width(n: int, level: float) -> float:
    """The narrowest interval ``n`` 0/1 outcomes allow when every model agrees at 0/n: Wilson's upper limit.

    Equal to ``z^2 / (n + z^2)``; 0/46 gives 0.056 at 90 % (docs/statistics.md section 3).
    """
    return wilson(0, n, level)[1]


def boundary_samples_needed(tolerance: float, level: float) -> int:
    """The fewest samples whose 0/n Wilson interval at ``level`` is narrower than ``tolerance``."""
    z2 = float(sps.norm.ppf(0.5 + level / 2.0)) ** 2
    return int(math.floor(z2 * (1.0 - tolerance) / tolerance)) + 1


def auc_standard_error(members: int, nonmembers: int) -> float:
    """Standard error of one model's AUC at 0.5 (Hanley & McNeil, Radiology 1982)."""
    return math.sqrt((members + nonmembers + 1) / (12.0 * members * nonmembers))


def chance_evidence(n: int, rate: float, references: int) -> GapEvidence:
    """An honest retrain's gap on the share of ``n`` records flagged, each retrain flagging each at ``rate``.

    The references' spread is binomial, ``sqrt(rate (1 - rate) / n)``, and the share is computed on the
    forget set (conditioned on it), as the audit's ``records.exposed`` and ``lira.exposure`` are.
    """
    return GapEvidence(0.0, 0.0, math.sqrt(rate * (1.0 - rate) / n), references, fixed_samples=True)


def fail_excess(n: int, rate: float, *, references: int, alpha: float, family: int) -> float:
    """Records flagged beyond chance that a per-record gate needs to FAIL (tolerance 0).

    ``t_{R-1, 1-alpha/m} * sqrt(n rate (1 - rate)) * sqrt(1 + 1/R)``: the Bonferroni prediction half-width
    of the flagged count.
    """
    ev = chance_evidence(n, rate, references)
    return ev.half_width(failure_level(alpha, family)) * n


def excess_at_power(n: int, rate: float, *, references: int, alpha: float, family: int) -> float:
    """Records flagged beyond chance that a per-record gate FAILs with 80 % probability (normal approximation)."""
    ev = chance_evidence(n, rate, references)
    return mde_at_power(ev, 0.0, level=failure_level(alpha, family)) * n


# --------------------------------------------------------------------------------------------------
# From the data sizes alone


@dataclass(frozen=True)
class SizeCheck:
    """What the data sizes alone say about one gate.

    Attributes:
        metric: The gate's metric.
        category: The claim it is evidence for.
        samples: The sample sets it is computed on and their sizes.
        powerable: False: it cannot support its claim at these sizes whatever the models do; None: that
            depends on the original's effect and the retrain spread (a pilot measures them); True: a
            utility gate the sizes alone show can be powered.
        needs_effect: The original's |gap| the gate needs at least to be powered (None: not applicable).
        text: The finding in words.
        figures: The numbers behind it, for ``--json``.
        fail_only: The gate can FAIL a model but never support a claim.
    """

    metric: str
    category: str
    samples: dict[str, int]
    powerable: bool | None
    needs_effect: float | None
    text: str
    figures: dict[str, float] = field(default_factory=dict)
    fail_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "fail_only": self.fail_only,
            "category": self.category,
            "samples": self.samples,
            "powerable": self.powerable,
            "needs_effect": self.needs_effect,
            "text": self.text,
            "figures": self.figures,
        }


@dataclass(frozen=True)
class SizeInputs:
    """What a sizes-only analysis reads: the gate, its samples and the audit's rule parameters."""

    gate: Gate
    samples: dict[str, int]
    references: int
    alpha: float
    family: int
    multiplier: float
    rate: float | None


def _boundary(s: SizeInputs) -> SizeCheck:
    """Every retrain scores 0/n (class forgetting): the sample part stays, and Wilson's interval bounds it."""
    (name, n), floor = next(iter(s.samples.items())), s.gate.tolerance
    eq, fail = equivalence_level(s.alpha), failure_level(s.alpha, s.family)
    w_eq, w_fail = boundary_half_width(n, eq), boundary_half_width(n, fail)
    figures = {"half_width_equivalence": w_eq, "half_width_failure": w_fail, "tolerance": floor}
    if w_eq >= floor:
        need_n = boundary_samples_needed(floor, eq)
        text = (
            f"{n} {SET_WORDS[name]}: every retrain scores 0/{n}, so the {pct(eq)} interval is at least ±{w_eq:.3f}, "
            f"wider than the tolerance ±{floor:.3g}: it cannot pass (it needs at least {need_n})"
        )
        return SizeCheck(s.gate.metric, s.gate.category, s.samples, False, None, text, figures)
    need = max(2 * floor, floor + w_fail)
    text = (
        f"{n} {SET_WORDS[name]}: every retrain scores 0/{n}; the interval can reach ±{w_eq:.3f} ({pct(eq)}), within "
        f"the tolerance ±{floor:.3g}; powered when the original's effect exceeds {need:.3f}"
    )
    return SizeCheck(s.gate.metric, s.gate.category, s.samples, None, need, text, figures)


def _chance(s: SizeInputs) -> SizeCheck:
    """A share of records flagged against the retrains' own rate: binomial chance gives the retrain spread."""
    (name, n), gate = next(iter(s.samples.items())), s.gate
    rate = s.rate if s.rate is not None else 0.05
    ev = chance_evidence(n, rate, s.references)
    fail = failure_level(s.alpha, s.family)
    sd = math.sqrt(n * rate * (1 - rate))
    tq = float(sps.t.ppf(1 - s.alpha / max(s.family, 1), s.references - 1)) if s.references >= 2 else math.inf
    if gate.fail_only:
        excess = fail_excess(n, rate, references=s.references, alpha=s.alpha, family=s.family)
        at_power = excess_at_power(n, rate, references=s.references, alpha=s.alpha, family=s.family)
        text = (
            f"{n} records at {pct(rate)}: an honest retrain flags {rate * n:.1f} ± {sd:.1f} by chance (if it flags "
            "records independently); a FAIL needs "
            f"{excess:.1f} more flagged (t_{s.references - 1} = {tq:.2f} at the Bonferroni level × "
            f"{sd:.2f} × √(1 + 1/{s.references})), {at_power:.1f} more for 80 % power; it can FAIL, never support a claim"
        )
        figures = {
            "expected": rate * n,
            "chance_sd": sd,
            "fail_excess": excess,
            "excess_80": at_power,
            "t": tq,
        }
        return SizeCheck(gate.metric, gate.category, s.samples, False, None, text, figures)
    t = widen_to_noise(gate, ev, multiplier=s.multiplier).tolerance
    need = max(2 * t, t + ev.half_width(fail))
    figures = {"chance_sd": sd / n, "tolerance": t, "needs_effect": need}
    if need >= 1 - rate:
        text = (
            f"{n} {SET_WORDS[name]}, a retrain flags {pct(rate)} by chance: tolerance about ±{t:.3f}; even an original "
            "that exposes every record would not make it powered"
        )
        return SizeCheck(gate.metric, gate.category, s.samples, False, None, text, figures)
    text = (
        f"{n} {SET_WORDS[name]}, a retrain flags {pct(rate)} by chance: tolerance about ±{t:.3f}; powered only if the "
        f"original exposes more than {need:.3f} beyond retraining ({math.ceil(need * n)} of {n} records)"
    )
    return SizeCheck(gate.metric, gate.category, s.samples, None, need, text, figures)


def _auc(s: SizeInputs) -> SizeCheck:
    """A membership AUC: members against non-members; Hanley & McNeil give one model's standard error."""
    gate = s.gate
    members, nonmembers = (s.samples.get(x, 0) for x in (FORGET, NONMEMBER))
    need = 2 * gate.tolerance
    if not members or not nonmembers:
        text = "no members or no non-members: not estimable"
        return SizeCheck(gate.metric, gate.category, s.samples, False, None, text)
    se = auc_standard_error(members, nonmembers)
    figures = {"auc_se_one_model": se, "needs_effect": need}
    if gate.fail_only:
        text = f"{members} members against {nonmembers} non-members (one model's AUC ± {se:.3f}); it can FAIL, never support a claim"
        return SizeCheck(gate.metric, gate.category, s.samples, False, None, text, figures)
    text = (
        f"{members} members against {nonmembers} non-members: one model's AUC has SE {se:.3f}; powered only if the "
        f"original's AUC gap exceeds {need:.3g} and the models rank these records alike enough for an interval "
        f"within the tolerance"
    )
    return SizeCheck(gate.metric, gate.category, s.samples, None, need, text, figures)


def _proportion(s: SizeInputs) -> SizeCheck:
    """A 0/1 outcome on the forget set whose references vary: the retrain spread sets the tolerance."""
    (name, n), gate = next(iter(s.samples.items())), s.gate
    need = 2 * gate.tolerance
    text = (
        f"{n} {SET_WORDS[name]} (one moves it by {1 / n:.3f}): powered only if the original's effect exceeds {need:.3g}; "
        f"the retrain spread may widen the tolerance up to ±{3 * gate.tolerance:.3g}"
    )
    return SizeCheck(gate.metric, gate.category, s.samples, None, need, text, {"needs_effect": need})


def _utility(s: SizeInputs) -> SizeCheck:
    """A utility accuracy: powered when the paired Bonferroni interval stays within the tolerance."""
    (name, n), gate = next(iter(s.samples.items())), s.gate
    z = float(sps.norm.ppf(1 - s.alpha / max(s.family, 1)))
    # A paired difference of proportions with a share q of discordant samples has sd about sqrt(q / n): the
    # Bonferroni half-width stays within the tolerance while q <= n (t / z)^2.
    disagree = min(1.0, n * (gate.tolerance / z) ** 2)
    text = (
        f"{n} {SET_WORDS[name]}: detects a change of {2 * gate.tolerance:.3g} when the unlearned model and a retrain "
        f"disagree on at most {pct(disagree, 1)} of them (paired interval at the Bonferroni level)"
    )
    return SizeCheck(gate.metric, gate.category, s.samples, None, None, text, {"max_disagreement": disagree})


def _continuous(s: SizeInputs) -> SizeCheck:
    """A continuous metric without a size model: the pilot measures its spread."""
    gate = s.gate
    where = ", ".join(f"{n} {SET_WORDS[k]}" for k, n in s.samples.items()) or "its samples"
    need = 2 * gate.tolerance
    text = f"{where}: powered only if the original's effect exceeds {need:.3g}; its spread needs a pilot"
    if gate.fail_only:
        text = f"{where}: it can FAIL, never support a claim"
        return SizeCheck(gate.metric, gate.category, s.samples, False, None, text)
    return SizeCheck(gate.metric, gate.category, s.samples, None, need, text, {"needs_effect": need})


ANALYSES: dict[str, Callable[[SizeInputs], SizeCheck]] = {
    "boundary": _boundary,
    "chance": _chance,
    "auc": _auc,
    "proportion": _proportion,
    "utility": _utility,
    "continuous": _continuous,
}


def size_check(
    gate: Gate,
    *,
    forget_kind: str,
    sizes: dict[str, int],
    references: int,
    alpha: float,
    family: int,
    multiplier: float,
    rate: float | None = None,
) -> SizeCheck:
    """What the data sizes alone say about ``gate`` (see the module docstring).

    Args:
        gate: The gate at its floor (before widening).
        forget_kind: The request's kind.
        sizes: Sample-set name -> count (``forget``, ``retain``, ``test``, ``nonmember``, ...).
        references: R.
        alpha: ``gates.alpha``.
        family: The number of gates.
        multiplier: ``gates.seed_multiplier``.
        rate: For a chance-rate gate, the share a retrain flags (``records``' fpr, LiRA's exposure fpr).
    """
    inputs = SizeInputs(gate, {}, references, alpha, family, multiplier, rate)
    return replace(
        _size_check(inputs, sample_model(gate.metric, forget_kind), sizes), fail_only=gate.fail_only
    )


def _size_check(inputs: SizeInputs, model: SampleModel | None, sizes: dict[str, int]) -> SizeCheck:
    gate = inputs.gate
    if model is None:
        text = (
            "it can FAIL, never support a claim" if gate.fail_only else "no size model: a pilot measures it"
        )
        return SizeCheck(gate.metric, gate.category, {}, False if gate.fail_only else None, None, text)
    samples = {s: int(sizes.get(s, 0)) for s in model.sets}
    if any(n <= 0 for n in samples.values()) and model.analysis != "auc":
        return SizeCheck(gate.metric, gate.category, samples, False, None, "no samples: not estimable")
    if inputs.references < 2 and not gate.fail_only:
        text = (
            "one reference cannot show retrain-to-retrain variance: it cannot pass (set reference.seeds >= 2)"
        )
        return SizeCheck(gate.metric, gate.category, samples, False, None, text)
    return ANALYSES[model.analysis](replace(inputs, samples=samples))


@dataclass(frozen=True)
class CategoryOutlook:
    """What a plan says of one claim.

    Attributes:
        category: utility, forgetting, privacy or recoverability.
        claimed: Whether the request claims it (a PASS needs it).
        outlook: ``powered`` (a gate is predicted powered), ``depends`` (on the original's effect),
            ``cannot`` (no gate of the battery can be powered at these sizes) or ``unpowered`` (predicted
            not powered).
        gates: The gates that make the outlook (powered ones, or the candidates).
        text: The finding in words.
    """

    category: str
    claimed: bool
    outlook: str
    gates: tuple[str, ...]
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "claimed": self.claimed,
            "outlook": self.outlook,
            "gates": list(self.gates),
            "text": self.text,
        }


def size_outlook(category: str, checks: list[SizeCheck], *, claimed: bool) -> CategoryOutlook:
    """One claim's outlook from its gates' sizes-only checks."""
    mine = [c for c in checks if c.category == category]
    if not mine:
        return CategoryOutlook(category, claimed, "cannot", (), "no check in this battery measures it")
    open_ = [c for c in mine if c.powerable is not False]
    if not open_:
        return CategoryOutlook(
            category,
            claimed,
            "cannot",
            tuple(c.metric for c in mine),
            "no check can be powered at these sizes: " + "; ".join(f"{c.metric}: {c.text}" for c in mine),
        )
    if any(c.powerable for c in open_):
        sure = tuple(c.metric for c in open_ if c.powerable)
        return CategoryOutlook(
            category, claimed, "powered", sure, "powered at these sizes: " + ", ".join(sure)
        )
    needs = [c for c in open_ if c.needs_effect is not None]
    if needs:
        words = ", ".join(f"{c.metric} > {c.needs_effect:.3g}" for c in needs)
        text = f"depends on the original's effect and the retrain spread; the original's effect must exceed: {words}"
    else:
        text = "depends on how much the models disagree: " + ", ".join(c.metric for c in open_)
    return CategoryOutlook(category, claimed, "depends", tuple(c.metric for c in open_), text)


# --------------------------------------------------------------------------------------------------
# From a pilot


@dataclass(frozen=True)
class PilotEvidence:
    """One gate's pilot measurements.

    Attributes:
        stand_in: The held-out pilot reference's gap to the other pilot references (an honest model).
        original: The original's gap to the same references.
    """

    stand_in: GapEvidence
    original: GapEvidence | None


def pooled_spread(stand_in: GapEvidence) -> float | None:
    """The retrain SD from every pilot reference: the others' spread pooled with the stand-in's gap.

    With k pilot references (k - 1 in the comparison), the stand-in's gap d has variance
    ``sigma^2 k / (k - 1)``, so ``d^2 (k - 1) / k`` is a one-degree-of-freedom estimate that pools with
    the others' ``(k - 2) s^2``.
    """
    if stand_in.seed_sd is None or stand_in.seeds < 2:
        return None
    r = stand_in.seeds  # k - 1
    k = r + 1
    pooled = ((r - 1) * stand_in.seed_sd**2 + stand_in.point**2 * r / k) / r
    return math.sqrt(pooled)


def at_references(ev: GapEvidence, *, seed_sd: float | None, references: int, point: float) -> GapEvidence:
    """``ev``'s sample part with the given retrain SD, reference count and point."""
    return replace(ev, point=point, seed_sd=seed_sd, seeds=references)


def predicted_evidence(
    pilot: PilotEvidence, *, references: int, spread: float | None = None
) -> tuple[GapEvidence, GapEvidence | None, float | None]:
    """An honest unlearned model's and the original's evidence with R references, and the retrain SD used.

    The honest model's gap is 0; the original's is its pilot gap to the mean of every pilot reference.
    The retrain SD is the pilot's pooled spread, at least ``spread`` where the gate's null has a known
    floor (a chance-rate gate flags each record at its rate: binomial, :func:`chance_evidence`).
    """
    pooled = pooled_spread(pilot.stand_in)
    sd = pooled if spread is None or pooled is None else max(pooled, spread)
    honest = at_references(pilot.stand_in, seed_sd=sd, references=references, point=0.0)
    original = None
    if pilot.original is not None:
        effect = pilot.original.point - pilot.stand_in.point / (pilot.stand_in.seeds + 1)
        original = at_references(pilot.original, seed_sd=sd, references=references, point=effect)
    return honest, original, sd


def predict_gate(
    gate: Gate,
    honest: GapEvidence,
    original: GapEvidence | None,
    *,
    alpha: float,
    family: int,
    multiplier: float,
) -> GateResult:
    """The audit's judgement of ``gate`` (at its floor) for an honest model: tolerance, power and MDE at 80 %.

    The same rules as the audit: :func:`widen_to_noise` then :func:`judge` (Bonferroni).
    """
    widened = widen_to_noise(gate, honest, multiplier=multiplier)
    evidence = {"unlearned": honest} | ({"original": original} if original is not None else {})
    return judge(widened, evidence, alpha=alpha, family=family)


# --------------------------------------------------------------------------------------------------
# What would change it


def scaled(ev: GapEvidence, shares: dict[str, float], factors: dict[str, float]) -> GapEvidence:
    """``ev`` with its sample sets grown by ``factors`` (new n / old n), variance shrinking as 1/n per set.

    Both the sample part and the retrain spread scale; the point stays. Paired 0/1 cells grow with
    the set (the Newcombe interval then narrows as its Wilson limits do).
    """
    if not factors or not shares:
        return ev
    kept = max(0.0, 1.0 - sum(shares.values()))
    variance = kept + sum(share / factors.get(s, 1.0) for s, share in shares.items())
    sd = math.sqrt(variance)
    cells = ev.cells
    if cells is not None:
        main = max(shares, key=lambda s: shares[s])
        f = factors.get(main, 1.0)
        cells = (cells[0] * f, cells[1] * f, cells[2] * f, cells[3] * f)
    return replace(
        ev,
        sample_sd=ev.sample_sd * sd,
        seed_sd=None if ev.seed_sd is None else ev.seed_sd * sd,
        cells=cells,
    )


@dataclass(frozen=True)
class Lever:
    """One thing a user can change: the forget-set size, the held-out size, or the reference count.

    Attributes:
        name: ``forget``, ``heldout`` or ``references``.
        current: Its value now (the held-out lever: 100, in percent of the held-out data now).
        limit: The largest value considered within reach.
    """

    name: str
    current: int
    limit: int


def _factors(lever: Lever, value: int) -> dict[str, float]:
    return {s: value / lever.current for s in LEVERS.get(lever.name, ())}


def evidence_at(ev: GapEvidence, shares: dict[str, float], lever: Lever, value: int) -> GapEvidence:
    """``ev`` as it would be with ``lever`` at ``value`` (see :data:`ASSUMPTION`)."""
    if lever.name == "references":
        return replace(ev, seeds=value)
    return scaled(ev, shares, _factors(lever, value))


def smallest(holds: Callable[[int], bool], *, current: int, limit: int) -> int | None:
    """The smallest value in (current, limit] at which ``holds`` (None: none within reach).

    A geometric scan, then bisection between the last value that does not hold and the first that does.
    """
    if limit <= current:
        return None
    lo, value = current, current
    while value < limit:
        value = min(limit, max(value + 1, int(math.ceil(value * 1.25))))
        if holds(value):
            hi = value
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if holds(mid):
                    hi = mid
                else:
                    lo = mid
            return hi
        lo = value
    return None


@dataclass(frozen=True)
class Step:
    """What would settle a gate, a claim or a control, on one lever.

    Attributes:
        lever: ``forget``, ``heldout`` or ``references``.
        current: Its value now (for ``heldout``, the deciding gate's held-out count).
        value: The smallest value that settles it (None: none within ``limit``).
        limit: The largest value considered.
        goal: ``powered`` (a claim gets a powered gate), ``decided`` (undecided gates pass or fail) or
            ``caught`` (a control is failed by some gate).
        target: The claim, gates or control it is about.
        gates: The gates that would do it (at ``value``), or the candidates.
    """

    lever: str
    current: int
    value: int | None
    limit: int
    goal: str
    target: str
    gates: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "lever": self.lever,
            "current": self.current,
            "value": self.value,
            "limit": self.limit,
            "goal": self.goal,
            "target": self.target,
            "gates": list(self.gates),
            "assumption": ASSUMPTION,
        }


def moves(lever: Lever, shares: dict[str, float]) -> bool:
    """Whether ``lever`` changes a metric computed on the sample sets of ``shares``."""
    return lever.name == "references" or any(s in LEVERS.get(lever.name, ()) for s in shares)


def _held_count(model_shares: dict[str, float], sizes: dict[str, int]) -> int | None:
    held = [s for s in model_shares if s in HELDOUT_SETS]
    return sizes.get(held[0]) if held else None


def lever_step(
    lever: Lever,
    candidates: dict[str, tuple[dict[str, float], Callable[[Lever, int], bool]]],
    *,
    goal: str,
    target: str,
    every: bool,
    sizes: dict[str, int],
) -> Step | None:
    """The smallest ``lever`` value at which one candidate gate (or, with ``every``, each) settles (None: it moves none).

    Args:
        lever: The lever.
        candidates: Gate -> (its variance shares, ``settled(lever, value)``).
        goal: What settling means (``powered``, ``decided``, ``caught``).
        target: The claim, gates or control.
        every: Every candidate must settle (the largest of their values) instead of one (the smallest).
        sizes: The sample sizes, to state the held-out lever in samples.
    """
    if not any(moves(lever, shares) for shares, _ in candidates.values()):
        return None
    found: dict[str, int | None] = {}
    for metric, (shares, settled) in candidates.items():
        if not moves(lever, shares):
            found[metric] = None  # this lever does not move this gate
            continue
        if settled(lever, lever.current):
            found[metric] = lever.current
            continue
        found[metric] = smallest(partial(settled, lever), current=lever.current, limit=lever.limit)
    values = [v for v in found.values() if v is not None]
    if every:
        value = max(values) if len(values) == len(found) and values else None
        gates = tuple(found)
    else:
        value = min(values) if values else None
        gates = tuple(m for m, v in found.items() if v == value) if value is not None else tuple(found)
    current, limit = lever.current, lever.limit
    if (
        lever.name == "heldout"
    ):  # in percent of the held-out data: state it in samples of the gate's held-out set
        count = next((c for m in gates if (c := _held_count(candidates[m][0], sizes))), 0)
        current, limit = count, count * lever.limit // lever.current
        value = None if value is None else math.ceil(count * value / lever.current)
    return Step(lever.name, current, value, limit, goal, target, gates)


def on_levers(
    levers: list[Lever],
    candidates: dict[str, tuple[dict[str, float], Callable[[Lever, int], bool]]],
    *,
    goal: str,
    target: str,
    every: bool,
    sizes: dict[str, int],
) -> list[Step]:
    """:func:`lever_step` on each lever that moves some candidate."""
    steps = [lever_step(lv, candidates, goal=goal, target=target, every=every, sizes=sizes) for lv in levers]
    return [s for s in steps if s is not None]


def _base_gate(gate: Gate) -> Gate:
    """A default gate back at its floor (it is widened again at every size); a configured one as it is."""
    if gate.source == "default" and gate.floor is not None:
        return replace(gate, tolerance=gate.floor)
    return gate


def powered_at(
    gate: Gate,
    honest: GapEvidence,
    original: GapEvidence | None,
    shares: dict[str, float],
    *,
    rules: RuleParams,
) -> Callable[[Lever, int], bool]:
    """``settled(lever, value)``: whether ``gate`` would be powered with ``lever`` at ``value``."""

    def settled(lever: Lever, value: int) -> bool:
        u = evidence_at(honest, shares, lever, value)
        o = None if original is None else evidence_at(original, shares, lever, value)
        return predict_gate(
            _base_gate(gate), u, o, alpha=rules.alpha, family=rules.family, multiplier=rules.multiplier
        ).powered

    return settled


def decided_at(
    gate: Gate,
    unlearned: GapEvidence,
    role: GapEvidence,
    shares: dict[str, float],
    *,
    rules: RuleParams,
    need: str,
) -> Callable[[Lever, int], bool]:
    """``settled(lever, value)``: whether ``role``'s gap is decided (``need`` ``decided``) or FAILed (``caught``).

    The tolerance is widened from the unlearned model's evidence at that size, as the audit widens it.
    """

    def settled(lever: Lever, value: int) -> bool:
        u = evidence_at(unlearned, shares, lever, value)
        ev = evidence_at(role, shares, lever, value)
        widened = widen_to_noise(_base_gate(gate), u, multiplier=rules.multiplier)
        status = judge_evidence(widened, ev, alpha=rules.alpha, family=rules.family).status
        return status == FAIL if need == "caught" else status != INCONCLUSIVE

    return settled


def nothing_in_reach(gates: list[Gate], originals: dict[str, GapEvidence | None]) -> str | None:
    """Why no size would make any of ``gates`` powered, when that follows from the original's effect alone.

    A gate's tolerance is at least its floor, and power needs it below half the original's effect: an
    original whose effect is at most twice the floor on every gate leaves no size that helps.
    """
    rows = []
    for g in gates:
        ev = originals.get(g.metric)
        floor = g.floor if g.floor is not None else g.tolerance
        if g.category == "utility" or g.fail_only:
            continue
        if ev is None or abs(ev.point) > 2 * floor:
            return None
        rows.append(f"{g.metric} {abs(ev.point):.3g} against {2 * floor:.3g}")
    if not rows:
        return None
    return "the original's effect is below twice the tolerance floor on every check (" + "; ".join(rows) + ")"


def steps_to_power(
    gates: list[Gate],
    honest: dict[str, GapEvidence],
    originals: dict[str, GapEvidence | None],
    *,
    target: str,
    forget_kind: str,
    sizes: dict[str, int],
    references: int,
    rules: RuleParams,
) -> list[Step]:
    """Per lever, the smallest value at which one of ``gates`` (of claim ``target``) would be powered.

    Args:
        gates: The claim's gates (fail-only ones are skipped: they never power a claim).
        honest: Gate -> the evidence of a model equal to retraining (its sample part and retrain spread).
        originals: Gate -> the original's evidence (its effect).
        target: The claim.
        forget_kind: The request's kind.
        sizes: The sample sizes now.
        references: R now.
        rules: The verdict's parameters.
    """
    cands = {}
    for g in gates:
        ev = honest.get(g.metric)
        if g.fail_only or ev is None:
            continue
        shares = variance_shares(sample_model(g.metric, forget_kind), sizes)
        cands[g.metric] = (shares, powered_at(g, ev, originals.get(g.metric), shares, rules=rules))
    if not cands:
        return []
    levers = _levers(forget_kind, sizes, references)
    return on_levers(levers, cands, goal="powered", target=target, every=False, sizes=sizes)


def next_steps(
    outcome: Outcome,
    results: list[GateResult],
    evidence: dict[str, dict[str, GapEvidence]],
    *,
    forget_kind: str,
    sizes: dict[str, int],
    rules: RuleParams,
) -> tuple[list[Step], str | None]:
    """What would settle an INCONCLUSIVE audit, per lever, from its own gate evidence, and why nothing would.

    * a claimed category without a powered gate (``unearned``): the size at which one of its gates would be
      powered (the unlearned model's sample part and the original's effect as measured);
    * a claimed category whose powered gates are undecided, undecided powered gates, or undecided gates that
      keep most of the original's effect: the size at which every one of them is decided at its observed gap;
    * an uncaught control: the size at which some gate that catches the original FAILs it at its observed gap
      (a gap on the original's side; see :func:`_towards_original`).

    An attack that did not complete is not a matter of size: no steps.
    """
    by_metric = {r.gate.metric: r for r in results}
    unlearned = {m: ev["unlearned"] for m, ev in evidence.items() if "unlearned" in ev}
    references = max((ev.seeds for ev in unlearned.values()), default=1)
    levers = _levers(forget_kind, sizes, references)
    steps: list[Step] = []
    why_not = None

    def shares(metric: str) -> dict[str, float]:
        return variance_shares(sample_model(metric, forget_kind), sizes)

    def decide_all(metrics: list[str], target: str) -> list[Step]:
        cands = {
            m: (
                shares(m),
                decided_at(
                    by_metric[m].gate, unlearned[m], unlearned[m], shares(m), rules=rules, need="decided"
                ),
            )
            for m in metrics
            if m in unlearned
        }
        if not cands:
            return []
        return on_levers(levers, cands, goal="decided", target=target, every=True, sizes=sizes)

    if outcome.reason == "unearned":
        for cat in outcome.missing:
            gates = [r for r in results if r.gate.category == cat]
            powered = [r.gate.metric for r in gates if r.powered]
            if powered:
                steps += decide_all(powered, cat)
                continue
            originals = {r.gate.metric: evidence.get(r.gate.metric, {}).get("original") for r in gates}
            steps += steps_to_power(
                [r.gate for r in gates],
                unlearned,
                originals,
                target=cat,
                forget_kind=forget_kind,
                sizes=sizes,
                references=references,
                rules=rules,
            )
            why_not = why_not or nothing_in_reach([r.gate for r in gates], originals)
    elif outcome.reason in ("undecided", "keeps_effect"):
        metrics = list(outcome.undecided if outcome.reason == "undecided" else outcome.keeps_effect)
        steps += decide_all(metrics, ", ".join(metrics))
    elif outcome.reason == "uncaught":
        for name in outcome.uncaught:
            cands = {
                r.gate.metric: (
                    shares(r.gate.metric),
                    decided_at(
                        r.gate,
                        unlearned[r.gate.metric],
                        ctl,
                        shares(r.gate.metric),
                        rules=rules,
                        need="caught",
                    ),
                )
                for r in results
                if r.gate.metric in unlearned
                and (ctl := evidence.get(r.gate.metric, {}).get(f"control:{name}")) is not None
                and _towards_original(r, ctl)
            }
            if cands:
                steps += on_levers(levers, cands, goal="caught", target=name, every=False, sizes=sizes)
    return steps, why_not


def _towards_original(result: GateResult, control: GapEvidence) -> bool:
    """Whether more data can be expected to let a gate catch a control.

    It must catch the original, and the control's gap must lie on the original's side. A gap that is only
    chance (a utility gate on a retrain that kept a few records) would look "caught" at any size if it were
    assumed to stay, so such gates are left out.
    """
    if result.gate.category == "utility" or result.control != FAIL or result.control_gap is None:
        return False
    return control.point * result.control_gap > 0


def _levers(forget_kind: str, sizes: dict[str, int], references: int) -> list[Lever]:
    """The levers a plan turns: the forget set (not for a class: its size is the class's), held-out data, R."""
    out = []
    if forget_kind != "class" and sizes.get(FORGET):
        out.append(Lever("forget", sizes[FORGET], max(sizes.get("train", 0), sizes[FORGET])))
    out.append(Lever("heldout", 100, 100 * MAX_HELDOUT_FACTOR))  # percent of the held-out data now
    out.append(Lever("references", references, MAX_REFERENCES))
    return out


LEVER_WORDS = {
    "forget": "a forget set of {value:,} samples (now {current:,})",
    "heldout": "{value:,} held-out samples for {gate} (now {current:,})",
    "references": "{value} references (now {current})",
}
NO_LEVER_WORDS = {
    "forget": "no forget set up to the training split's {limit:,} samples",
    "heldout": "no held-out data up to {factor}x",
    "references": "no reference count up to {limit}",
}


def step_words(step: Step) -> str:
    """One step in words."""
    if step.value is None:
        return NO_LEVER_WORDS[step.lever].format(limit=step.limit, factor=MAX_HELDOUT_FACTOR)
    gate = step.gates[0] if step.gates else "its checks"
    return LEVER_WORDS[step.lever].format(value=step.value, current=step.current, gate=gate)


GOAL_WORDS = {
    "powered": "{target} would get a powered check with",
    "decided": "{target} would be decided with",
    "caught": "the control {target} would be caught with",
}


def steps_sentence(steps: list[Step], *, why_not: str | None = None) -> str:
    """The steps in one or two sentences, for the verdict's statement."""
    if not steps:
        return ""
    by_target: dict[tuple[str, str], list[Step]] = {}
    for s in steps:
        by_target.setdefault((s.goal, s.target), []).append(s)
    parts = []
    for (goal, target), group in by_target.items():
        reachable = [step_words(s) for s in group if s.value is not None]
        if reachable:
            parts.append(GOAL_WORDS[goal].format(target=target) + " " + " or ".join(reachable))
        else:
            parts.append(
                f"nothing within reach would settle {target} (" + "; ".join(map(step_words, group)) + ")"
            )
    text = "What would settle it: " + "; ".join(parts)
    if why_not:
        text += f"; {why_not}"
    return text + f" (assuming {ASSUMPTION})."


def inconclusive_record(
    outcome: Outcome,
    results: list[GateResult],
    evidence: dict[str, dict[str, GapEvidence]],
    *,
    forget_kind: str,
    sizes: dict[str, int],
    rules: RuleParams,
) -> tuple[list[dict[str, Any]], str]:
    """The verdict's ``next_steps`` record and the sentence for its statement (:func:`next_steps`)."""
    steps, why_not = next_steps(outcome, results, evidence, forget_kind=forget_kind, sizes=sizes, rules=rules)
    record = [s.as_dict() for s in steps]
    if why_not and not any(s.value is not None for s in steps):
        return record, f"No size within reach would settle it: {why_not}."
    return record, steps_sentence(steps, why_not=why_not)
