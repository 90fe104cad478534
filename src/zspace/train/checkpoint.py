"""Checkpoints that survive a crash: safetensors weights, JSON config, tensor-only trainer state.

Layout of a run directory::

    RUN/config.json                       the resolved run config
    RUN/checkpoints/step-00001200/        one complete checkpoint
        config.json  model.safetensors  trainer_state.pt
    RUN/checkpoints/best.json             {"step": ..., "metric": ...} pointer to the best one

A checkpoint is written into a hidden temporary directory, fsynced, then renamed into place,
so a directory named ``step-*`` is always complete: a kill mid-write leaves only a ``.tmp-*``
directory that the next save removes. Trainer state is loaded with ``weights_only=True``;
nothing is ever unpickled from a user's file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save
from torch import nn

from zspace.core.files import read_json_file, read_torch_state
from zspace.core.io import atomic_write, atomic_write_json, current_umask, fsync_dir
from zspace.errors import CheckpointError

CHECKPOINTS = "checkpoints"
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
STATE = "trainer_state.pt"
BEST = "best.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` atomically (see :func:`zspace.core.io.atomic_write`)."""
    atomic_write_json(path, data)


def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))


def save_checkpoint(
    run_dir: str | os.PathLike,
    step: int,
    weights: dict[str, torch.Tensor],
    config: dict[str, Any],
    trainer_state: dict[str, Any],
    *,
    keep_last: int,
    metric: float | None = None,
    is_best: bool = False,
) -> Path:
    """Atomically write checkpoint ``step``; prune to the last ``keep_last`` plus the best one.

    weights: the model's state dict (CPU tensors, see :func:`snapshot`).
    """
    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700 whatever the umask
    atomic_write(tmp / WEIGHTS, lambda f: f.write(save(weights, metadata={"step": str(step)})))
    atomic_write(tmp / STATE, lambda f: torch.save(trainer_state, f))
    atomic_write_json(tmp / CONFIG, config)
    final = root / step_dir_name(step)
    if final.exists():  # re-saving the same step (e.g. final save right after an epoch save)
        shutil.rmtree(final)
    os.rename(tmp, final)
    fsync_dir(root)
    if is_best:
        write_json_atomic(root / BEST, {"step": step, "checkpoint": final.name, "metric": metric})
    _prune(root, keep_last)
    return final


def snapshot(obj: Any) -> Any:
    """A deep copy of nested dicts/lists/tuples whose tensors are detached CPU copies.

    Taking it is the only synchronous part of a checkpoint: after it returns, training may
    change the weights and optimizer state while the copy is written.
    """
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True).contiguous()
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return obj


class BackgroundCheckpointer:
    """Writes checkpoints on a background thread so the training loop does not wait for the disk.

    At most one write is in flight: ``save`` first waits for the previous one. The write itself
    is :func:`save_checkpoint` (temp dir, fsync, atomic rename), so a kill during it leaves the
    previous checkpoint as the latest complete one. Errors surface at the next ``save``/``wait``.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def save(
        self,
        run_dir: str | os.PathLike,
        step: int,
        model: nn.Module,
        config: dict[str, Any],
        trainer_state: dict[str, Any],
        **kwargs: Any,
    ) -> Path:
        """Snapshot ``model`` and ``trainer_state`` now; write them in the background. Returns the final path."""
        self.wait()
        weights, state = snapshot(model.state_dict()), snapshot(trainer_state)

        def write() -> None:
            try:
                save_checkpoint(run_dir, step, weights, config, state, **kwargs)
            except BaseException as err:  # noqa: BLE001 -- re-raised on the training thread by wait()
                self._error = err

        self._thread = threading.Thread(target=write, name=f"zspace-checkpoint-{step}")
        self._thread.start()
        return Path(run_dir) / CHECKPOINTS / step_dir_name(step)

    def wait(self) -> None:
        """Block until the pending write is on disk; raise its error if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            err, self._error = self._error, None
            raise CheckpointError(f"writing a checkpoint failed: {err}") from err


def _prune(root: Path, keep_last: int) -> None:
    best = best_checkpoint(root.parent)
    checkpoints = list_checkpoints(root.parent)
    for old in checkpoints[: max(len(checkpoints) - keep_last, 0)]:
        if best is None or old != best:
            shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint, or None."""
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1] if checkpoints else None


def best_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The checkpoint named by ``best.json``, or None if there is none (or it was removed)."""
    pointer = Path(run_dir) / CHECKPOINTS / BEST
    if not pointer.is_file():
        return None
    name = read_json_file(pointer).get("checkpoint")
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        raise CheckpointError(
            f"{pointer} is not a valid best-checkpoint pointer: 'checkpoint' must name a folder of {pointer.parent}, "
            f"got {name!r}; delete it to fall back to the newest checkpoint"
        )
    path = pointer.parent / name
    return path if path.is_dir() else None


def resolve_checkpoint(run_dir: str | os.PathLike, which: str = "best") -> Path:
    """``best`` (falls back to the latest), ``last``, or a ``step-*`` directory name."""
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"run directory {run} does not exist; train one with `zspace train ... --out {run}`")
    if which == "best":
        found = best_checkpoint(run) or latest_checkpoint(run)
    elif which in ("last", "latest"):
        found = latest_checkpoint(run)
    else:
        found = run / CHECKPOINTS / which
        found = found if found.is_dir() else None
    if found is None:
        names = [p.name for p in list_checkpoints(run)]
        raise CheckpointError(
            f"no checkpoint {which!r} in {run / CHECKPOINTS}; available: {names or 'none (training has not saved yet)'}"
        )
    return found


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The config.json of a run or checkpoint directory."""
    file = Path(path) / CONFIG
    if not file.is_file():
        raise CheckpointError(f"{file} is missing: {path} is not a zspace run or checkpoint directory")
    try:
        data = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{file} is damaged: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise CheckpointError(f"{file} is damaged: expected a JSON object, got {type(data).__name__}")
    return data


def load_weights(model: nn.Module, checkpoint: str | os.PathLike) -> nn.Module:
    """Load ``model.safetensors`` into ``model`` (strict: names and shapes must match)."""
    file = Path(checkpoint) / WEIGHTS
    if not file.is_file():
        raise CheckpointError(f"{file} is missing")
    try:
        state = load_file(str(file))
    except Exception as err:  # safetensors raises its own SafetensorError (and OSError) on a damaged file
        raise CheckpointError(f"{file} is damaged and cannot be read ({_first_line(err)}){_OTHERS}") from err
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{file} does not match the model built from its config.json: {err}") from err
    return model


def load_trainer_state(checkpoint: str | os.PathLike) -> dict[str, Any]:
    """The optimizer/RNG/step state, loaded with ``weights_only=True``."""
    file = Path(checkpoint) / STATE
    if not file.is_file():
        raise CheckpointError(f"{file} is missing")
    state = read_torch_state(file, what="trainer state", fix=_OTHERS)
    if not isinstance(state, dict):
        raise CheckpointError(f"{file} is damaged: expected a dict of trainer state, got {type(state).__name__}{_OTHERS}")
    return state


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


_OTHERS = "; `--resume` falls back to the newest intact checkpoint, and `--checkpoint step-NNNNNNNN` picks another one"


def check_resumable(saved: Any, config: Any, where: Path) -> None:
    """Refuse a ``--resume`` that would change what the run computes.

    ``saved`` and ``config`` are a family's run configs (frozen dataclasses with ``model``,
    ``data``, ``objective`` and ``train``): a resumed run may train longer or log differently, but
    its model, data, objective, seed and batch size must stay those of the run saved in ``where``.
    """
    fixed = {
        "model": (saved.model, config.model),
        "data": (saved.data, config.data),
        "objective": (saved.objective, config.objective),
        "train.seed": (saved.train.seed, config.train.seed),
        "train.batch_size": (saved.train.batch_size, config.train.batch_size),
    }
    changed = [name for name, (before, now) in fixed.items() if before != now]
    if changed:
        raise CheckpointError(
            f"--resume: {', '.join(changed)} differ from the run saved in {where}; resume with the same options"
        )
