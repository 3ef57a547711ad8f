"""Numbers for readers: three significant digits, and every value and gap with its unit.

A gap means nothing without its unit: a forget-accuracy gap of 0.034 is 3.4 percentage points, an
AUC gap of 0.034 is 0.034 of AUC. :func:`unit_of` maps a metric key to its :class:`Unit`, and the
unit formats the metric's values (``12.0 %``, ``0.679``) and its gaps (``+3.4 pp``, ``+0.181 AUC``).
Every function here is pure; the report, the console, the JUnit file and the Markdown summary all
format through them, so one number reads the same everywhere.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import Any, TypeGuard

NBSP = "\u00a0"
DASH = "\u2014"
MINUS = "-"


def finite(x: Any) -> TypeGuard[int | float]:
    """A real, finite number (booleans are not numbers)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def sig(x: Any, digits: int = 3, *, sign: bool = False) -> str:
    """``x`` to ``digits`` significant digits, in plain notation where that stays short.

    ``sig(0.0542145) == "0.0542"``, ``sig(1234.6) == "1235"``, ``sig(3e-7) == "3.00e-07"``;
    None or a non-finite value gives an em dash. Integers keep every digit. With ``sign`` a positive
    value carries ``+`` (gaps); zero never shows as ``-0``.
    """
    if not finite(x):
        return DASH
    if isinstance(x, int):
        text = str(x)
        return ("+" + text) if sign and x >= 0 else text
    value = float(x)
    if value == 0:
        text = "0"
    else:
        magnitude = math.floor(math.log10(abs(value)))
        if -3 <= magnitude < 6:
            decimals = max(0, digits - 1 - magnitude)
            text = f"{value:.{decimals}f}"
            if float(text) == 0:
                text = text.lstrip("-")
        else:
            text = f"{value:.{digits - 1}e}"
    if sign and not text.startswith("-"):
        text = "+" + text
    return text


def fixed(x: Any, decimals: int = 1, *, sign: bool = False) -> str:
    """``x`` with a fixed number of decimals (percentages); an em dash for None."""
    if not finite(x):
        return DASH
    text = f"{float(x):.{decimals}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    if sign and not text.startswith("-"):
        text = "+" + text
    return text


def percent(share: Any, decimals: int = 1) -> str:
    """A share as a percentage: ``0.12 -> "12.0 %"``; 0.99 stays ``99.0 %`` (never ``99.00 %``)."""
    if not finite(share):
        return DASH
    return f"{fixed(float(share) * 100, decimals)}{NBSP}%"


@dataclass(frozen=True)
class Unit:
    """How a metric's values and gaps read.

    Attributes:
        name: ``share`` (a fraction shown as a percentage, gaps in percentage points), ``auc``,
            ``log`` (a logarithm, gaps in the same log units), ``log2`` or ``number``.
        gap_unit: What a gap is measured in, in words (for the notes under tables).
        suffix: The short unit after a gap (``pp``, ``AUC``), or empty.
    """

    name: str
    gap_unit: str
    suffix: str
    decimals: int | None = None

    def _num(self, x: Any, *, sign: bool = False) -> str:
        return fixed(x, self.decimals, sign=sign) if self.decimals is not None else sig(x, sign=sign)

    def value(self, x: Any) -> str:
        """One metric value with its unit: ``12.0 %``, ``0.679``."""
        if self.name == "share":
            return percent(x)
        return self._num(x)

    def gap(self, x: Any, *, sign: bool = True) -> str:
        """A gap (or a tolerance, with ``sign=False``) with its unit: ``+3.4 pp``, ``0.050 AUC``."""
        if not finite(x):
            return DASH
        if self.name == "share":
            return f"{fixed(float(x) * 100, 1, sign=sign)}{NBSP}pp"
        text = self._num(x, sign=sign)
        return f"{text}{NBSP}{self.suffix}" if self.suffix else text

    def magnitude(self, x: Any) -> str:
        """An unsigned size of a gap (for ``|gap|``): never a sign inside absolute-value bars."""
        return self.gap(abs(float(x)), sign=False) if finite(x) else DASH

    def interval(self, ci: Any) -> str:
        """A gap's interval, ``[+1.2, +5.6] pp``; empty when there is none."""
        if not ci or len(ci) != 2 or not all(finite(v) for v in ci):
            return ""
        lo, hi = ci
        if self.name == "share":
            body = f"[{fixed(lo * 100, 1, sign=True)}, {fixed(hi * 100, 1, sign=True)}]"
            return f"{body}{NBSP}pp"
        body = f"[{self._num(lo, sign=True)}, {self._num(hi, sign=True)}]"
        return f"{body}{NBSP}{self.suffix}" if self.suffix else body


SHARE = Unit("share", "percentage points (pp) of a share", "pp")
AUC = Unit("auc", "AUC (area under the ROC curve, 0.5 = chance, 1 = perfect)", "AUC", 3)
LOG = Unit("log", "natural-log units (a gap of 0.69 is a factor of 2)", "log", 3)
LOG2 = Unit("log2", "doublings (log2 units)", "log2", 2)
NUMBER = Unit("number", "the metric's own units", "")

#: Metric key patterns, first match wins. Everything that is a share of samples reads in %.
UNITS: tuple[tuple[str, Unit], ...] = (
    ("*.auc", AUC),
    ("*accuracy*", SHARE),
    ("*.tpr@fpr=*", SHARE),
    ("*.exposure", SHARE),
    ("*asr", SHARE),
    ("*log_loss", LOG),
    ("*.log2_*", LOG2),
)


def unit_of(metric: str) -> Unit:
    """The unit of a metric key (``accuracy.forget`` -> percentage, ``threshold.loss.auc`` -> AUC)."""
    for pattern, unit in UNITS:
        if fnmatch.fnmatchcase(metric, pattern):
            return unit
    return NUMBER


def seconds(x: Any) -> str:
    """A duration: ``2.1 s``, ``1 min 05 s``, ``1 h 02 min``."""
    if not finite(x):
        return DASH
    x = float(x)
    if x < 60:
        return f"{sig(x, 2) if x < 10 else f'{x:.0f}'}{NBSP}s"
    minutes, rest = divmod(round(x), 60)
    if minutes < 60:
        return f"{minutes}{NBSP}min {rest:02d}{NBSP}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}{NBSP}h {minutes:02d}{NBSP}min"


def amount(x: Any) -> str:
    """A count that may be fractional (records expected by chance): ``7``, ``3.2``, ``0.45``."""
    if not finite(x):
        return DASH
    if float(x) == round(float(x)):
        return f"{round(float(x)):,}"
    return sig(x, 2)


def count(n: Any) -> str:
    """An integer with thousands separators: ``3,200``."""
    if isinstance(n, bool) or not isinstance(n, int):
        return DASH if n is None else str(n)
    return f"{n:,}"


__all__ = [
    "AUC",
    "amount",
    "LOG",
    "LOG2",
    "NUMBER",
    "SHARE",
    "UNITS",
    "Unit",
    "count",
    "finite",
    "fixed",
    "percent",
    "seconds",
    "sig",
    "unit_of",
]
