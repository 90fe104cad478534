"""The SGD learner: fixes for the averaging start, the starting latents and the stopping rule, and its oracles."""

from __future__ import annotations

import numpy as np
import pytest

from zspace.errors import ConfigError
from zspace.structured import (
    LatentSSVM,
    fit_perturbed,
    latent_ssvm_objective,
    make_shifted_digits,
    make_synthetic,
    make_synthetic_sequences,
)
from zspace.structured.oracles import SampledOracle


def _data():
    return make_synthetic(300, 4, 3, 5, noise=0.5, seed=0)


def test_a_run_that_stops_early_still_returns_the_tail_average():
    """(a): averaging used to begin at max_epochs // 2, so a run stopping earlier returned its last iterate."""
    data = _data()
    kwargs = {
        "alpha": 1e-2,
        "n_samples": 5,
        "max_epochs": 30,
        "tol": 1e9,
        "n_iter_no_change": 1,
        "seed": 0,
    }  # stops after 2 epochs
    averaged = fit_perturbed(data.problem, data.X, data.Y, average=True, **kwargs)
    last = fit_perturbed(data.problem, data.X, data.Y, average=False, **kwargs)
    assert len(averaged.history) == len(last.history) == 2 and averaged.converged
    assert not np.allclose(averaged.w, last.w)  # the same trajectory, but the average differs from its end


def test_tail_average_is_the_mean_of_the_last_half_of_the_iterates():
    data = _data()
    iterates = []
    for epochs in (1, 2, 3, 4):
        w = fit_perturbed(
            data.problem,
            data.X,
            data.Y,
            n_samples=5,
            max_epochs=epochs,
            n_iter_no_change=99,
            average=False,
            batch_size=300,
            seed=1,
        ).w
        iterates.append(w)
    # one step per epoch (batch = whole set): after 4 epochs the average covers epochs 2 and 3 (0-based)
    averaged = fit_perturbed(
        data.problem, data.X, data.Y, n_samples=5, max_epochs=4, n_iter_no_change=99, batch_size=300, seed=1
    ).w
    np.testing.assert_allclose(averaged, (iterates[2] + iterates[3]) / 2)


@pytest.mark.parametrize("latent", ["exact", "sampled"])
def test_starting_latents_are_applied(latent):
    """(b): with exact completion the first imputation at w = 0 gave h = 0 everywhere, whatever H_init was."""
    data = _data()
    rng = np.random.default_rng(0)
    inits = [rng.integers(0, 3, size=len(data.X)) for _ in range(2)]
    ws = [fit_perturbed(data.problem, data.X, data.Y, latent=latent, max_epochs=1, H_init=H0, seed=0).w for H0 in inits]
    assert not np.allclose(ws[0], ws[1])
    # one whole-set step from w = 0 is a subgradient step of the loss at exactly the given latents
    H0 = inits[0]
    w = fit_perturbed(
        data.problem,
        data.X,
        data.Y,
        oracle="exact",
        alpha=1.0,
        learning_rate=0.5,
        batch_size=300,
        max_epochs=1,
        H_init=H0,
        seed=0,
    ).w
    Y_hat, H_hat = data.problem.batch_loss_augmented_inference(np.zeros(data.problem.n_features), data.X, data.Y)
    wrong = Y_hat != data.Y
    step = data.problem.joint_feature_sum(data.X[wrong], Y_hat[wrong], H_hat[wrong])
    step -= data.problem.joint_feature_sum(data.X[wrong], data.Y[wrong], H0[wrong])
    np.testing.assert_allclose(w, -0.5 * step / len(data.X))


def test_stopping_reads_the_exact_objective_of_the_returned_weights():
    """(c): the history used to hold the noisy sampled objective; now f(w) on the fixed monitor subset."""
    data = _data()
    seen = []
    result = fit_perturbed(
        data.problem,
        data.X,
        data.Y,
        n_samples=3,
        max_epochs=6,
        monitor_size=1000,
        seed=2,
        callback=lambda entry, w: seen.append((entry["objective"], w.copy())),
    )
    assert len(seen) == len(result.history)
    for objective, w in seen:
        assert objective == pytest.approx(latent_ssvm_objective(data.problem, w, data.X, data.Y, 1e-2))
    np.testing.assert_array_equal(seen[-1][1], result.w)


def test_stopping_does_not_depend_on_sampling_noise():
    """Two runs whose sampled candidates differ only after training see the same objective for equal weights."""
    data = _data()
    a = fit_perturbed(data.problem, data.X, data.Y, max_epochs=3, monitor_size=100, seed=0)
    b = fit_perturbed(data.problem, data.X, data.Y, max_epochs=3, monitor_size=100, seed=0)
    assert [h["objective"] for h in a.history] == [h["objective"] for h in b.history]
    np.testing.assert_array_equal(a.w, b.w)


def test_exact_oracle_counts_one_inference_per_example_and_learns():
    data = make_synthetic(1400, 3, 2, 4, noise=0.0, seed=4)
    X, Y, X_test, Y_test = data.X[:1000], data.Y[:1000], data.X[1000:], data.Y[1000:]
    result = fit_perturbed(data.problem, X, Y, alpha=1e-3, oracle="exact", max_epochs=10, n_iter_no_change=99, seed=0)
    assert [h["exact_calls"] for h in result.history] == [1000 * (e + 1) for e in range(10)]
    assert all(h["sampled_scores"] == 0 for h in result.history)
    error = np.mean(data.problem.batch_inference(result.w, X_test)[0] != Y_test)
    assert error < 0.06


def test_exact_oracle_is_the_sampled_learner_when_every_pair_is_a_candidate():
    """The exact oracle's max equals the max over all of Y x H, so its loss upper-bounds every sampled one."""
    data = make_shifted_digits(margin=1, n_samples=60, seed=0)
    problem = data.problem
    w = np.random.default_rng(0).standard_normal(problem.n_features) * 0.1
    H_star = problem.batch_latent_completion(w, data.X, data.Y)
    oracle = SampledOracle(problem, n_samples=7)
    Yc, Hc = oracle.candidates(w, data.X, data.Y, np.arange(60), np.random.default_rng(1))
    from zspace.structured.perturbed import randomized_loss_terms

    sampled, _, _ = randomized_loss_terms(problem, w, data.X, data.Y, H_star, Yc, Hc, "margin")
    Y_hat, H_hat = problem.batch_loss_augmented_inference(w, data.X, data.Y)
    exact, _, _ = randomized_loss_terms(problem, w, data.X, data.Y, H_star, Y_hat[:, None], H_hat[:, None], "margin")
    assert np.all(sampled <= exact + 1e-12)
    assert oracle.sampled_scores == 60 * 7


def test_violator_cache_keeps_the_worst_pairs_of_the_previous_visit():
    data = _data()
    problem = data.problem
    oracle = SampledOracle(problem, n_samples=4, cache=2)
    rng = np.random.default_rng(0)
    oracle.start(data.X, data.Y, rng)
    index = np.arange(5)
    Yc, Hc = oracle.candidates(None, data.X[index], data.Y[index], index, rng)
    assert Yc.shape == (5, 6)
    values = np.tile(np.arange(6.0), (5, 1))  # the last two candidates have the highest loss
    oracle.remember(index, Yc, Hc, values)
    Yc2, Hc2 = oracle.candidates(None, data.X[index], data.Y[index], index, rng)
    np.testing.assert_array_equal(Yc2[:, 4:], Yc[:, [5, 4]])
    np.testing.assert_array_equal(Hc2[:, 4:], Hc[:, [5, 4]])
    result = fit_perturbed(problem, data.X, data.Y, violator_cache=2, n_samples=4, max_epochs=2, seed=0)
    assert result.history[-1]["sampled_scores"] == 2 * 300 * 6


def test_oracle_settings_are_checked():
    data = _data()
    with pytest.raises(ConfigError, match="oracle must be one of"):
        fit_perturbed(data.problem, data.X, data.Y, oracle="greedy")
    with pytest.raises(ConfigError, match="violator_cache applies to oracle='sampled' only"):
        fit_perturbed(data.problem, data.X, data.Y, oracle="exact", violator_cache=2)
    with pytest.raises(ConfigError, match="violator_cache must be an int >= 0"):
        fit_perturbed(data.problem, data.X, data.Y, violator_cache=-1)
    with pytest.raises(ConfigError, match="H_init must hold one latent per training example"):
        fit_perturbed(data.problem, data.X, data.Y, H_init=np.zeros(3, dtype=int))
    seq = make_synthetic_sequences(20, 4, 2, 2, 3, seed=0)
    with pytest.raises(ConfigError, match="use rescaling='margin'"):
        fit_perturbed(seq.problem, seq.X, seq.Y, oracle="exact")
    fit_perturbed(seq.problem, seq.X, seq.Y, oracle="exact", rescaling="margin", max_epochs=2)


def test_estimator_passes_the_oracle_through():
    data = _data()
    model = LatentSSVM(data.problem, oracle="exact", max_epochs=3, random_state=0).fit(data.X, data.Y)
    assert model.history_[-1]["exact_calls"] == 3 * 300 and model.history_[-1]["sampled_scores"] == 0


def test_a_batch_without_violators_only_shrinks_w():
    """Alignment's feature sum over no examples is zero (it used to fail to reshape an empty batch)."""
    data = make_shifted_digits(margin=1, n_samples=20, seed=0)
    empty = data.problem.joint_feature_sum(data.X[:0], data.Y[:0], data.H[:0])
    np.testing.assert_array_equal(empty, np.zeros(data.problem.n_features))


def test_exact_oracle_learns_shifted_digits_from_the_brightest_window_start():
    """Issue 15: from the centred window (mostly background at margin 6) the exact oracle's templates die.

    Trained on centred windows, each template is pushed up by a mostly blank window and down by the
    best-matching whole digit of a wrong class, turns negative, and every argmax then lands on a
    blank window (no template subgradient): the learner stays at chance. Started on the brightest
    window, the same learner with the same settings learns.
    """
    data = make_shifted_digits(margin=6, n_samples=600, seed=0)
    problem, X, Y, X_test, Y_test = data.problem, data.X[:450], data.Y[:450], data.X[450:], data.Y[450:]
    kwargs = {"oracle": "exact", "alpha": 1e-3, "learning_rate": 0.1, "max_epochs": 8, "batch_size": 32, "seed": 0}
    errors = {}
    for start in ("centre", "brightest"):
        H0 = problem.initial_latents(X, Y, np.random.default_rng(0)) if start == "centre" else problem.brightest_window_latents(X)
        w = fit_perturbed(problem, X, Y, H_init=H0, n_iter_no_change=8, **kwargs).w
        errors[start] = np.mean(problem.batch_inference(w, X_test)[0] != Y_test)
    assert errors["centre"] > 0.7  # chance is 0.9
    assert errors["brightest"] < 0.35
