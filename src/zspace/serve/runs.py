"""Which family a run directory holds (the run contract's ``family``, :mod:`zspace.train.runs`),
and loading it through that family's public API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zspace.errors import CheckpointError
from zspace.train import runs

FAMILIES = ("vae", "music", "sectar", "structured")


@dataclass(frozen=True)
class LoadedRun:
    """A run the server was started with: ``view`` answers that family's API requests."""

    name: str
    family: str
    path: Path
    view: Any


def detect_family(run_dir: Path) -> str:
    """``vae`` | ``music`` | ``sectar`` | ``structured``: the family the run contract stamped in config.json."""
    family = runs.load_run(run_dir).family
    if family not in FAMILIES:
        raise CheckpointError(f"{run_dir}: `zspace serve` shows {', '.join(FAMILIES)} runs, not {family!r} ones")
    return family


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
