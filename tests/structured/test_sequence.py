"""Latent sequence labelling: feature map and Viterbi oracles against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from zspace.errors import ConfigError, DataError
from zspace.structured import StructuredProblem
from zspace.structured.sequence import LatentSequenceLabelling, make_synthetic_sequences, max_sum_decode


def _all_sequences(problem):
    """Every (y, h) pair of sequences, in lexicographic order of the joint states (s_0, s_1, ...)."""
    states = np.array(list(itertools.product(range(problem.n_states), repeat=problem.length)))  # (S^T, T)
    return np.divmod(states, problem.n_latent)


def _brute_argmax(problem, w, x, y=None, augment=False, fixed_y=False):
    """Enumerate every sequence in joint-state order; np.argmax keeps the first maximiser."""
    Ys, Hs = _all_sequences(problem)
    values = np.array([w @ problem.joint_feature(x, yy, hh) for yy, hh in zip(Ys, Hs)])
    if augment:
        values = values + np.array([problem.loss(y, yy) for yy in Ys])
    if fixed_y:
        values = np.where((Ys == y).all(axis=1), values, -np.inf)
    best = np.argmax(values)
    return Ys[best], Hs[best]


def _tiny_problems(n=12, seed=0, integer_weights=False):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        C, L = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        T = int(rng.integers(1, 4)) if not integer_weights else 4 if C * L <= 2 else 2
        problem = LatentSequenceLabelling(C, L, int(rng.integers(1, 3)), T)
        if integer_weights:  # many exact ties; T in {2, 4} keeps the loss 1/T exact in floating point
            w = rng.integers(0, 2, size=problem.n_features).astype(float)
            x = rng.integers(0, 2, size=(T, problem.n_input_features)).astype(float)
        else:
            w = rng.standard_normal(problem.n_features)
            x = rng.standard_normal((T, problem.n_input_features))
        yield problem, w, x, rng.integers(problem.n_classes, size=T)


def _assert_same(pair, expected):
    np.testing.assert_array_equal(pair[0], expected[0])
    np.testing.assert_array_equal(pair[1], expected[1])


def test_is_a_structured_problem_and_frozen():
    problem = LatentSequenceLabelling(3, 2, 4, 5)
    assert isinstance(problem, StructuredProblem)
    assert problem.n_states == 6
    assert problem.n_features == 6 * 4 + 6 * 6 + 6
    with pytest.raises(AttributeError):
        problem.length = 3  # type: ignore[misc]


@pytest.mark.parametrize("args", [(0, 2, 3, 4), (2, 0, 3, 4), (2, 2, 0, 4), (2, 2, 3, 0), (2, 2.5, 3, 4), (2, 2, 3, True)])
def test_constructor_rejects_bad_sizes(args):
    with pytest.raises(ConfigError):
        LatentSequenceLabelling(*args)


def test_constructor_rejects_bad_proposals():
    with pytest.raises(ConfigError, match=r"proposal must be one of 'uniform', 'local', got 'hamming'"):
        LatentSequenceLabelling(2, 2, 3, 4, proposal="hamming")
    for flip in (-0.1, 1.5, float("nan"), "0.2", True):
        with pytest.raises(ConfigError, match="proposal_flip must be a probability in"):
            LatentSequenceLabelling(2, 2, 3, 4, proposal="local", proposal_flip=flip)


def test_joint_feature_blocks_by_hand():
    problem = LatentSequenceLabelling(n_classes=2, n_latent=2, n_input_features=2, length=3)
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y, h = np.array([1, 0, 1]), np.array([0, 1, 0])  # states 2, 1, 2
    phi = problem.joint_feature(x, y, h)
    assert phi.shape == (problem.n_features,)
    emission, transition, start = phi[:8].reshape(4, 2), phi[8:24].reshape(4, 4), phi[24:]
    np.testing.assert_array_equal(emission, [[0, 0], [3, 4], [6, 8], [0, 0]])
    expected = np.zeros((4, 4))
    expected[2, 1] = expected[1, 2] = 1
    np.testing.assert_array_equal(transition, expected)
    np.testing.assert_array_equal(start, [0, 0, 1, 0])


def test_joint_feature_sum_and_scores_match_single_examples():
    data = make_synthetic_sequences(20, 5, 3, 2, 4, noise=0.5, seed=1)
    problem, X, Y, H, w = data.problem, data.X, data.Y, data.H, data.w_true
    loop = sum(problem.joint_feature(x, y, h) for x, y, h in zip(X, Y, H))
    np.testing.assert_allclose(problem.joint_feature_sum(X, Y, H), loop)
    np.testing.assert_allclose(problem.scores(w, X, Y, H), [w @ problem.joint_feature(x, y, h) for x, y, h in zip(X, Y, H)])


def test_candidate_scores_and_losses_match_single_pairs():
    data = make_synthetic_sequences(6, 4, 3, 2, 3, noise=0.5, seed=4)
    problem, X, Y, w = data.problem, data.X, data.Y, data.w_true
    Yc, Hc = problem.sample_candidates(X, Y, 5, np.random.default_rng(0))
    S, D = problem.candidate_scores(w, X, Yc, Hc), problem.candidate_losses(Y, Yc)
    assert S.shape == D.shape == (6, 5)
    for i, j in itertools.product(range(6), range(5)):
        assert S[i, j] == pytest.approx(w @ problem.joint_feature(X[i], Yc[i, j], Hc[i, j]))
        assert D[i, j] == problem.loss(Y[i], Yc[i, j])


def test_candidate_scores_never_build_the_full_unary_table(monkeypatch):
    data = make_synthetic_sequences(4, 3, 2, 2, 3, seed=0)
    Yc, Hc = data.problem.sample_candidates(data.X, data.Y, 3, np.random.default_rng(0))

    def forbidden(*args):
        raise AssertionError("candidate_scores computed the (N, T, S) table")

    monkeypatch.setattr(LatentSequenceLabelling, "unary_table", forbidden)
    assert data.problem.candidate_scores(data.w_true, data.X, Yc, Hc).shape == (4, 3)


def test_oracles_match_brute_force():
    for problem, w, x, y in _tiny_problems():
        _assert_same(problem.inference(w, x), _brute_argmax(problem, w, x))
        _assert_same(problem.loss_augmented_inference(w, x, y), _brute_argmax(problem, w, x, y, augment=True))
        _assert_same((y, problem.latent_completion(w, x, y)), _brute_argmax(problem, w, x, y, fixed_y=True))


def test_oracles_break_ties_like_enumeration():
    for problem, w, x, y in _tiny_problems(n=10, seed=5, integer_weights=True):
        _assert_same(problem.inference(w, x), _brute_argmax(problem, w, x))
        _assert_same(problem.loss_augmented_inference(w, x, y), _brute_argmax(problem, w, x, y, augment=True))
        _assert_same((y, problem.latent_completion(w, x, y)), _brute_argmax(problem, w, x, y, fixed_y=True))
    problem = LatentSequenceLabelling(3, 2, 2, 4)
    w, x, y = np.zeros(problem.n_features), np.ones((4, 2)), np.array([0, 1, 0, 2])
    _assert_same(problem.inference(w, x), ([0, 0, 0, 0], [0, 0, 0, 0]))
    _assert_same(problem.loss_augmented_inference(w, x, y), ([1, 0, 1, 0], [0, 0, 0, 0]))  # first wrong label everywhere
    np.testing.assert_array_equal(problem.latent_completion(w, x, y), [0, 0, 0, 0])


def test_max_sum_decode_matches_enumeration_with_forbidden_states():
    rng = np.random.default_rng(3)
    unary, transition, start = rng.standard_normal((5, 3, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    unary[:, 1, 0] = -np.inf
    paths = np.array(list(itertools.product(range(3), repeat=3)))  # (27, 3)
    values = unary[:, np.arange(3), paths].sum(-1) + transition[paths[:, :-1], paths[:, 1:]].sum(-1) + start[paths[:, 0]]
    np.testing.assert_array_equal(max_sum_decode(unary, transition, start), paths[np.argmax(values, axis=1)])


def test_loss_augmented_trades_score_for_hamming_loss():
    problem = LatentSequenceLabelling(2, 1, 1, 2)
    w = np.zeros(problem.n_features)
    w[:2] = [1.0, 0.8]  # emission: label 0 scores x_t, label 1 scores 0.8 x_t
    x, y = np.ones((2, 1)), np.array([0, 0])
    _assert_same(problem.inference(w, x), ([0, 0], [0, 0]))
    _assert_same(problem.loss_augmented_inference(w, x, y), ([1, 1], [0, 0]))  # each flip: -0.2 score, +0.5 loss


def test_batch_oracles_match_single():
    data = make_synthetic_sequences(15, 4, 3, 2, 3, noise=1.0, seed=2)
    problem, X, Y, w = data.problem, data.X, data.Y, data.w_true
    Yp, Hp = problem.batch_inference(w, X)
    Hc = problem.batch_latent_completion(w, X, Y)
    Ya, Ha = problem.batch_loss_augmented_inference(w, X, Y)
    assert Yp.shape == Hp.shape == Hc.shape == Ya.shape == Ha.shape == (15, 4)
    for i, x in enumerate(X):
        _assert_same(problem.inference(w, x), (Yp[i], Hp[i]))
        np.testing.assert_array_equal(problem.latent_completion(w, x, Y[i]), Hc[i])
        _assert_same(problem.loss_augmented_inference(w, x, Y[i]), (Ya[i], Ha[i]))
    augmented = problem.losses(Y, Ya) + problem.scores(w, X, Ya, Ha)
    assert (augmented >= problem.losses(Y, Yp) + problem.scores(w, X, Yp, Hp) - 1e-9).all()
    assert (problem.scores(w, X, Y, Hc) >= problem.scores(w, X, Y, data.H) - 1e-9).all()


def test_loss_properties():
    problem = LatentSequenceLabelling(3, 1, 1, 3)
    sequences = list(itertools.product(range(3), repeat=3))
    for a, b in itertools.product(sequences[::4], sequences[::3]):
        value = problem.loss(a, b)
        assert isinstance(value, float) and 0.0 <= value <= 1.0
        assert (value == 0.0) == (a == b)
        assert value == problem.loss(b, a) == pytest.approx(np.mean(np.array(a) != np.array(b)))


def test_uniform_proposals_lie_in_space_and_are_reproducible():
    problem = LatentSequenceLabelling(3, 2, 2, 4)
    X, Y = np.zeros((2, 4, 2)), np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    first = problem.sample_candidates(X, Y, 300, np.random.default_rng(7))
    again = problem.sample_candidates(X, Y, 300, np.random.default_rng(7))
    other = problem.sample_candidates(X, Y, 300, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    Yc, Hc = first
    assert Yc.shape == Hc.shape == (2, 300, 4)
    assert set(Yc.ravel()) == {0, 1, 2} and set(Hc.ravel()) == {0, 1}
    assert problem.candidate_losses(Y, Yc).mean() == pytest.approx(2 / 3, abs=0.05)
    latents = problem.sample_latents(X, Y, 100, np.random.default_rng(0))
    assert latents.shape == (2, 100, 4) and set(latents.ravel()) == {0, 1}
    assert problem.sample_candidates(X, Y, 0, np.random.default_rng(0))[0].shape == (2, 0, 4)


def test_local_proposals_stay_near_the_true_labels():
    problem = LatentSequenceLabelling(5, 2, 2, 10, proposal="local", proposal_flip=0.2)
    X, Y = np.zeros((3, 10, 2)), np.random.default_rng(0).integers(0, 5, size=(3, 10))
    Yc, Hc = problem.sample_candidates(X, Y, 400, np.random.default_rng(1))
    assert Yc.shape == Hc.shape == (3, 400, 10) and Yc.min() >= 0 and Yc.max() < 5 and set(Hc.ravel()) == {0, 1}
    assert problem.candidate_losses(Y, Yc).mean() == pytest.approx(0.2 * 4 / 5, abs=0.02)  # a redraw may keep the label
    np.testing.assert_array_equal(problem.sample_candidates(X, Y, 400, np.random.default_rng(1))[0], Yc)
    frozen = LatentSequenceLabelling(5, 2, 2, 10, proposal="local", proposal_flip=0.0)
    np.testing.assert_array_equal(frozen.sample_candidates(X, Y, 5, np.random.default_rng(1))[0], np.repeat(Y[:, None], 5, 1))
    with pytest.raises(DataError, match=r"y must have shape \(3, 10\)"):
        problem.sample_candidates(X, Y[:, :4], 5, np.random.default_rng(1))


def test_make_synthetic_sequences_is_deterministic_by_seed():
    a = make_synthetic_sequences(30, 5, 3, 2, 4, noise=0.3, seed=11)
    b = make_synthetic_sequences(30, 5, 3, 2, 4, noise=0.3, seed=11)
    c = make_synthetic_sequences(30, 5, 3, 2, 4, noise=0.3, seed=12)
    assert a.problem == b.problem
    for name in ("X", "Y", "H", "w_true"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.X, c.X)


def test_make_synthetic_sequences_noiseless_fit_and_structure():
    data = make_synthetic_sequences(150, 8, 4, 2, 5, noise=0.0, seed=3)
    problem, X, Y, H, w_true = data.problem, data.X, data.Y, data.H, data.w_true
    assert (problem.n_classes, problem.n_latent, problem.n_input_features, problem.length) == (4, 2, 5, 8)
    assert X.shape == (150, 8, 5) and Y.shape == H.shape == (150, 8) and w_true.shape == (problem.n_features,)
    assert np.issubdtype(Y.dtype, np.integer) and np.issubdtype(H.dtype, np.integer)
    problem.validate(X, Y)
    _assert_same(problem.batch_inference(w_true, X), (Y, H))
    np.testing.assert_array_equal(problem.batch_latent_completion(w_true, X, Y), H)
    assert len(np.unique(Y)) == 4
    per_position = problem.unary_table(w_true, X).argmax(axis=2) // problem.n_latent  # ignores transitions
    assert np.mean(per_position != Y) > 0.1  # the transition block matters


def test_make_synthetic_sequences_noise_flips_some_labels():
    data = make_synthetic_sequences(200, 6, 4, 2, 5, noise=3.0, seed=3)
    error = np.mean(data.problem.batch_inference(data.w_true, data.X)[0] != data.Y)
    assert 0.0 < error < 0.8


def test_make_synthetic_sequences_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="noise"):
        make_synthetic_sequences(10, 3, 2, 2, 2, noise=-1.0)
    with pytest.raises(ConfigError, match="n_samples"):
        make_synthetic_sequences(0, 3, 2, 2, 2)
    with pytest.raises(ConfigError, match="length"):
        make_synthetic_sequences(10, 0, 2, 2, 2)


def test_wrong_weights_and_inputs_raise_data_errors():
    problem = LatentSequenceLabelling(3, 2, 4, 5)
    with pytest.raises(
        DataError,
        match=r"w must have shape \(66,\) = emission S \* d \+ transition S \* S \+ start S "
        r"= 6 \* 4 \+ 6 \* 6 \+ 6 with S = n_classes \* n_latent = 6, got \(65,\)",
    ):
        problem.inference(np.zeros(65), np.zeros((5, 4)))
    with pytest.raises(DataError, match=r"X must have shape \(n_samples, 5, 4\)"):
        problem.inference(np.zeros(66), np.zeros((6, 4)))
    with pytest.raises(DataError, match=r"y\[0, 2\] = 3 is out of range"):
        problem.joint_feature(np.zeros((5, 4)), [0, 0, 3, 0, 0], [0] * 5)
    with pytest.raises(DataError, match=r"h must have shape \(1, 5\)"):
        problem.joint_feature(np.zeros((5, 4)), [0] * 5, [0] * 4)


def test_validate_accepts_good_data():
    LatentSequenceLabelling(3, 2, 4, 5).validate(np.zeros((2, 5, 4)), np.zeros((2, 5), dtype=int))


@pytest.mark.parametrize(
    ("X", "Y", "message"),
    [
        (np.zeros((2, 6, 4)), np.zeros((2, 6), dtype=int), r"X must have shape \(n_samples, 5, 4\).*expected \(5, 4\)"),
        (np.zeros((2, 5, 4)), np.zeros((2, 6), dtype=int), r"Y must have shape \(2, 5\) = \(n_samples, length\)"),
        (np.zeros((2, 5, 4)), np.zeros(2, dtype=int), r"Y must have shape \(2, 5\)"),
        (np.zeros((2, 5, 4)), np.array([[0] * 5, [0, 0, 0, 3, 0]]), r"Y\[1, 3\] = 3 is out of range.*\[0, 3\)"),
        (np.zeros((2, 5, 4)), np.zeros((2, 5)), r"Y must hold ints"),
        (np.where(np.arange(40).reshape(2, 5, 4) == 27, np.inf, 0.0), np.zeros((2, 5), dtype=int), r"example 1"),
    ],
)
def test_validate_raises_clear_data_errors(X, Y, message):
    with pytest.raises(DataError, match=message):
        LatentSequenceLabelling(3, 2, 4, 5).validate(X, Y)
