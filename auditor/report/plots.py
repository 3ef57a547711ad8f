"""Draw an attack's figure data (see :class:`attacks.base.Figure`) as a deterministic SVG.

Same figure data, same bytes: matplotlib's SVG writer is given a fixed hash salt (it names clip
paths and glyphs by hash), no ``Date`` metadata, and text kept as text. The report embeds the SVG as
a ``data:`` URI, so the HTML stays one self-contained file and the PDF stays reproducible.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

COLOURS = {"unlearned": "#c0392b", "reference": "#2471a3", "original": "#7f8c8d", "nonmember": "#27ae60"}
STYLES = {"unlearned": "-", "reference": "--", "original": ":", "nonmember": "-."}
HASH_SALT = "unlearn-audit"
SIZE_IN = (5.2, 3.2)


def _legend(series: Mapping[str, Any]) -> str:
    n = series.get("n")
    return f"{series['label']} (n={n})" if n else str(series["label"])


def _draw(ax: Any, figure: Mapping[str, Any]) -> None:
    kind = figure["kind"]
    for s in figure["series"]:
        role = s.get("role", "")
        colour, style = COLOURS.get(role, "#444444"), STYLES.get(role, "-")
        if kind == "histogram":
            ax.stairs(s["y"], s["x"], color=colour, linestyle=style, linewidth=1.4, label=_legend(s))
        else:
            ax.plot(
                s["x"],
                s["y"],
                color=colour,
                linestyle=style,
                linewidth=1.4,
                drawstyle="steps-post" if kind == "roc" else "default",
                label=_legend(s),
            )
    if kind == "roc":
        lows = [min(s["x"]) for s in figure["series"] if s["x"]]
        low = min(lows) if lows else 1e-3
        ax.plot([low, 1], [low, 1], color="#bbbbbb", linewidth=0.8, label="chance")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(low, 1)
        ax.set_ylim(low, 1.05)


def figure_svg(figure: Mapping[str, Any]) -> str:
    """The SVG text of one figure.

    Args:
        figure: A figure record from the evidence (``kind``, ``title``, ``x_label``, ``y_label``,
            ``series``).

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
        fig = Figure(figsize=SIZE_IN)  # not pyplot: no global state, nothing to close
        ax = fig.add_subplot()
        _draw(ax, figure)
        ax.set_xlabel(figure.get("x_label", ""))
        ax.set_ylabel(figure.get("y_label", ""))
        ax.grid(True, which="major", linewidth=0.3, color="#dddddd")
        ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "unlearn-audit"})
    return buffer.getvalue()


def figure_data_uri(figure: Mapping[str, Any]) -> str:
    """The figure as a ``data:image/svg+xml;base64`` URI for an ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(figure_svg(figure).encode()).decode()


__all__ = ["figure_data_uri", "figure_svg"]
