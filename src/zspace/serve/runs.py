"""Which family a run directory holds, and loading it through that family's public API.

The one place that knows each family's on-disk layout (today's layouts: VAE and MusicVAE
write ``config.json`` with ``family``; SeCTAR writes ``config.json`` + ``run.json`` without
one; the latent SSVM writes ``model.json`` with ``family: structured``). When the shared
run-directory contract lands, only :func:`detect_family` and the loaders here change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zspace.errors import CheckpointError

FAMILIES = ("vae", "music", "sectar", "structured")


@dataclass(frozen=True)
class LoadedRun:
    """A run the server was started with: ``view`` answers that family's API requests."""

    name: str
    family: str
    path: Path
    view: Any


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path}: unreadable JSON ({err})") from err
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def detect_family(run_dir: Path) -> str:
    """``vae`` | ``music`` | ``sectar`` | ``structured`` from the files a family writes."""
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is not a directory; pass a run directory written by `zspace train` or a family command")
    if (run_dir / "model.json").is_file():
        family = _read_json(run_dir / "model.json").get("family")
        if family == "structured":
            return "structured"
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise CheckpointError(f"{run_dir} has no config.json or model.json: it is not a zspace run directory")
    config = _read_json(config_path)
    family = config.get("family")
    if family in FAMILIES:  # the run contract (zspace.train.runs) stamps every config.json
        return family
    if family is None and (run_dir / "run.json").is_file():
        return "sectar"
    raise CheckpointError(f"{config_path}: unknown family {family!r}; `zspace serve` shows {', '.join(FAMILIES)} runs")


def load_run(run_dir: str | Path, *, seed: int = 0) -> LoadedRun:
    """Load the model (and the data its view needs) of ``run_dir`` once, for serving."""
    run_dir = Path(run_dir)
    family = detect_family(run_dir)
    if family == "vae":
        from zspace.serve.vae_view import VAEView

        view: Any = VAEView.from_run(run_dir, seed=seed)
    elif family == "music":
        from zspace.serve.music_view import MusicView

        view = MusicView.from_run(run_dir)
    elif family == "sectar":
        from zspace.serve.sectar_view import SectarView

        view = SectarView.from_run(run_dir)
    else:
        from zspace.serve.ssvm_view import SSVMView

        view = SSVMView.from_run(run_dir)
    return LoadedRun(name=run_dir.resolve().name, family=family, path=run_dir, view=view)


__all__ = ["FAMILIES", "LoadedRun", "detect_family", "load_run"]
