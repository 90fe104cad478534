"""``zspace structured ...``: fit and evaluate latent structural SVMs (exact CCCP or randomized)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zspace.cli.common import OverwriteOpt, checked, console, metrics_table, output_path, parse_sets, user_errors
from zspace.core.constraints import Interval, Positive, Seed, Size
from zspace.structured.run import default_params

app = typer.Typer(help="Latent structural SVMs: exact (CCCP) or randomized (Bello & Honorio).", no_args_is_help=True)
OpenFraction = Annotated[float, Interval(0, 1, open="both")]
_DEFAULTS = default_params()  # CLI defaults are the estimator's: defaults live in one place


@app.callback()
def structured() -> None:
    """Latent structural SVMs: exact (CCCP) or randomized (Bello & Honorio)."""


@app.command("fit")
def fit_cmd(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", parser=output_path, help="Run directory (config.json, model.json, weights.safetensors)."),
    ],
    problem: Annotated[str, typer.Option(help="synthetic-latent | sequences | digits-shift")] = "synthetic-latent",
    method: Annotated[str, typer.Option(help="exact (CCCP, Yu & Joachims) | perturbed (Bello & Honorio)")] = _DEFAULTS["method"],
    alpha: Annotated[float, typer.Option(help="L2 regularisation strength.", callback=checked(Positive))] = _DEFAULTS["alpha"],
    n_samples: Annotated[
        int, typer.Option(help="perturbed: sampled (y', h') pairs per example and step.", callback=checked(Size))
    ] = _DEFAULTS["n_samples"],
    seed: Annotated[int, typer.Option(help="Seeds the data, the split and the learner.", callback=checked(Seed))] = 0,
    test_fraction: Annotated[
        float, typer.Option(help="Share of examples held out for the test error.", callback=checked(OpenFraction))
    ] = 0.25,
    data_set: Annotated[list[str] | None, typer.Option("--data-set", help="Data setting NAME=VALUE, e.g. n_classes=20.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Learner parameter NAME=VALUE, e.g. max_epochs=50.")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Fit a latent SSVM on a bundled or generated problem, print train/test error and time, save the model.

    Example: zspace train structured --problem synthetic-latent --method perturbed --out runs/ssvm
    """
    with user_errors():
        from zspace.structured.run import fit_run

        params = {"method": method, "alpha": alpha, "n_samples": n_samples, "random_state": seed, **parse_sets(set_)}
        _, results = fit_run(out, problem=problem, params=_typed(params), seed=seed, test_fraction=test_fraction,
                             data_args=_literal_values(parse_sets(data_set)), overwrite=overwrite)  # fmt: skip
        console.print(metrics_table(f"{problem} / {method}", results))
        console.print(f"model: {out}")


def _literal_values(values: dict[str, str]) -> dict[str, object]:
    """NAME=VALUE strings -> Python values where they parse as JSON (numbers, true/false, lists)."""
    import json

    out: dict[str, object] = {}
    for name, raw in values.items():
        try:
            out[name] = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            out[name] = raw
    return out


def _typed(params: dict[str, object]) -> dict[str, object]:
    """``--set`` values parsed by the type of the estimator's default (``max_epochs=50`` -> 50)."""
    from zspace.core.config import parse_scalar

    return {name: parse_scalar(value, _DEFAULTS.get(name)) if isinstance(value, str) else value for name, value in params.items()}


def eval_structured(run: Path) -> None:
    """Re-create the run's data set and split, and print its train and test error."""
    from zspace.structured.run import evaluate_run

    config, errors = evaluate_run(run)
    console.print(metrics_table(f"{config['dataset']['name']} / {config['params']['method']}", errors))


@app.command("eval")
def eval_cmd(model: Annotated[Path, typer.Argument(help="A directory written by `zspace train structured`.")]) -> None:
    """Re-create the model's data set and split, and print its train and test error."""
    with user_errors():
        eval_structured(model)
