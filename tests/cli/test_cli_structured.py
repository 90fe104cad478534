"""`zspace structured fit/eval` through typer's CliRunner, and the model files they write."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from zspace.cli.main import app
from zspace.errors import CheckpointError
from zspace.structured.datasets import load_dataset, load_model, save_model, train_test_split
from zspace.structured.estimator import LatentSSVM

runner = CliRunner()
SMALL = [
    "--data-set",
    "n_samples=400",
    "--data-set",
    "n_classes=3",
    "--data-set",
    "n_latent=2",
    "--data-set",
    "n_input_features=4",
]


def test_fit_then_eval_reproduces_the_errors(tmp_path):
    out = tmp_path / "model"
    result = runner.invoke(
        app, ["structured", "fit", "--method", "perturbed", "--out", str(out), *SMALL, "--set", "max_epochs=5"]
    )
    assert result.exit_code == 0, result.output
    assert "test_error" in result.output
    meta = json.loads((out / "model.json").read_text())
    assert meta["family"] == "structured" and meta["params"]["max_epochs"] == 5
    evaluated = runner.invoke(app, ["structured", "eval", str(out)])
    assert evaluated.exit_code == 0, evaluated.output
    assert f"{meta['results']['test_error']:.4f}" in evaluated.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--problem", "nope"], "unknown problem 'nope'"),
        (["--set", "epochs=3"], "unknown learner parameter"),
        (["--data-set", "n_clases=3"], "has no setting"),
        (["--method", "magic"], "method must be one of"),
    ],
)
def test_fit_reports_bad_arguments_in_one_line(tmp_path, args, message):
    result = runner.invoke(app, ["structured", "fit", "--out", str(tmp_path / "m"), *SMALL, *args])
    assert result.exit_code == 2
    assert message in result.output


def test_eval_of_a_missing_model_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["structured", "eval", str(tmp_path)])
    assert result.exit_code == 2 and "config.json is missing" in result.output


@pytest.mark.parametrize("classifier_mode", [True, False])
def test_save_load_round_trip_predicts_identically(tmp_path, classifier_mode):
    data = (
        load_dataset("sequences", seed=1, n_samples=60)
        if not classifier_mode
        else load_dataset("synthetic-latent", n_samples=200)
    )
    (X, Y), (X_test, _) = train_test_split(data, 0.3, seed=0)
    estimator = LatentSSVM(problem=None if classifier_mode else data.problem, max_epochs=3, random_state=0)
    if classifier_mode:
        Y = np.array(["abcdefghij"[v] for v in Y])  # string labels survive through classes_
    estimator.fit(X, Y)
    loaded, meta = load_model(save_model(tmp_path, estimator, {"note": 1}))
    assert meta["note"] == 1
    np.testing.assert_array_equal(loaded.predict(X_test), estimator.predict(X_test))
    (tmp_path / "model.json").unlink()
    with pytest.raises(CheckpointError, match="not a model written by"):
        load_model(tmp_path)
