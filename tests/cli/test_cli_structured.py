"""`zspace train structured` and `zspace structured eval` through typer's CliRunner, and the run files they write."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from zspace.cli.main import app
from zspace.core.config import to_dict
from zspace.core.io import atomic_write_json
from zspace.errors import CheckpointError
from zspace.structured.config import LearnerParams, StructuredRunConfig
from zspace.structured.datasets import load_dataset, train_test_split
from zspace.structured.estimator import LatentSSVM
from zspace.structured.run import fit, load_run, save_run

runner = CliRunner()
SMALL_DATA = {"n_samples": 400, "n_classes": 3, "n_latent": 2, "n_input_features": 4}
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
        app, ["train", "structured", "--method", "perturbed", "--out", str(out), *SMALL, "--set", "params.max_epochs=5"]
    )
    assert result.exit_code == 0, result.output
    assert "test_error" in result.output
    meta = json.loads((out / "config.json").read_text())
    assert meta["family"] == "structured" and meta["params"]["max_epochs"] == 5 and (out / "model.safetensors").is_file()
    evaluated = runner.invoke(app, ["structured", "eval", str(out)])
    assert evaluated.exit_code == 0, evaluated.output
    assert f"{meta['results']['test_error']:.4f}" in evaluated.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--problem", "nope"], "unknown problem 'nope'"),
        (["--set", "params.epochs=3"], "LearnerParams: unknown field(s) ['epochs']"),
        (["--set", "params.alpha=-1"], "StructuredRunConfig.params.alpha = -1.0: expected a finite number in (0, inf)"),
        (["--data-set", "n_clases=3"], "has no setting"),
        (["--method", "magic"], "method: 'magic' is not one of"),
    ],
)
def test_fit_reports_bad_arguments_in_one_line(tmp_path, args, message):
    result = runner.invoke(app, ["train", "structured", "--out", str(tmp_path / "m"), *SMALL, *args])
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
    config = StructuredRunConfig(params=LearnerParams(max_epochs=3, random_state=0))
    estimator = LatentSSVM(problem=None if classifier_mode else data.problem, max_epochs=3, random_state=0)
    if classifier_mode:
        Y = np.array(["abcdefghij"[v] for v in Y])  # string labels survive through classes_
    estimator.fit(X, Y)
    save_run(tmp_path, estimator, config, {"note": 1})
    loaded = load_run(tmp_path)
    assert loaded.results == {"note": 1} and loaded.config == config
    np.testing.assert_array_equal(loaded.estimator.predict(X_test), estimator.predict(X_test))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_run(tmp_path)


def test_learner_params_defaults_are_the_estimators():
    params = LatentSSVM().get_params()
    del params["problem"]
    assert to_dict(LearnerParams()) == params


def _earlier_layout(run, estimator, *, dataset, params, results):
    """A run as the earlier writer left it: config.json (dataset, params), model.json and weights.safetensors."""
    from safetensors.numpy import save_file

    atomic_write_json(run / "config.json", {"family": "structured", "format_version": 1, "params": params,
                                            "dataset": dataset, "results": results})  # fmt: skip
    problem = estimator.problem_
    meta = {"family": "structured", "problem": {"class": type(problem).__name__, "fields": dataclasses.asdict(problem)},
            "classifier_mode": False, "params": params, "dataset": dataset, "results": results}  # fmt: skip
    atomic_write_json(run / "model.json", meta)
    save_file({"w": estimator.coef_}, str(run / "weights.safetensors"))


def test_a_run_of_the_earlier_layout_is_migrated_on_read_or_refused_with_the_fix(tmp_path):
    config = StructuredRunConfig(data=dict(SMALL_DATA), params=LearnerParams(max_epochs=2, random_state=0))
    estimator, results = fit(config, tmp_path / "new")
    run = tmp_path / "old"
    run.mkdir()
    dataset = {"name": "synthetic-latent", "seed": 0, "test_fraction": 0.25, "args": dict(SMALL_DATA)}
    _earlier_layout(run, estimator, dataset=dataset, params=to_dict(config.params), results=results)
    loaded = load_run(run)
    assert loaded.config == config
    np.testing.assert_array_equal(loaded.estimator.coef_, estimator.coef_)
    evaluated = runner.invoke(app, ["eval", str(run)])
    assert evaluated.exit_code == 0 and f"{results['test_error']:.4f}" in evaluated.output, evaluated.output
    (run / "model.json").unlink()
    refused = runner.invoke(app, ["eval", str(run)])
    assert refused.exit_code == 2 and "earlier layout" in refused.output
    assert "zspace train structured --out" in refused.output and "--overwrite" in refused.output
