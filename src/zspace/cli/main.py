"""The ``zspace`` command: one typer app, one sub-app per family: parse, build a config, call the library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zspace.cli import common
from zspace.cli.common import (
    MAX_SAMPLES,
    ErrorBoundary,
    FileOverwriteOpt,
    SeedOpt,
    SizeCallback,
    bounded,
    checked,
    console,
    output_path,
    user_errors,
)
from zspace.cli.music import app as music_app
from zspace.cli.music import sample_cmd as music_sample
from zspace.cli.music import train_cmd as music_train
from zspace.cli.rl import app as rl_app
from zspace.cli.rl import plan_cmd, render_cmd, train_sectar_cmd
from zspace.cli.serve import serve_cmd
from zspace.cli.structured import app as structured_app
from zspace.cli.structured import eval_structured
from zspace.cli.structured import fit_cmd as structured_fit
from zspace.cli.vae import eval_vae, sample_vae, train_vae
from zspace.core.constraints import Positive, Seed
from zspace.errors import ConfigError
from zspace.train.outputs import check_output_dir, check_output_file
from zspace.vae.evaluate import DEFAULT_K as _EVAL_K

app = typer.Typer(
    name="zspace",
    help="Latent-variable models to train, explore and plan with.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ErrorBoundary,
)
train_app = typer.Typer(help="Train a model family.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(music_app, name="music")
app.add_typer(rl_app, name="rl")
app.add_typer(structured_app, name="structured")
# One verb set over the families (`zspace train FAMILY`); `music train`, `rl train sectar` and
# `structured fit` stay as aliases of the same functions.
train_app.command("vae")(train_vae)
train_app.command("music")(music_train)
train_app.command("sectar")(train_sectar_cmd)
train_app.command("structured")(structured_fit)
app.command("serve")(serve_cmd)

RunArg = Annotated[Path, typer.Argument(help="A run directory written by `zspace train`.")]
CheckpointOpt = Annotated[str, typer.Option(help="best | last | step-NNNNNNNN")]


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug-level logging.")] = False,
) -> None:
    common.DEBUG["enabled"] = debug
    common.setup_logging(verbose)


def _family(run: Path) -> str:
    from zspace.train.runs import load_run

    return load_run(run).family


def _not_for(run: Path, family: str, verb: str, instead: str) -> ConfigError:
    return ConfigError(f"`zspace {verb}` does not apply to {family!r} runs such as {run}; use `{instead}`")


@app.command("eval")
def eval_cmd(
    run: RunArg,
    iw: Annotated[
        int, typer.Option("--iw", help="VAE: importance samples per example for log p(x) (k).", callback=bounded(1, 2**20))
    ] = _EVAL_K,
    checkpoint: CheckpointOpt = "best",
    batch_size: Annotated[int, typer.Option(help="VAE: examples per evaluation batch.", callback=bounded(1, 2**20))] = 100,
    seed: Annotated[
        int, typer.Option(help="Seed of the importance samples (SeCTAR: of the episodes).", callback=checked(Seed))
    ] = 0,
    episodes: Annotated[int, typer.Option(help="SeCTAR: planning episodes to run.", callback=bounded(1, 100_000))] = 20,
    out: Annotated[Path | None, typer.Option(parser=output_path, help="VAE: JSON output (default RUN/eval.json).")] = None,
    overwrite: FileOverwriteOpt = False,
) -> None:
    """Evaluate a run of any family: VAE test bounds, SeCTAR planning return, structured train/test error."""
    with user_errors():
        if out is not None:
            check_output_file(out, overwrite=overwrite, suffixes=(".json",))
        family = _family(run)
        if family == "vae":
            eval_vae(run, k=iw, checkpoint=checkpoint, batch_size=batch_size, seed=seed, out=out)
        elif family == "structured":
            eval_structured(run)
        elif family == "sectar":
            plan_cmd(run, episodes=episodes, seed=seed)
        else:
            raise _not_for(run, family, "eval", f"zspace sample {run} --out DIR")


@app.command("sample")
def sample_cmd(
    run: RunArg,
    n: Annotated[int, typer.Option("-n", help="Number of samples.", callback=bounded(1, MAX_SAMPLES))] = 64,
    temperature: Annotated[
        float, typer.Option(help="VAE: scale of the prior's std; music: softmax temperature.", callback=checked(Positive))
    ] = 1.0,
    seed: SeedOpt = 0,
    checkpoint: CheckpointOpt = "best",
    out: Annotated[
        Path | None,
        typer.Option(parser=output_path, help="VAE: PNG path (default RUN/samples.png); music: folder (RUN/samples)."),
    ] = None,
    overwrite: FileOverwriteOpt = False,
) -> None:
    """Decode samples from the prior: an image grid (VAE) or MIDI files (music)."""
    with user_errors():
        family = _family(run)
        if family == "vae":
            if out is not None:
                from zspace.explore.plots import IMAGE_SUFFIXES

                check_output_file(out, overwrite=overwrite, suffixes=IMAGE_SUFFIXES)
                check_output_file(out.with_suffix(".npy"), overwrite=overwrite)  # the raw samples beside the image
            sample_vae(run, n=n, temperature=temperature, seed=seed, checkpoint=checkpoint, out=out)
        elif family == "music":
            check_output_dir(out or run / "samples")
            music_sample(run, out=out or run / "samples", n=n, temperature=temperature, seed=seed, checkpoint=checkpoint)
        else:
            instead = f"zspace rl render {run}" if family == "sectar" else f"zspace eval {run}"
            raise _not_for(run, family, "sample", instead)


@app.command("explore")
def explore_cmd(
    run: RunArg,
    ablation: Annotated[
        bool, typer.Option(help="VAE: also train reconstruction-only and KL-only models for the ablation figure.")
    ] = True,
    ablation_epochs: Annotated[
        int | None, typer.Option(help="Epochs for the ablation models (default: the run's).", callback=SizeCallback)
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the figures.", callback=checked(Seed))] = 0,
) -> None:
    """Figures: a VAE's HTML report in RUN/report/, or a SeCTAR episode GIF and skills in RUN/figures/."""
    with user_errors():
        family = _family(run)
        if family == "vae":
            from zspace.vae.explore import explore_run

            path = explore_run(run, ablation=ablation, ablation_epochs=ablation_epochs, seed=seed)
            console.print(f"wrote {path}")
        elif family == "sectar":
            render_cmd(run, seed=seed)
        else:
            instead = f"zspace music interpolate {run} A.mid B.mid --out DIR" if family == "music" else f"zspace eval {run}"
            raise _not_for(run, family, "explore", instead)


@app.command("presets")
def presets_cmd() -> None:
    """List the named presets of every family."""
    from rich.table import Table

    from zspace.core.config import to_dict
    from zspace.music.presets import PRESETS as MUSIC_PRESETS
    from zspace.rl.sectar.config import PRESETS as SECTAR_PRESETS
    from zspace.vae import PRESETS

    # A name is what the user types next: it never wraps or gets cut (the descriptions wrap instead).
    longest = max(len(name) for name in (*PRESETS, *MUSIC_PRESETS, *SECTAR_PRESETS))
    table = Table(title="presets")
    table.add_column("family", no_wrap=True)
    table.add_column("name", no_wrap=True, min_width=longest)
    for column in ("model", "data", "train"):
        table.add_column(column, overflow="fold")
    for name, cfg in PRESETS.items():
        m = to_dict(cfg.model)
        model = f"{m['architecture']} {m['input_shape']} hidden={m['hidden']} z={m['latent_dim']} {m['likelihood']}"
        table.add_row(
            "vae",
            name,
            model,
            cfg.data.source,
            f"{cfg.train.optimizer} lr={cfg.train.lr.value} batch={cfg.train.batch_size} epochs={cfg.train.epochs}",
        )
    for name, preset in MUSIC_PRESETS.items():
        m = preset.model
        model = f"{m.decoder} z={m.z_size} enc={list(m.encoder_sizes)} dec={list(m.decoder_sizes)} steps={m.n_steps}"
        table.add_row("music", name, model, m.encoding, f"adam batch={preset.train.batch_size} steps={preset.train.max_steps}")
    for name, c in SECTAR_PRESETS.items():
        m = c.model
        model = f"z={m.z_size} lstm={m.hidden}x{m.encoder_layers} policy={list(m.policy_hidden)} kl={m.kl_weight}"
        table.add_row("sectar", name, model, "online", f"K={c.n_candidates} H={c.plan_horizon} batch={c.batch_size}")
    console.print(table)


def run() -> None:
    """Console-script entry point."""
    app()
