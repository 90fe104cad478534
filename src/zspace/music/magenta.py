"""Magenta's MusicVAE checkpoints as zspace models: variable names, layouts and sizes.

Magenta (``lstm_models.py``, ``base_model.py``) builds every LSTM from TF's ``LSTMBlockCell``
and every dense layer from ``tf.layers.dense``. What differs from our ``nn.LSTM`` / ``nn.Linear``
modules, each detail checked against Magenta's own outputs (``tests/music/test_magenta_import.py``):

- an LSTM's ``kernel`` is ``[input + hidden, 4H]``, gates in the order i, j (= g), f, o; nn.LSTM
  wants ``weight_ih (4H, input)`` and ``weight_hh (4H, hidden)`` in the order i, f, g, o;
- LSTMBlockCell adds ``forget_bias = 1.0`` to the forget gate at run time (it is not stored):
  it goes into ``bias_ih``, and ``bias_hh`` is zero;
- a dense kernel is ``[in, out]``, nn.Linear's weight ``(out, in)``;
- a state computed from an embedding (``z_to_initial_state``, the conductor's ``initial_state``)
  is split per layer as [c, h] (``LSTMStateTuple`` order); ours is [h, c].

A model trained with cuDNN LSTMs by Magenta < 2 was saved through its ``CudnnLSTMSaveable``,
which writes these same ``lstm_cell`` names and layout; a raw ``CudnnLSTM`` parameter buffer
(``opaque_kernel``) has no documented layout and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from zspace.errors import CheckpointError
from zspace.music.config import MusicVAEConfig
from zspace.music.presets import PRESETS
from zspace.music.tfcheckpoint import read_checkpoint

FORGET_BIAS = 1.0  # LSTMBlockCell's default, which Magenta never changes
MAGENTA_TO_TORCH_GATES = (0, 2, 1, 3)  # ours (i, f, g, o) from Magenta's blocks (i, j, f, o)


def _encoder_cell(layer: int, direction: str) -> str:
    return f"encoder/cell_{layer}/bidirectional_rnn/{direction}/multi_rnn_cell/cell_0/lstm_cell"


def _core_prefix(config: MusicVAEConfig, core: int) -> str:
    """Scope of decoder core ``core``: flat ``decoder``; hierarchical under ``core_decoder``, one
    ``core_decoder_k`` per track when the tracks are split (trio)."""
    if config.decoder == "flat":
        return "decoder"
    return f"core_decoder/core_decoder_{core}/decoder" if config.n_tracks > 1 else "core_decoder/decoder"


def variable_names(config: MusicVAEConfig) -> dict[str, tuple[str, str]]:
    """Every Magenta variable prefix of a model -> (kind, our module path).

    kind: ``lstm`` (kernel + bias of one LSTMBlockCell), ``dense``, or ``state`` (a dense layer
    whose output is an LSTM stack's initial [c, h] per layer).
    """
    names: dict[str, tuple[str, str]] = {}
    for layer in range(len(config.encoder_sizes)):
        names[_encoder_cell(layer, "fw")] = ("lstm", f"encoder.rnn.layers.{layer}:")
        names[_encoder_cell(layer, "bw")] = ("lstm", f"encoder.rnn.layers.{layer}:_reverse")
    names["encoder/mu"] = ("dense", "encoder.mu")
    names["encoder/sigma"] = ("dense", "encoder.sigma")
    n_cores = config.n_tracks if config.decoder == "hierarchical" else 1
    if config.decoder == "hierarchical":
        names["decoder/hierarchical_level_0/initial_state"] = ("state", "decoder.conductor.initial_state.dense")
        for layer in range(len(config.decoder_sizes)):
            names[f"decoder/hierarchical_level_0/cell_{layer}/lstm_cell"] = ("lstm", f"decoder.conductor.lstm.layers.{layer}:")
    for core in range(n_cores):
        scope, ours = _core_prefix(config, core), f"decoder.cores.{core}"
        names[f"{scope}/z_to_initial_state"] = ("state", f"{ours}.initial_state.dense")
        for layer in range(len(config.decoder_sizes)):
            names[f"{scope}/multi_rnn_cell/cell_{layer}/lstm_cell"] = ("lstm", f"{ours}.lstm.layers.{layer}:")
        names[f"{scope}/output_projection"] = ("dense", f"{ours}.output")
    return names


def expected_shapes(config: MusicVAEConfig) -> dict[str, tuple[int, ...]]:
    """Magenta variable name -> shape, for a model of this config (what its checkpoint holds)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def lstm(prefix: str, inputs: int, hidden: int) -> None:
        shapes[f"{prefix}/kernel"], shapes[f"{prefix}/bias"] = (inputs + hidden, 4 * hidden), (4 * hidden,)

    def dense(prefix: str, inputs: int, outputs: int) -> None:
        shapes[f"{prefix}/kernel"], shapes[f"{prefix}/bias"] = (inputs, outputs), (outputs,)

    def stack(prefix: str, inputs: int) -> None:  # MultiRNNCell: layer l reads layer l - 1's h
        for layer, hidden in enumerate(config.decoder_sizes):
            lstm(prefix.format(layer=layer), inputs, hidden)
            inputs = hidden

    c, enc, dec = config, config.encoder_sizes, config.decoder_sizes
    for layer, hidden in enumerate(enc):
        for direction in ("fw", "bw"):
            lstm(_encoder_cell(layer, direction), c.input_depth if layer == 0 else 2 * enc[layer - 1], hidden)
    dense("encoder/mu", 2 * enc[-1], c.z_size)
    dense("encoder/sigma", 2 * enc[-1], c.z_size)
    embedding = c.z_size
    groups = [(k,) for k in range(c.n_tracks)] if c.decoder == "hierarchical" else [tuple(range(c.n_tracks))]
    if c.decoder == "hierarchical":
        dense("decoder/hierarchical_level_0/initial_state", c.z_size, 2 * sum(dec))
        stack("decoder/hierarchical_level_0/cell_{layer}/lstm_cell", 1)  # a width-1 zero input
        embedding = dec[-1]
    for core, tracks in enumerate(groups):
        scope, depth = _core_prefix(c, core), sum(c.output_depths[k] for k in tracks)
        dense(f"{scope}/z_to_initial_state", embedding, 2 * sum(dec))
        stack(f"{scope}/multi_rnn_cell/cell_{{layer}}/lstm_cell", depth + embedding)
        dense(f"{scope}/output_projection", dec[-1], depth)
    return shapes


def _lstm(kernel: np.ndarray, bias: np.ndarray, forget_bias: float) -> dict[str, np.ndarray]:
    """LSTMBlockCell kernel [I + H, 4H] and bias [4H] -> nn.LSTM weight_ih, weight_hh, bias_ih, bias_hh."""
    hidden = bias.shape[0] // 4
    inputs = kernel.shape[0] - hidden
    gates = kernel.T.reshape(4, hidden, inputs + hidden)[list(MAGENTA_TO_TORCH_GATES)].reshape(4 * hidden, -1)
    b = bias.reshape(4, hidden)[list(MAGENTA_TO_TORCH_GATES)].copy()
    b[1] += forget_bias  # ours: (i, f, g, o), so the forget gate is block 1
    return {
        "weight_ih": gates[:, :inputs],
        "weight_hh": gates[:, inputs:],
        "bias_ih": b.reshape(-1),
        "bias_hh": np.zeros_like(bias),
    }


def _state_rows(sizes: tuple[int, ...]) -> np.ndarray:
    """Row order that turns Magenta's [c_0, h_0, c_1, h_1, ...] into our [h_0, c_0, h_1, c_1, ...]."""
    order, start = [], 0
    for size in sizes:
        c, h = np.arange(start, start + size), np.arange(start + size, start + 2 * size)
        order += [h, c]
        start += 2 * size
    return np.concatenate(order)


def to_state_dict(
    tensors: Mapping[str, np.ndarray], config: MusicVAEConfig, *, where: str = "checkpoint", preset: str | None = None
) -> dict[str, torch.Tensor]:
    """Magenta's variables (name -> array) as a MusicVAE state dict for ``config``.

    Every variable of the model must be present with the shape ``config`` implies, and nothing
    else (optimizer slots are dropped by the reader); otherwise a CheckpointError names it.
    """
    _refuse_cudnn(tensors, where)
    check_shapes(tensors, config, where=where, preset=preset)
    state: dict[str, torch.Tensor] = {}
    for prefix, (kind, ours) in variable_names(config).items():
        kernel, bias = tensors[f"{prefix}/kernel"].astype(np.float32), tensors[f"{prefix}/bias"].astype(np.float32)
        if kind == "lstm":
            module, suffix = ours.split(":")
            for name, value in _lstm(kernel, bias, FORGET_BIAS).items():
                state[f"{module}.{name}_l0{suffix}"] = torch.from_numpy(np.ascontiguousarray(value))
            continue
        weight = kernel.T
        if kind == "state":  # the conductor and every core use the decoder's layer sizes
            rows = _state_rows(config.decoder_sizes)
            weight, bias = weight[rows], bias[rows]
        state[f"{ours}.weight"] = torch.from_numpy(np.ascontiguousarray(weight))
        state[f"{ours}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    for k, depth in enumerate(config.output_depths):
        state[f"decoder.input_table_{k}"] = torch.eye(depth)
    return state


def _refuse_cudnn(tensors: Mapping[str, np.ndarray], where: str) -> None:
    opaque = sorted(n for n in tensors if n.endswith("opaque_kernel") or "cudnn" in n.lower())
    if opaque:
        raise CheckpointError(
            f"{where}: {opaque[0]!r} is a cuDNN LSTM variable (CudnnLSTM's opaque parameter buffer or TF's cudnn_compatible "
            "cell), not Magenta's LSTMBlockCell layout (lstm_cell/kernel [input + hidden, 4H], gates i, j, f, o); re-save it with "
            "Magenta's CudnnLSTMSaveable, which writes lstm_cell names"
        )


def check_shapes(
    tensors: Mapping[str, np.ndarray], config: MusicVAEConfig, *, where: str = "checkpoint", preset: str | None = None
) -> None:
    """Every expected variable present with its shape, and no other: else one CheckpointError naming it."""
    expected = expected_shapes(config)
    what = f"preset {preset}" if preset else "the config"
    missing = sorted(set(expected) - set(tensors))
    unknown = sorted(set(tensors) - set(expected))
    if missing or unknown:
        hint = _matching_presets(tensors)
        parts = [_first(f"{what} variable", names) for what, names in (("missing", missing), ("unknown", unknown)) if names]
        raise CheckpointError(f"{where} does not hold a MusicVAE of {what}: {'; '.join(parts)}{hint}")
    for name, shape in expected.items():
        found = tuple(tensors[name].shape)
        if found != shape:
            raise CheckpointError(
                f"{where}: variable {name!r} has shape {found}, {what} expects {shape}{_matching_presets(tensors)}"
            )


def _first(what: str, names: list[str]) -> str:
    return f"{what} {names[0]!r}" + (f" (and {len(names) - 1} more)" if len(names) > 1 else "")


def inferred_sizes(tensors: Mapping[str, np.ndarray]) -> str:
    """The sizes a checkpoint's shapes show, e.g. ``z 512, encoder (2048,), decoder (2048, 2048, 2048)``."""

    def units(pattern: str) -> tuple[int, ...]:
        found = []
        while f"{pattern.format(len(found))}/bias" in tensors:
            found.append(tensors[f"{pattern.format(len(found))}/bias"].shape[0] // 4)
        return tuple(found)

    z = tensors["encoder/mu/kernel"].shape[-1] if "encoder/mu/kernel" in tensors else "?"
    decoder = next((d for d in (units(p) for p in _DECODER_CELLS) if d), ())
    return f"z {z}, encoder {units('encoder/cell_{}/bidirectional_rnn/fw/multi_rnn_cell/cell_0/lstm_cell')}, decoder {decoder}"


_DECODER_CELLS = (
    "decoder/multi_rnn_cell/cell_{}/lstm_cell",
    "decoder/hierarchical_level_0/cell_{}/lstm_cell",
)


def _matching_presets(tensors: Mapping[str, np.ndarray]) -> str:
    found = {n: tuple(v.shape) for n, v in tensors.items()}
    matches = [name for name, preset in PRESETS.items() if expected_shapes(preset.model) == found]
    hint = f"; it holds {inferred_sizes(tensors)}"
    return hint + (f"; presets whose shapes it matches: {', '.join(matches)}" if matches else "")


def magenta_model_config(config: MusicVAEConfig) -> MusicVAEConfig:
    """The config a Magenta checkpoint of this preset loads into: one-hot fed-back tokens, float32 LSTMs."""
    return replace(config, decoder_token_depths=None, lstm_matmuls="float32")


def load_checkpoint(path: str | Path, config: MusicVAEConfig, *, preset: str | None = None):  # -> MusicVAE
    """Read a Magenta checkpoint (prefix, folder or .tar) into a MusicVAE of ``config``, in eval mode."""
    from zspace.music.model import MusicVAE

    state = to_state_dict(read_checkpoint(path), config, where=str(path), preset=preset)
    model = MusicVAE(config)
    model.load_state_dict(state)
    return model.eval()


def import_run(checkpoint: str | Path, preset: str, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write Magenta's checkpoint of ``preset`` as an ordinary zspace run in ``out``.

    The run holds config.json (family ``music``, the preset's model, objective, training recipe
    and data converter) and one checkpoint, ``step-00000000``, so every command that reads a
    trained run (sample, encode, decode, interpolate, attributes, serve) reads it. Returns the
    checkpoint's directory.
    """
    from zspace.music.presets import converter_of_preset
    from zspace.music.run import FAMILY, MusicRunConfig
    from zspace.train import checkpoint as ckpt
    from zspace.train import runs

    found = PRESETS[preset]  # an unknown name lists the presets
    config = MusicRunConfig(
        preset=preset,
        model=magenta_model_config(found.model),
        objective=found.objective,
        train=found.train,
        converter=converter_of_preset(preset),
    )
    # With ``overwrite`` the run is written beside the old one (``run_dir``) and swapped in when the block ends.
    with runs.guard_run_dir(out, overwrite=overwrite, family=FAMILY) as run_dir:
        state = to_state_dict(read_checkpoint(checkpoint), config.model, where=str(checkpoint), preset=preset)
        run_config = config.to_json()
        ckpt.write_json_atomic(run_dir / ckpt.CONFIG, run_config)
        saved = ckpt.save_checkpoint(run_dir, 0, state, run_config, {"step": 0}, keep_last=1, is_best=True)
    return Path(out) / saved.relative_to(run_dir)


__all__ = [
    "FORGET_BIAS",
    "check_shapes",
    "expected_shapes",
    "import_run",
    "load_checkpoint",
    "magenta_model_config",
    "to_state_dict",
    "variable_names",
]
