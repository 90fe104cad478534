"""MusicVAE family: quantized note sequences, melody/drums/trio token encodings, MIDI I/O.

``encoding`` needs only numpy; ``midi`` imports pretty_midi / music21 when first called
(``pip install 'zspace[music]'``). Names are imported from their submodule on first use, so
``import zspace.music.model`` loads neither the MIDI nor the data code. ``attributes`` measures
with numpy and imports torch only in the functions that handle codes; ``figures`` imports
matplotlib when it draws; ``audio`` is numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {  # public name -> the submodule that defines it, imported on first use
    "ATTRIBUTES": "attributes",
    "AttributeFit": "attributes",
    "AttributeVectors": "attributes",
    "BASS_PROGRAMS": "encoding",
    "DRUM_CLASS_NAMES": "encoding",
    "DRUM_DEPTH": "encoding",
    "DRUM_INPUT_DEPTH": "encoding",
    "DRUM_PITCH_CLASSES": "encoding",
    "DrumsEncoding": "encoding",
    "ENCODINGS": "encoding",
    "Encoding": "encoding",
    "MELODY_DEPTH": "encoding",
    "MELODY_MAX_PITCH": "encoding",
    "MELODY_MIN_PITCH": "encoding",
    "MELODY_NOTE_OFF": "encoding",
    "MELODY_NO_EVENT": "encoding",
    "MelodyEncoding": "encoding",
    "MelodySegment": "encoding",
    "Note": "encoding",
    "NoteSequence": "encoding",
    "STEPS_PER_BAR": "encoding",
    "STEPS_PER_QUARTER": "encoding",
    "TrioEncoding": "encoding",
    "apply_attributes": "attributes",
    "canonical_melody_tokens": "encoding",
    "drum_classes_to_tokens": "encoding",
    "drum_input_table": "encoding",
    "drum_tokens_to_classes": "encoding",
    "drums_to_tokens": "encoding",
    "extract_melodies": "encoding",
    "fit_attribute_vectors": "attributes",
    "from_music21": "midi",
    "get_encoding": "encoding",
    "interpolation_figure": "figures",
    "load_attribute_vectors": "attributes",
    "measure": "attributes",
    "melody_input_table": "encoding",
    "melody_to_tokens": "encoding",
    "melody_transpositions": "encoding",
    "parse_strengths": "attributes",
    "piano_roll": "figures",
    "piano_roll_grid": "figures",
    "read_midi": "midi",
    "render_wav": "audio",
    "save_attribute_vectors": "attributes",
    "skyline": "encoding",
    "tokens_to_drums": "encoding",
    "tokens_to_melody": "encoding",
    "transpose_melody_tokens": "encoding",
    "write_midi": "midi",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'zspace.music' has no attribute {name!r}")
    return getattr(importlib.import_module(f"zspace.music.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "ATTRIBUTES",
    "BASS_PROGRAMS",
    "DRUM_CLASS_NAMES",
    "DRUM_DEPTH",
    "DRUM_INPUT_DEPTH",
    "DRUM_PITCH_CLASSES",
    "ENCODINGS",
    "MELODY_DEPTH",
    "MELODY_MAX_PITCH",
    "MELODY_MIN_PITCH",
    "MELODY_NOTE_OFF",
    "MELODY_NO_EVENT",
    "STEPS_PER_BAR",
    "STEPS_PER_QUARTER",
    "AttributeFit",
    "AttributeVectors",
    "DrumsEncoding",
    "Encoding",
    "MelodyEncoding",
    "MelodySegment",
    "Note",
    "NoteSequence",
    "TrioEncoding",
    "apply_attributes",
    "canonical_melody_tokens",
    "drum_classes_to_tokens",
    "drum_input_table",
    "drum_tokens_to_classes",
    "drums_to_tokens",
    "extract_melodies",
    "fit_attribute_vectors",
    "from_music21",
    "get_encoding",
    "interpolation_figure",
    "load_attribute_vectors",
    "measure",
    "melody_input_table",
    "melody_to_tokens",
    "melody_transpositions",
    "parse_strengths",
    "piano_roll",
    "piano_roll_grid",
    "read_midi",
    "render_wav",
    "save_attribute_vectors",
    "skyline",
    "tokens_to_drums",
    "tokens_to_melody",
    "transpose_melody_tokens",
    "write_midi",
]  # fmt: skip
