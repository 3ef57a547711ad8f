"""Draw an attack's figure data (see :class:`attacks.base.Figure`) as a deterministic SVG.

Same figure data, same bytes: matplotlib's SVG writer is given a fixed hash salt (it names clip
paths and glyphs by hash), no ``Date`` metadata, and text kept as text. The report embeds the SVG as
a ``data:`` URI, so the HTML stays one self-contained file and the PDF stays reproducible.

A figure must agree with the gate it illustrates:

* a ROC is drawn twice, on linear axes (the area under that curve is the AUC the gate judges, and
  the legend gives each model's AUC from the evidence) and on log-log axes (the low false-positive
  corner, where confident membership claims live). On log-log axes alone, two curves whose AUCs
  differ by 0.18 can look the same;
* a histogram whose mass sits in a few bins is drawn with a logarithmic density axis, so the tails
  where members and non-members differ stay visible.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

COLOURS = {"unlearned": "#c0392b", "reference": "#2471a3", "original": "#7f8c8d", "nonmember": "#27ae60"}
STYLES = {"unlearned": "-", "reference": "--", "original": ":", "nonmember": "-."}
HASH_SALT = "unlearn-audit"
SIZE_IN = (5.2, 3.2)
ROC_SIZE_IN = (6.4, 3.0)
#: A histogram is drawn on a log density axis when its largest density exceeds the median of its
#: non-zero densities by more than this factor.
LOG_DENSITY_RATIO = 20.0


def _legend(series: Mapping[str, Any], extra: str = "") -> str:
    n = series.get("n")
    label = f"{series['label']} (n={n})" if n else str(series["label"])
    return f"{label}{extra}"


def _auc_note(series: Mapping[str, Any], gate: Mapping[str, Any] | None) -> str:
    if not gate:
        return ""
    value = (gate.get("values") or {}).get(series.get("role"))
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f", AUC {value:.3f}"
    return ""


def _roc(axes: Sequence[Any], figure: Mapping[str, Any], gate: Mapping[str, Any] | None) -> None:
    linear, loglog = axes
    lows = [min(s["x"]) for s in figure["series"] if s["x"]]
    low = min(lows) if lows else 1e-3
    for s in figure["series"]:
        role = s.get("role", "")
        colour, style = COLOURS.get(role, "#444444"), STYLES.get(role, "-")
        for ax in (linear, loglog):
            ax.plot(
                s["x"],
                s["y"],
                color=colour,
                linestyle=style,
                linewidth=1.4,
                drawstyle="steps-post",
                label=_legend(s, _auc_note(s, gate)) if ax is linear else None,
            )
    linear.plot([0, 1], [0, 1], color="#bbbbbb", linewidth=0.8, label="chance (AUC 0.500)")
    linear.set_xlim(0, 1)
    linear.set_ylim(0, 1.02)
    linear.set_title("linear: the area is the AUC", fontsize=7)
    loglog.plot([low, 1], [low, 1], color="#bbbbbb", linewidth=0.8)
    loglog.set_xscale("log")
    loglog.set_yscale("log")
    loglog.set_xlim(low, 1)
    loglog.set_ylim(low, 1.05)
    loglog.set_title("log-log: low false-positive rates", fontsize=7)


def _log_density(series: Sequence[Mapping[str, Any]]) -> float | None:
    """The floor of a log density axis when the densities need one, else None (linear axis)."""
    values = sorted(float(v) for s in series for v in s["y"] if isinstance(v, (int, float)) and v > 0)
    if not values:
        return None
    median = values[len(values) // 2]
    if values[-1] / median <= LOG_DENSITY_RATIO:
        return None
    return max(values[0], values[-1] * 1e-4) / 2


def _draw(ax: Any, figure: Mapping[str, Any]) -> None:
    kind = figure["kind"]
    floor = _log_density(figure["series"]) if kind == "histogram" else None
    for s in figure["series"]:
        role = s.get("role", "")
        colour, style = COLOURS.get(role, "#444444"), STYLES.get(role, "-")
        if kind == "histogram":
            y = s["y"] if floor is None else [max(float(v), floor) for v in s["y"]]
            ax.stairs(
                y,
                s["x"],
                color=colour,
                linestyle=style,
                linewidth=1.4,
                label=_legend(s),
                baseline=floor if floor is not None else 0,
            )
        else:
            ax.plot(s["x"], s["y"], color=colour, linestyle=style, linewidth=1.4, label=_legend(s))
    if floor is not None:
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)


def figure_svg(figure: Mapping[str, Any], *, gates: Sequence[Mapping[str, Any]] = ()) -> str:
    """The SVG text of one figure.

    Args:
        figure: A figure record from the evidence (``kind``, ``title``, ``x_label``, ``y_label``,
            ``series``).
        gates: The gates the figure illustrates (for a ROC: the AUC gate, with each model's AUC
            under ``values``); the first one's values go into the legend.

    Raises:
        ValueError: Unknown figure kind.
    """
    if figure.get("kind") not in ("roc", "histogram", "curve"):
        raise ValueError(f"unknown figure kind {figure.get('kind')!r}; expected roc, histogram or curve")
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            "svg.hashsalt": HASH_SALT,
            "svg.fonttype": "none",
            "font.size": 8,
            "font.family": "DejaVu Sans",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        if figure["kind"] == "roc":
            fig = Figure(figsize=ROC_SIZE_IN)  # not pyplot: no global state, nothing to close
            axes = fig.subplots(1, 2)
            _roc(axes, figure, gates[0] if gates else None)
        else:
            fig = Figure(figsize=SIZE_IN)
            axes = [fig.add_subplot()]
            _draw(axes[0], figure)
        for ax in axes:
            ax.set_xlabel(figure.get("x_label", ""))
            ax.set_ylabel(figure.get("y_label", ""))
            ax.grid(True, which="major", linewidth=0.3, color="#dddddd")
        if figure["kind"] == "roc":  # the lower right of a ROC is empty: the curves run above the diagonal
            axes[0].legend(frameon=True, framealpha=1.0, edgecolor="#dddddd", fontsize=6, loc="lower right")
        else:
            axes[0].legend(frameon=False, fontsize=6.5)
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "unlearn-audit"})
    return buffer.getvalue()


def figure_data_uri(figure: Mapping[str, Any], *, gates: Sequence[Mapping[str, Any]] = ()) -> str:
    """The figure as a ``data:image/svg+xml;base64`` URI for an ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(figure_svg(figure, gates=gates).encode()).decode()


__all__ = ["LOG_DENSITY_RATIO", "figure_data_uri", "figure_svg"]
