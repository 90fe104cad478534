"""Attribute measures against hand-counted windows; attribute vectors, their use and their files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zspace.errors import CheckpointError, ConfigError, DataError
from zspace.music.attributes import (
    ATTRIBUTES,
    AttributeFit,
    apply_attributes,
    default_names,
    fit_attribute_vectors,
    load_attribute_vectors,
    measure,
    parse_strengths,
    save_attribute_vectors,
    split_groups,
    vectors_from_codes,
)
from zspace.music.encoding import drum_classes_to_tokens
from zspace.music.model import MusicVAE
from zspace.music.presets import PRESETS


def melody(events: dict[int, int], n_steps: int = 32) -> np.ndarray:
    """A melody window (n_steps, 1) from {step: MIDI pitch, or 1 for a note off}."""
    tokens = np.zeros((n_steps, 1), dtype=np.int64)
    for step, pitch in events.items():
        tokens[step, 0] = 1 if pitch == 1 else pitch - 19
    return tokens


# Onsets at steps 0, 4, 6, 13, 16 (6 and 13 off the beat); pitches 60 64 67 72 62.
TUNE = melody({0: 60, 4: 64, 6: 67, 8: 1, 13: 72, 16: 62})
EXPECTED = {"note_density": 5 / 2, "pitch_range": 12.0, "mean_interval": (4 + 3 + 5 + 10) / 4, "syncopation": 2 / 5,
            "pitch_mean": (60 + 64 + 67 + 72 + 62) / 5}  # fmt: skip


def test_melody_measures_match_hand_counts():
    values = measure(TUNE[None], ATTRIBUTES, "melody")
    assert values.keys() == EXPECTED.keys()
    for name, expected in EXPECTED.items():
        assert values[name].shape == (1,) and values[name][0] == pytest.approx(expected), name


def test_empty_and_single_note_windows_get_the_documented_values():
    windows = np.stack([melody({}), melody({5: 70})])
    values = measure(windows, ATTRIBUTES, "melody")
    np.testing.assert_allclose(values["note_density"], [0.0, 0.5])
    np.testing.assert_allclose(values["pitch_range"], [0.0, 0.0])
    np.testing.assert_allclose(values["mean_interval"], [0.0, 0.0])
    np.testing.assert_allclose(values["syncopation"], [0.0, 1.0])
    assert math.isnan(values["pitch_mean"][0]) and values["pitch_mean"][1] == 70.0


def test_drum_measures_count_hit_steps_and_pitch_measures_refuse():
    classes = np.zeros((32, 9), dtype=bool)
    classes[0, 0] = classes[2, 2] = classes[8, [0, 1]] = classes[15, 2] = True  # 4 hit steps, 2 off the beat
    drums = drum_classes_to_tokens(classes)[None, :, None]
    values = measure(drums, ["note_density", "syncopation"], "drums")
    assert values["note_density"][0] == 2.0 and values["syncopation"][0] == 0.5
    with pytest.raises(ConfigError, match="drums encoding has no pitches"):
        measure(drums, ["pitch_range"], "drums")
    assert default_names("drums") == ["note_density", "syncopation"]


def test_trio_is_measured_on_its_melody_track():
    trio = np.zeros((1, 32, 3), dtype=np.int64)
    trio[0, :, 0] = TUNE[:, 0]
    trio[0, 1::2, 1] = 40 - 19  # a busy bass and drums must not count
    trio[0, :, 2] = 5
    values = measure(trio, EXPECTED, "trio")
    assert {k: v[0] for k, v in values.items()} == pytest.approx(EXPECTED)


def test_bad_names_and_shapes():
    with pytest.raises(ConfigError, match=r"unknown attribute\(s\) \['loudness'\]; valid attributes are \['mean_interval'"):
        measure(TUNE[None], ["loudness"], "melody")
    with pytest.raises(DataError, match=r"shape \(n, n_steps, 1\)"):
        measure(TUNE, ["note_density"], "melody")


def test_parse_strengths():
    assert parse_strengths(["note_density=+1.5", " pitch_range = -1 "]) == {"note_density": 1.5, "pitch_range": -1.0}
    for bad in ("note_density", "=1", "note_density=", "note_density=lots", "note_density=inf"):
        with pytest.raises(ConfigError, match="NAME=STRENGTH"):
            parse_strengths([bad])
    with pytest.raises(ConfigError, match=r"no attribute vector named 'pitch_mean'; available: \['note_density'\]"):
        parse_strengths(["pitch_mean=1"], valid=["note_density"])
    with pytest.raises(ConfigError, match="twice"):
        parse_strengths(["syncopation=1", "syncopation=2"])


def test_split_groups_take_the_quantiles_and_skip_nan():
    values = np.array([3.0, 0.0, 7.0, np.nan, 1.0, 6.0, 2.0, 5.0, 4.0])
    low, high = split_groups(values, 0.25)  # finite quantiles: 1.75 and 5.25
    assert np.flatnonzero(low).tolist() == [1, 4] and np.flatnonzero(high).tolist() == [2, 5]
    with pytest.raises(DataError, match="quantiles are both 1"):
        split_groups(np.ones(10), 0.25)
    with pytest.raises(DataError, match="attribute 'syncopation': its 0.25 and 0.75 quantiles"):
        vectors_from_codes(torch.zeros(4, 2), {"syncopation": np.zeros(4)}, encoding="melody")


def test_vectors_are_the_difference_of_group_mean_codes():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, 3, generator=g)
    values = {"note_density": np.arange(8.0), "pitch_mean": np.arange(8.0)[::-1].copy()}
    fitted = vectors_from_codes(z, values, encoding="melody", quantile=0.25)
    expected = (z[[6, 7]].mean(0) - z[[0, 1]].mean(0)).numpy()
    np.testing.assert_allclose(fitted.vectors["note_density"], expected, rtol=1e-6)
    np.testing.assert_allclose(fitted.vectors["pitch_mean"], -expected, rtol=1e-6)
    assert (fitted.low_mean["note_density"], fitted.high_mean["note_density"]) == (0.5, 6.5)
    assert fitted.n_low["note_density"] == fitted.n_high["note_density"] == 2 and fitted.n_windows["pitch_mean"] == 8


def test_apply_moves_codes_by_strength_times_vector():
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    vectors = {"note_density": np.array([1.0, 0.0, 2.0], dtype=np.float32), "pitch_range": np.array([0.0, 1.0, 0.0])}
    moved = apply_attributes(z, vectors, {"note_density": 1.5, "pitch_range": -1.0})
    torch.testing.assert_close(moved - z, torch.tensor([1.5, -1.0, 3.0]).expand(4, 3))
    with pytest.raises(ConfigError, match="no attribute vector named 'syncopation'"):
        apply_attributes(z, vectors, {"syncopation": 1.0})
    with pytest.raises(ConfigError, match="has size"):
        apply_attributes(torch.zeros(2, 5), vectors, {"note_density": 1.0})


def random_melodies(n: int, seed: int) -> np.ndarray:
    """Windows (n, 32, 1) whose density and pitches vary from window to window."""
    rng = np.random.default_rng(seed)
    onsets = rng.random((n, 32)) < rng.uniform(0.05, 0.6, (n, 1))
    return np.where(onsets, rng.integers(40, 60, (n, 32)), 0)[..., None]


def test_fit_encodes_windows_and_matches_the_pure_fit():
    torch.manual_seed(0)
    model = MusicVAE(PRESETS["cat-mel_2bar_tiny"].model).eval()
    tokens = random_melodies(24, seed=2)
    fitted = fit_attribute_vectors(model, tokens, ["note_density", "pitch_range"], fit=AttributeFit(batch_size=7))
    from zspace.music.generate import encode

    expected = vectors_from_codes(encode(model, tokens), measure(tokens, ["note_density", "pitch_range"], "melody"),
                                  encoding="melody")  # fmt: skip
    for name in ("note_density", "pitch_range"):
        np.testing.assert_allclose(fitted.vectors[name], expected.vectors[name], atol=1e-5)
    assert fitted.high_mean["note_density"] > fitted.low_mean["note_density"]
    subset = fit_attribute_vectors(model, tokens, ["note_density"], fit=AttributeFit(max_windows=10, seed=3))
    assert subset.n_windows["note_density"] == 10
    again = fit_attribute_vectors(model, tokens, ["note_density"], fit=AttributeFit(max_windows=10, seed=3))
    np.testing.assert_array_equal(subset.vectors["note_density"], again.vectors["note_density"])


def test_vectors_round_trip_through_files(tmp_path):
    z = torch.randn(8, 4, generator=torch.Generator().manual_seed(3))
    fitted = vectors_from_codes(z, {"syncopation": np.linspace(0, 1, 8)}, encoding="drums", quantile=0.4)
    save_attribute_vectors(fitted, tmp_path / "v")
    loaded = load_attribute_vectors(tmp_path / "v")
    np.testing.assert_array_equal(loaded.vectors["syncopation"], fitted.vectors["syncopation"])
    assert (loaded.encoding, loaded.quantile, loaded.low_mean, loaded.n_high) == ("drums", 0.4, fitted.low_mean, fitted.n_high)
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["attribute_vectors.json", "attribute_vectors.safetensors"]
    with pytest.raises(CheckpointError, match="zspace music attributes RUN --data"):
        load_attribute_vectors(tmp_path / "nothing")
    (tmp_path / "v" / "attribute_vectors.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="unreadable attribute vectors"):
        load_attribute_vectors(tmp_path / "v")


def test_fit_config_is_checked():
    with pytest.raises(ConfigError, match="quantile"):
        AttributeFit(quantile=0.5)
