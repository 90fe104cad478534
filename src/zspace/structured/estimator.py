"""A scikit-learn estimator over both latent SSVM learners: ``LatentSSVM(problem, method=...)``.

With ``problem=None`` it is a plain classifier: labels are encoded like any scikit-learn
classifier's and a :class:`LatentMulticlass` with ``n_latent`` sub-classes per label is built from
the data, so it passes scikit-learn's common estimator checks. With a problem it learns that
problem's structured outputs (sequences, aligned images, ...) and ``score`` is 1 - mean task loss.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from zspace.core.constraints import NonNegative, NonNegativeInt, Positive, Seed, Size, check_params
from zspace.errors import ConfigError
from zspace.structured.exact import fit_exact
from zspace.structured.perturbed import fit_perturbed
from zspace.structured.problems import LatentMulticlass, StructuredProblem

__all__ = ["METHODS", "LatentSSVM"]

METHODS = ("exact", "perturbed")


class LatentSSVM(ClassifierMixin, BaseEstimator):
    """Latent structural SVM trained exactly (CCCP, Yu & Joachims) or with random max losses (Bello & Honorio).

    Parameters:
        problem: a :class:`StructuredProblem`, or None for multiclass classification of feature
            vectors with ``n_latent`` latent sub-classes per label.
        method: "exact" (:func:`fit_exact`) or "perturbed" (:func:`fit_perturbed`).
        n_latent: latent sub-classes per label when ``problem`` is None.
        alpha: L2 regularisation strength of the shared objective.
        tol: stopping tolerance (cutting planes and CCCP for exact, epochs for perturbed).
        max_rounds: CCCP rounds (exact). oracle, n_samples, violator_cache, rescaling, latent, sigma,
            batch_size, max_epochs, learning_rate: the SGD learner's knobs, see :func:`fit_perturbed`.
        random_state: seeds the initial latents and the proposals.

    Attributes (after fit): ``coef_`` (n_features,), ``problem_``, ``latent_`` (training latents),
    ``history_``, ``fit_seconds_``, ``n_oracle_calls_``, ``converged_``; in classifier mode
    also ``classes_`` and ``n_features_in_``.
    """

    # Checked by fit (scikit-learn's _parameter_constraints, with zspace.core.constraints' types).
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "problem": StructuredProblem | None,
        "method": Literal["exact", "perturbed"],
        "n_latent": Size,
        "alpha": Positive,
        "tol": NonNegative,
        "max_rounds": Size,
        "oracle": str,
        "n_samples": Size,
        "violator_cache": NonNegativeInt,
        "rescaling": str,
        "latent": str,
        "sigma": NonNegative,
        "batch_size": Size,
        "max_epochs": NonNegativeInt,
        "learning_rate": Positive | None,
        "random_state": Seed | np.random.RandomState | None,
    }

    def __init__(
        self,
        problem: StructuredProblem | None = None,
        method: str = "perturbed",
        *,
        n_latent: int = 2,
        alpha: float = 1e-2,
        tol: float = 1e-3,
        max_rounds: int = 20,
        oracle: str = "sampled",
        n_samples: int = 10,
        violator_cache: int = 0,
        rescaling: str = "slack",
        latent: str = "exact",
        sigma: float = 0.0,
        batch_size: int = 128,
        max_epochs: int = 30,
        learning_rate: float | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.problem = problem
        self.method = method
        self.n_latent = n_latent
        self.alpha = alpha
        self.tol = tol
        self.max_rounds = max_rounds
        self.oracle = oracle
        self.n_samples = n_samples
        self.violator_cache = violator_cache
        self.rescaling = rescaling
        self.latent = latent
        self.sigma = sigma
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.random_state = random_state

    def validate_params(self) -> None:
        """Every parameter against :attr:`_parameter_constraints`: a ConfigError names it, its value and the range."""
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {list(METHODS)}, got {self.method!r}")
        check_params(self._parameter_constraints, self.get_params(deep=False), "LatentSSVM")

    # --- data handling ---------------------------------------------------------------------
    def _encode_fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        if self.problem is not None:
            self.problem_ = self.problem
            return np.asarray(X), np.asarray(y)
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        self.classes_, Y = np.unique(y, return_inverse=True)
        self.problem_ = LatentMulticlass(n_classes=len(self.classes_), n_latent=self.n_latent, n_input_features=X.shape[1])
        return X, Y

    def _inputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coef_")
        if self.problem is not None:
            return np.asarray(X, dtype=float)
        return validate_data(self, X, dtype=float, reset=False)

    # --- the estimator API -------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> LatentSSVM:
        """Learn w from inputs X and outputs y; returns self."""
        self.validate_params()
        X, Y = self._encode_fit(X, y)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        start = time.perf_counter()
        if self.method == "exact":
            result = fit_exact(self.problem_, X, Y, alpha=self.alpha, tol=self.tol, max_rounds=self.max_rounds, seed=seed)
        else:
            result = fit_perturbed(
                self.problem_,
                X,
                Y,
                alpha=self.alpha,
                oracle=self.oracle,
                n_samples=self.n_samples,
                violator_cache=self.violator_cache,
                rescaling=self.rescaling,
                latent=self.latent,
                sigma=self.sigma,
                batch_size=self.batch_size,
                max_epochs=self.max_epochs,
                learning_rate=self.learning_rate,
                tol=self.tol,
                seed=seed,
            )
        self.fit_seconds_ = time.perf_counter() - start
        self.coef_, self.latent_, self.history_ = result.w, result.H, result.history
        self.n_oracle_calls_, self.converged_ = result.n_oracle_calls, result.converged
        return self

    def predict(self, X: Any) -> np.ndarray:
        """argmax_y max_h w . phi(x, y, h) for every example."""
        X = self._inputs(X)  # first: raises NotFittedError before problem_ is touched
        Y, _ = self.problem_.batch_inference(self.coef_, X)
        return self.classes_[Y] if self.problem is None else Y

    def predict_latent(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The joint prediction (Y, H): outputs and the latent values that explain them."""
        X = self._inputs(X)
        Y, H = self.problem_.batch_inference(self.coef_, X)
        return (self.classes_[Y] if self.problem is None else Y), H

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy in classifier mode; 1 - mean task loss for a structured problem."""
        if self.problem is None:
            return super().score(X, y, sample_weight=sample_weight)
        losses = self.problem_.losses(np.asarray(y), self.predict(X))
        return float(1.0 - np.average(losses, weights=sample_weight))
