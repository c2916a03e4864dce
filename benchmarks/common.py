"""Seeded inputs shared by the asv benchmarks.

The training workloads themselves live in ``jitnet.workloads`` so that
``python -m jitnet bench`` and asv time the same code.
"""
import time

import numpy as np

DTYPES = ["float32", "float64"]


def rand(shape, dtype="float32", seed=0):
    """Standard normal data, seeded."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def probabilities(shape, dtype="float32", seed=0):
    """Rows of a softmax, seeded."""
    z = rand(shape, "float64", seed) * 3
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(dtype)


def dense_layer(lib, n_in, n_out, dtype, **regularizers):
    """``lib.Layer_Dense`` with the book's seeded start, parameters in ``dtype``."""
    np.random.seed(0)
    layer = lib.Layer_Dense(n_in, n_out, **regularizers)
    layer.weights = layer.weights.astype(dtype)
    layer.biases = layer.biases.astype(dtype)
    return layer


def best_of(run, repeat=5):
    """The fastest of ``repeat`` timed calls of ``run()`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def speedup(slow, fast, repeat=5):
    """How many times faster ``fast()`` runs than ``slow()``, timed side by side."""
    return best_of(slow, repeat) / best_of(fast, repeat)
