"""Random streams named by purpose, for common random numbers across scenarios.

Each stream's generator is seeded from ``(seed, replication, crc32(name))``, so a
stream's draws depend only on its own name: adding a stream, or changing how much
another stream is used, never shifts them. Two scenarios that differ only in
capacity therefore see the same patients with the same stays.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from d2asim.scenario.distributions import Distribution

BLOCK = 512


def stream_key(name: str) -> int:
    """A stable 32-bit integer for a stream name (independent of PYTHONHASHSEED)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Factory of independent generators for one replication."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication

    def rng(self, name: str) -> np.random.Generator:
        """The generator for stream ``name`` (a fresh one on every call)."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, self.replication, stream_key(name)]))

    def sampler(self, name: str, dist: Distribution) -> BlockSampler:
        """A function returning successive draws (days) of ``dist`` from stream ``name``."""
        return BlockSampler(self.rng(name), dist.sample)

    def uniform(self, name: str) -> BlockSampler:
        """A function returning successive U(0, 1) draws from stream ``name``."""
        rng = self.rng(name)
        return BlockSampler(rng, lambda r, n: r.random(n))


class BlockSampler:
    """Draws values in numpy blocks and hands them out one at a time (fast scalar draws)."""

    __slots__ = ("_rng", "_draw", "_block", "_i")

    def __init__(self, rng: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray]) -> None:
        self._rng = rng
        self._draw = draw
        self._block: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        if self._i >= len(self._block):
            self._block = self._draw(self._rng, BLOCK).tolist()
            self._i = 0
        value = self._block[self._i]
        self._i += 1
        return value

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` values, exactly as ``n`` calls would return them (numpy
        generators produce the same sequence whatever the chunk sizes)."""
        buffered = self._block[self._i : self._i + n]
        self._i += len(buffered)
        rest = n - len(buffered)
        if rest == 0:
            return np.asarray(buffered, dtype=float)
        return np.concatenate([np.asarray(buffered, dtype=float), self._draw(self._rng, rest)])
