"""The MusicVAE family as the registry sees it (:mod:`zspace.families`)."""

from __future__ import annotations

from typing import Any

from zspace.families import Family
from zspace.music.presets import PRESETS
from zspace.music.run import MusicRunConfig, build_model, load_model, sample_run, train


def describe_preset(preset: Any) -> tuple[str, str, str]:
    """(model, data, train) columns of ``zspace presets``."""
    m = preset.model
    model = f"{m.decoder} z={m.z_size} enc={list(m.encoder_sizes)} dec={list(m.decoder_sizes)} steps={m.n_steps}"
    return model, m.encoding, f"adam batch={preset.train.batch_size} steps={preset.train.max_steps}"


FAMILY = Family(
    name="music",
    summary="Train a MusicVAE preset on prepared MIDI windows.",
    run_config=MusicRunConfig,
    presets=PRESETS,
    describe_preset=describe_preset,
    build=build_model,
    fit=train,
    load=load_model,
    sample=sample_run,
    commands="zspace.cli.music",
    instead={"eval": "zspace sample {run} --out DIR", "explore": "zspace music interpolate {run} A.mid B.mid --out DIR"},
    serve_view="zspace.serve.music_view:MusicView.from_run",
    serve_routes="zspace.serve.music_api",
)
