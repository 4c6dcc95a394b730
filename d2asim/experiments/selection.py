"""Ranking and selection among a few simulated candidates on common random numbers.

:class:`KN` is the fully sequential procedure of Kim & Nelson (2001, "A fully
sequential procedure for indifference-zone selection in simulation", ACM TOMACS
11(3)): from ``n0`` first replications of each of ``k`` candidates it takes the
variance of every pairwise difference (paired replication by replication, so
common random numbers shrink it), then adds replications and drops a candidate as
soon as another is better by more than a shrinking margin. When the best is at
least ``delta`` better than every other, it is selected with probability at least
``1 - alpha``. Candidates still alive at a replication cap are reported as the set
that cannot be separated within ``delta``.

Values are *losses* here (smaller is better): negate a maximised objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KN:
    """KN with first-stage size ``n0`` (>= 2), indifference zone ``delta`` (> 0, in the
    objective's units) and error ``alpha`` (probability of a wrong choice)."""

    n0: int
    delta: float
    alpha: float = 0.05

    def h2(self, k: int) -> float:
        """``h^2 = 2 eta (n0 - 1)`` with ``eta = ((2 alpha / (k - 1))^(-2/(n0-1)) - 1) / 2``."""
        eta = 0.5 * ((2 * self.alpha / (k - 1)) ** (-2.0 / (self.n0 - 1)) - 1.0)
        return 2.0 * eta * (self.n0 - 1)

    def pair_variances(self, losses: np.ndarray) -> np.ndarray:
        """``S^2_il``: variance of the paired differences over the first ``n0`` replications."""
        first = losses[:, : self.n0]
        diff = first[:, None, :] - first[None, :, :]
        return diff.var(axis=2, ddof=1)

    def last_stage(self, losses: np.ndarray) -> int:
        """The replication count by which KN has always decided: ``max floor(h^2 S^2 / delta^2) + 1``."""
        k = losses.shape[0]
        if k < 2:
            return self.n0
        bound = self.h2(k) * self.pair_variances(losses) / self.delta**2
        return int(np.floor(bound.max())) + 1

    def screen(self, losses: np.ndarray, alive: np.ndarray, first: int, last: int) -> np.ndarray:
        """Apply the elimination of stages ``first..last`` (replication counts, each
        >= n0) in order to the candidates ``alive`` (booleans); ``losses`` holds at least
        ``last`` replications of every alive candidate (rows: candidates)."""
        k = losses.shape[0]
        alive = alive.copy()
        if k < 2:
            return alive
        h2, s2 = self.h2(k), self.pair_variances(losses)
        for r in range(max(first, self.n0), last + 1):
            if alive.sum() <= 1:
                break
            means = losses[:, :r].mean(axis=1)
            margin = np.maximum(0.0, self.delta / (2 * r) * (h2 * s2 / self.delta**2 - r))
            beaten = (means[:, None] > means[None, :] + margin) & alive[None, :]
            np.fill_diagonal(beaten, False)
            alive &= ~beaten.any(axis=1)
        return alive


def probability_best(losses: np.ndarray, seed: int, draws: int = 4000) -> np.ndarray:
    """Bootstrap probability that each candidate has the smallest mean: the common
    replications are resampled together (pairs kept, as common random numbers need),
    ties shared. ``losses``: candidates x common replications."""
    k, n = losses.shape
    if k == 1:
        return np.ones(1)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(draws, n))
    means = losses[:, picks].mean(axis=2)  # k x draws
    best = means == means.min(axis=0, keepdims=True)
    return (best / best.sum(axis=0, keepdims=True)).mean(axis=1)


def default_delta(best_mean: float, share: float = 0.01) -> float:
    """The default indifference zone: ``share`` (1%) of the best candidate's mean
    objective in absolute value, or 1 unit when that is 0."""
    value = abs(best_mean) * share
    return value if value > 0 and math.isfinite(value) else 1.0
