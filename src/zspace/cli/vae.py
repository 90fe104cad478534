"""``zspace train vae`` and the VAE side of ``eval`` / ``sample`` / ``explore`` (the family's CLI module)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zspace import families
from zspace.cli.common import (
    EvalOptions,
    ExploreOptions,
    OverwriteOpt,
    ResumeOpt,
    SampleOptions,
    SetOpt,
    console,
    metrics_table,
    output_path,
    parse_sets,
    user_errors,
)
from zspace.core.io import atomic_write_json

# Flags that map one-to-one onto run-config fields; None means "keep the preset's value".
FLAG_FIELDS = {
    "data": "data.source",
    "data_path": "data.path",
    "binarize": "data.binarize",
    "limit": "data.limit",
    "latent_dim": "model.latent_dim",
    "hidden": "model.hidden",
    "architecture": "model.architecture",
    "activation": "model.activation",
    "likelihood": "model.likelihood",
    "loss": "objective.loss",
    "beta": "objective.beta.value",
    "n_samples": "objective.n_samples",
    "optimizer": "train.optimizer",
    "lr": "train.lr.value",
    "batch_size": "train.batch_size",
    "epochs": "train.epochs",
    "max_steps": "train.max_steps",
    "grad_clip_norm": "train.grad_clip_norm",
    "checkpoint_every": "train.checkpoint_every",
    "seed": "train.seed",
    "device": "train.device",
}


def train_vae(
    out: Annotated[
        Path, typer.Option("--out", "-o", parser=output_path, help="Run directory: checkpoints, metrics, config.")
    ] = Path("runs/vae"),
    preset: Annotated[str, typer.Option(help="Named preset (see `zspace presets`).")] = "digits",
    data: Annotated[str | None, typer.Option(help="digits | mnist | fashion-mnist | folder | array | shapes")] = None,
    data_path: Annotated[str | None, typer.Option(help="Directory or file for mnist/fashion-mnist/folder/array.")] = None,
    binarize: Annotated[str | None, typer.Option(help="none | static | dynamic")] = None,
    limit: Annotated[int | None, typer.Option(help="Use at most this many train/test examples.")] = None,
    latent_dim: Annotated[int | None, typer.Option(help="Latent dimensions.")] = None,
    hidden: Annotated[str | None, typer.Option(help="MLP widths, e.g. '500,500'.")] = None,
    architecture: Annotated[str | None, typer.Option(help="mlp | conv")] = None,
    activation: Annotated[str | None, typer.Option(help="relu | tanh | elu | ...")] = None,
    likelihood: Annotated[str | None, typer.Option(help="bernoulli | gaussian | gaussian-learned")] = None,
    loss: Annotated[str | None, typer.Option(help="elbo | iwae | reconstruction | kl (ablations)")] = None,
    beta: Annotated[float | None, typer.Option(help="KL weight (beta-VAE); the schedule's final value.")] = None,
    n_samples: Annotated[int | None, typer.Option(help="Samples per example (L; k for --loss iwae).")] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam | adagrad | sgd")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (peak value of the schedule).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Global batch size.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many optimizer steps.")] = None,
    grad_clip_norm: Annotated[float | None, typer.Option(help="Clip the gradient norm.")] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="Steps between checkpoints (default: every epoch).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: a CPU run is reproducible given it.")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda")] = None,
    tensorboard: Annotated[bool, typer.Option(help="Write TensorBoard event files.")] = True,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    set_: SetOpt = None,
) -> None:
    """Train a VAE (AEVB) and checkpoint it every epoch into --out."""
    from zspace.core.config import override
    from zspace.vae import PRESETS
    from zspace.vae.run import load_run_config, train

    values = dict(locals())
    with user_errors():
        overrides: dict[str, Any] = {field: values[flag] for flag, field in FLAG_FIELDS.items() if values[flag] is not None}
        if not tensorboard:
            overrides["train.tensorboard"] = False
        overrides.update(parse_sets(set_))
        # --resume continues the saved run: its config is the base, and only the flags given
        # now change it (zspace.vae.run.train refuses changes that would make it another run).
        base = load_run_config(out) if resume else PRESETS[preset]
        config = override(base, overrides)
        model, result, _ = train(config, out, resume=resume, overwrite=overwrite)
    console.print(
        metrics_table(
            f"trained {out} to step {result.step}",
            {
                **{f"valid {k}": v for k, v in result.valid_metrics.items()},
                "examples/s": result.examples_per_s,
                "best checkpoint": str(result.best_checkpoint),
            },
        )
    )


def eval_vae(run: Path, *, k: int, checkpoint: str, batch_size: int, seed: int, out: Path | None) -> dict[str, Any]:
    """Evaluate a VAE run on its test split; print a table and write eval.json."""
    data_name, result = families.get("vae").evaluate(run, k=k, checkpoint=checkpoint, batch_size=batch_size, seed=seed)
    shown = {k_: v for k_, v in result.items() if k_ not in ("activity", "run")}
    console.print(metrics_table(f"{run} on {data_name} test ({result['n_examples']} examples, nats)", shown))
    path = atomic_write_json(out or run / "eval.json", result)
    console.print(f"wrote {path}")
    return result


def sample_vae(run: Path, *, n: int, temperature: float, seed: int, checkpoint: str, out: Path | None) -> Path:
    """Decode n prior samples into an image grid PNG (and the raw array as .npy)."""
    import numpy as np

    from zspace.explore.plots import image_grid

    images = families.get("vae").sample(run, n, temperature=temperature, seed=seed, checkpoint=checkpoint)
    path = out or run / "samples.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(images, path, title=f"{n} samples, temperature {temperature}")
    np.save(path.with_suffix(".npy"), images.numpy())
    console.print(f"wrote {path} and {path.with_suffix('.npy')}")
    return path


train = train_vae


def evaluate(run: Path, options: EvalOptions) -> None:
    """``zspace eval``: the test bounds of a VAE run (eval.json)."""
    from zspace.train.outputs import check_output_file

    if options.out is not None:
        check_output_file(options.out, overwrite=options.overwrite, suffixes=(".json",))
    eval_vae(
        run, k=options.iw, checkpoint=options.checkpoint, batch_size=options.batch_size, seed=options.seed or 0, out=options.out
    )


def sample(run: Path, options: SampleOptions) -> None:
    """``zspace sample``: an image grid of prior samples."""
    from zspace.explore.plots import IMAGE_SUFFIXES
    from zspace.train.outputs import check_output_file

    if options.out is not None:
        check_output_file(options.out, overwrite=options.overwrite, suffixes=IMAGE_SUFFIXES)
        check_output_file(options.out.with_suffix(".npy"), overwrite=options.overwrite)  # the raw samples beside the image
    sample_vae(run, n=options.n, temperature=options.temperature, seed=options.seed, checkpoint=options.checkpoint,
               out=options.out)  # fmt: skip


def explore(run: Path, options: ExploreOptions) -> None:
    """``zspace explore``: figures and the HTML report in RUN/report/."""
    path = families.get("vae").explore(run, ablation=options.ablation, ablation_epochs=options.ablation_epochs, seed=options.seed)
    console.print(f"wrote {path}")
