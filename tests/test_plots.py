"""Figures: the points stored in the evidence, and deterministic SVG drawn from them."""

from __future__ import annotations

import numpy as np
import pytest

from attacks.figures import curve_figure, histogram_figure, roc_figure, roc_points
from auditor.report.plots import figure_svg


def test_roc_points_follow_the_tpr_at_fpr_rule():
    pos = np.array([0.9, 0.8, 0.7, 0.2])
    neg = np.array([0.85, 0.3, 0.1, 0.05])
    fpr, tpr = roc_points(pos, neg, points=8)
    assert fpr[0] == pytest.approx(0.25) and fpr[-1] == 1.0  # from 1/len(neg): the sample's resolution
    assert tpr[0] == pytest.approx(0.75)  # threshold 0.7 admits 3 of 4 members and 1 of 4 non-members
    assert np.all(np.diff(tpr) >= 0) and tpr[-1] == 1.0


def test_roc_figure_pools_reference_seeds_and_orders_roles():
    rng = np.random.default_rng(0)
    pair = lambda: (rng.normal(1, 1, 50), rng.normal(0, 1, 40))  # noqa: E731
    fig = roc_figure("t", {"original": [pair()], "reference": [pair(), pair()], "unlearned": [pair()]})
    assert [s.role for s in fig.series] == ["unlearned", "reference", "original"]
    assert [s.n for s in fig.series] == [90, 180, 90]
    assert fig.as_dict()["series"][0]["x"][0] == pytest.approx(1 / 40)


def test_histogram_densities_integrate_to_one():
    fig = histogram_figure(
        "h",
        "loss",
        {"a": np.linspace(0, 1, 100), "b": np.zeros(10)},
        roles={"a": "unlearned", "b": "reference"},
        bins=10,
    )
    for s in fig.series:
        widths = np.diff(s.x)
        assert float(np.sum(np.array(s.y) * widths)) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "fig",
    [
        roc_figure("r", {"unlearned": [(np.arange(20.0), np.arange(10.0))]}),
        histogram_figure("h", "loss", {"x": np.arange(30.0)}, roles={"x": "original"}),
        curve_figure("c", "steps", "accuracy", {"unlearned": ([0, 1, 2], [0.0, 0.5, 0.9], "unlearned")}),
    ],
)
def test_svg_is_deterministic_and_undated(fig):
    a, b = figure_svg(fig.as_dict()), figure_svg(fig.as_dict())
    assert a == b and a.lstrip().startswith("<?xml") and "<svg" in a
    assert "<dc:date>" not in a
    assert "http://" not in a.replace("http://www.w3.org", "").replace("http://purl.org", "").replace(
        "http://creativecommons.org", ""
    ).replace("http://matplotlib.org", "")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown figure kind"):
        figure_svg({"kind": "pie", "series": []})
