"""A latent-SSVM run directory under the run contract (:mod:`zspace.train.runs`): fit, save, load.

Layout::

    RUN/config.json           family "structured", format_version, dataset, params, results
    RUN/model.json            problem, parameters and labels (written by ``datasets.save_model``)
    RUN/weights.safetensors   w

:func:`fit_run` checks and locks the output directory before the data is generated, so a fit
never ends by failing to save, and never replaces a fitted model unless told to overwrite it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zspace.errors import ConfigError
from zspace.structured.datasets import load_dataset, load_model, save_model, train_test_split
from zspace.train import runs

FAMILY = "structured"


@dataclass(frozen=True)
class StructuredRun:
    """A loaded run: the fitted estimator and its config.json (dataset spec, params, results)."""

    estimator: Any
    config: dict[str, Any]


def default_params() -> dict[str, Any]:
    """LatentSSVM's constructor defaults: the CLI's defaults are read from here."""
    from zspace.structured.estimator import LatentSSVM

    return LatentSSVM().get_params()


def save_run(out: str | Path, estimator: Any, info: dict[str, Any]) -> Path:
    """Write the model files and the stamped config.json (``info``: dataset spec and results)."""
    save_model(Path(out), estimator, info)
    params = {k: v for k, v in estimator.get_params(deep=False).items() if k != "problem"}
    if not isinstance(params.get("random_state"), (int, type(None))):
        params["random_state"] = None
    return runs.save_run(out, FAMILY, {"params": params, **info})


def load_run(run: str | Path) -> StructuredRun:
    """The estimator and config of a run written by :func:`save_run` (``zspace train structured``)."""
    info = runs.load_run(run)
    if info.family != FAMILY:
        raise ConfigError(f"{run} is a {info.family!r} run, not a structured one; use `zspace eval {run}`")
    estimator, _ = load_model(Path(run))
    return StructuredRun(estimator, info.config)


def fit_run(
    out: str | Path, *, problem: str, params: dict[str, Any], seed: int, test_fraction: float, data_args: dict[str, Any],
    overwrite: bool = False,
) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    """Generate/load data set ``problem``, fit a LatentSSVM with ``params`` and save it into ``out``.

    Returns (estimator, results: train/test error, fit seconds, oracle calls, iterations, converged).
    """
    from zspace.structured.estimator import LatentSSVM

    valid = set(default_params()) - {"problem"}
    if set(params) - valid:
        raise ConfigError(f"unknown learner parameter {sorted(set(params) - valid)}; valid: {sorted(valid)}")
    LatentSSVM(**params).validate_params()  # before the run directory is touched
    with runs.open_run_dir(out, overwrite=overwrite, family=FAMILY, can_resume=False) as run_dir:
        data = load_dataset(problem, seed=seed, **data_args)
        (X, Y), (X_test, Y_test) = train_test_split(data, test_fraction, seed)
        estimator = LatentSSVM(problem=data.problem, **params).fit(X, Y)
        results = {
            **evaluate(estimator, X, Y, X_test, Y_test),
            "fit_seconds": estimator.fit_seconds_,
            "oracle_calls": estimator.n_oracle_calls_,
            "iterations": len(estimator.history_),
            "converged": estimator.converged_,
        }
        spec = {"name": problem, "seed": seed, "test_fraction": test_fraction, "args": data_args}
        save_run(run_dir, estimator, {"dataset": spec, "results": results})
    return estimator, results


def evaluate_run(run: str | Path) -> tuple[dict[str, Any], dict[str, float]]:
    """Re-create the run's data set and split; (config, train and test error)."""
    loaded = load_run(run)
    spec = loaded.config["dataset"]
    data = load_dataset(spec["name"], seed=spec["seed"], **spec["args"])
    (X, Y), (X_test, Y_test) = train_test_split(data, spec["test_fraction"], spec["seed"])
    return loaded.config, evaluate(loaded.estimator, X, Y, X_test, Y_test)


def evaluate(estimator: Any, X_train: Any, Y_train: Any, X_test: Any, Y_test: Any) -> dict[str, float]:
    """Mean task loss of the estimator's predictions on the train and test examples."""
    problem = estimator.problem_
    return {
        "train_error": float(problem.losses(Y_train, problem.batch_inference(estimator.coef_, X_train)[0]).mean()),
        "test_error": float(problem.losses(Y_test, problem.batch_inference(estimator.coef_, X_test)[0]).mean()),
    }
