"""The config of a latent-SSVM run: the problem and its data, the split, and the learner's parameters.

``zspace train structured`` turns its flags into a :class:`StructuredRunConfig`; the run saves it
in config.json, and ``zspace eval`` re-creates the data set and split from it.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from zspace.core.config import Registry
from zspace.core.constraints import Interval, NonNegative, NonNegativeInt, Positive, Seed, Size, configclass

OpenFraction = Annotated[float, Interval(0, 1, open="both")]


@configclass
class LearnerParams:
    """:class:`~zspace.structured.estimator.LatentSSVM`'s keyword arguments, with its defaults (a test keeps them equal)."""

    method: Literal["exact", "perturbed"] = "perturbed"
    n_latent: Size = 2
    alpha: Positive = 1e-2
    tol: NonNegative = 1e-3
    max_rounds: Size = 20
    oracle: str = "sampled"
    n_samples: Size = 10
    violator_cache: NonNegativeInt = 0
    rescaling: str = "slack"
    latent: str = "exact"
    sigma: NonNegative = 0.0
    batch_size: Size = 128
    max_epochs: NonNegativeInt = 30
    learning_rate: Positive | None = None
    random_state: Seed | None = None


@configclass
class StructuredRunConfig:
    """A latent-SSVM run: ``problem`` (a data set of :data:`zspace.structured.datasets.DATASETS`) made with
    ``data`` (its generator's settings; unset ones keep the data set's defaults) and ``seed``, split with
    ``test_fraction`` held out, and learned with ``params``."""

    problem: str = "synthetic-latent"
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    seed: Seed = 0
    test_fraction: OpenFraction = 0.25
    params: LearnerParams = dataclasses.field(default_factory=LearnerParams)


# One preset per bundled problem: the learner's defaults (the paper's randomized learner) on its data.
PRESETS: Registry[StructuredRunConfig] = Registry("structured")
for _problem in ("synthetic-latent", "sequences", "digits-shift"):
    PRESETS.register(_problem, StructuredRunConfig(problem=_problem))
