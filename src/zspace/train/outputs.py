"""Checks on an output path, made before any work: a command that will fail to write fails first.

Every command that writes checks its ``--out`` with :func:`check_output_file` or
:func:`check_output_dir` as its first step: the path's names fit the file system, its folder
can be created and written, its format is one the command writes, it is none of the command's
own inputs, it is no file of a zspace run (``RUN/config.json``, checkpoints, metrics), and an
existing file is replaced only with ``--overwrite``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from zspace.errors import ConfigError

__all__ = ["check_creatable_dir", "check_output_dir", "check_output_file", "run_file_owner"]

# What a run directory holds (zspace.train.runs, checkpoint, logging; SeCTAR and structured runs):
# writing over any of them breaks the run, so no --out may name one, even with --overwrite.
RUN_FILES = frozenset(
    {"config.json", "run.json", "metrics.jsonl", ".zspace.lock", "train_state.pt", "model.json", "weights.safetensors",
     "model.safetensors"}
)  # fmt: skip
RUN_FOLDERS = frozenset({"checkpoints", "tensorboard"})


def check_output_file(
    path: str | os.PathLike,
    flag: str = "--out",
    *,
    overwrite: bool = False,
    suffixes: Iterable[str] | None = None,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Validate a file to be written later; returns it as a Path.

    ``suffixes`` (e.g. ``(".npz",)``) are the formats the command writes; ``inputs`` the files
    the same command reads (never replaced). An existing file needs ``overwrite``.
    """
    path = Path(path)
    check_names(path, flag)
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a directory; name a file inside it, e.g. {flag} {path / 'out'}")
    if suffixes is not None:
        allowed = sorted(set(suffixes))
        if path.suffix.lower() not in allowed:
            raise ConfigError(f"{flag} {path}: {path.suffix or 'no extension'} is not a format this writes; use one of {allowed}")
    for source in inputs:
        if Path(source).exists() and path.exists() and path.resolve() == Path(source).resolve():
            raise ConfigError(f"{flag} {path} is also an input of this command; choose another {flag}")
    owner = run_file_owner(path)
    if owner is not None:
        raise ConfigError(f"{flag} {path} is a file of the run {owner}; writing it would break the run; choose another {flag}")
    if path.exists() and not overwrite:
        raise ConfigError(f"{flag} {path} already exists; pass --overwrite to replace it, or choose another {flag}")
    check_creatable_dir(path.parent, flag, path)
    return path


def check_output_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Validate a folder to be written later: fitting names, not a file, creatable and writable."""
    path = Path(path)
    check_names(path, flag)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path} is a file, not a folder; choose a folder path")
    owner = run_file_owner(path)
    if owner is not None:
        raise ConfigError(f"{flag} {path} is part of the run {owner}; choose a folder outside its checkpoints")
    check_creatable_dir(path, flag, path)
    return path


def check_names(path: Path, flag: str) -> None:
    """Every name in ``path`` within the file system's limit (255 bytes on most), the whole within PATH_MAX."""
    if not str(path).strip():
        raise ConfigError(f"{flag} is empty; name a path")
    anchor = _existing_ancestor(path.absolute())
    name_max, path_max = _limit(anchor, "PC_NAME_MAX", 255), _limit(anchor, "PC_PATH_MAX", 4096)
    for name in path.parts:
        if len(os.fsencode(name)) > name_max:
            raise ConfigError(
                f"{flag}: the name {name[:40]}... is {len(os.fsencode(name))} bytes, over the file system's {name_max}"
            )
    if len(os.fsencode(str(path.absolute()))) >= path_max:
        raise ConfigError(f"{flag} {str(path)[:40]}...: the path is longer than the file system's {path_max} bytes")


def check_creatable_dir(directory: Path, flag: str, shown: Path) -> None:
    """``directory`` exists or can be made: its nearest existing ancestor is a writable folder."""
    existing = _existing_ancestor(directory.absolute())
    if not existing.is_dir():
        raise ConfigError(f"{flag} {shown}: {existing} is a file, so the directory cannot be created; choose another {flag}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {shown}: {existing} is not writable by this user; choose another {flag}")


def run_file_owner(path: Path) -> Path | None:
    """The run directory ``path`` belongs to as one of its own files or folders, else None."""
    path = path.absolute()
    for parent in path.parents:
        if (parent / "config.json").is_file() and ((parent / "checkpoints").is_dir() or (parent / ".zspace.lock").exists()):
            inside = path.relative_to(parent).parts
            if inside[0] in RUN_FOLDERS or (len(inside) == 1 and (inside[0] in RUN_FILES or "tfevents" in inside[0])):
                return parent
            return None
    return None


def _existing_ancestor(path: Path) -> Path:
    while not _exists(path) and path != path.parent:
        path = path.parent
    return path


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. ENAMETOOLONG: what cannot be named does not exist
        return False


def _limit(anchor: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(anchor if anchor.is_dir() else anchor.parent, name)
    except (OSError, ValueError) as err:
        if isinstance(err, OSError) and err.errno not in (errno.EINVAL, errno.ENOENT):
            raise ConfigError(f"cannot check {anchor}: {err.strerror}") from err
        return default
