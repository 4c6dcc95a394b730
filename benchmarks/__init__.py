"""Benchmarks of d2asim against plain SimPy, Ciw and a numba event loop (see README.md)."""
