"""The SeCTAR family as the registry sees it (:mod:`zspace.families`)."""

from __future__ import annotations

from zspace.families import Family
from zspace.rl.sectar.config import PRESETS, SectarTrainConfig
from zspace.rl.sectar.run import evaluate_run, load_run, render_run, train_run


def describe_preset(config: SectarTrainConfig) -> tuple[str, str, str]:
    """(model, data, train) columns of ``zspace presets``."""
    m = config.model
    model = f"z={m.z_size} lstm={m.hidden}x{m.encoder_layers} policy={list(m.policy_hidden)}"
    train = f"kl={m.kl_weight} bc={m.bc_weight} K={config.n_candidates} H={config.plan_horizon} {config.plan_shaping}"
    return model, "online", train


FAMILY = Family(
    name="sectar",
    summary="Train SeCTAR online (plan, explore, fit the trajectory VAE, make the policy self-consistent).",
    run_config=SectarTrainConfig,
    presets=PRESETS,
    default_preset="cpu",
    describe_preset=describe_preset,
    fit=train_run,
    load=load_run,
    evaluate=evaluate_run,
    explore=render_run,
    commands="zspace.cli.sectar",
    instead={"sample": "zspace sectar render {run}"},
    serve_view="zspace.serve.sectar_view:SectarView.from_run",
    serve_routes="zspace.serve.sectar_api",
)
