"""``zspace serve RUN [RUN ...]``: the latent-space explorer in the browser (thin: the library is zspace.serve)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zspace.cli.common import checked, console, user_errors
from zspace.core.constraints import Seed


def serve_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Run directories of any family (VAE, MusicVAE, SeCTAR, latent SSVM).")],
    host: Annotated[str, typer.Option(help="Address to bind; the default serves this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the map projection.", callback=checked(Seed))] = 0,
) -> None:
    """Serve an interactive page over trained runs: latent maps, live decoding, sliders, playback.

    Example: zspace serve runs/demo runs/mel2 --port 8000, then open http://127.0.0.1:8000/
    """
    with user_errors():
        try:
            from zspace.serve.server import run_server
        except ImportError as err:
            from zspace.errors import ConfigError

            raise ConfigError(f"zspace serve needs the serve extra: pip install 'zspace[serve]' ({err})") from err
        run_server(runs, host=host, port=port, seed=seed, announce=console.print)
