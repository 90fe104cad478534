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


@pytest.fixture(scope="session")
def client(vae_run, vae3_run):
    """Runs 0 (2-D VAE) and 1 (3-D VAE)."""
    with TestClient(create_app(load_runs([vae_run, vae3_run]))) as c:
        yield c
