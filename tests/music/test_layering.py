"""The model file stands on the config alone: importing it reads no MIDI and loads no data pipeline or trainer."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("mido", "pretty_midi", "music21", "zspace.music.corpus", "zspace.music.songs", "zspace.music.midi",
             "zspace.music.presets", "zspace.train.trainer")  # fmt: skip


def modules_after_import(module: str) -> set[str]:
    """The modules loaded by ``import module`` in a fresh interpreter."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    return set(json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout))


def test_importing_the_model_loads_no_midi_data_or_training_code():
    loaded = modules_after_import("zspace.music.model")
    assert "zspace.music.config" in loaded
    assert not {m for m in loaded if m in FORBIDDEN or m.split(".")[0] in FORBIDDEN}


def test_the_package_still_offers_its_names():
    from zspace import music

    assert music.read_midi.__module__ == "zspace.music.midi" and "read_midi" in dir(music)
    assert all(hasattr(music, name) for name in music.__all__)
