"""SeCTAR run files: the model's weights and config, the training config beside them, and the
training state that resumes a run exactly.

``save_sectar`` / ``load_sectar`` are the names the CLI's run directories call; they write and read
``model.safetensors`` and ``config.json`` (``{"model": ..., "train": ...}``) atomically.
``save_train_state`` / ``load_train_state`` write and read ``train_state.pt`` (tensors, numbers and
JSON strings only, loaded with ``weights_only=True``) at an iteration boundary.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from zspace.core.config import from_dict, to_dict
from zspace.core.files import read_torch_state
from zspace.errors import CheckpointError, ConfigError
from zspace.rl.sectar.config import SectarTrainConfig
from zspace.rl.sectar.model import SeCTAR, SectarConfig
from zspace.train.checkpoint import CONFIG, WEIGHTS, load_weights, read_config, write_json_atomic

__all__ = ["TRAIN_STATE", "load_sectar", "load_train_state", "save_sectar", "save_train_state"]


def save_sectar(run_dir: str | os.PathLike, model: SeCTAR, config: SectarTrainConfig | None = None) -> Path:
    """Write ``run_dir/model.safetensors`` and ``run_dir/config.json`` (``{"model": ..., "train": ...}``)."""
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    tmp = run / f".{WEIGHTS}.tmp"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, run / WEIGHTS)
    write_json_atomic(run / CONFIG, {"model": to_dict(model.config), "train": None if config is None else to_dict(config)})
    return run


# Before the state decoder's head became an MLP (SectarConfig.decoder_hidden), it was one nn.Linear: its weights
# were named decoder_head.weight / .bias, and config.json had no decoder_hidden.
LEGACY_HEAD = {"decoder_head.weight": "decoder_head.0.weight", "decoder_head.bias": "decoder_head.0.bias"}


def load_sectar(run_dir: str | os.PathLike) -> SeCTAR:
    """Rebuild the model from ``run_dir/config.json`` and load ``run_dir/model.safetensors`` into it.

    A model saved before the decoder head became an MLP (no ``decoder_hidden`` in its config, a
    linear ``decoder_head``) loads as what it was: ``decoder_hidden=()``, the same function.

    Raises:
        CheckpointError: a file is missing, the config is invalid, or the weights do not match it
            (the message names the file and what to do).
    """
    data = read_config(run_dir)
    file = Path(run_dir) / CONFIG
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointError(f"{file} has no 'model' section: it was not written by save_sectar")
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
        return load_weights(model, run_dir).eval()
    weights = Path(run_dir) / WEIGHTS
    try:
        state = {LEGACY_HEAD.get(k, k): v for k, v in load_file(str(weights)).items()}
        model.load_state_dict(state, strict=True)
    except Exception as err:  # missing or damaged file, or other names / shapes than a linear-head model's
        raise CheckpointError(
            f"{weights} predates SectarConfig.decoder_hidden (its config.json has no model.decoder_hidden) and does not "
            f"load as a linear-head SeCTAR model either ({str(err).splitlines()[0][:200]}); retrain it with "
            f"`zspace rl train sectar` (the current code cannot rebuild this model)"
        ) from err
    return model.eval()


# --- the training state, for an exact resume at an iteration boundary ------------------------------
TRAIN_STATE = "train_state.pt"
# 2: the paper explorer reward became the authors' (NLL per step + KL at one z ~ q); a format-1 state
# would continue under another reward and random stream, so it is refused instead of resumed
TRAIN_STATE_FORMAT = 2


def save_train_state(state_dir: str | os.PathLike, run, curve, *, env_id: str, seed: int) -> Path:
    """Write everything ``train_sectar`` needs to continue exactly after ``run.iteration`` to ``state_dir/train_state.pt``.

    ``run`` is the loop's state (model, explorer, optimisers, buffer, generators, counters); the
    file is written to a temp name and renamed, so a kill leaves the previous one intact. The
    environments need no state at an iteration boundary: the planning envs are reseeded every
    iteration and the explorer's and consistency rollouts restart from buffer states (their
    layout draws feed nothing the training reads).
    """
    directory = Path(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    buffer = run.buffer
    state = {
        "format": TRAIN_STATE_FORMAT, "env_id": env_id, "seed": seed, "config": json.dumps(to_dict(run.config)),
        "iteration": run.iteration, "env_steps": run.env_steps, "model": run.model.state_dict(),
        "explorer": run.explorer.agent.state_dict(), "explorer_opt": run.explorer.optimizer.state_dict(),
        "explorer_resets": run.explorer.resets, "vae_opt": run.vae_opt.state_dict(), "policy_opt": run.policy_opt.state_dict(),
        "buffer_states": buffer.states[: buffer.size].clone(), "buffer_actions": buffer.actions[: buffer.size].clone(),
        "buffer_next": buffer.next, "generator": run.generator.get_state(), "torch_rng": torch.get_rng_state(),
        "numpy_rng": json.dumps(run.rng.bit_generator.state), "curve": json.dumps(curve.to_json()),
    }  # fmt: skip
    tmp = directory / f".{TRAIN_STATE}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, directory / TRAIN_STATE)
    return directory / TRAIN_STATE


# Fields added since a state's config was written, with the values the code that wrote it had (so such a state
# resumes only under a config that trains as it did): the initialisation choices (SectarConfig.init and ExplorerConfig).
LEGACY_FIELDS = {"model": {"init": "ours", "policy_init_std": 1.0},
                 "explorer": {"act": "tanh", "init": "orthogonal", "init_std": 1.0, "action_scale": 1.0}}  # fmt: skip


def _with_legacy_fields(config: dict) -> dict:
    """A saved training config with :data:`LEGACY_FIELDS` filled in where it has none."""
    return {**config, **{part: {**fields, **config[part]} for part, fields in LEGACY_FIELDS.items() if part in config}}


def load_train_state(state_dir: str | os.PathLike, run, *, env_id: str, seed: int) -> dict:
    """Restore ``run`` (built as at the start of training) from ``state_dir/train_state.pt``; returns the saved curve's JSON.

    Raises:
        CheckpointError: the file is unreadable, or was written for another task, seed or training config.
    """
    file = Path(state_dir) / TRAIN_STATE
    state = read_torch_state(file, what="SeCTAR training state", fix="start a new run directory, or drop --resume")
    if not isinstance(state, dict):
        raise CheckpointError(f"{file} is damaged: expected a dict of training state, got {type(state).__name__}")
    if state.get("format") != TRAIN_STATE_FORMAT:
        raise CheckpointError(
            f"{file} has format {state.get('format')}, expected {TRAIN_STATE_FORMAT}: it was written by a zspace whose "
            "training differs (format 1: the explorer reward before the authors' reduction), so it cannot continue "
            "exactly; start a new run directory"
        )
    mine = {"env_id": env_id, "seed": seed, "config": json.loads(json.dumps(to_dict(run.config)))}
    saved = {"env_id": state["env_id"], "seed": state["seed"], "config": _with_legacy_fields(json.loads(state["config"]))}
    for key, value in mine.items():
        if saved[key] != value:
            raise CheckpointError(f"{file} was written for another {key} ({str(state[key])[:200]!r}); resume with the same "
                                  f"{key} or start a new run directory")  # fmt: skip
    run.model.load_state_dict(state["model"])
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
