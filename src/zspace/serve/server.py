"""Start-up of ``zspace serve``: load every run once, then run uvicorn on the app."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from zspace.errors import ConfigError
from zspace.serve.runs import LoadedRun, load_served_run

log = logging.getLogger("zspace.serve")


def load_runs(run_dirs: Sequence[str | Path], *, seed: int = 0) -> list[LoadedRun]:
    """Each run directory loaded through its family's API; the same directory twice is refused."""
    if not run_dirs:
        raise ConfigError("zspace serve needs at least one run directory, e.g. `zspace serve runs/demo`")
    resolved = [Path(d).resolve() for d in run_dirs]
    if len(set(resolved)) != len(resolved):
        raise ConfigError(f"a run directory is given twice in {[str(d) for d in run_dirs]}")
    return [load_served_run(d, seed=seed) for d in run_dirs]


def run_server(
    run_dirs: Sequence[str | Path],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    seed: int = 0,
    announce: Callable[[str], None] = print,
) -> None:
    """Load the runs and serve them at http://host:port/ until interrupted (Ctrl-C)."""
    import torch
    import uvicorn

    from zspace.serve.app import create_app

    if not 0 < port < 65536:
        raise ConfigError(f"--port must be in 1..65535, got {port}")
    # Requests decode one or a few codes: intra-op threads cost more than they save, and leave
    # the cores to the server's event loop and to concurrent requests.
    torch.set_num_threads(1)
    runs = load_runs(run_dirs, seed=seed)
    app = create_app(runs, host=host)
    for i, run in enumerate(runs):
        announce(f"run {i}: {run.path} ({run.family})")
    if host not in ("127.0.0.1", "localhost", "::1"):
        announce(f"note: {host} is not a loopback address; anyone who can reach this machine can use the page")
    announce(f"serving on http://{host}:{port}/  (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


__all__ = ["load_runs", "run_server"]
