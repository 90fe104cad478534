"""MusicVAE end to end on a tiny prepared set: train, checkpoints, resume, reload, sample, interpolate."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from zspace.errors import CheckpointError, ConfigError, DataError
from zspace.music import Note, NoteSequence, canonical_melody_tokens, get_encoding, read_midi, write_midi
from zspace.music.config import MusicConverter
from zspace.music.corpus import PrepareConfig, load_prepared, prepare
from zspace.music.generate import encode, interpolate, read_tokens, sample, to_sequence, write_samples
from zspace.music.model import MusicVAE
from zspace.music.run import MusicRunConfig, batch_tokens, load_model, load_run_config, make_step_fn, train

pytest.importorskip("pretty_midi")
torch.set_num_threads(1)

PRESET = "cat-mel_2bar_tiny"
FAST = {"batch_size": 8, "checkpoint_every": 2, "log_every": 1, "tensorboard": False, "device": "cpu"}


def write_songs(root, n=8):
    """``n`` 4-bar melodies in 4/4, every bar distinct: 3 two-bar windows each."""
    for k in range(n):
        notes = [
            Note(48 + 3 * k + b + d, 16 * b + 4 * i, 16 * b + 4 * i + 3) for b in range(4) for i, d in enumerate((0, 2, 4, 7))
        ]
        write_midi(NoteSequence(notes=notes), root / f"song{k}.mid")
    return root


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("music")
    config = PrepareConfig(kind="melody", bars=2, workers=1, valid_fraction=0.25, test_fraction=0.0)
    return prepare(root / "mel2.npz", config, midi_dir=write_songs(root / "midi")).out


@pytest.fixture(scope="module")
def trained(data_path, tmp_path_factory):
    """A 4-step run with checkpoints at steps 2 and 4."""
    out = tmp_path_factory.mktemp("run") / "mel2"
    config = MusicRunConfig.from_preset(PRESET, data=data_path, max_steps=4, **FAST)
    model, result, data = train(config, out)
    return out, config, model, result, data


def test_config_json_round_trip_and_errors(data_path):
    config = MusicRunConfig.from_preset(PRESET, data=data_path, max_steps=3)
    assert MusicRunConfig.from_json(config.to_json()) == config
    assert config.to_json()["family"] == "music" and config.train.max_steps == 3
    with pytest.raises(ConfigError, match="not a .music. run"):
        MusicRunConfig.from_json({**config.to_json(), "family": "vae"})
    with pytest.raises(ConfigError, match="valid presets"):
        MusicRunConfig.from_preset("cat-mel_2bar_huge", data=data_path)
    with pytest.raises(ConfigError, match="input depth"):
        replace(config, model=replace(config.model, input_depth=10))


def test_step_feeds_the_model_the_encodings_inputs(data_path):
    """The step function's table lookup computes exactly encoding.to_inputs, targets as long."""
    config = MusicRunConfig.from_preset(PRESET, data=data_path)
    tokens = load_prepared(data_path).train[:4]
    seen = []

    class Spy(MusicVAE):
        def forward(self, inputs, targets, **kwargs):
            seen.append((inputs, targets))
            return super().forward(inputs, targets, **kwargs)

    loss, metrics = make_step_fn(config)(Spy(config.model).eval(), batch_tokens(tokens), 0)
    inputs, targets = seen[0]
    np.testing.assert_array_equal(inputs.numpy(), config.encoding.to_inputs(tokens.astype(np.int64)))
    assert targets.dtype == torch.long and torch.equal(targets, torch.from_numpy(tokens.astype(np.int64)))
    assert torch.isfinite(loss) and {"elbo", "accuracy"} <= set(metrics)


def test_mismatched_data_is_a_config_error(data_path, tmp_path):
    config = MusicRunConfig.from_preset("hierdec-mel_16bar_tiny", data=data_path, max_steps=1, **FAST)
    with pytest.raises(ConfigError, match=r"2-bar melody windows .* needs 16-bar melody"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_training_writes_checkpoints_and_resumes_exactly(trained, data_path, tmp_path):
    out, config, _, result, data = trained
    assert result.step == 4 and len(data.valid) > 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir() if p.is_dir()) == ["step-00000002", "step-00000004"]
    assert load_run_config(out) == replace(config, converter=data.converter)
    assert {"elbo", "accuracy", "kl_bits"} <= set(result.valid_metrics)

    # 2 steps, then resumed to 4: the same weights as the straight 4-step run.
    half = tmp_path / "half"
    train(replace(config, train=replace(config.train, max_steps=2)), half)
    _, resumed, _ = train(config, half, resume=True)
    assert resumed.step == 4
    straight, again = load_model(out, checkpoint="last").state_dict(), load_model(half, checkpoint="last").state_dict()
    assert all(torch.equal(straight[k], again[k]) for k in straight)

    with pytest.raises(CheckpointError, match="already holds"):
        train(config, half)
    with pytest.raises(CheckpointError, match="train.seed"):
        train(replace(config, train=replace(config.train, seed=1, max_steps=6)), half, resume=True)


def test_load_model_gives_identical_outputs(trained):
    out, config, model, _, data = trained
    loaded = load_model(out, checkpoint="last")
    model.eval()
    tokens = data.train[:5].astype(np.int64)
    inputs, targets = torch.from_numpy(config.encoding.to_inputs(tokens)), torch.from_numpy(tokens)
    with torch.no_grad():
        a, b = model.encode(inputs), loaded.encode(inputs)
        assert torch.equal(a.mean, b.mean) and torch.equal(a.stddev, b.stddev)
        for x, y in zip(model.decoder(a.mean, targets), loaded.decoder(a.mean, targets)):
            assert torch.equal(x, y)
    assert not loaded.training
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(out.parent / "missing")


def test_sample_is_seeded_and_writes_midi_that_reads_back(trained, tmp_path):
    out, config, *_ = trained
    model, encoding = load_model(out), config.encoding
    tokens = sample(model, encoding, 3, temperature=0.5, seed=7)
    assert tokens.shape == (3, 32, 1) and tokens.dtype == np.int64
    np.testing.assert_array_equal(tokens, sample(model, encoding, 3, temperature=0.5, seed=7))
    paths = write_samples(encoding, tokens, tmp_path / "samples")
    assert [p.name for p in paths] == ["sample_00.mid", "sample_01.mid", "sample_02.mid"]
    for path, window in zip(paths, tokens):
        seq = read_midi(path)
        assert seq.total_steps <= 32  # trailing silence is not stored
        np.testing.assert_array_equal(encoding.encode(seq, 0, 32)[:, 0], canonical_melody_tokens(window[:, 0]))
    with pytest.raises(ConfigError, match="drums"):
        sample(model, get_encoding("drums"), 1)


def test_interpolation_end_points_are_the_reconstructions(trained, tmp_path):
    out, config, _, _, data = trained
    model, encoding = load_model(out), config.encoding
    a, b = data.train[0].astype(np.int64), data.train[-1].astype(np.int64)
    path = interpolate(model, a, b, 5)
    assert path.shape == (5, 32, 1)
    recon = model.reconstruct(torch.from_numpy(encoding.to_inputs(np.stack([a, b]))), greedy=True).numpy()
    np.testing.assert_array_equal(path[0], recon[0])
    np.testing.assert_array_equal(path[-1], recon[1])
    assert torch.allclose(encode(model, a[None])[0], model.encode(torch.from_numpy(encoding.to_inputs(a[None]))).mean[0])
    assert encode(model, a[:0][None][:0]).shape == (0, model.config.z_size)  # no windows: no codes, no crash

    seq = to_sequence(encoding, path, qpm=100.0)
    assert seq.total_steps == 5 * 32 and seq.qpm == 100.0
    assert all(n.end_step - (n.start_step // 32) * 32 <= 32 for n in seq.notes)  # no note crosses a window


def test_read_tokens_and_its_errors(tmp_path):
    path = write_midi(NoteSequence(notes=(Note(60, 0, 4), Note(64, 4, 8)), qpm=90.0), tmp_path / "a.mid")
    converter = MusicConverter(kind="melody", bars=2)
    tokens, qpm = read_tokens(path, converter)
    assert tokens.shape == (32, 1) and tokens[0, 0] == 60 - 21 + 2 and abs(qpm - 90.0) < 1e-3
    drums = write_midi(NoteSequence(notes=(Note(36, 0, 1, is_drum=True),)), tmp_path / "d.mid")
    with pytest.raises(DataError, match="no melody notes"):
        read_tokens(drums, converter)
    (tmp_path / "bad.mid").write_bytes(b"not midi")
    with pytest.raises(DataError, match="not a MIDI file"):
        read_tokens(tmp_path / "bad.mid", converter)
