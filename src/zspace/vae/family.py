"""The VAE family as the registry sees it (:mod:`zspace.families`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zspace.core.config import to_dict
from zspace.families import Family
from zspace.vae.presets import PRESETS
from zspace.vae.run import VAERunConfig, build_model, evaluate_run, load_model, sample_run, train


def describe_preset(config: VAERunConfig) -> tuple[str, str, str]:
    """(model, data, train) columns of ``zspace presets``."""
    m = to_dict(config.model)
    model = f"{m['architecture']} {m['input_shape']} hidden={m['hidden']} z={m['latent_dim']} {m['likelihood']}"
    t = config.train
    return model, config.data.source, f"{t.optimizer} lr={t.lr.value} batch={t.batch_size} epochs={t.epochs}"


def explore_run(run_dir: str | Path, **options: Any) -> Path:
    """:func:`zspace.vae.explore.explore_run` (the HTML report), imported when called: it loads matplotlib."""
    from zspace.vae.explore import explore_run as explore

    return explore(run_dir, **options)


FAMILY = Family(
    name="vae",
    summary="Train a VAE (AEVB) on images and checkpoint it every epoch.",
    run_config=VAERunConfig,
    presets=PRESETS,
    default_preset="digits",
    describe_preset=describe_preset,
    build=build_model,
    fit=train,
    load=load_model,
    evaluate=evaluate_run,
    sample=sample_run,
    explore=explore_run,
    commands="zspace.cli.vae",
    instead={},
    serve_view="zspace.serve.vae_view:VAEView.from_run",
    serve_routes="zspace.serve.vae_api",
)
