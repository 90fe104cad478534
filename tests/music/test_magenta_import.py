"""Magenta's checkpoints loaded into our modules compute what Magenta's own code computes.

``tools/magenta_parity.py`` ran Magenta 2.1.4 (TensorFlow) on five small random models, one per
architecture of the published presets, and saved their checkpoints and outputs under
``fixtures/magenta/``. Here the importer loads each checkpoint and our model must give the same
mu, sigma and teacher-forced logits (max abs diff <= 1e-5) and the same greedy tokens from mu and
along Magenta's slerp path. Negative controls: each mapping detail, undone, breaks the match.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.music.tf_writer import write_checkpoint
from typer.testing import CliRunner

from zspace.cli.main import app
from zspace.errors import CheckpointError
from zspace.music.config import MusicVAEConfig
from zspace.music.encoding import get_encoding
from zspace.music.magenta import expected_shapes, import_run, load_checkpoint, to_state_dict
from zspace.music.presets import PRESETS
from zspace.music.run import load_model, load_run_config
from zspace.music.tfcheckpoint import read_checkpoint

ROOT = Path(__file__).parent / "fixtures/magenta"
TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _load_tool(name: str):
    """``tools/<name>.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CASES = json.loads((ROOT / "cases.json").read_text())
TOLERANCE = 1e-5
# the comparison tools/magenta_compare.py prints, run here on the committed fixture
magenta_compare = _load_tool("magenta_compare")


def case_config(name: str) -> MusicVAEConfig:
    expected = np.load(ROOT / name / "expected.npz")
    return magenta_compare.case_config(CASES[name], input_depth=expected["inputs"].shape[-1])


outputs, max_diffs = magenta_compare.outputs, magenta_compare.max_diffs


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_match_magenta(name: str) -> None:
    expected = np.load(ROOT / name / "expected.npz")
    ours = outputs(load_checkpoint(ROOT / name / "model.ckpt", case_config(name)), expected)
    diffs = max_diffs(ours, expected)
    assert max(diffs.values()) <= TOLERANCE, diffs
    assert np.array_equal(ours["greedy"], expected["greedy"])
    assert np.array_equal(ours["slerp"], expected["slerp"])
    encoding = get_encoding(PRESETS[CASES[name]["preset"]].model.encoding)  # Magenta's inputs are our encoding's
    assert np.array_equal(encoding.to_inputs(expected["targets"].astype(np.int64)), expected["inputs"])


def _swap_gates(state: dict, key: str) -> None:
    """Our (i, f, g, o) read as Magenta's (i, j, f, o): f and g blocks exchanged."""
    i, f, g, o = state[key].chunk(4)
    state[key] = torch.cat([i, g, f, o])


def _wrong_gate_order(state: dict) -> None:
    for key in [k for k in state if ".weight_ih" in k or ".weight_hh" in k or ".bias_ih" in k]:
        _swap_gates(state, key)


def _no_forget_bias(state: dict) -> None:
    for key in [k for k in state if ".bias_ih" in k]:
        h = state[key].shape[0] // 4
        state[key] = state[key].clone()
        state[key][h : 2 * h] -= 1.0


def _unpermuted_state(state: dict, config: MusicVAEConfig) -> None:
    for key in [k for k in state if "initial_state.dense" in k]:
        parts = state[key].split([s for s in config.decoder_sizes for _ in "hc"])
        state[key] = torch.cat([p for pair in zip(parts[1::2], parts[0::2]) for p in pair])  # [h, c] -> [c, h]


@pytest.mark.parametrize("name", ["cat-mel_2bar", "hierdec-trio_16bar"])
@pytest.mark.parametrize("control", ["wrong gate order", "no forget bias", "unpermuted state"])
def test_negative_controls_break_the_match(name: str, control: str) -> None:
    """Each mapping detail matters: undoing it moves the logits far past the tolerance."""
    config, expected = case_config(name), np.load(ROOT / name / "expected.npz")
    state = to_state_dict(read_checkpoint(ROOT / name / "model.ckpt"), config)
    {"wrong gate order": _wrong_gate_order, "no forget bias": _no_forget_bias}.get(
        control, lambda s: _unpermuted_state(s, config)
    )(state)
    from zspace.music.model import MusicVAE

    model = MusicVAE(config)
    model.load_state_dict(state)
    diffs = max_diffs(outputs(model.eval(), expected), expected)
    assert diffs["logits"] > 1e-2, diffs


def random_checkpoint(tmp_path: Path, config: MusicVAEConfig, **changes: tuple[int, ...]) -> Path:
    rng = np.random.default_rng(0)
    shapes = expected_shapes(config) | changes
    tensors = {name: rng.normal(0, 0.1, size=shape).astype(np.float32) for name, shape in shapes.items()}
    tensors["global_step"] = np.array(1000, dtype=np.int64)
    return write_checkpoint(tmp_path / "ckpt" / "model.ckpt", tensors)


def test_shape_mismatch_names_the_variable_and_both_shapes(tmp_path: Path) -> None:
    config = PRESETS["cat-mel_2bar_tiny"].model
    prefix = random_checkpoint(tmp_path, config, **{"encoder/mu/kernel": (128, 16)})
    with pytest.raises(CheckpointError, match=r"'encoder/mu/kernel' has shape \(128, 16\), preset x expects \(128, 32\)"):
        load_checkpoint(prefix, config, preset="x")


def test_wrong_preset_names_the_matching_one(tmp_path: Path) -> None:
    prefix = random_checkpoint(tmp_path, PRESETS["cat-drums_2bar_tiny"].model)
    with pytest.raises(
        CheckpointError,
        match="holds z 32, encoder \\(64,\\), decoder \\(64, 64\\); presets whose shapes it matches: cat-drums_2bar_tiny",
    ):
        load_checkpoint(prefix, PRESETS["cat-mel_2bar_tiny"].model, preset="cat-mel_2bar_tiny")


def test_unknown_and_missing_variables(tmp_path: Path) -> None:
    config = PRESETS["cat-mel_2bar_tiny"].model
    tensors = read_checkpoint(random_checkpoint(tmp_path, config))
    extra = dict(tensors, **{"decoder/extra/kernel": np.zeros((2, 2), np.float32)})
    with pytest.raises(CheckpointError, match="unknown variable 'decoder/extra/kernel'"):
        to_state_dict(extra, config)
    del tensors["encoder/sigma/bias"]
    with pytest.raises(CheckpointError, match="missing variable 'encoder/sigma/bias'"):
        to_state_dict(tensors, config)


def test_cudnn_opaque_parameters_are_refused_with_the_layout_named(tmp_path: Path) -> None:
    config = PRESETS["cat-mel_2bar_tiny"].model
    tensors = read_checkpoint(random_checkpoint(tmp_path, config))
    tensors["encoder/cell_0/bidirectional_rnn/fw/cudnn_lstm/opaque_kernel"] = np.zeros(10, np.float32)
    with pytest.raises(CheckpointError, match="cuDNN LSTM variable .* LSTMBlockCell layout"):
        to_state_dict(tensors, config)


def test_import_magenta_writes_a_run_the_other_commands_read(tmp_path: Path) -> None:
    prefix = random_checkpoint(tmp_path, PRESETS["cat-mel_2bar_tiny"].model)
    runner = CliRunner()
    run = tmp_path / "run"
    result = runner.invoke(app, ["music", "import-magenta", str(prefix), "--config", "cat-mel_2bar_tiny", "--out", str(run)])
    assert result.exit_code == 0, result.output
    config = load_run_config(run)
    assert config.preset == "cat-mel_2bar_tiny" and config.converter is not None and config.converter.kind == "melody"
    model = load_model(run)
    assert model.sample(2, greedy=True).shape == (2, 32, 1)
    result = runner.invoke(app, ["music", "sample", str(run), "-n", "2", "--no-png", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "s").glob("*.mid"))) == 2
    from zspace.serve.music_view import MusicView  # the browser explorer reads it as a trained run

    assert MusicView.from_run(run).info()["z_size"] == 32
    again = runner.invoke(
        app, ["music", "import-magenta", str(prefix), "--config", "cat-drums_2bar_tiny", "--out", str(tmp_path / "d")]
    )
    assert again.exit_code == 2 and "preset cat-drums_2bar_tiny expects" in again.output


def test_import_run_refuses_an_existing_run_without_overwrite(tmp_path: Path) -> None:
    prefix = random_checkpoint(tmp_path, PRESETS["cat-mel_2bar_tiny"].model)
    import_run(prefix, "cat-mel_2bar_tiny", tmp_path / "run")
    with pytest.raises(Exception, match="overwrite"):
        import_run(prefix, "cat-mel_2bar_tiny", tmp_path / "run")
    old_checkpoint = tmp_path / "run" / "checkpoints" / "step-00000500"  # as if the old run had trained on
    shutil.copytree(tmp_path / "run" / "checkpoints" / "step-00000000", old_checkpoint)
    saved = import_run(prefix, "cat-mel_2bar_tiny", tmp_path / "run", overwrite=True)
    assert saved == tmp_path / "run" / "checkpoints" / "step-00000000" and saved.is_dir()
    assert not old_checkpoint.exists()  # the old run was replaced whole, not written into
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "run"]  # nothing left beside it
