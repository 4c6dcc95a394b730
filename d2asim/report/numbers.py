"""How the comparison and sweep reports show numbers: a mean and its CI (and, for a
comparison, the two levels) share one number of decimals, chosen from the largest
magnitude among them, so a row never mixes '613.1' with '2,694'."""

from __future__ import annotations

import math
from collections.abc import Sequence

DASH = "–"  # shown for a missing value


def decimals_for(values: Sequence[float | None]) -> int:
    """0 decimals from 100, 1 from 10, else 2 (by the largest magnitude present)."""
    present = [abs(float(v)) for v in values if v is not None and not math.isnan(float(v))]
    top = max(present, default=0.0)
    return 0 if top >= 100 else 1 if top >= 10 else 2


def fmt(x: float | None, decimals: int, signed: bool = False) -> str:
    """``x`` with thousands separators; ``signed``: '+' before positive values."""
    if x is None or math.isnan(float(x)):
        return DASH
    text = f"{float(x):,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":  # rounds to zero: no sign
        return f"{0:.{decimals}f}"
    return f"+{text}" if signed and x > 0 else text


def fmt_row(values: Sequence[float | None], signed: Sequence[bool] | None = None) -> list[str]:
    """Each of ``values`` with the row's shared decimals (``signed`` per value)."""
    d = decimals_for(values)
    flags = signed or [False] * len(values)
    return [fmt(v, d, s) for v, s in zip(values, flags, strict=True)]
