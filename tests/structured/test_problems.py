"""Problems: feature maps and argmax oracles against brute-force enumeration on tiny problems."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from zspace.errors import ConfigError, DataError
from zspace.structured import LatentMulticlass, StructuredProblem, make_synthetic

from ._brute import all_pairs, brute_argmax


def _tiny_problems(n=25, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        problem = LatentMulticlass(int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        w = rng.standard_normal(problem.n_features)
        x = rng.standard_normal(problem.n_input_features)
        y = int(rng.integers(problem.n_classes))
        yield problem, w, x, y


def test_is_a_structured_problem_and_frozen():
    problem = LatentMulticlass(3, 2, 4)
    assert isinstance(problem, StructuredProblem)
    assert problem.n_features == 3 * 2 * 4
    with pytest.raises(AttributeError):
        problem.n_classes = 5  # type: ignore[misc]


@pytest.mark.parametrize("args", [(0, 2, 3), (2, 0, 3), (2, 2, 0), (2.5, 2, 3), (True, 2, 3)])
def test_constructor_rejects_bad_sizes(args):
    with pytest.raises(ConfigError):
        LatentMulticlass(*args)


def test_joint_feature_shape_and_placement():
    problem = LatentMulticlass(n_classes=3, n_latent=2, n_input_features=4)
    x = np.arange(1.0, 5.0)
    for y, h in all_pairs(problem):
        phi = problem.joint_feature(x, y, h)
        assert phi.shape == (problem.n_features,)
        block = phi.reshape(3, 2, 4)
        np.testing.assert_array_equal(block[y, h], x)
        block[y, h] = 0.0
        assert not block.any()
    # w . phi(x, y, h) = W[y, h] . x (the reshape the oracles rely on).
    w = np.random.default_rng(0).standard_normal(problem.n_features)
    assert w @ problem.joint_feature(x, 2, 1) == pytest.approx(w.reshape(3, 2, 4)[2, 1] @ x)
    np.testing.assert_allclose(problem.score_table(w, x[None])[0], w.reshape(3, 2, 4) @ x)


def test_joint_feature_rejects_bad_arguments():
    problem = LatentMulticlass(3, 2, 4)
    with pytest.raises(DataError, match=r"X must have shape \(n_samples, 4\)"):
        problem.joint_feature(np.zeros(5), 0, 0)
    with pytest.raises(DataError, match=r"y\[0\] = 3 is out of range: values must lie in \[0, 3\)"):
        problem.joint_feature(np.zeros(4), 3, 0)
    with pytest.raises(DataError, match=r"h\[0\] = 2 is out of range: values must lie in \[0, 2\)"):
        problem.joint_feature(np.zeros(4), 0, 2)
    with pytest.raises(DataError, match=r"y must hold ints"):
        problem.joint_feature(np.zeros(4), 0.5, 0)
    with pytest.raises(DataError, match="w must have shape"):
        problem.inference(np.zeros(5), np.zeros(4))


def test_joint_feature_sum_matches_loop():
    data = make_synthetic(30, 4, 3, 5, noise=0.5, seed=1)
    problem, X, Y, w = data.problem, data.X, data.Y, data.w_true
    H = problem.batch_latent_completion(w, X, Y)
    loop = sum(problem.joint_feature(x, y, h) for x, y, h in zip(X, Y, H))
    np.testing.assert_allclose(problem.joint_feature_sum(X, Y, H), loop)
    # scores agree with the explicit dot product w . phi
    np.testing.assert_allclose(problem.scores(w, X, Y, H), [w @ problem.joint_feature(x, y, h) for x, y, h in zip(X, Y, H)])


def test_oracles_match_brute_force():
    for problem, w, x, y in _tiny_problems():
        assert problem.inference(w, x) == brute_argmax(problem, w, x)
        assert problem.loss_augmented_inference(w, x, y) == brute_argmax(problem, w, x, y, augment=True)
        assert (y, problem.latent_completion(w, x, y)) == brute_argmax(problem, w, x, y, fixed_y=True)


def test_oracles_break_ties_like_enumeration():
    problem = LatentMulticlass(3, 2, 2)
    w, x = np.zeros(problem.n_features), np.ones(2)  # every (y, h) scores 0
    assert problem.inference(w, x) == brute_argmax(problem, w, x) == (0, 0)
    assert problem.loss_augmented_inference(w, x, 0) == brute_argmax(problem, w, x, 0, augment=True) == (1, 0)
    assert problem.latent_completion(w, x, 2) == 0


def test_loss_augmented_prefers_wrong_label_by_margin():
    problem = LatentMulticlass(2, 1, 1)
    w = np.array([1.0, 0.5])  # W[0] = 1, W[1] = 0.5
    x = np.array([1.0])
    assert problem.inference(w, x) == (0, 0)
    assert problem.loss_augmented_inference(w, x, 0) == (1, 0)  # 0.5 + 1 > 1 + 0


def test_batch_oracles_match_single():
    data = make_synthetic(40, 5, 3, 4, noise=1.0, seed=2)
    problem, X, Y, w = data.problem, data.X, data.Y, data.w_true
    Yp, Hp = problem.batch_inference(w, X)
    Hc = problem.batch_latent_completion(w, X, Y)
    Ya, Ha = problem.batch_loss_augmented_inference(w, X, Y)
    for i, x in enumerate(X):
        assert (Yp[i], Hp[i]) == problem.inference(w, x)
        assert Hc[i] == problem.latent_completion(w, x, Y[i])
        assert (Ya[i], Ha[i]) == problem.loss_augmented_inference(w, x, Y[i])


def test_candidate_scores_and_losses_match_single_pairs():
    data = make_synthetic(10, 4, 3, 5, noise=0.5, seed=4)
    problem, X, Y, w = data.problem, data.X, data.Y, data.w_true
    Yc, Hc = problem.sample_candidates(X, Y, 6, np.random.default_rng(0))
    S, D = problem.candidate_scores(w, X, Yc, Hc), problem.candidate_losses(Y, Yc)
    assert S.shape == D.shape == (10, 6)
    for i, j in itertools.product(range(10), range(6)):
        assert S[i, j] == pytest.approx(w @ problem.joint_feature(X[i], Yc[i, j], Hc[i, j]))
        assert D[i, j] == problem.loss(Y[i], Yc[i, j])


def test_loss_properties():
    problem = LatentMulticlass(4, 2, 3)
    for a, b in itertools.product(range(4), repeat=2):
        value = problem.loss(a, b)
        assert value >= 0.0
        assert (value == 0.0) == (a == b)
        assert value == problem.loss(b, a)
        assert isinstance(value, float)


def test_proposals_lie_in_space_and_are_reproducible():
    problem = LatentMulticlass(4, 3, 2)
    X, Y = np.zeros((2, 2)), np.array([1, 3])
    first = problem.sample_candidates(X, Y, 500, np.random.default_rng(7))
    again = problem.sample_candidates(X, Y, 500, np.random.default_rng(7))
    other = problem.sample_candidates(X, Y, 500, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    Yc, Hc = first
    assert Yc.shape == Hc.shape == (2, 500)
    assert set(zip(Yc[0], Hc[0])) == set(all_pairs(problem))  # uniform: 500 draws cover all 12 pairs
    latents = problem.sample_latents(X, Y, 300, np.random.default_rng(0))
    assert latents.shape == (2, 300) and set(latents.ravel()) == {0, 1, 2}
    assert problem.sample_candidates(X, Y, 0, np.random.default_rng(0))[0].shape == (2, 0)


def test_make_synthetic_is_deterministic_by_seed():
    a = make_synthetic(50, 3, 2, 4, noise=0.3, seed=11)
    b = make_synthetic(50, 3, 2, 4, noise=0.3, seed=11)
    c = make_synthetic(50, 3, 2, 4, noise=0.3, seed=12)
    assert a.problem == b.problem
    for name in ("X", "Y", "H", "w_true"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.X, c.X)


def test_make_synthetic_shapes_and_noiseless_fit():
    data = make_synthetic(200, 5, 3, 6, noise=0.0, seed=3)
    problem, X, Y, H, w_true = data.problem, data.X, data.Y, data.H, data.w_true
    assert (problem.n_classes, problem.n_latent, problem.n_input_features) == (5, 3, 6)
    assert X.shape == (200, 6) and Y.shape == H.shape == (200,) and w_true.shape == (problem.n_features,)
    assert np.issubdtype(Y.dtype, np.integer) and np.issubdtype(H.dtype, np.integer)
    problem.validate(X, Y)
    Yp, Hp = problem.batch_inference(w_true, X)
    np.testing.assert_array_equal(Yp, Y)
    np.testing.assert_array_equal(Hp, H)  # the true latents are what w_true imputes
    assert len(np.unique(Y)) > 1


def test_make_synthetic_noise_flips_some_labels():
    data = make_synthetic(500, 5, 3, 6, noise=2.0, seed=3)
    error = np.mean(data.problem.batch_inference(data.w_true, data.X)[0] != data.Y)
    assert 0.0 < error < 0.8


def test_make_synthetic_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="noise"):
        make_synthetic(10, 2, 2, 2, noise=-1.0)
    with pytest.raises(ConfigError, match="n_samples"):
        make_synthetic(0, 2, 2, 2)
    with pytest.raises(ConfigError, match="n_latent"):
        make_synthetic(10, 2, 0, 2)


def test_validate_accepts_good_data():
    LatentMulticlass(3, 2, 4).validate(np.zeros((5, 4)), np.array([0, 1, 2, 0, 1]))


@pytest.mark.parametrize(
    ("X", "Y", "message"),
    [
        (np.zeros((5, 3)), np.zeros(5, dtype=int), r"expected \(4,\)"),
        (np.zeros(4), np.zeros(1, dtype=int), r"X must have shape \(n_samples, 4\)"),
        (np.zeros((5, 4)), np.array([0, 1, 3, 0, 1]), r"Y\[2\] = 3 is out of range.*\[0, 3\)"),
        (np.zeros((5, 4)), np.array([0, -1, 2, 0, 1]), r"Y\[1\] = -1 is out of range"),
        (np.zeros((5, 4)), np.zeros(4, dtype=int), r"Y must have shape \(5,\)"),
        (np.zeros((5, 4)), np.zeros(5), r"Y must hold ints"),
        (np.where(np.arange(20).reshape(5, 4) == 13, np.nan, 0.0), np.zeros(5, dtype=int), r"example 3"),
    ],
)
def test_validate_raises_clear_data_errors(X, Y, message):
    with pytest.raises(DataError, match=message):
        LatentMulticlass(3, 2, 4).validate(X, Y)


def test_import_has_no_side_effects():
    code = "import logging, zspace.structured; assert not logging.getLogger().handlers"
    subprocess.run([sys.executable, "-c", code], check=True)
