"""The ``zspace`` command: the shared verbs, generated from the family registry, and each family's own verbs.

``zspace train FAMILY`` has one sub-command per family of :mod:`zspace.families` (the ``train``
command of the family's CLI module); ``zspace eval|sample|explore RUN`` look the run's family up and
call that module's ``evaluate`` / ``sample`` / ``explore``; ``zspace presets`` lists every family's
presets. Families are imported only when a command needs them, so ``zspace --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from zspace import families
from zspace.cli import common
from zspace.cli.common import (
    MAX_SAMPLES,
    ErrorBoundary,
    EvalOptions,
    ExploreOptions,
    FileOverwriteOpt,
    SampleOptions,
    SeedOpt,
    SizeCallback,
    bounded,
    checked,
    console,
    output_path,
    user_errors,
)
from zspace.cli.music import app as music_app
from zspace.cli.sectar import app as sectar_app
from zspace.cli.sectar import rl_app
from zspace.cli.serve import serve_cmd
from zspace.cli.structured import app as structured_app
from zspace.core.constraints import Positive, Seed
from zspace.errors import ConfigError

# The VAE's default number of importance samples of `zspace eval` (zspace.vae.evaluate.DEFAULT_K; a test keeps them equal).
EVAL_K = 5000


class FamilyCommands(TyperGroup):
    """``zspace train``: one sub-command per registered family, built when it is listed or called."""

    def list_commands(self, ctx: Any) -> list[str]:
        return families.names()

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in families.names():
            return None
        family = families.get(name)
        train = getattr(_commands(family), "train", None)
        if train is None:
            return None
        single = typer.Typer()
        single.command(name, short_help=family.summary)(train)
        return typer.main.get_command(single)


app = typer.Typer(
    name="zspace",
    help="Latent-variable models to train, explore and plan with.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ErrorBoundary,
)
train_app = typer.Typer(help="Train a model family: `zspace train FAMILY --help` lists its options.", no_args_is_help=True,
                        cls=FamilyCommands)  # fmt: skip
app.add_typer(train_app, name="train")
# The families' own verbs (`zspace music prepare`, `zspace sectar plan`, ...); `zspace rl` is the old name of `sectar`.
app.add_typer(music_app, name="music")
app.add_typer(sectar_app, name="sectar")
app.add_typer(rl_app, name="rl", hidden=True)
app.add_typer(structured_app, name="structured")
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


def _commands(family: families.Family) -> Any:
    """The family's CLI module (its ``train``, ``evaluate``, ``sample``, ``explore``), or None."""
    return families.resolve(family.commands) if family.commands else None


def _verb(run: Path, verb: str, function: str) -> Any:
    """The function of the run's family that does ``verb``, or a ConfigError naming the command to use instead."""
    from zspace.train.runs import CONFIG, read_run_info

    name = read_run_info(run).family
    family = families.get(name, where=str(run / CONFIG))
    found = getattr(_commands(family), function, None)
    if found is None:
        instead = family.instead.get(verb, "zspace --help").format(run=run)
        raise ConfigError(f"`zspace {verb}` does not apply to {name!r} runs such as {run}; use `{instead}`")
    return found


@app.command("eval")
def eval_cmd(
    run: RunArg,
    iw: Annotated[
        int, typer.Option("--iw", help="VAE: importance samples per example for log p(x) (k).", callback=bounded(1, 2**20))
    ] = EVAL_K,
    checkpoint: CheckpointOpt = "best",
    batch_size: Annotated[int, typer.Option(help="VAE: examples per evaluation batch.", callback=bounded(1, 2**20))] = 100,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the importance samples [default: 0]; SeCTAR: of the episodes [default: 1000, as `zspace sectar plan`].",
            callback=checked(Seed),
            show_default=False,
        ),
    ] = None,
    episodes: Annotated[int, typer.Option(help="SeCTAR: planning episodes to run.", callback=bounded(1, 100_000))] = 20,
    out: Annotated[Path | None, typer.Option(parser=output_path, help="VAE: JSON output (default RUN/eval.json).")] = None,
    overwrite: FileOverwriteOpt = False,
) -> None:
    """Evaluate a run of any family: VAE test bounds, SeCTAR planning return, structured train/test error."""
    options = EvalOptions(iw=iw, checkpoint=checkpoint, batch_size=batch_size, seed=seed, episodes=episodes, out=out,
                          overwrite=overwrite)  # fmt: skip
    with user_errors():
        if out is not None:
            from zspace.train.outputs import check_output_file

            check_output_file(out, overwrite=overwrite, suffixes=(".json",))
        _verb(run, "eval", "evaluate")(run, options)


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
    options = SampleOptions(n=n, temperature=temperature, seed=seed, checkpoint=checkpoint, out=out, overwrite=overwrite)
    with user_errors():
        _verb(run, "sample", "sample")(run, options)


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
    options = ExploreOptions(ablation=ablation, ablation_epochs=ablation_epochs, seed=seed)
    with user_errors():
        _verb(run, "explore", "explore")(run, options)


@app.command("presets")
def presets_cmd() -> None:
    """List the named presets of every family."""
    from rich.table import Table

    rows = []
    for family in families.all_families():
        describe = family.describe_preset or (lambda _config: ("", "", ""))
        rows += [(family.name, name, *describe(config)) for name, config in family.presets.items()]
    # A name is what the user types next: it never wraps or gets cut (the descriptions wrap instead).
    table = Table(title="presets")
    table.add_column("family", no_wrap=True)
    table.add_column("name", no_wrap=True, min_width=max((len(row[1]) for row in rows), default=4))
    for column in ("model", "data", "train"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def run() -> None:
    """Console-script entry point."""
    app()
