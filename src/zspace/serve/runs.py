"""Which family a run directory holds (the run contract's ``family``, :mod:`zspace.train.runs`),
and loading it through the view its family names in the registry (:mod:`zspace.families`)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zspace import families
from zspace.errors import CheckpointError
from zspace.train import runs


@dataclass(frozen=True)
class LoadedRun:
    """A run the server was started with: ``view`` answers that family's API requests."""

    name: str
    family: str
    path: Path
    view: Any


def detect_family(run_dir: Path) -> str:
    """The name of the family the run contract stamped in config.json, if the server can show it."""
    family = families.get(runs.read_run_info(run_dir).family, where=str(Path(run_dir) / runs.CONFIG))
    if family.serve_view is None:
        servable = [f.name for f in families.all_families() if f.serve_view is not None]
        raise CheckpointError(f"{run_dir}: `zspace serve` shows {', '.join(servable)} runs, not {family.name!r} ones")
    return family.name


def load_served_run(run_dir: str | Path, *, seed: int = 0) -> LoadedRun:
    """Load the model (and the data its view needs) of ``run_dir`` once, for serving."""
    run_dir = Path(run_dir)
    family = families.get(detect_family(run_dir))
    factory = families.resolve(family.serve_view or "")
    takes_seed = "seed" in inspect.signature(factory).parameters  # a view with a seeded map projection
    view = factory(run_dir, seed=seed) if takes_seed else factory(run_dir)
    return LoadedRun(name=run_dir.resolve().name, family=family.name, path=run_dir, view=view)


__all__ = ["LoadedRun", "detect_family", "load_served_run"]
