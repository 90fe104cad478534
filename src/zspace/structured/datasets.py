"""Named data sets for the CLI and benchmarks, their seeded train/test split, and the problem classes a run names.

A run saves its problem as a class name of :data:`PROBLEMS` and its fields (``zspace.structured.run``),
so a problem is rebuilt from JSON, never unpickled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from zspace.errors import ConfigError
from zspace.structured.alignment import ImageAlignment, make_shifted_digits
from zspace.structured.problems import LatentMulticlass, StructuredDataset, StructuredProblem, make_synthetic
from zspace.structured.sequence import LatentSequenceLabelling, make_synthetic_sequences

__all__ = ["DATASETS", "PROBLEMS", "load_dataset", "train_test_split"]

# name -> (generator, default keyword arguments, one-line description)
DATASETS: dict[str, tuple[Callable[..., StructuredDataset], dict[str, Any], str]] = {
    "synthetic-latent": (
        make_synthetic,
        {"n_samples": 3000, "n_classes": 10, "n_latent": 5, "n_input_features": 10, "noise": 0.0},
        "multiclass with latent sub-classes labelled by a known w",
    ),
    "sequences": (
        make_synthetic_sequences,
        {"n_samples": 600, "length": 10, "n_classes": 4, "n_latent": 2, "n_input_features": 6, "noise": 0.0},
        "sequence labelling with latent states",
    ),
    "digits-shift": (make_shifted_digits, {"margin": 2}, "scikit-learn digits pasted at a random offset (latent shift)"),
}

PROBLEMS: dict[str, type[StructuredProblem]] = {
    cls.__name__: cls for cls in (LatentMulticlass, LatentSequenceLabelling, ImageAlignment)
}


def load_dataset(name: str, seed: int = 0, **overrides: Any) -> StructuredDataset:
    """The named data set with its defaults updated by ``overrides``; seeded."""
    if name not in DATASETS:
        raise ConfigError(f"unknown problem {name!r}; valid: {sorted(DATASETS)}")
    make, defaults, _ = DATASETS[name]
    unknown = set(overrides) - set(defaults) - {"n_samples"}
    if unknown:
        raise ConfigError(f"problem {name!r} has no setting {sorted(unknown)}; valid: {sorted(set(defaults) | {'n_samples'})}")
    return make(**{**defaults, **overrides}, seed=seed)


def train_test_split(data: StructuredDataset, test_fraction: float, seed: int) -> tuple[tuple, tuple]:
    """((X_train, Y_train), (X_test, Y_test)) by a seeded permutation of the examples."""
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(data.X))
    n_test = max(1, round(test_fraction * len(order)))
    test, train = order[:n_test], order[n_test:]
    return (data.X[train], data.Y[train]), (data.X[test], data.Y[test])
