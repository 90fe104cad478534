"""MusicVAE family: quantized note sequences, melody/drums/trio token encodings, MIDI I/O.

``encoding`` needs only numpy; ``midi`` imports pretty_midi / music21 when first called
(``pip install 'zspace[music]'``).
"""

from zspace.music.encoding import (
    BASS_PROGRAMS,
    DRUM_CLASS_NAMES,
    DRUM_DEPTH,
    DRUM_INPUT_DEPTH,
    DRUM_PITCH_CLASSES,
    ENCODINGS,
    MELODY_DEPTH,
    MELODY_MAX_PITCH,
    MELODY_MIN_PITCH,
    MELODY_NO_EVENT,
    MELODY_NOTE_OFF,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    DrumsEncoding,
    Encoding,
    MelodyEncoding,
    MelodySegment,
    Note,
    NoteSequence,
    TrioEncoding,
    canonical_melody_tokens,
    drum_classes_to_tokens,
    drum_input_table,
    drum_tokens_to_classes,
    drums_to_tokens,
    extract_melodies,
    get_encoding,
    melody_input_table,
    melody_to_tokens,
    melody_transpositions,
    skyline,
    tokens_to_drums,
    tokens_to_melody,
    transpose_melody_tokens,
)
from zspace.music.midi import from_music21, read_midi, write_midi

__all__ = [
    "BASS_PROGRAMS", "DRUM_CLASS_NAMES", "DRUM_DEPTH", "DRUM_INPUT_DEPTH", "DRUM_PITCH_CLASSES", "ENCODINGS",
    "MELODY_DEPTH", "MELODY_MAX_PITCH", "MELODY_MIN_PITCH", "MELODY_NOTE_OFF", "MELODY_NO_EVENT", "STEPS_PER_BAR",
    "STEPS_PER_QUARTER", "DrumsEncoding", "Encoding", "MelodyEncoding", "MelodySegment", "Note", "NoteSequence",
    "TrioEncoding", "canonical_melody_tokens", "drum_classes_to_tokens", "drum_input_table", "drum_tokens_to_classes",
    "drums_to_tokens", "extract_melodies", "from_music21", "get_encoding", "melody_input_table", "melody_to_tokens",
    "melody_transpositions", "read_midi", "skyline", "tokens_to_drums", "tokens_to_melody", "transpose_melody_tokens",
    "write_midi",
]  # fmt: skip
