"""Image alignment: feature map, oracles against brute-force enumeration, and the shifted digits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.datasets import load_digits

from zspace.errors import ConfigError, DataError
from zspace.structured import StructuredProblem
from zspace.structured.alignment import ImageAlignment, make_shifted_digits

from ._brute import all_pairs, brute_argmax


def _tiny_problems(n=20, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        image = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        window = (int(rng.integers(1, image[0] + 1)), int(rng.integers(1, image[1] + 1)))
        problem = ImageAlignment(int(rng.integers(1, 4)), image, window)
        yield problem, rng.standard_normal(problem.n_features), rng.standard_normal(image), int(rng.integers(problem.n_classes))


def _random_data(problem, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, *problem.image_shape))
    return X, rng.integers(problem.n_classes, size=n), rng.standard_normal(problem.n_features)


def test_is_a_structured_problem_and_frozen():
    problem = ImageAlignment(3, [4, 5], np.array([2, 3]))
    assert isinstance(problem, StructuredProblem)
    assert problem.image_shape == (4, 5) and problem.window_shape == (2, 3)  # normalised to tuples
    assert problem.n_shifts == (3, 3) and problem.n_latent == 9 and problem.n_pixels == 6
    assert problem.n_features == 3 * (6 + 1)
    assert hash(problem) == hash(ImageAlignment(3, (4, 5), (2, 3)))
    with pytest.raises(AttributeError):
        problem.n_classes = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, (4, 4), (2, 2)), "n_classes"),
        ((2, (4, 0), (2, 2)), "image_shape cols must be a positive int"),
        ((2, (4,), (2, 2)), r"image_shape must be a \(rows, cols\) pair"),
        ((2, "44", (2, 2)), r"image_shape must be a \(rows, cols\) pair"),
        ((2, (4, 4), (2.5, 2)), "window_shape rows must be a positive int"),
        ((2, (4, 4), (2, 5)), r"window_shape \(2, 5\) must fit inside image_shape \(4, 4\)"),
    ],
)
def test_constructor_rejects_bad_configs(args, message):
    with pytest.raises(ConfigError, match=message):
        ImageAlignment(*args)


def test_joint_feature_placement_and_offsets():
    problem = ImageAlignment(n_classes=3, image_shape=(4, 5), window_shape=(2, 3))
    x = np.arange(20.0).reshape(4, 5)
    h = int(problem.latent_index(1, 2))
    assert h == 5 and tuple(map(int, problem.offsets(h))) == (1, 2)
    phi = problem.joint_feature(x, 2, h).reshape(3, 7)
    np.testing.assert_array_equal(phi[2], [*x[1:3, 2:5].ravel(), 1.0])
    assert not phi[:2].any()
    rows, cols = problem.offsets(np.arange(problem.n_latent))  # row-major order of top-left corners
    np.testing.assert_array_equal(rows, np.repeat([0, 1, 2], 3))
    np.testing.assert_array_equal(cols, np.tile([0, 1, 2], 3))


def test_score_table_matches_explicit_dot_products():
    problem = ImageAlignment(3, (4, 4), (2, 2))
    X, _, w = _random_data(problem, 4, seed=0)
    table = problem.score_table(w, X)
    assert table.shape == (4, 3, 9)
    for i, (y, h) in itertools.product(range(4), all_pairs(problem)):
        assert table[i, y, h] == pytest.approx(w @ problem.joint_feature(X[i], y, h))


def test_joint_feature_sum_and_scores_match_single_examples():
    problem = ImageAlignment(3, (5, 4), (3, 2))
    X, Y, w = _random_data(problem, 12, seed=1)
    H = problem.batch_latent_completion(w, X, Y)
    loop = sum(problem.joint_feature(x, y, h) for x, y, h in zip(X, Y, H))
    np.testing.assert_allclose(problem.joint_feature_sum(X, Y, H), loop)
    np.testing.assert_allclose(problem.scores(w, X, Y, H), [w @ problem.joint_feature(x, y, h) for x, y, h in zip(X, Y, H)])


def test_candidate_scores_and_losses_match_single_pairs():
    problem = ImageAlignment(4, (4, 4), (2, 2))
    X, Y, w = _random_data(problem, 6, seed=2)
    Yc, Hc = problem.sample_candidates(X, Y, 5, np.random.default_rng(0))
    S, D = problem.candidate_scores(w, X, Yc, Hc), problem.candidate_losses(Y, Yc)
    assert S.shape == D.shape == (6, 5)
    for i, j in itertools.product(range(6), range(5)):
        assert S[i, j] == pytest.approx(w @ problem.joint_feature(X[i], Yc[i, j], Hc[i, j]))
        assert D[i, j] == problem.loss(Y[i], Yc[i, j])


def test_oracles_match_brute_force():
    for problem, w, x, y in _tiny_problems():
        assert problem.inference(w, x) == brute_argmax(problem, w, x)
        assert problem.loss_augmented_inference(w, x, y) == brute_argmax(problem, w, x, y, augment=True)
        assert (y, problem.latent_completion(w, x, y)) == brute_argmax(problem, w, x, y, fixed_y=True)


def test_oracles_break_ties_like_enumeration():
    problem = ImageAlignment(3, (4, 4), (2, 2))
    w, x = np.zeros(problem.n_features), np.ones((4, 4))  # every (y, h) scores 0
    assert problem.inference(w, x) == brute_argmax(problem, w, x) == (0, 0)
    assert problem.loss_augmented_inference(w, x, 0) == brute_argmax(problem, w, x, 0, augment=True) == (1, 0)
    assert problem.latent_completion(w, x, 2) == 0


def test_batch_oracles_match_single():
    problem = ImageAlignment(4, (6, 5), (3, 3))
    X, Y, w = _random_data(problem, 20, seed=3)
    Yp, Hp = problem.batch_inference(w, X)
    Hc = problem.batch_latent_completion(w, X, Y)
    Ya, Ha = problem.batch_loss_augmented_inference(w, X, Y)
    for i, x in enumerate(X):
        assert (Yp[i], Hp[i]) == problem.inference(w, x)
        assert Hc[i] == problem.latent_completion(w, x, Y[i])
        assert (Ya[i], Ha[i]) == problem.loss_augmented_inference(w, x, Y[i])


def test_template_finds_the_shifted_pattern():
    problem = ImageAlignment(2, (5, 5), (2, 2))
    w = np.zeros(problem.n_features)
    w[:4] = [1.0, -1.0, -1.0, 1.0]  # class 0: a diagonal template
    w[5:9] = [-1.0, 1.0, 1.0, -1.0]  # class 1: the anti-diagonal
    x = np.zeros((5, 5))
    x[3, 1] = x[4, 2] = 1.0  # a diagonal at corner (3, 1)
    assert problem.inference(w, x) == (0, int(problem.latent_index(3, 1)))


def test_proposals_lie_in_space_and_are_reproducible():
    problem = ImageAlignment(3, (4, 4), (3, 3))
    X, Y = np.zeros((2, 4, 4)), np.array([1, 2])
    first = problem.sample_candidates(X, Y, 500, np.random.default_rng(7))
    again = problem.sample_candidates(X, Y, 500, np.random.default_rng(7))
    other = problem.sample_candidates(X, Y, 500, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    Yc, Hc = first
    assert Yc.shape == Hc.shape == (2, 500)
    assert set(zip(Yc[0], Hc[0])) == set(all_pairs(problem))  # uniform: 500 draws cover all 12 pairs
    latents = problem.sample_latents(X, Y, 300, np.random.default_rng(0))
    assert latents.shape == (2, 300) and set(latents.ravel()) == {0, 1, 2, 3}
    assert problem.sample_candidates(X, Y, 0, np.random.default_rng(0))[0].shape == (2, 0)


@pytest.fixture(scope="module")
def digits_by_pixels():
    bunch = load_digits()
    return {(image / 16.0).tobytes(): int(label) for image, label in zip(bunch.images, bunch.target)}


def test_shifted_digits_place_each_digit_at_its_true_offset(digits_by_pixels):
    data = make_shifted_digits(margin=2, n_samples=300, seed=0)
    problem, X, Y, H = data.problem, data.X, data.Y, data.H
    assert problem == ImageAlignment(10, (12, 12), (8, 8)) and problem.n_latent == 25
    assert X.shape == (300, 12, 12) and Y.shape == H.shape == (300,) and data.w_true is None
    assert np.issubdtype(Y.dtype, np.integer) and np.issubdtype(H.dtype, np.integer)
    problem.validate(X, Y)
    windows = problem.windows(X, H)  # (300, 8, 8)
    assert [digits_by_pixels.get(window.tobytes()) for window in windows] == list(Y)  # an original digit, same label
    np.testing.assert_allclose(X.sum(axis=(1, 2)), windows.sum(axis=(1, 2)))  # nothing outside the window
    assert len(np.unique(H)) == 25 and len(np.unique(Y)) == 10 and 0.0 <= X.min() and X.max() <= 1.0


def test_shifted_digits_are_deterministic_by_seed():
    a, b, c = (make_shifted_digits(margin=1, n_samples=100, seed=s) for s in (4, 4, 5))
    for name in ("X", "Y", "H"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.H, c.H)


def test_shifted_digits_class_subset_noise_and_margin(digits_by_pixels):
    data = make_shifted_digits(margin=0, digits=(8, 3), seed=1)
    assert data.problem == ImageAlignment(2, (8, 8), (8, 8)) and (data.H == 0).all()
    expected = {8: 0, 3: 1}  # label j is digits[j]
    assert [expected[digits_by_pixels[x.tobytes()]] for x in data.X] == list(data.Y)
    assert len(data.Y) == int(np.isin(load_digits().target, (3, 8)).sum())
    assert len(make_shifted_digits().Y) == 1797
    clean, noisy = make_shifted_digits(n_samples=20, seed=2), make_shifted_digits(n_samples=20, seed=2, noise=0.1)
    np.testing.assert_array_equal(clean.H, noisy.H)
    assert 0.05 < np.std(noisy.X - clean.X) < 0.15


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"margin": -1}, "margin must be an int >= 0"),
        ({"margin": 1.5}, "margin must be an int >= 0"),
        ({"n_samples": 0}, "n_samples must be a positive int"),
        ({"n_samples": 2000}, r"n_samples must be at most 1797"),
        ({"digits": (1, 1)}, "digits must be distinct digit classes in 0..9"),
        ({"digits": (3, 10)}, "digits must be distinct"),
        ({"digits": ()}, "digits must be distinct"),
        ({"noise": -0.5}, "noise must be a finite float >= 0"),
    ],
)
def test_shifted_digits_reject_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_shifted_digits(**kwargs)


def test_wrong_weights_and_inputs_raise_data_errors():
    problem = ImageAlignment(10, (12, 12), (8, 8))
    with pytest.raises(
        DataError,
        match=r"w must have shape \(650,\) = n_classes \* \(window rows \* window cols \+ 1 bias\) "
        r"= 10 \* \(8 \* 8 \+ 1\), got \(640,\)",
    ):
        problem.inference(np.zeros(640), np.zeros((12, 12)))
    with pytest.raises(DataError, match=r"X must have shape \(n_samples, 12, 12\)"):
        problem.inference(np.zeros(650), np.zeros((8, 8)))
    with pytest.raises(DataError, match=r"h\[0\] = 25 is out of range: values must lie in \[0, 25\)"):
        problem.joint_feature(np.zeros((12, 12)), 0, 25)
    with pytest.raises(DataError, match=r"Y\[1\] = 10 is out of range"):
        problem.batch_latent_completion(np.zeros(650), np.zeros((2, 12, 12)), [0, 10])


def test_validate_accepts_good_data():
    ImageAlignment(3, (4, 4), (2, 2)).validate(np.zeros((5, 4, 4)), np.array([0, 1, 2, 0, 1]))


@pytest.mark.parametrize(
    ("X", "Y", "message"),
    [
        (np.zeros((5, 4, 5)), np.zeros(5, dtype=int), r"X must have shape \(n_samples, 4, 4\).*expected \(4, 4\)"),
        (np.zeros((5, 16)), np.zeros(5, dtype=int), r"X must have shape \(n_samples, 4, 4\)"),
        (np.zeros((5, 4, 4)), np.array([0, 1, 3, 0, 1]), r"Y\[2\] = 3 is out of range.*\[0, 3\)"),
        (np.zeros((5, 4, 4)), np.zeros(4, dtype=int), r"Y must have shape \(5,\)"),
        (np.zeros((5, 4, 4)), np.zeros(5), r"Y must hold ints"),
        (np.where(np.arange(80).reshape(5, 4, 4) == 35, np.nan, 0.0), np.zeros(5, dtype=int), r"example 2"),
    ],
)
def test_validate_raises_clear_data_errors(X, Y, message):
    with pytest.raises(DataError, match=message):
        ImageAlignment(3, (4, 4), (2, 2)).validate(X, Y)


def test_brightest_window_holds_the_whole_digit():
    data = make_shifted_digits(margin=3, n_samples=200, seed=1)
    H = data.problem.brightest_window_latents(data.X)
    assert H.shape == (200,) and H.dtype.kind == "i"
    ink = data.problem.windows(data.X, H).sum(axis=(1, 2))
    np.testing.assert_allclose(ink, data.X.sum(axis=(1, 2)))  # zero background: the window holds all of the digit
    # ties go to the first shift in row-major order, as in every other argmax of the problem
    problem = ImageAlignment(1, (3, 3), (2, 2))
    assert problem.brightest_window_latents(np.zeros((1, 3, 3))).tolist() == [0]
