"""Learners: the CCCP objective never increases, the randomized loss lower-bounds the exact one,
known weights are recovered on easy data, and the dual solver matches a generic QP solver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from zspace.errors import ConfigError, DataError
from zspace.structured import (
    LatentMulticlass,
    LatentSequenceLabelling,
    fit_exact,
    fit_perturbed,
    latent_ssvm_objective,
    make_synthetic,
    make_synthetic_sequences,
    randomized_loss_terms,
)
from zspace.structured.exact import solve_one_slack_dual


def _split(data, n_train):
    return (data.X[:n_train], data.Y[:n_train]), (data.X[n_train:], data.Y[n_train:])


def _error(problem, w, X, Y):
    return float(problem.losses(Y, problem.batch_inference(w, X)[0]).mean())


def test_dual_solver_matches_a_generic_qp_solver():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((12, 30)) * 0.3
    K, b, cap = G @ G.T, rng.uniform(0.2, 1.0, 12), 4.0
    a = solve_one_slack_dual(K, b, cap, np.zeros(12), tol=1e-9)
    assert np.all(a >= 0) and a.sum() <= cap + 1e-9
    reference = minimize(
        lambda v: 0.5 * v @ K @ v - v @ b,
        np.zeros(12),
        jac=lambda v: K @ v - b,
        method="SLSQP",
        bounds=[(0, None)] * 12,
        constraints=[{"type": "ineq", "fun": lambda v: cap - v.sum()}],
    )
    assert a @ b - 0.5 * a @ K @ a == pytest.approx(-reference.fun, abs=1e-6)


def test_brute_force_objective_agrees_with_oracles():
    data = make_synthetic(15, 3, 2, 3, noise=1.0, seed=5)
    problem, X, Y = data.problem, data.X, data.Y
    w = np.random.default_rng(1).standard_normal(problem.n_features)
    pairs = list(itertools.product(range(3), range(2)))
    hinge = [
        max(problem.loss(y, a) + w @ problem.joint_feature(x, a, b) for a, b in pairs)
        - max(w @ problem.joint_feature(x, y, h) for h in range(2))
        for x, y in zip(X, Y)
    ]
    assert latent_ssvm_objective(problem, w, X, Y, alpha=0.3) == pytest.approx(0.15 * w @ w + np.mean(hinge))


@pytest.mark.parametrize("make", ["multiclass", "sequence"])
def test_exact_objective_decreases_monotonically(make):
    if make == "multiclass":
        data = make_synthetic(300, 4, 3, 5, noise=1.0, seed=0)
    else:
        data = make_synthetic_sequences(30, 4, 2, 2, 3, noise=1.0, seed=0)
    result = fit_exact(data.problem, data.X, data.Y, alpha=0.05, tol=1e-3, max_rounds=8, seed=1)
    objectives = [h["objective"] for h in result.history]
    assert len(objectives) >= 2
    assert np.all(np.diff(objectives) <= 1e-12)
    # each round's convex surrogate upper-bounds the true objective at its solution
    assert all(h["surrogate"] >= h["objective"] - 1e-9 for h in result.history)
    assert objectives[-1] == pytest.approx(latent_ssvm_objective(data.problem, result.w, data.X, data.Y, 0.05))
    np.testing.assert_array_equal(result.H, data.problem.batch_latent_completion(result.w, data.X, data.Y))


def test_exact_is_deterministic_and_respects_h_init():
    data = make_synthetic(120, 3, 2, 4, noise=0.5, seed=2)
    a = fit_exact(data.problem, data.X, data.Y, seed=3)
    b = fit_exact(data.problem, data.X, data.Y, seed=3)
    np.testing.assert_array_equal(a.w, b.w)
    with_truth = fit_exact(data.problem, data.X, data.Y, H_init=data.H, max_rounds=1)
    assert with_truth.history[0]["round"] == 0


@pytest.mark.parametrize("rescaling", ["slack", "margin"])
def test_randomized_loss_lower_bounds_the_exact_max_loss(rescaling):
    """For the same w and exact imputation, a max over sampled pairs can never exceed the max over all pairs."""
    data = make_synthetic(40, 4, 3, 3, noise=1.0, seed=3)
    problem, X, Y = data.problem, data.X, data.Y
    rng = np.random.default_rng(0)
    pairs = list(itertools.product(range(4), range(3)))
    for _ in range(5):
        w = rng.standard_normal(problem.n_features)
        H_star = problem.batch_latent_completion(w, X, Y)
        star = problem.scores(w, X, Y, H_star)
        Yc, Hc = problem.sample_candidates(X, Y, 4, rng)
        losses, _, coef = randomized_loss_terms(problem, w, X, Y, H_star, Yc, Hc, rescaling)
        for i, x in enumerate(X):
            values = []
            for a, b in pairs:
                margin = star[i] - w @ problem.joint_feature(x, a, b)
                delta = problem.loss(Y[i], a)
                values.append(delta * max(0.0, 1 - margin) if rescaling == "slack" else max(0.0, delta - margin))
            assert 0.0 <= losses[i] <= max(values) + 1e-12
        assert np.all((coef > 0) == (losses > 0))
    # with every pair among the candidates the randomized loss equals the exact one
    everything = np.tile(np.array(pairs).T[:, None, :], (1, len(X), 1))
    full, _, _ = randomized_loss_terms(problem, w, X, Y, H_star, everything[0], everything[1], "margin")
    Y_hat, H_hat = problem.batch_loss_augmented_inference(w, X, Y)
    exact = np.maximum(0, problem.losses(Y, Y_hat) + problem.scores(w, X, Y_hat, H_hat) - star)
    np.testing.assert_allclose(full, exact)


@pytest.mark.parametrize("method", ["exact", "perturbed"])
def test_learners_recover_a_known_w_on_easy_data(method):
    data = make_synthetic(1400, 3, 2, 4, noise=0.0, seed=4)
    (X, Y), (X_test, Y_test) = _split(data, 1000)
    if method == "exact":
        w = fit_exact(data.problem, X, Y, alpha=1e-3).w
    else:
        w = fit_perturbed(data.problem, X, Y, alpha=1e-3, n_samples=6, max_epochs=30, seed=0).w
    assert _error(data.problem, w, X_test, Y_test) < 0.06
    # the direction of the learned blocks matches the truth, up to the permutation of sub-classes
    W, W_true = w.reshape(3, 2, 4), data.w_true.reshape(3, 2, 4)
    cosines = [
        max(np.dot(W[c, h], W_true[c, g]) / np.linalg.norm(W[c, h]) / np.linalg.norm(W_true[c, g]) for g in range(2))
        for c in range(3)
        for h in range(2)
    ]
    assert np.median(cosines) > 0.75


def test_perturbed_learns_sequences_and_is_deterministic():
    data = make_synthetic_sequences(260, 8, 3, 2, 4, noise=0.0, seed=1)
    (X, Y), (X_test, Y_test) = _split(data, 200)
    problem = LatentSequenceLabelling(3, 2, 4, 8, proposal="local")
    run = [fit_perturbed(problem, X, Y, alpha=1e-3, n_samples=8, batch_size=20, max_epochs=15, seed=7) for _ in range(2)]
    np.testing.assert_array_equal(run[0].w, run[1].w)
    assert _error(problem, run[0].w, X_test, Y_test) < 0.5  # chance is 2/3 of the positions wrong


@pytest.mark.parametrize("options", [{"latent": "sampled", "n_latent_samples": 3}, {"sigma": 0.1}, {"rescaling": "margin"}])
def test_perturbed_variants_train(options):
    data = make_synthetic(600, 3, 2, 4, noise=0.0, seed=6)
    (X, Y), (X_test, Y_test) = _split(data, 400)
    result = fit_perturbed(data.problem, X, Y, alpha=1e-3, n_samples=6, max_epochs=20, seed=0, **options)
    assert _error(data.problem, result.w, X_test, Y_test) < 0.15
    assert result.n_oracle_calls > 0 and result.history


def test_learners_reject_bad_settings_and_data():
    data = make_synthetic(30, 3, 2, 4, seed=0)
    problem, X, Y = data.problem, data.X, data.Y
    with pytest.raises(ConfigError, match="rescaling must be one of"):
        fit_perturbed(problem, X, Y, rescaling="both")
    with pytest.raises(ConfigError, match="n_samples must be a positive int"):
        fit_perturbed(problem, X, Y, n_samples=0)
    with pytest.raises(ConfigError, match="alpha must be > 0"):
        fit_perturbed(problem, X, Y, alpha=0.0)
    with pytest.raises(ConfigError, match="alpha and tol must be > 0"):
        fit_exact(problem, X, Y, alpha=-1.0)
    with pytest.raises(DataError, match=r"Y\[0\] = 7 is out of range"):
        fit_exact(problem, X, np.full(30, 7))
    with pytest.raises(DataError, match=r"expected \(4,\)"):
        fit_perturbed(LatentMulticlass(3, 2, 4), X[:, :3], Y)
