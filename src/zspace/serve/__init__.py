"""``zspace serve``: a local web app to move through the latent spaces of trained runs.

``create_app(runs)`` builds the FastAPI app over runs loaded by ``load_served_run``; ``serve`` runs
it with uvicorn. Needs the ``serve`` extra (``pip install 'zspace[serve]'``); FastAPI is
imported only when an app is built, so importing this package stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zspace.serve.runs import LoadedRun, detect_family, load_served_run

__all__ = ["LoadedRun", "create_app", "detect_family", "load_served_run", "serve"]


def create_app(runs: list[LoadedRun], *, host: str = "127.0.0.1") -> Any:
    """The FastAPI app serving ``runs`` (loaded with :func:`load_served_run`) on ``host`` (its allowed ``Host`` name)."""
    from zspace.serve.app import create_app as _create_app

    return _create_app(runs, host=host)


def serve(run_dirs: Sequence[str | Path], *, host: str = "127.0.0.1", port: int = 8000, seed: int = 0) -> None:
    """Load every run in ``run_dirs`` and serve them at http://host:port/ until interrupted."""
    from zspace.serve.server import run_server

    run_server(run_dirs, host=host, port=port, seed=seed)
