"""``zspace train structured`` and ``zspace structured eval``: fit and evaluate latent structural SVMs (the family's CLI module).

Nothing of the family is imported at module level: ``zspace --help`` does not pay for scikit-learn.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from zspace.cli.common import (
    EvalOptions,
    OverwriteOpt,
    SetOpt,
    apply_sets,
    checked,
    console,
    metrics_table,
    output_path,
    parse_sets,
    renamed,
    user_errors,
)
from zspace.core.constraints import Interval, Positive, Seed, Size

OpenFraction = Annotated[float, Interval(0, 1, open="both")]  # as StructuredRunConfig.test_fraction; not imported: scikit-learn
app = typer.Typer(help="Latent structural SVMs: exact (CCCP) or randomized (Bello & Honorio).", no_args_is_help=True)


@app.callback()
def structured() -> None:
    """Latent structural SVMs: exact (CCCP) or randomized (Bello & Honorio)."""


def train(
    out: Annotated[Path, typer.Option("--out", "-o", parser=output_path, help="Run directory (config.json, model.safetensors).")],
    preset: Annotated[
        str | None, typer.Option(help="A preset (see `zspace presets`); default: the --problem's, with the learner's defaults.")
    ] = None,
    problem: Annotated[str | None, typer.Option(help="synthetic-latent | sequences | digits-shift")] = None,
    method: Annotated[
        str | None, typer.Option(help="exact (CCCP, Yu & Joachims) | perturbed (Bello & Honorio, the default)")
    ] = None,
    alpha: Annotated[float | None, typer.Option(help="L2 regularisation strength.", callback=checked(Positive))] = None,
    n_samples: Annotated[
        int | None, typer.Option(help="perturbed: sampled (y', h') pairs per example and step.", callback=checked(Size))
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the data, the split and the learner.", callback=checked(Seed))] = 0,
    test_fraction: Annotated[
        float | None, typer.Option(help="Share of examples held out for the test error.", callback=checked(OpenFraction))
    ] = None,
    data_set: Annotated[list[str] | None, typer.Option("--data-set", help="Data setting NAME=VALUE, e.g. n_classes=20.")] = None,
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Fit a latent SSVM on a bundled or generated problem, print train/test error and time, save the model.

    Example: zspace train structured --problem synthetic-latent --method perturbed --set params.max_epochs=50 --out runs/ssvm
    """
    from zspace.structured.config import PRESETS, StructuredRunConfig
    from zspace.structured.run import fit

    flags = {"problem": problem, "test_fraction": test_fraction, "params.method": method, "params.alpha": alpha,
             "params.n_samples": n_samples}  # fmt: skip
    with user_errors():
        base = PRESETS[preset] if preset is not None else StructuredRunConfig()
        sets = {k: v for k, v in flags.items() if v is not None}
        sets |= {"seed": seed, "params.random_state": seed}
        config = apply_sets(base, [f"{path}={value}" for path, value in sets.items()] + list(set_ or []))
        data = {**config.data, **_literal_values(parse_sets(data_set, "--data-set"))}
        config = replace(config, data=data)
        _, results = fit(config, out, overwrite=overwrite)
        console.print(metrics_table(f"{config.problem} / {config.params.method}", results))
        console.print(f"model: {out}")


def _literal_values(values: dict[str, str]) -> dict[str, object]:
    """NAME=VALUE strings -> Python values where they parse as JSON (numbers, true/false, lists)."""
    out: dict[str, object] = {}
    for name, raw in values.items():
        try:
            out[name] = json.loads(raw)
        except json.JSONDecodeError:
            out[name] = raw
    return out


def eval_structured(run: Path) -> None:
    """Re-create the run's data set and split, and print its train and test error."""
    from zspace import families

    config, errors = families.get("structured").evaluate(run)
    console.print(metrics_table(f"{config.problem} / {config.params.method}", errors))


def evaluate(run: Path, options: EvalOptions) -> None:
    """``zspace eval``: the run's train and test error, re-computed."""
    eval_structured(run)


@app.command("eval")
def eval_cmd(model: Annotated[Path, typer.Argument(help="A directory written by `zspace train structured`.")]) -> None:
    """Re-create the model's data set and split, and print its train and test error."""
    with user_errors():
        eval_structured(model)


app.command("fit", hidden=True)(renamed(train, "structured fit", "train structured"))
