"""SeCTAR's files: a model rebuilt from a checkpoint, and the training state that resumes a run exactly.

A SeCTAR run (or the ``state_dir`` of :func:`~zspace.rl.sectar.train.train_sectar`) holds the
checkpoints of :mod:`zspace.train.checkpoint`, written by its atomic writer (temp directory,
fsync, rename), one per finished iteration, named by the env steps taken::

    DIR/checkpoints/step-<env steps>/config.json        the run's config (model, train, env_id, env_kwargs, seed)
    DIR/checkpoints/step-<env steps>/model.safetensors  the weights
    DIR/checkpoints/step-<env steps>/trainer_state.pt   explorer, optimisers, buffer, generators, counters, curve

The training state holds tensors, numbers and JSON strings only and is loaded with
``weights_only=True``. A run resumes from its newest checkpoint; the earlier ones it keeps
(``keep_every``) hold the model, its config and the curve so far, without the buffer and
optimisers (which would take up to ~100 MB each). Directories of the layout before checkpoints (``model.safetensors``,
``train_state.pt`` and ``run.json`` at the top) are read as they are, and the first checkpoint
written into one (a ``--resume``) removes those files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from zspace.core.config import from_dict, to_dict
from zspace.core.files import read_torch_state
from zspace.core.io import atomic_write
from zspace.errors import CheckpointError, ConfigError
from zspace.rl.sectar.model import SeCTAR, SectarConfig
from zspace.train import runs
from zspace.train.checkpoint import (
    CONFIG,
    STATE,
    WEIGHTS,
    latest_checkpoint,
    list_checkpoints,
    load_weights,
    read_config,
    resolve_checkpoint,
    save_checkpoint,
    snapshot,
)

__all__ = ["find_checkpoint", "load_sectar", "load_train_state", "read_curve", "run_config", "save_train_state"]

FAMILY = "sectar"
# The files of the layout before checkpoints/: weights and training state at the top, the curve in run.json.
OLD_STATE, OLD_CURVE = "train_state.pt", "run.json"


def run_config(model: SeCTAR, config: Any, *, env_id: str, env_kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """The config.json of a run and of each of its checkpoints: the bound model, the training config and the task."""
    kwargs = {k: to_dict(v) if dataclasses.is_dataclass(v) else v for k, v in env_kwargs.items()}  # JSON, as recorded
    data = {"model": to_dict(model.config), "train": to_dict(config), "env_id": env_id, "env_kwargs": kwargs, "seed": seed}
    return runs.stamp(FAMILY, data)


def find_checkpoint(path: str | os.PathLike, which: str = "last") -> Path:
    """The checkpoint directory of ``path``: a run's ``last`` (default), ``best`` (the same) or ``step-*`` one.

    ``path`` may also be a checkpoint itself, or a run of the layout before checkpoints/.
    """
    path = Path(path)
    if not list_checkpoints(path) and (path / WEIGHTS).is_file():
        return path
    return resolve_checkpoint(path, "last" if which == "best" else which)  # no validation metric: the last is the best


# Before the state decoder's head became an MLP (SectarConfig.decoder_hidden), it was one nn.Linear: its weights
# were named decoder_head.weight / .bias, and config.json had no decoder_hidden.
LEGACY_HEAD = {"decoder_head.weight": "decoder_head.0.weight", "decoder_head.bias": "decoder_head.0.bias"}


def load_sectar(path: str | os.PathLike, checkpoint: str = "last") -> SeCTAR:
    """Rebuild the model of a run's checkpoint (:func:`find_checkpoint`) from its config.json and weights.

    A model saved before the decoder head became an MLP (no ``decoder_hidden`` in its config, a
    linear ``decoder_head``) loads as what it was: ``decoder_hidden=()``, the same function.

    Raises:
        CheckpointError: a file is missing, the config is invalid, or the weights do not match it
            (the message names the file and what to do).
    """
    directory = find_checkpoint(path, checkpoint)
    data = read_config(directory)
    file = directory / CONFIG
    if not isinstance(data.get("model"), dict):
        raise CheckpointError(f"{file} has no 'model' section: it was not written by `zspace train sectar`")
    fields = dict(data["model"])
    fields.setdefault("init", "ours")  # saved before SectarConfig.init: the only initialisation and decoder there was
    legacy = "decoder_hidden" not in fields
    if legacy:
        fields["decoder_hidden"] = []  # the linear head it was saved with
    try:
        config = from_dict(SectarConfig, fields, where=f"{file}: model")
        model = SeCTAR(config)
    except ConfigError as err:
        raise CheckpointError(f"{file} does not describe a SeCTAR model: {err}") from err
    if not legacy:
        return load_weights(model, directory).eval()
    weights = directory / WEIGHTS
    try:
        state = {LEGACY_HEAD.get(k, k): v for k, v in load_file(str(weights)).items()}
        model.load_state_dict(state, strict=True)
    except Exception as err:  # missing or damaged file, or other names / shapes than a linear-head model's
        raise CheckpointError(
            f"{weights} predates SectarConfig.decoder_hidden (its config.json has no model.decoder_hidden) and does not "
            f"load as a linear-head SeCTAR model either ({str(err).splitlines()[0][:200]}); retrain it with "
            f"`zspace train sectar` (the current code cannot rebuild this model)"
        ) from err
    return model.eval()


def read_curve(path: str | os.PathLike, checkpoint: str = "last") -> dict[str, Any]:
    """The learning curve (JSON) saved with a run's checkpoint; ``{}`` where none was saved."""
    directory = find_checkpoint(path, checkpoint)
    if (directory / STATE).is_file():
        return json.loads(read_torch_state(directory / STATE, what="SeCTAR training state")["curve"])
    old = directory / OLD_CURVE
    return runs.read_json(old).get("curve", {}) if old.is_file() else {}


# --- the training state, for an exact resume at an iteration boundary ------------------------------
# 3: the weights beside the state (model.safetensors) instead of inside it; 2: the paper explorer reward became the
# authors' (NLL per step + KL at one z ~ q), so a format-1 state would continue under another reward and random stream
TRAIN_STATE_FORMAT, OLD_STATE_FORMAT = 3, 2


def save_train_state(state_dir: str | os.PathLike, run: Any, curve: Any, *, env_id: str, env_kwargs: dict[str, Any],
                     seed: int, keep_every: int = 0) -> Path:  # fmt: skip
    """Write checkpoint ``step-<run.env_steps>``: everything ``train_sectar`` needs to continue exactly after ``run.iteration``.

    ``run`` is the loop's state (model, explorer, optimisers, buffer, generators, counters). The
    checkpoint before it is removed unless ``keep_every`` > 0 and at least that many env steps lie
    between it and the last one kept. The environments need no state at an iteration boundary:
    the planning envs are reseeded every iteration and the explorer's and consistency rollouts
    restart from buffer states (their layout draws feed nothing the training reads).
    """
    directory, buffer = Path(state_dir), run.buffer
    state = {
        "format": TRAIN_STATE_FORMAT, "env_id": env_id, "seed": seed, "config": json.dumps(to_dict(run.config)),
        "iteration": run.iteration, "env_steps": run.env_steps,
        "explorer": run.explorer.agent.state_dict(), "explorer_opt": run.explorer.optimizer.state_dict(),
        "explorer_resets": run.explorer.resets, "vae_opt": run.vae_opt.state_dict(), "policy_opt": run.policy_opt.state_dict(),
        "buffer_states": buffer.states[: buffer.size], "buffer_actions": buffer.actions[: buffer.size],
        "buffer_next": buffer.next, "generator": run.generator.get_state(), "torch_rng": torch.get_rng_state(),
        "numpy_rng": json.dumps(run.rng.bit_generator.state), "curve": json.dumps(curve.to_json()),
    }  # fmt: skip
    config = run_config(run.model, run.config, env_id=env_id, env_kwargs=env_kwargs, seed=seed)
    saved = save_checkpoint(
        directory, run.env_steps, snapshot(run.model.state_dict()), config, snapshot(state), keep_last=2**31
    )  # fmt: skip  (pruned below)
    _prune(directory, keep_every)
    for name in (WEIGHTS, OLD_STATE, OLD_CURVE):  # a run of the layout before checkpoints/, resumed: now superseded
        (directory / name).unlink(missing_ok=True)
    return saved


def _prune(directory: Path, keep_every: int) -> None:
    """Remove the checkpoint before the newest unless ``keep_every`` env steps lie between it and the last one kept."""
    checkpoints = list_checkpoints(directory)
    if len(checkpoints) < 2:
        return
    step = lambda checkpoint: int(checkpoint.name.split("-")[1])
    kept = step(checkpoints[-3]) if len(checkpoints) > 2 else 0
    if keep_every > 0 and step(checkpoints[-2]) - kept >= keep_every:  # kept: its model and curve, not all the rest
        state = read_torch_state(checkpoints[-2] / STATE, what="SeCTAR training state")
        slim = {k: state[k] for k in ("format", "env_id", "seed", "config", "iteration", "env_steps", "curve")}
        atomic_write(checkpoints[-2] / STATE, lambda f: torch.save(slim, f))
        return
    aside = checkpoints[-2].with_name(f".tmp-{checkpoints[-2].name}")  # never a half-removed step-* directory
    os.rename(checkpoints[-2], aside)
    shutil.rmtree(aside)


# Fields added since a state's config was written, with the values the code that wrote it had (so such a state
# resumes only under a config that trains as it did): the initialisation choices (SectarConfig.init and ExplorerConfig).
LEGACY_FIELDS = {"model": {"init": "ours", "policy_init_std": 1.0},
                 "explorer": {"act": "tanh", "init": "orthogonal", "init_std": 1.0, "action_scale": 1.0}}  # fmt: skip


def _with_legacy_fields(config: dict) -> dict:
    """A saved training config with :data:`LEGACY_FIELDS` filled in where it has none."""
    return {**config, **{part: {**fields, **config[part]} for part, fields in LEGACY_FIELDS.items() if part in config}}


def load_train_state(state_dir: str | os.PathLike, run: Any, *, env_id: str, seed: int) -> dict | None:
    """Restore ``run`` (built as at the start of training) from the newest checkpoint of ``state_dir``.

    Returns the saved curve's JSON, or None where ``state_dir`` holds no training state yet.

    Raises:
        CheckpointError: the state is unreadable, or was written for another task, seed or training config.
    """
    directory = Path(state_dir)
    checkpoint = latest_checkpoint(directory)
    file = directory / OLD_STATE if checkpoint is None else checkpoint / STATE
    if not file.is_file():
        return None
    state = read_torch_state(file, what="SeCTAR training state", fix="start a new run directory, or drop --resume")
    if not isinstance(state, dict):
        raise CheckpointError(f"{file} is damaged: expected a dict of training state, got {type(state).__name__}")
    expected = OLD_STATE_FORMAT if checkpoint is None else TRAIN_STATE_FORMAT
    if state.get("format") != expected:
        raise CheckpointError(
            f"{file} has format {state.get('format')}, expected {expected}: it was written by a zspace whose training "
            "differs (format 1: the explorer reward before the authors' reduction), so it cannot continue exactly; "
            "start a new run directory"
        )
    mine = {"env_id": env_id, "seed": seed, "config": json.loads(json.dumps(to_dict(run.config)))}
    saved = {"env_id": state["env_id"], "seed": state["seed"], "config": _with_legacy_fields(json.loads(state["config"]))}
    for key, value in mine.items():
        if saved[key] != value:
            raise CheckpointError(f"{file} was written for another {key} ({str(state[key])[:200]!r}); resume with the same "
                                  f"{key} or start a new run directory")  # fmt: skip
    if checkpoint is None:
        run.model.load_state_dict(state["model"])  # the layout before checkpoints/ kept the weights in the state
    else:
        load_weights(run.model, checkpoint)
    run.explorer.agent.load_state_dict(state["explorer"])
    run.explorer.optimizer.load_state_dict(state["explorer_opt"])
    run.explorer.resets = int(state["explorer_resets"])
    run.vae_opt.load_state_dict(state["vae_opt"])
    run.policy_opt.load_state_dict(state["policy_opt"])
    size = len(state["buffer_states"])
    run.buffer.states[:size], run.buffer.actions[:size] = state["buffer_states"], state["buffer_actions"]
    run.buffer.size, run.buffer.next = size, int(state["buffer_next"])
    run.generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    run.rng.bit_generator.state = json.loads(state["numpy_rng"])
    run.iteration, run.env_steps = int(state["iteration"]), int(state["env_steps"])
    return json.loads(state["curve"])
