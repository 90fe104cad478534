"""A latent-SSVM run directory under the run contract (:mod:`zspace.train.runs`): fit, save, load.

Layout::

    RUN/config.json        family "structured", format_version; the StructuredRunConfig's fields (problem,
                           data, seed, test_fraction, params); model: the fitted problem (class and fields),
                           classifier_mode and classes; results
    RUN/model.safetensors  w

Both are written by :mod:`zspace.train.runs` (``save_run``, ``save_weights``), as every family's
run files. A run in the earlier layout (config.json with ``dataset``, ``model.json``,
``weights.safetensors``) is migrated when read. :func:`fit_run` checks and locks the output
directory before the data is generated, so a fit never ends by failing to save, and never replaces
a fitted model unless told to overwrite it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zspace.core.config import from_dict, to_dict
from zspace.core.files import read_json_file
from zspace.errors import CheckpointError, ConfigError
from zspace.structured.config import StructuredRunConfig
from zspace.structured.datasets import PROBLEMS, load_dataset, train_test_split
from zspace.structured.problems import StructuredProblem
from zspace.train import runs

FAMILY = "structured"
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(StructuredRunConfig))


@dataclass(frozen=True)
class StructuredRun:
    """A loaded run: the fitted estimator, its run config, and the results saved when it was fitted."""

    estimator: Any
    config: StructuredRunConfig
    results: dict[str, Any]


def build(config: StructuredRunConfig, problem: StructuredProblem | None = None) -> Any:
    """The unfitted LatentSSVM of ``config.params`` (for ``problem``; None: a classifier)."""
    from zspace.structured.estimator import LatentSSVM

    return LatentSSVM(problem=problem, **to_dict(config.params))


def save_run(out: str | Path, estimator: Any, config: StructuredRunConfig, results: dict[str, Any]) -> Path:
    """Write the fitted ``estimator``'s w and the stamped config.json (run config, fitted problem, results)."""
    model: dict[str, Any] = {"problem": _problem_to_dict(estimator.problem_), "classifier_mode": estimator.problem is None}
    if estimator.problem is None:  # labels may be strings, which safetensors cannot hold: JSON keeps them
        model["classes"] = estimator.classes_.tolist()
    runs.save_weights(out, {"w": estimator.coef_})
    return runs.save_run(out, FAMILY, {**to_dict(config), "model": model, "results": _plain(results)})


def load_run(run: str | Path) -> StructuredRun:
    """The estimator, config and results of a run written by :func:`save_run` (``zspace train structured``)."""
    run = Path(run)
    info = runs.read_run_info(run)
    where = run / runs.CONFIG
    if info.family != FAMILY:
        raise ConfigError(f"{run} is a {info.family!r} run, not a structured one; use `zspace eval {run}`")
    saved = runs.strip_contract(info.config)
    if "model" not in saved and "dataset" in saved:
        saved, weights = _migrate(run, saved)
    else:
        weights = runs.load_weights(run)
    missing = [k for k in ("model", *CONFIG_FIELDS) if k not in saved]
    if missing:
        raise CheckpointError(f"{where} is damaged: it lacks {missing}; refit the run with `zspace train structured --out {run}`")
    config = from_dict(StructuredRunConfig, {k: saved[k] for k in CONFIG_FIELDS}, where=str(where))
    model = saved["model"]
    if not isinstance(model, dict) or not {"problem", "classifier_mode"} <= set(model):
        raise CheckpointError(f"{where} is damaged: 'model' must hold 'problem' and 'classifier_mode'")
    problem = _problem_from_dict(model["problem"], where)
    w = weights.get("w")
    if w is None or w.shape != (problem.n_features,):
        shape = None if w is None else w.shape
        raise CheckpointError(f"{run / runs.WEIGHTS}: w has shape {shape}, expected ({problem.n_features},) for {problem}")
    estimator = build(config, None if model["classifier_mode"] else problem)
    estimator.problem_, estimator.coef_ = problem, w
    if model["classifier_mode"]:
        estimator.classes_ = np.asarray(model["classes"])
        estimator.n_features_in_ = problem.n_input_features  # type: ignore[attr-defined]
    return StructuredRun(estimator, config, dict(saved.get("results", {})))


def _migrate(run: Path, saved: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A run of the earlier layout (config.json's dataset and params, model.json, weights.safetensors) in today's form."""
    from safetensors.numpy import load_file

    meta_file, weights_file = run / "model.json", run / "weights.safetensors"
    for file in (meta_file, weights_file):
        if not file.is_file():
            raise CheckpointError(
                f"{file} is missing: {run} is a structured run of the earlier layout (model.json, weights.safetensors) "
                f"and cannot be read without it; refit it with `zspace train structured --out {run} --overwrite`"
            )
    meta = read_json_file(meta_file)
    dataset, params = saved.get("dataset"), saved.get("params")
    if not isinstance(dataset, dict) or not isinstance(params, dict) or "problem" not in meta:
        raise CheckpointError(f"{run / runs.CONFIG} or {meta_file} is damaged; refit it with `zspace train structured`")
    try:
        weights = load_file(str(weights_file))
    except Exception as err:  # safetensors raises its own SafetensorError (and OSError) on a damaged file
        raise CheckpointError(f"{weights_file} is damaged and cannot be read ({str(err).strip()[:200]})") from err
    model = {k: meta[k] for k in ("problem", "classifier_mode", "classes") if k in meta}
    config = {"problem": dataset.get("name"), "data": dataset.get("args", {}), "seed": dataset.get("seed"),
              "test_fraction": dataset.get("test_fraction"), "params": params}  # fmt: skip
    return {**config, "model": model, "results": saved.get("results", {})}, weights


def fit(config: StructuredRunConfig, out: str | Path, *, resume: bool = False, overwrite: bool = False) -> tuple[Any, dict]:
    """Generate/load ``config.problem``, fit a LatentSSVM with ``config.params`` and save it into ``out``.

    Returns (estimator, results: train/test error, fit seconds, oracle calls, iterations, converged).
    """
    if resume:
        raise ConfigError("a structured fit cannot be resumed (it saves once, at the end); drop --resume")
    build(config).validate_params()  # before the run directory is touched
    with runs.open_run_dir(out, overwrite=overwrite, family=FAMILY, can_resume=False) as run_dir:
        data = load_dataset(config.problem, seed=config.seed, **config.data)
        (X, Y), (X_test, Y_test) = train_test_split(data, config.test_fraction, config.seed)
        estimator = build(config, data.problem).fit(X, Y)
        results = {
            **evaluate(estimator, X, Y, X_test, Y_test),
            "fit_seconds": estimator.fit_seconds_,
            "oracle_calls": estimator.n_oracle_calls_,
            "iterations": len(estimator.history_),
            "converged": estimator.converged_,
        }
        save_run(run_dir, estimator, config, results)
    return estimator, results


def load_data(config: StructuredRunConfig) -> tuple[tuple, tuple]:
    """The run's data set and split, re-created: ((X_train, Y_train), (X_test, Y_test))."""
    data = load_dataset(config.problem, seed=config.seed, **config.data)
    return train_test_split(data, config.test_fraction, config.seed)


def evaluate_run(run: str | Path) -> tuple[StructuredRunConfig, dict[str, float]]:
    """Re-create the run's data set and split; (config, train and test error)."""
    loaded = load_run(run)
    (X, Y), (X_test, Y_test) = load_data(loaded.config)
    return loaded.config, evaluate(loaded.estimator, X, Y, X_test, Y_test)


def evaluate(estimator: Any, X_train: Any, Y_train: Any, X_test: Any, Y_test: Any) -> dict[str, float]:
    """Mean task loss of the estimator's predictions on the train and test examples."""
    problem = estimator.problem_
    return {
        "train_error": float(problem.losses(Y_train, problem.batch_inference(estimator.coef_, X_train)[0]).mean()),
        "test_error": float(problem.losses(Y_test, problem.batch_inference(estimator.coef_, X_test)[0]).mean()),
    }


def _problem_to_dict(problem: StructuredProblem) -> dict[str, Any]:
    fields = {f.name: getattr(problem, f.name) for f in dataclasses.fields(problem)}  # type: ignore[arg-type]
    return {"class": type(problem).__name__, "fields": {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def _problem_from_dict(spec: Any, where: Path) -> StructuredProblem:
    cls = PROBLEMS.get(spec.get("class", "")) if isinstance(spec, dict) else None
    if cls is None or not isinstance(spec.get("fields"), dict):
        found = spec.get("class") if isinstance(spec, dict) else spec
        raise CheckpointError(f"{where}: unknown problem class {found!r}; valid: {sorted(PROBLEMS)}")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["fields"].items()}
    try:
        return cls(**fields)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: the problem's fields do not build a {cls.__name__} ({err})") from err


def _plain(results: dict[str, Any]) -> dict[str, Any]:
    """Results as JSON values (numpy scalars become floats and bools)."""
    return {k: bool(v) if isinstance(v, (bool, np.bool_)) else float(v) if isinstance(v, np.floating) else v
            for k, v in results.items()}  # fmt: skip
