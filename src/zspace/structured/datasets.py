"""Named data sets for the CLI and benchmarks, and saving / loading trained models without pickle.

A model directory holds ``model.json`` (the problem's class and fields, the estimator's
parameters, the classifier's labels, the data set's name and arguments, results) and
``weights.safetensors`` (w); a problem is rebuilt from its class name and fields, never unpickled.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from zspace.core.files import read_json_file
from zspace.core.io import atomic_write
from zspace.errors import CheckpointError, ConfigError
from zspace.structured.alignment import ImageAlignment, make_shifted_digits
from zspace.structured.problems import LatentMulticlass, StructuredDataset, StructuredProblem, make_synthetic
from zspace.structured.sequence import LatentSequenceLabelling, make_synthetic_sequences

__all__ = ["DATASETS", "PROBLEMS", "load_dataset", "load_model", "save_model", "train_test_split"]

# name -> (generator, default keyword arguments, one-line description)
DATASETS: dict[str, tuple[Callable[..., StructuredDataset], dict[str, Any], str]] = {
    "synthetic-latent": (
        make_synthetic,
        {"n_samples": 3000, "n_classes": 10, "n_latent": 5, "n_input_features": 10, "noise": 0.0},
        "multiclass with latent sub-classes labelled by a known w",
    ),
    "sequences": (
        make_synthetic_sequences,
        {"n_samples": 600, "length": 10, "n_classes": 4, "n_latent": 2, "n_input_features": 6, "noise": 0.0},
        "sequence labelling with latent states",
    ),
    "digits-shift": (make_shifted_digits, {"margin": 2}, "scikit-learn digits pasted at a random offset (latent shift)"),
}

PROBLEMS: dict[str, type[StructuredProblem]] = {
    cls.__name__: cls for cls in (LatentMulticlass, LatentSequenceLabelling, ImageAlignment)
}


def load_dataset(name: str, seed: int = 0, **overrides: Any) -> StructuredDataset:
    """The named data set with its defaults updated by ``overrides``; seeded."""
    if name not in DATASETS:
        raise ConfigError(f"unknown problem {name!r}; valid: {sorted(DATASETS)}")
    make, defaults, _ = DATASETS[name]
    unknown = set(overrides) - set(defaults) - {"n_samples"}
    if unknown:
        raise ConfigError(f"problem {name!r} has no setting {sorted(unknown)}; valid: {sorted(set(defaults) | {'n_samples'})}")
    return make(**{**defaults, **overrides}, seed=seed)


def train_test_split(data: StructuredDataset, test_fraction: float, seed: int) -> tuple[tuple, tuple]:
    """((X_train, Y_train), (X_test, Y_test)) by a seeded permutation of the examples."""
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(data.X))
    n_test = max(1, round(test_fraction * len(order)))
    test, train = order[:n_test], order[n_test:]
    return (data.X[train], data.Y[train]), (data.X[test], data.Y[test])


def _problem_to_dict(problem: StructuredProblem) -> dict[str, Any]:
    fields = {f.name: getattr(problem, f.name) for f in dataclasses.fields(problem)}  # type: ignore[arg-type]
    return {"class": type(problem).__name__, "fields": {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def _problem_from_dict(spec: dict[str, Any], where: Path) -> StructuredProblem:
    cls = PROBLEMS.get(spec.get("class", ""))
    if cls is None:
        raise CheckpointError(f"{where}: unknown problem class {spec.get('class')!r}; valid: {sorted(PROBLEMS)}")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["fields"].items()}
    return cls(**fields)


def save_model(out: Path, estimator: Any, info: dict[str, Any]) -> Path:
    """Write a fitted LatentSSVM to directory ``out`` atomically; ``info`` (data set, results) goes into model.json."""
    from safetensors.numpy import save

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = {k: v for k, v in estimator.get_params(deep=False).items() if k != "problem"}
    params["random_state"] = params["random_state"] if isinstance(params["random_state"], (int, type(None))) else None
    meta = {
        "family": "structured",
        "problem": _problem_to_dict(estimator.problem_),
        "classifier_mode": estimator.problem is None,
        "params": params,
        **info,
    }
    tensors = {"w": np.ascontiguousarray(estimator.coef_)}
    if estimator.problem is None:  # labels may be strings, which safetensors cannot hold: JSON keeps them
        meta["classes"] = estimator.classes_.tolist()
    for name, write in (
        ("weights.safetensors", lambda f: f.write(save(tensors))),
        ("model.json", lambda f: f.write(json.dumps(meta, indent=2, default=float).encode())),
    ):
        atomic_write(out / name, write)
    return out


def load_model(path: Path) -> tuple[Any, dict[str, Any]]:
    """(fitted LatentSSVM, model.json contents) from a directory written by :func:`save_model`."""
    from safetensors.numpy import load_file

    from zspace.structured.estimator import LatentSSVM

    path = Path(path)
    meta_path, weights_path = path / "model.json", path / "weights.safetensors"
    for p in (meta_path, weights_path):
        if not p.is_file():
            raise CheckpointError(f"{p} not found: {path} is not a model written by `zspace structured fit --out DIR`")
    meta = read_json_file(meta_path)
    missing = [k for k in ("problem", "params", "classifier_mode") if k not in meta]
    if missing:
        raise CheckpointError(f"{meta_path} is damaged: it lacks {missing}")
    problem = _problem_from_dict(meta["problem"], meta_path)
    tensors = load_file(str(weights_path))
    if tensors["w"].shape != (problem.n_features,):
        raise CheckpointError(f"{weights_path}: w has shape {tensors['w'].shape}, expected ({problem.n_features},) for {problem}")
    estimator = LatentSSVM(problem=None if meta["classifier_mode"] else problem, **meta["params"])
    estimator.problem_, estimator.coef_ = problem, tensors["w"]
    if meta["classifier_mode"]:
        estimator.classes_ = np.asarray(meta["classes"])
        estimator.n_features_in_ = problem.n_input_features  # type: ignore[attr-defined]
    return estimator, meta
