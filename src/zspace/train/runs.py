"""The run-directory contract every family follows, and the guard that keeps a trained run safe.

Every run directory holds ``config.json`` with two entries beside the family's own config:
``family`` (a name of :mod:`zspace.families`: ``vae`` | ``music`` | ``sectar`` | ``structured``) and
``format_version``. ``zspace eval|sample|explore RUN`` read them to dispatch (:func:`read_run_info`); a
family writes them with :func:`save_run`, and weights outside a training checkpoint with :func:`save_weights`. Data paths inside are absolute, so a run can be evaluated from any directory.

Before any work, :func:`open_run_dir` checks the output path (not a file, creatable, writable),
refuses a directory that already holds a run unless the caller resumes or overwrites it, and
takes an exclusive ``fcntl`` lock on it for the life of the training, so a second process
writing into the same directory is refused with the first one's pid instead of silently
replacing its model. ``--overwrite`` replaces only a zspace run, and only once the new run has
saved a model: until then the new run is written beside the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from zspace import families
from zspace.core.io import atomic_write, atomic_write_json
from zspace.errors import CheckpointError, ConfigError
from zspace.train.outputs import check_creatable_dir as _check_creatable_dir
from zspace.train.outputs import check_names, check_output_dir, check_output_file
from zspace.train.rundir import LOCK_FILE, exchange, locked_directory

__all__ = [
    "CONFIG",
    "FORMAT_VERSION",
    "LOCK_FILE",
    "RunInfo",
    "check_output_dir",
    "check_output_file",
    "content_hash",
    "family_config",
    "file_hash",
    "guard_run_dir",
    "load_weights",
    "open_run_dir",
    "read_json",
    "read_run_info",
    "save_run",
    "save_weights",
    "strip_contract",
]

CONFIG = "config.json"
FORMAT_VERSION = 1
CONTRACT_KEYS = ("family", "format_version", "data_sha256")


@dataclass(frozen=True)
class RunInfo:
    """What :func:`read_run_info` read: the family, the format version and the family's config dict."""

    path: Path
    family: str
    format_version: int
    config: dict[str, Any]


def save_run(run_dir: str | os.PathLike, family: str, config: dict[str, Any], *, data_sha256: str | None = None) -> Path:
    """Write ``run_dir/config.json``: ``config`` stamped with ``family``, ``format_version`` (and the data hash)."""
    return atomic_write_json(Path(run_dir) / CONFIG, stamp(family, config, data_sha256=data_sha256))


def stamp(family: str, config: dict[str, Any], *, data_sha256: str | None = None) -> dict[str, Any]:
    """``config`` with the contract's keys in front: what :func:`save_run` writes."""
    if family not in families.names():
        raise ConfigError(f"unknown run family {family!r}; valid families are {families.names()}")
    head: dict[str, Any] = {"family": family, "format_version": FORMAT_VERSION}
    if data_sha256 is not None:
        head["data_sha256"] = data_sha256
    return head | {k: v for k, v in config.items() if k not in CONTRACT_KEYS}


def strip_contract(config: dict[str, Any]) -> dict[str, Any]:
    """The family's own part of a config.json dict (the contract's keys removed)."""
    return {k: v for k, v in config.items() if k not in CONTRACT_KEYS}


def family_config(data: dict[str, Any], family: str, *, where: str, missing_hint: str = "") -> dict[str, Any]:
    """A stamped config.json's own entries, checked to be a ``family`` run with a ``model`` entry.

    What every family's ``RunConfig.from_json`` does first; ``missing_hint`` is added to the error
    for a config without the contract's entries (e.g. how to write one).
    """
    found = data.get("family")
    if found is None or "model" not in data:
        hint = f"; {missing_hint}" if missing_hint else ""
        raise CheckpointError(f"{where} has no 'family'/'model' entries, so the model cannot be rebuilt{hint}")
    if found != family:
        raise ConfigError(
            f"{where}: this run is a {found!r} run, not a {family!r} run; use `zspace eval|sample|explore RUN` for it"
        )
    return strip_contract(data)


def read_run_info(run_dir: str | os.PathLike) -> RunInfo:
    """Read and check ``run_dir/config.json``: a known family and a format this version reads."""
    from zspace.train.checkpoint import read_config

    run = Path(run_dir)
    if not run.is_dir():
        kind = "a file, not a run directory" if run.exists() else "does not exist"
        raise CheckpointError(f"{run} {kind}; train a run with `zspace train FAMILY --out {run}`")
    config = read_config(run)
    file = run / CONFIG
    family = config.get("family")
    if family is None:
        raise CheckpointError(
            f"{file} has no 'family' entry, so zspace cannot tell which model it holds; "
            f'add "family": one of {families.names()}, or retrain with `zspace train FAMILY --out {run}`'
        )
    if not isinstance(family, str) or family not in families.names():
        raise CheckpointError(f"{file}: unknown family {family!r}; valid families are {families.names()}")
    version = config.get("format_version", FORMAT_VERSION)  # runs written before the field existed are version 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{file} is damaged: format_version must be an integer >= 1, got {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{file}: format_version {version!r} is newer than this zspace reads ({FORMAT_VERSION}); upgrade zspace"
        )
    return RunInfo(path=run, family=family, format_version=version, config=config)


def check_data_unchanged(run_dir: str | os.PathLike, data_sha256: str, data_name: str) -> None:
    """``--resume``: refuse data whose content differs from what the run was trained on."""
    saved = read_run_info(run_dir).config.get("data_sha256")
    if saved is not None and saved != data_sha256:
        raise CheckpointError(
            f"--resume: the data {data_name} changed since {Path(run_dir) / CONFIG} was written "
            f"(sha256 {data_sha256[:12]}... vs {saved[:12]}...); resume with the original data, "
            "or train a new run into another --out"
        )


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from ``path``, or a CheckpointError naming the damaged file."""
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{file} cannot be read ({err})") from err
    if not isinstance(data, dict):
        raise CheckpointError(f"{file} is damaged: expected a JSON object, got {type(data).__name__}")
    return data


WEIGHTS = "model.safetensors"


def save_weights(run_dir: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``run_dir/model.safetensors`` atomically: the weights of a run with no training checkpoints."""
    from safetensors.numpy import save

    tensors = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    return atomic_write(Path(run_dir) / WEIGHTS, lambda f: f.write(save(tensors)))


def load_weights(run_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays :func:`save_weights` wrote, or a CheckpointError naming the missing or damaged file."""
    from safetensors.numpy import load_file

    file = Path(run_dir) / WEIGHTS
    if not file.is_file():
        raise CheckpointError(f"{file} is missing: {run_dir} holds no saved model")
    try:
        return load_file(str(file))
    except Exception as err:  # safetensors raises its own SafetensorError (and OSError) on a damaged file
        raise CheckpointError(f"{file} is damaged and cannot be read ({str(err).strip()[:200]})") from err


# --- content hashes ------------------------------------------------------------------------------
def content_hash(arrays: Iterable[Any]) -> str:
    """sha256 over the bytes, dtypes and shapes of ``arrays`` (numpy arrays or CPU tensors)."""
    digest = hashlib.sha256()
    for array in arrays:
        a = np.ascontiguousarray(array.numpy() if hasattr(array, "numpy") else np.asarray(array))
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(memoryview(a).cast("B"))
    return digest.hexdigest()


def file_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the output guard ----------------------------------------------------------------------------
def relocated(result: Any, written: Path | None, out: str | os.PathLike | None) -> Any:
    """``result`` (a dataclass) with its paths under ``written`` moved under ``out``: where an ``--overwrite`` run ended."""
    if written is None or out is None or Path(written) == Path(out):
        return result
    moved = {}
    for item in fields(result):
        value = getattr(result, item.name)
        if isinstance(value, Path) and value.is_relative_to(written):
            moved[item.name] = Path(out) / value.relative_to(written)
    return replace(result, **moved)


def _holds_files(run: Path) -> bool:
    return any(p.name != LOCK_FILE for p in run.iterdir())


# What zspace writes into a run directory (training, eval, sample, explore, render, attributes):
# --overwrite replaces a directory only if it holds nothing else, so no file of the user's is lost.
RUN_ENTRIES = frozenset({
    CONFIG, LOCK_FILE, "checkpoints", "metrics.jsonl", "tensorboard", "model.safetensors", "run.json", "train_state.pt",
    "weights.safetensors", "model.json", "eval.json", "samples.png", "samples", "report", "figures", "attributes",
    "ablations",
})  # fmt: skip


@contextmanager
def open_run_dir(
    out: str | os.PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
    family: str | None = None,
    can_resume: bool = True,
) -> Iterator[Path]:
    """Check ``out``, lock it exclusively and yield the directory to write the run into.

    - ``out`` must not be a file, and must be creatable and writable.
    - A directory that already holds files is refused unless ``resume`` (it must then hold a run
      of ``family``) or ``overwrite`` (it must then hold a zspace run and nothing else).
      ``can_resume=False`` keeps ``--resume`` out of the advice, for commands without it.
    - Another process holding the lock is refused, naming its pid.

    With ``overwrite`` of an existing run, the old run is not touched while the new one is
    made: the block writes into a new directory beside ``out`` (the path yielded), which takes
    the old run's place when the block ends only if it holds a saved model by then (a checkpoint,
    the weights or SeCTAR's training state). So a bad input, a budget too small to save or a kill
    leaves the old run as it was.

    Only the process that writes the run should call this (rank 0 under torchrun).
    """
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite contradict each other: pass one of them")
    if os.fspath(out) == "":
        raise ConfigError("--out is empty; name the run directory, e.g. --out runs/first")
    run = Path(out)
    check_names(run, "--out")
    if run.exists() and not run.is_dir():
        raise ConfigError(f"--out {run} is a file, not a directory; choose a directory path for the run")
    _check_creatable_dir(run, "--out", run)
    with locked_directory(run):  # locked first: whether it holds a run is decided by the holder alone
        if resume or not _holds_files(run):
            _check_existing(run, resume=resume, family=family)
            yield run
            return
        if not overwrite:
            resume_hint = "continue it with --resume, " if can_resume else ""
            raise CheckpointError(
                f"--out {run} already holds files (a trained run?); {resume_hint}replace it with --overwrite, "
                "or choose a new --out"
            )
        _check_replaceable(run)
        with _replacement(run) as new:
            yield new


def _check_existing(run: Path, *, resume: bool, family: str | None) -> None:
    if not resume:
        return
    if not (run / CONFIG).is_file():
        raise CheckpointError(f"--resume: {run} holds no run to resume (no {CONFIG}); drop --resume to start one")
    found = read_run_info(run).family
    if family is not None and found != family:
        raise CheckpointError(
            f"--resume: {run} holds a {found!r} run, not a {family!r} one; resume it with `zspace train {found} --resume`"
        )


def _check_replaceable(run: Path) -> None:
    """``--overwrite``: refuse a directory that is not a zspace run, holds other files, or holds the working directory."""
    reason = None if (run / CONFIG).is_file() else f"no {CONFIG}"
    if reason is None:
        try:
            read_run_info(run)
        except CheckpointError as err:
            reason = str(err)
    if reason is not None:
        raise ConfigError(f"--overwrite: {run} is not a zspace run ({reason}), so zspace will not delete it; choose a new --out")
    foreign = sorted(p.name for p in run.iterdir() if p.name not in RUN_ENTRIES and not _is_temp(p.name))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(
            f"--overwrite: {run} holds files zspace did not write ({shown}); move them out of the run, or choose a new --out"
        )
    here = Path.cwd().resolve()
    if here == run.resolve() or run.resolve() in here.parents:
        raise ConfigError(f"--overwrite: {run} holds the current directory; run zspace from outside it, or choose a new --out")


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")  # an atomic write a kill interrupted


@contextmanager
def _replacement(run: Path) -> Iterator[Path]:
    """A new directory beside ``run`` that replaces it when the block ends, if it holds a saved run by then."""
    run = run.resolve()  # a symlinked run: its target is replaced, the link kept
    new = run.with_name(f".{run.name}.zspace-new")
    if not os.access(run.parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--overwrite: {run.parent} is not writable, so the new run cannot be made beside {run}")
    if new.is_dir() and not new.is_symlink():  # left by an --overwrite that was killed (made under the lock we hold)
        shutil.rmtree(new)
    elif new.exists() or new.is_symlink():
        new.unlink()
    new.mkdir()
    try:
        yield new
    finally:
        if _holds_saved_model(new):
            try:
                exchange(new, run)  # now ``new`` holds the old run
            except OSError as err:
                raise CheckpointError(
                    f"--overwrite: the new run could not take the place of {run} ({err.strerror}); it is in {new}, "
                    f"the old run is still in {run}"
                ) from err
        shutil.rmtree(new, ignore_errors=True)


def _holds_saved_model(run: Path) -> bool:
    """A config.json naming a family, and a model: weights, a complete checkpoint or a training state."""
    from zspace.train.checkpoint import list_checkpoints

    try:
        read_run_info(run)
    except (CheckpointError, ConfigError):
        return False
    models = ("model.safetensors", "weights.safetensors", "train_state.pt")
    return any((run / name).is_file() for name in models) or bool(list_checkpoints(run))


@contextmanager
def guard_run_dir(
    out: str | os.PathLike | None, *, resume: bool = False, overwrite: bool = False, family: str | None = None
) -> Iterator[Path | None]:
    """:func:`open_run_dir` for the process that writes the run; nothing for no ``out`` or another rank.

    Under ``torchrun`` only rank 0 writes (and checks and locks); the other ranks wait for it in
    the trainer's first collective.
    """
    if out is None or int(os.environ.get("RANK", "0")) != 0:
        yield None if out is None else Path(out)
        return
    with open_run_dir(out, resume=resume, overwrite=overwrite, family=family) as run:
        yield run
