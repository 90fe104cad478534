"""Where the SGD learner's violators come from: exact loss-augmented inference or a random set of (y', h').

Every oracle returns, for a batch of B examples, a candidate set (Yc, Hc) of shape (B, k, ...);
the learner then takes the max loss over that set (:func:`zspace.structured.perturbed.randomized_loss_terms`).
This is what lets one optimiser run with every oracle, so a comparison varies the oracle only:

- ``ExactOracle``: k = 1, the exact loss-augmented argmax over the whole Y x H (margin rescaling;
  for slack rescaling only where the task loss is 0/1 and both coincide).
- ``SampledOracle``: k = n pairs drawn independently from the problem's proposal (Bello & Honorio
  2018: the max loss over random structures "sampled independently from some proposal
  distribution"; uniform over Y x H for multiclass and alignment is our choice), plus, with
  ``cache > 0``, the ``cache`` highest-loss pairs of the example's previous visit (a violator cache:
  our option, off by default, since those pairs depend on earlier draws and weights and are not
  independent draws; docs/BENCHMARKS.md says what of the paper's assumptions we could read).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zspace.errors import ConfigError
from zspace.structured.problems import StructuredProblem

__all__ = ["ExactOracle", "SampledOracle", "make_oracle"]

ORACLES = ("sampled", "exact")


@dataclass
class ExactOracle:
    """Exact loss-augmented inference: one candidate per example, the argmax over all of Y x H."""

    problem: StructuredProblem
    exact_calls: int = 0  # loss-augmented inferences, counted per example

    def candidates(self, w, X, Y, index, rng) -> tuple[np.ndarray, np.ndarray]:
        """(Yc, Hc) of shape (B, 1, ...) for the batch's examples ``index`` (B,)."""
        Y_hat, H_hat = self.problem.batch_loss_augmented_inference(w, X, Y)
        self.exact_calls += len(X)
        return np.asarray(Y_hat)[:, None], np.asarray(H_hat)[:, None]

    def remember(self, index, Yc, Hc, values) -> None:
        """Nothing to remember: exact inference is stateless."""


@dataclass
class SampledOracle:
    """n proposal draws per example and step, plus up to ``cache`` violators kept from the previous visit."""

    problem: StructuredProblem
    n_samples: int
    cache: int = 0
    sampled_scores: int = 0  # candidate (y', h') scored, counted per pair
    _Yc: np.ndarray | None = field(default=None, repr=False)  # (m, cache, ...) per training example
    _Hc: np.ndarray | None = field(default=None, repr=False)

    def start(self, X, Y, rng) -> None:
        """Fill the cache with one proposal draw per slot, so the first visit scores n + cache pairs too."""
        if self.cache:
            self._Yc, self._Hc = (np.array(a) for a in self.problem.sample_candidates(X, Y, self.cache, rng))

    def candidates(self, w, X, Y, index, rng) -> tuple[np.ndarray, np.ndarray]:
        """(Yc, Hc) of shape (B, n + cache, ...): fresh draws first, then the cached violators of ``index``."""
        Yc, Hc = self.problem.sample_candidates(X, Y, self.n_samples, rng)
        if self.cache:
            Yc = np.concatenate([Yc, self._Yc[index]], axis=1)
            Hc = np.concatenate([Hc, self._Hc[index]], axis=1)
        self.sampled_scores += Yc.shape[0] * Yc.shape[1]
        return Yc, Hc

    def remember(self, index, Yc, Hc, values) -> None:
        """Keep each example's ``cache`` highest-loss candidates (values (B, k)) for its next visit."""
        if not self.cache:
            return
        top = np.argsort(-values, axis=1, kind="stable")[:, : self.cache]  # (B, cache)
        rows = np.arange(len(index))[:, None]
        self._Yc[index] = Yc[rows, top]
        self._Hc[index] = Hc[rows, top]


def make_oracle(problem: StructuredProblem, oracle: str, n_samples: int, cache: int, rescaling: str):
    """The oracle named ``oracle`` ("sampled" or "exact"), or a ConfigError naming the fix."""
    if oracle not in ORACLES:
        raise ConfigError(f"oracle must be one of {list(ORACLES)}, got {oracle!r}")
    if oracle == "exact":
        if rescaling == "slack" and not problem.loss_is_zero_one:
            raise ConfigError(
                f"oracle='exact' with rescaling='slack' needs a 0/1 task loss (then slack and margin rescaling "
                f"coincide); {type(problem).__name__} has another loss: use rescaling='margin'"
            )
        if cache:
            raise ConfigError(f"violator_cache applies to oracle='sampled' only, got violator_cache={cache}")
        return ExactOracle(problem)
    return SampledOracle(problem, n_samples, cache)
