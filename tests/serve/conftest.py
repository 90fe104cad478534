"""Tiny trained runs of each family, made once per test session, and an API client over them."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install -e '.[serve]'")

from fastapi.testclient import TestClient

from zspace.core.config import override
from zspace.serve import create_app
from zspace.serve.server import load_runs
from zspace.vae import PRESETS
from zspace.vae import train as train_vae

TINY_VAE = {"train.epochs": 1, "data.limit": 200, "train.batch_size": 50, "train.tensorboard": False, "model.hidden": (32,)}


def make_vae_run(directory, latent_dim: int = 2):
    """A digits VAE trained for one epoch on 180 images (a second or two)."""
    config = override(PRESETS["digits-2d"], {**TINY_VAE, "model.latent_dim": latent_dim})
    train_vae(config, directory)
    return directory


@pytest.fixture(scope="session")
def vae_run(tmp_path_factory):
    return make_vae_run(tmp_path_factory.mktemp("vae2d"))


@pytest.fixture(scope="session")
def vae3_run(tmp_path_factory):
    return make_vae_run(tmp_path_factory.mktemp("vae3d"), latent_dim=3)


def write_songs(root, n=6):
    """``n`` 4-bar MIDI melodies whose density, range and rhythm vary from bar to bar."""
    from zspace.music import Note, NoteSequence, write_midi

    root.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        notes = []
        for bar in range(4):
            count = 1 + (k + bar) % 4
            step = 16 // count
            notes += [
                Note(50 + 2 * k + bar + (k % 3 + 1) * i, 16 * bar + step * i, 16 * bar + step * (i + 1)) for i in range(count)
            ]
        write_midi(NoteSequence(notes=notes), root / f"song{k}.mid")
    return root


def make_music_run(directory):
    """cat-mel_2bar_tiny after 2 steps, with attribute vectors in RUN/attributes."""
    from zspace.music.attributes import fit_attribute_vectors, save_attribute_vectors
    from zspace.music.corpus import PrepareConfig, load_prepared, prepare
    from zspace.music.run import MusicRunConfig, load_model, train

    config = PrepareConfig(kind="melody", bars=2, workers=1, valid_fraction=0.0, test_fraction=0.0)
    data = prepare(directory / "mel2.npz", config, midi_dir=write_songs(directory / "midi")).out
    run = directory / "run"
    train(MusicRunConfig.from_preset("cat-mel_2bar_tiny", data=data, max_steps=2, batch_size=4, device="cpu"), run)
    vectors = fit_attribute_vectors(load_model(run), load_prepared(data).train, ["note_density", "pitch_range"])
    save_attribute_vectors(vectors, run / "attributes")
    return run


@pytest.fixture(scope="session")
def music_run(tmp_path_factory):
    pytest.importorskip("pretty_midi")
    return make_music_run(tmp_path_factory.mktemp("music"))


def make_sectar_run(directory):
    """A SeCTAR of a few units trained for 1,200 environment steps on Waypoints (layout 0), saved as the CLI saves it."""
    from dataclasses import replace

    from tests.rl.test_sectar_train import TINY

    from zspace.rl.sectar.run import train_run

    config = replace(TINY, plan_episodes=1)
    train_run(directory, "zspace/Waypoints-v0", total_env_steps=1200, seed=0, config=config, env_kwargs={"layout_seed": 0})
    return directory


def make_ssvm_run(directory, problem: str, *settings: str):
    """`zspace train structured --problem PROBLEM --out DIRECTORY`, small."""
    from typer.testing import CliRunner

    from zspace.cli.main import app

    result = CliRunner().invoke(app, ["train", "structured", "--problem", problem, "--out", str(directory), *settings])
    assert result.exit_code == 0, result.output
    return directory


@pytest.fixture(scope="session")
def sectar_run(tmp_path_factory):
    pytest.importorskip("gymnasium")
    return make_sectar_run(tmp_path_factory.mktemp("sectar"))


@pytest.fixture(scope="session")
def ssvm_runs(tmp_path_factory):
    """(digits with a latent shift, sequence labelling) latent SSVMs."""
    root = tmp_path_factory.mktemp("ssvm")
    return (
        make_ssvm_run(root / "digits", "digits-shift", "--set", "params.max_rounds=2"),
        make_ssvm_run(root / "sequences", "sequences", "--data-set", "n_samples=80"),
    )


@pytest.fixture(scope="session")
def client(vae_run, vae3_run, music_run, sectar_run, ssvm_runs):
    """Runs 0 (2-D VAE), 1 (3-D VAE), 2 (MusicVAE), 3 (SeCTAR), 4 (SSVM on digits-shift), 5 (SSVM on sequences)."""
    app = create_app(load_runs([vae_run, vae3_run, music_run, sectar_run, *ssvm_runs]))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:  # a loopback Host: others are refused
        yield c
