"""LatentSSVM: scikit-learn's common estimator checks, and the structured (problem-given) mode."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from zspace.errors import ConfigError
from zspace.structured import LatentSSVM, make_synthetic_sequences


@parametrize_with_checks(
    [LatentSSVM(method="perturbed", max_epochs=5, random_state=0), LatentSSVM(method="exact", max_rounds=3, random_state=0)]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_structured_mode_scores_one_minus_task_loss():
    data = make_synthetic_sequences(120, 6, 3, 2, 4, seed=0)
    model = LatentSSVM(data.problem, max_epochs=5, random_state=0).fit(data.X[:100], data.Y[:100])
    Y_pred, H_pred = model.predict_latent(data.X[100:])
    assert Y_pred.shape == H_pred.shape == (20, 6)
    losses = data.problem.losses(data.Y[100:], Y_pred)
    assert model.score(data.X[100:], data.Y[100:]) == pytest.approx(1 - losses.mean())
    assert clone(model).get_params()["problem"] == data.problem


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError, match=r"method must be one of \['exact', 'perturbed'\]"):
        LatentSSVM(method="fast").fit(np.zeros((4, 2)), [0, 1, 0, 1])
