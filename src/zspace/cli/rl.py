"""``zspace rl ...``: SeCTAR's commands: ``train`` a model, ``plan`` with it, ``render`` its skills.

Each parses flags, builds a config and calls the library (``zspace.rl``)."""

from __future__ import annotations

import typer

app = typer.Typer(help="SeCTAR: trajectory VAEs for hierarchical RL with latent planning.", no_args_is_help=True)
train_app = typer.Typer(help="Train an RL method.", no_args_is_help=True)
app.add_typer(train_app, name="train")


@app.callback()
def rl() -> None:
    """SeCTAR: trajectory VAEs for hierarchical RL with latent planning."""
