"""Level shifts in a trust's observed series: where the data show a step change.

A monthly series (e.g. NCTR remaining) is split at every month that leaves at least
``MIN_MONTHS`` on each side; the split's statistic is the difference of the two means in
units of its standard error, ``(mean_after - mean_before) / (s sqrt(1/k + 1/(n-k)))``,
with ``s`` the series' month-to-month noise (von Neumann, as the fit's error scale,
which one step barely inflates). The best split is a **step** when ``|t| >= T_MIN`` and
the shift is at least ``MIN_RELATIVE`` of the level before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from d2asim.calibration.simfit import noise_scale

MIN_MONTHS = 3  # on each side of a step
T_MIN = 3.0  # 4 of 400 noise-only 12-month series pass it (tests/test_calibration_steps.py)
MIN_RELATIVE = 0.15  # of the level before the step


@dataclass(frozen=True)
class LevelShift:
    """A step of a monthly series: the first month of the new level and the levels."""

    month: str  # YYYY-MM
    before: float
    after: float
    t: float

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else math.inf


def level_shift(monthly: pd.Series) -> LevelShift | None:
    """The step in ``monthly`` (index ``YYYY-MM`` strings, in order), or None (see the module)."""
    values = monthly.dropna()
    n = len(values)
    if n < 2 * MIN_MONTHS:
        return None
    noise = noise_scale(values)
    x = values.to_numpy(dtype=float)
    best: LevelShift | None = None
    for k in range(MIN_MONTHS, n - MIN_MONTHS + 1):
        before, after = float(np.mean(x[:k])), float(np.mean(x[k:]))
        t = (after - before) / (noise * math.sqrt(1 / k + 1 / (n - k)))
        if best is None or abs(t) > abs(best.t):
            best = LevelShift(str(values.index[k]), before, after, t)
    if best is None or abs(best.t) < T_MIN or abs(best.after - best.before) < MIN_RELATIVE * abs(best.before):
        return None
    return best
