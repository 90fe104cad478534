"""``zspace structured ...``: fit and evaluate latent structural SVMs (exact CCCP or randomized)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zspace.cli.common import console, metrics_table, parse_sets, user_errors

app = typer.Typer(help="Latent structural SVMs: exact (CCCP) or randomized (Bello & Honorio).", no_args_is_help=True)


@app.callback()
def structured() -> None:
    """Latent structural SVMs: exact (CCCP) or randomized (Bello & Honorio)."""


def _evaluate(estimator, X_train, Y_train, X_test, Y_test) -> dict[str, float]:
    problem = estimator.problem_
    return {
        "train_error": float(problem.losses(Y_train, problem.batch_inference(estimator.coef_, X_train)[0]).mean()),
        "test_error": float(problem.losses(Y_test, problem.batch_inference(estimator.coef_, X_test)[0]).mean()),
    }


@app.command("fit")
def fit_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory (model.json + weights.safetensors).")],
    problem: Annotated[str, typer.Option(help="synthetic-latent | sequences | digits-shift")] = "synthetic-latent",
    method: Annotated[str, typer.Option(help="exact (CCCP, Yu & Joachims) | perturbed (Bello & Honorio)")] = "perturbed",
    alpha: Annotated[float, typer.Option(help="L2 regularisation strength.")] = 1e-3,
    n_samples: Annotated[int, typer.Option(help="perturbed: sampled (y', h') pairs per example and step.")] = 10,
    seed: Annotated[int, typer.Option(help="Seeds the data, the split and the learner.")] = 0,
    test_fraction: Annotated[float, typer.Option(help="Share of examples held out for the test error.")] = 0.25,
    data_set: Annotated[list[str] | None, typer.Option("--data-set", help="Data setting NAME=VALUE, e.g. n_classes=20.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Learner parameter NAME=VALUE, e.g. max_epochs=50.")] = None,
) -> None:
    """Fit a latent SSVM on a bundled or generated problem, print train/test error and time, save the model."""
    with user_errors():
        from zspace.errors import ConfigError
        from zspace.structured.datasets import load_dataset, save_model, train_test_split
        from zspace.structured.estimator import LatentSSVM

        data_args = parse_sets(data_set)
        data = load_dataset(problem, seed=seed, **data_args)
        (X, Y), (X_test, Y_test) = train_test_split(data, test_fraction, seed)
        params = {"method": method, "alpha": alpha, "n_samples": n_samples, "random_state": seed, **parse_sets(set_)}
        valid = set(LatentSSVM().get_params()) - {"problem"}
        if set(params) - valid:
            raise ConfigError(f"unknown learner parameter {sorted(set(params) - valid)}; valid: {sorted(valid)}")
        estimator = LatentSSVM(problem=data.problem, **params).fit(X, Y)
        results = {
            **_evaluate(estimator, X, Y, X_test, Y_test),
            "fit_seconds": estimator.fit_seconds_,
            "oracle_calls": estimator.n_oracle_calls_,
            "iterations": len(estimator.history_),
            "converged": estimator.converged_,
        }
        save_model(
            out,
            estimator,
            {"dataset": {"name": problem, "seed": seed, "test_fraction": test_fraction, "args": data_args}, "results": results},
        )
        console.print(metrics_table(f"{problem} / {method}", results))
        console.print(f"model: {out}")


@app.command("eval")
def eval_cmd(model: Annotated[Path, typer.Argument(help="A directory written by `zspace structured fit`.")]) -> None:
    """Re-create the model's data set and split, and print its train and test error."""
    with user_errors():
        from zspace.structured.datasets import load_dataset, load_model, train_test_split

        estimator, meta = load_model(model)
        spec = meta["dataset"]
        data = load_dataset(spec["name"], seed=spec["seed"], **spec["args"])
        (X, Y), (X_test, Y_test) = train_test_split(data, spec["test_fraction"], spec["seed"])
        console.print(metrics_table(f"{spec['name']} / {meta['params']['method']}", _evaluate(estimator, X, Y, X_test, Y_test)))
