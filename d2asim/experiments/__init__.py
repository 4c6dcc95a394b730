"""Experiments on top of the model: replications, comparisons, sweeps, capacity searches."""
