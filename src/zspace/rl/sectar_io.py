"""SeCTAR run files: the model's weights and config, and the training config beside them.

``save_sectar`` / ``load_sectar`` are the names the CLI's run directories call; they write and read
``model.safetensors`` and ``config.json`` (``{"model": ..., "train": ...}``) atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

from safetensors.torch import save_file

from zspace.core.config import from_dict, to_dict
from zspace.errors import CheckpointError, ConfigError
from zspace.rl.sectar import SeCTAR, SectarConfig
from zspace.rl.sectar_config import SectarTrainConfig
from zspace.train.checkpoint import CONFIG, WEIGHTS, load_weights, read_config, write_json_atomic

__all__ = ["load_sectar", "save_sectar"]


def save_sectar(run_dir: str | os.PathLike, model: SeCTAR, config: SectarTrainConfig | None = None) -> Path:
    """Write ``run_dir/model.safetensors`` and ``run_dir/config.json`` (``{"model": ..., "train": ...}``)."""
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    tmp = run / f".{WEIGHTS}.tmp"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, run / WEIGHTS)
    write_json_atomic(run / CONFIG, {"model": to_dict(model.config), "train": None if config is None else to_dict(config)})
    return run


def load_sectar(run_dir: str | os.PathLike) -> SeCTAR:
    """Rebuild the model from ``run_dir/config.json`` and load ``run_dir/model.safetensors`` into it.

    Raises:
        CheckpointError: a file is missing, the config is invalid, or the weights do not match it.
    """
    data = read_config(run_dir)
    file = Path(run_dir) / CONFIG
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointError(f"{file} has no 'model' section: it was not written by save_sectar")
    try:
        config = from_dict(SectarConfig, data["model"], where=f"{file}: model")
        model = SeCTAR(config)
    except ConfigError as err:
        raise CheckpointError(f"{file} does not describe a SeCTAR model: {err}") from err
    return load_weights(model, run_dir).eval()
