"""One converter: stored in the run, used by prepare, the file commands and serve; runs written
before it was stored load with the rules they were trained with."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zspace.errors import ConfigError
from zspace.music import Note, NoteSequence, write_midi
from zspace.music.config import MusicConverter, PrepareConfig
from zspace.music.run import MusicRunConfig, build_model, load_model, load_run_config
from zspace.train import checkpoint as ckpt

pretty_midi = pytest.importorskip("pretty_midi")
V1 = Path(__file__).parent / "fixtures" / "v1"  # written by the code before the converter was stored
# The rules v1/prepared_manifest.json was prepared with (prepare --meter any --melody-programs all ...).
V1_RULES = {"meter": "any", "melody_programs": "all", "gap_bars": 2.0, "max_bars": 50}


def old_run(root: Path, *, prepare: dict | None = None, with_manifest: bool = True) -> Path:
    """A run directory in the format before the converter: config.json (``prepare``, no
    ``converter``) and one checkpoint, its data's manifest beside a (absent) ``.npz``."""
    data = root / "mel2.npz"
    if with_manifest:
        (root / "mel2.json").write_text((V1 / "prepared_manifest.json").read_text())
    config = json.loads((V1 / "run_config.json").read_text().replace('"DATA"', json.dumps(str(data))))
    config["prepare"] = prepare
    assert "converter" not in config
    run = root / "run"
    run.mkdir()
    model = build_model(MusicRunConfig(model=MusicRunConfig.from_json(config).model))
    ckpt.write_json_atomic(run / ckpt.CONFIG, config)
    ckpt.save_checkpoint(run, 2, model.state_dict(), config, {"step": 2}, keep_last=1, is_best=True)
    return run


def test_an_old_trained_run_gets_the_rules_of_its_data(tmp_path):
    run = old_run(tmp_path)
    config = load_run_config(run)
    assert config.converter == MusicConverter(kind="melody", bars=2, **V1_RULES)
    assert load_run_config(run, checkpoint="best").converter == config.converter
    assert load_model(run).config == config.model


def test_an_old_imported_run_gets_its_prepare_config(tmp_path):
    prepare = asdict(PrepareConfig(kind="melody", bars=2, transpose=5, melody_programs="0-31"))
    config = load_run_config(old_run(tmp_path, prepare=prepare, with_manifest=False))
    assert config.converter == MusicConverter(kind="melody", bars=2, melody_programs="0-31")


def test_an_old_run_whose_data_is_gone_gets_magentas_rules_for_its_model(tmp_path):
    config = load_run_config(old_run(tmp_path, with_manifest=False))
    assert config.converter == MusicConverter(kind="melody", bars=2) == MusicConverter.for_model(config.model)


def test_the_converter_must_fit_the_model():
    config = MusicRunConfig()
    assert config.data_converter == MusicConverter(kind="melody", bars=2)
    with pytest.raises(ConfigError, match="MusicRunConfig.converter: cuts 16-bar melody windows"):
        replace(config, converter=MusicConverter(bars=16))
    assert MusicRunConfig.from_json(replace(config, converter=MusicConverter(meter="any")).to_json()).converter.meter == "any"


def test_prepare_stores_the_converter_and_training_records_it(tmp_path):
    from zspace.music.corpus import load_prepared, prepare
    from zspace.music.run import train

    for k in range(3):
        notes = [Note(60 + k + b, 16 * b + 4 * i, 16 * b + 4 * i + 3) for b in range(4) for i in range(4)]
        write_midi(NoteSequence(notes=notes), tmp_path / "midi" / f"s{k}.mid")
    config = PrepareConfig(kind="melody", bars=2, meter="any", gap_bars=2.0, workers=1, valid_fraction=0, test_fraction=0)
    data = load_prepared(prepare(tmp_path / "mel2.npz", config, midi_dir=tmp_path / "midi").out)
    assert data.converter == config.converter == MusicConverter(kind="melody", bars=2, meter="any", gap_bars=2.0)
    assert data.manifest["converter"] == asdict(config.converter)
    run_config = MusicRunConfig.from_preset("cat-mel_2bar_tiny", data=data.path, max_steps=1, batch_size=4, device="cpu")
    train(run_config, tmp_path / "run")
    assert load_run_config(tmp_path / "run").converter == data.converter


def waltz(path: Path) -> Path:
    """Four bars of 3/4: no 16-step bars, so Magenta's rules (meter 4/4) find no window."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0.0))
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(90, 60 + i % 7, i * 0.5, i * 0.5 + 0.375) for i in range(12)]
    pm.instruments.append(piano)
    pm.write(str(path))
    return path


def test_serve_cuts_uploads_by_the_runs_rules(tmp_path):
    from zspace.serve.music_view import MusicView

    upload = waltz(tmp_path / "waltz.mid").read_bytes()
    view = MusicView.from_run(old_run(tmp_path))  # trained on --meter any data
    assert view.converter.meter == "any"
    assert len(view.encode_midi(upload)["tokens"]) == 32
    default = MusicView(view.model, view.encoding)  # Magenta's rules refuse the 3/4 file
    with pytest.raises(Exception, match="no section has 16-step bars"):
        default.encode_midi(upload)


def test_encode_cuts_files_by_the_runs_rules_unless_told_otherwise(tmp_path):
    from zspace.cli.main import app

    run, song = old_run(tmp_path), waltz(tmp_path / "waltz.mid")
    runner = CliRunner()
    result = runner.invoke(app, ["music", "encode", str(run), str(song), "--out", str(tmp_path / "codes.npz")])
    assert result.exit_code == 0, result.output
    codes = np.load(tmp_path / "codes.npz")
    assert list(codes["tags"]) == ["s0_l0_bar01", "s0_l0_bar02"]  # 48 steps read as three 16-step "bars"
    result = runner.invoke(app, ["music", "encode", str(run), str(song), "--meter", "4/4", "--out", str(tmp_path / "c2.npz")])
    assert result.exit_code == 2 and "no section has 16-step bars" in " ".join(result.output.split())
