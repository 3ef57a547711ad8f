"""Intervals for a gap to retraining that include the randomness of training.

The null hypothesis of an unlearning audit is "the unlearned model is distributed like a model
retrained without the forget set", not "these fixed models agree on these samples". A gap
``d = metric(model) - mean_r metric(reference_r)`` therefore has two sources of variance:

* **samples**: the evaluation samples are a finite draw (members, non-members, test data). Its
  standard deviation is estimated from paired resamples shared by every model (a bootstrap of
  the gap); for per-sample 0/1 outcomes the sample part is Newcombe's hybrid score interval for
  a paired difference instead (Newcombe 1998, method 10), so that 0/n against 0/n does not give
  a zero-width interval and the size holds at the 0/1 boundary (statistics review M2.1);
* **training**: two retrains with different seeds differ. Under the null the unlearned model is one
  more draw from the retrain distribution, so with R references of sample standard deviation
  ``s`` the gap has seed variance ``(1 + 1/R) s^2`` (a prediction interval for a new draw), with
  ``R - 1`` degrees of freedom.

The interval is the wider of two intervals, each valid under one reading of the gate (the
statistics design document, docs/statistics.md section 2, gives both and the simulations):

* the **prediction interval for one more retrain**, ``t_{R-1} * s * sqrt(1 + 1/R)``: under the
  null the unlearned model and the references are exchangeable given the evaluation samples, so the
  model-by-sample noise is already inside ``s``, and the randomness of drawing the samples adds
  nothing to a gap whose mean is 0 for every draw; this reading is exact (Student t) for honest
  retrains;
* the **estimation interval for this model's population gap**, the sample part and the
  references' mean (``t_{R-1} * s / sqrt(R)``) combined by square-and-add of their half-widths
  (MOVER: Zou & Donner, 2008): for a fixed model that is not a retrain, the paired difference's
  own sample noise is what a pass or a fail must outlast.

Taking the larger is valid under either reading; adding both in quadrature (the engine before
this change) counted the model-by-sample noise twice and passed honest retrains less often than
stated (statistics review M1 follow-up, docs/statistics.md section 2.3). Only the bootstrap's
standard deviation is used, never its extreme quantiles, so a Bonferroni tail at 1 - alpha/m is as
stable as a 90 % interval (the percentile tails at B = 1,000 were Monte-Carlo noise:
statistics review M2.3). ``docs/statistics.md`` lists the simulations behind the error rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as sps


def wilson(k: float, n: float, level: float) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (k may be fractional)."""
    if n <= 0:
        return 0.0, 1.0
    z = float(sps.norm.ppf(0.5 + level / 2.0))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_paired(cells: tuple[float, float, float, float], level: float) -> tuple[float, float]:
    """Lower and upper half-widths of Newcombe's interval for a paired difference of proportions.

    The hybrid score interval (method 10 of Newcombe, Statistics in Medicine 1998), from the 2x2
    cells (a: both 1, b: model 1 and reference 0, c: model 0 and reference 1, d: both 0).
    """
    a, b, c, d = cells
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, level)
    l2, u2 = wilson(a + c, n, level)
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denom) if denom > 0 else 0.0
    lower = math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    upper = math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return lower, upper


@dataclass(frozen=True)
class GapEvidence:
    """Everything the verdict needs to put an interval around one role's gap to the references.

    Attributes:
        point: The observed gap, model minus the mean of the references.
        sample_sd: Standard deviation of the gap over resampled evaluation samples (0 when the
            samples are fixed by design).
        seed_sd: Sample standard deviation of the metric across the R references (None with one
            reference: the randomness of training cannot be estimated).
        seeds: R, the number of references.
        cells: For per-sample 0/1 outcomes, the paired 2x2 cells (a, b, c, d) of the model against
            the references' per-sample mean; the sample part of the interval is then Newcombe's
            hybrid score interval instead of a normal one (exact enough at 0/n and n/n).
        fixed_samples: The evaluation samples are the forget set itself, named by the request, not a
            draw from a population: the claim is about these samples, so the gap is conditioned on
            them and the estimation interval has no sample part (the prediction interval for one
            more retrain, whose spread already holds the model-by-sample noise, then binds). Only
            with two or more references that do not all agree (:attr:`conditioned`).
    """

    point: float
    sample_sd: float
    seed_sd: float | None
    seeds: int
    cells: tuple[float, float, float, float] | None = None
    fixed_samples: bool = False

    @property
    def seed_term(self) -> float:
        """Standard deviation of a new retrain's metric around the references' mean."""
        if self.seed_sd is None:
            return 0.0
        return self.seed_sd * math.sqrt(1.0 + 1.0 / self.seeds)

    @property
    def conditioned(self) -> bool:
        """Whether the gap is conditioned on fixed samples.

        That is ``fixed_samples`` with a measured, nonzero retrain spread. References that agree exactly (spread 0, e.g. every retrain at 0/n) say
        nothing about a new retrain at this resolution, so the sample part is kept there and a
        zero-width interval cannot certify anything (statistics review M2.1).
        """
        return self.fixed_samples and self.training_randomness and bool(self.seed_sd)

    @property
    def training_randomness(self) -> bool:
        """Whether the interval includes retrain-to-retrain variance (needs two references)."""
        return self.seed_sd is not None and self.seeds >= 2

    def seed_half_width(self, level: float) -> float:
        """Half-width of the prediction interval for one more retrain (Student t, R - 1 df)."""
        if not self.training_randomness:
            return 0.0
        return float(sps.t.ppf(0.5 + level / 2.0, self.seeds - 1)) * self.seed_term

    @property
    def mean_sd(self) -> float:
        """Standard deviation of the references' mean, s / sqrt(R) (0 with one reference)."""
        return self.seed_sd / math.sqrt(self.seeds) if self.training_randomness and self.seed_sd else 0.0

    def mean_half_width(self, level: float) -> float:
        """Half-width for the references' mean alone (Student t, R - 1 df).

        It is the training part of the estimation interval of a fixed model's gap.
        """
        if not self.training_randomness:
            return 0.0
        return float(sps.t.ppf(0.5 + level / 2.0, self.seeds - 1)) * self.mean_sd

    def sample_half_widths(self, level: float) -> tuple[float, float]:
        """(lower, upper) half-widths from the evaluation samples alone.

        Both are 0 when the samples are fixed by the request and training randomness is measured.
        """
        if self.conditioned:
            return 0.0, 0.0
        if self.cells is not None:
            return newcombe_paired(self.cells, level)
        h = float(sps.norm.ppf(0.5 + level / 2.0)) * self.sample_sd
        return h, h

    def interval(self, level: float) -> tuple[float, float]:
        """Two-sided interval at ``level``.

        The wider of the prediction interval for one more retrain and the estimation interval
        (samples and the references' mean by MOVER).
        """
        lo, hi = self.sample_half_widths(level)
        hp, hm = self.seed_half_width(level), self.mean_half_width(level)
        return self.point - max(hp, math.hypot(lo, hm)), self.point + max(hp, math.hypot(hi, hm))

    @property
    def prediction_binds(self) -> bool:
        """Whether the prediction interval for one more retrain is the wider one (normal scale)."""
        return self.training_randomness and self.seed_term >= self._estimation_sd

    @property
    def _estimation_sd(self) -> float:
        return math.hypot(0.0 if self.conditioned else self.sample_sd, self.mean_sd)

    @property
    def sd_total(self) -> float:
        """Standard deviation of the gap under the binding reading (normal approximation)."""
        return self.seed_term if self.prediction_binds else self._estimation_sd

    @property
    def df(self) -> float:
        """Degrees of freedom of ``sd_total``.

        R - 1 for the prediction reading, Welch-Satterthwaite for the estimation reading (the
        sample part counts as infinite).
        """
        if not self.training_randomness or self.seed_term == 0:
            return math.inf
        if self.prediction_binds:
            return float(self.seeds - 1)
        return self._estimation_sd**4 * (self.seeds - 1) / self.mean_sd**4

    def half_width(self, level: float) -> float:
        """The larger of the two half-widths at ``level``."""
        lo, hi = self.interval(level)
        return max(self.point - lo, hi - self.point)

    def as_dict(self) -> dict[str, object]:
        def finite(v: float | None) -> float | None:
            return v if v is None or math.isfinite(v) else None

        return {
            "point": finite(self.point),
            "sample_sd": finite(self.sample_sd),
            "seed_sd": finite(self.seed_sd),
            "seeds": self.seeds,
            "cells": list(self.cells) if self.cells is not None else None,
            "fixed_samples": self.fixed_samples,
            "conditioned_on_samples": self.conditioned,
            "includes_training_randomness": self.training_randomness,
            "binding_interval": (
                "prediction for one more retrain"
                if self.prediction_binds
                else "estimation of this model's gap (samples and the references' mean)"
            ),
        }


def on_fixed_samples(evidence: dict[str, GapEvidence]) -> dict[str, GapEvidence]:
    """The same evidence, marked as measured on the forget set itself (see ``GapEvidence.fixed_samples``)."""
    return {role: replace(ev, fixed_samples=True) for role, ev in evidence.items()}


def seed_sd(reference_points: list[float] | tuple[float, ...]) -> float | None:
    """Sample standard deviation of a metric across references (None with fewer than two)."""
    v = np.asarray(reference_points, float)
    if v.size < 2 or not np.all(np.isfinite(v)):
        return None
    return float(v.std(ddof=1))


def paired_cells(model: np.ndarray, reference_mean: np.ndarray) -> tuple[float, float, float, float]:
    """The paired 2x2 cells of 0/1 outcomes against the references' per-sample mean (fractional)."""
    u, r = np.asarray(model, float), np.asarray(reference_mean, float)
    return (
        float((u * r).sum()),
        float((u * (1 - r)).sum()),
        float(((1 - u) * r).sum()),
        float(((1 - u) * (1 - r)).sum()),
    )


def evidence_from_replicates(
    point: float,
    replicates: np.ndarray | None,
    reference_points: list[float],
    *,
    fallback_sd: float | None = None,
    cells: tuple[float, float, float, float] | None = None,
) -> GapEvidence:
    """A :class:`GapEvidence` from bootstrap replicates of the gap (or an analytic sample SD)."""
    if fallback_sd is not None:
        sd = fallback_sd
    elif replicates is not None and len(replicates) > 1:
        sd = float(np.std(np.asarray(replicates, float), ddof=1))
    else:
        sd = 0.0
    return GapEvidence(float(point), sd, seed_sd(reference_points), len(reference_points), cells)
