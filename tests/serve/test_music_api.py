"""The MusicVAE view's API: sampling, decoding, slerp, attributes, MIDI upload and download, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from zspace.serve.music_api import MAX_UPLOAD_BYTES

URL = "/api/runs/2/music"


def post(client, endpoint, **body):
    out = client.post(f"{URL}/{endpoint}", json=body)
    assert out.status_code == 200, out.text
    return out.json()


def test_run_info_lists_the_attribute_vectors(client):
    info = client.get("/api/runs").json()[2]["info"]
    assert (
        info["encoding"] == "melody"
        and info["n_steps"] == 32
        and info["z_size"] == 32
        and info["attributes"] == ["note_density", "pitch_range"]
    )


def test_sample_shapes_and_seed(client):
    a, b, c = (post(client, "sample", n=3, temperature=1.0, seed=s) for s in (1, 1, 2))
    assert a == b and a != c and len(a["items"]) == 3
    item = a["items"][0]
    assert np.shape(item["tokens"]) == (32, 1) and len(item["z"]) == 32 and item["qpm"] == 120.0
    for note in item["notes"]:
        assert 0 <= note["start"] < note["end"] <= 32 and 21 <= note["pitch"] <= 108


def test_interpolation_is_a_slerp_between_the_two_codes(client):
    a, b = post(client, "sample", n=2, seed=5)["items"]
    path = post(client, "interpolate", a=a["z"], b=b["z"], steps=5)["items"]
    z = np.asarray([p["z"] for p in path])
    assert z.shape == (5, 32) and np.allclose(z[0], a["z"], atol=1e-4) and np.allclose(z[-1], b["z"], atol=1e-4)
    norms = np.linalg.norm(z, axis=1)  # slerp between codes of similar norm keeps the norm (lerp would dip)
    assert norms.min() > 0.9 * min(norms[0], norms[-1])


def test_decode_is_greedy_and_deterministic_by_default(client):
    z = post(client, "sample", n=1, seed=0)["items"][0]["z"]
    assert post(client, "decode", z=[z]) == post(client, "decode", z=[z], seed=9)


def test_attribute_sliders_move_the_code_by_the_vector(client, music_run):
    from zspace.music.attributes import load_attribute_vectors

    z = np.asarray(post(client, "sample", n=1, seed=0)["items"][0]["z"])
    moved = post(client, "attributes", z=z.tolist(), strengths={"note_density": 1.5})["items"][0]["z"]
    vector = load_attribute_vectors(music_run / "attributes").vectors["note_density"]
    assert np.allclose(moved, z + 1.5 * vector, atol=1e-3)


def test_midi_upload_encodes_and_download_round_trips(client, music_run):
    song = (music_run.parent / "midi" / "song1.mid").read_bytes()
    out = client.post(f"{URL}/encode", content=song, headers={"Content-Type": "audio/midi"})
    assert out.status_code == 200, out.text
    melody = out.json()
    assert len(melody["z"]) == 32 and np.shape(melody["tokens"]) == (32, 1) and melody["notes"]
    midi = client.post(f"{URL}/midi", json={"windows": [melody["tokens"]], "qpm": 100})
    assert midi.status_code == 200 and midi.headers["content-type"] == "audio/midi" and midi.content[:4] == b"MThd"
    again = client.post(f"{URL}/encode", content=midi.content, headers={"Content-Type": "audio/midi"}).json()
    assert again["tokens"] == melody["tokens"] and abs(again["qpm"] - 100) < 0.01


@pytest.mark.parametrize(
    ("content", "media_type", "status", "message"),
    [
        (b"hello", "text/plain", 415, "audio/midi"),
        (b"", "audio/midi", 422, "empty"),
        (b"RIFF0000WAVE", "audio/midi", 415, "MThd"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\xff\xff\xff\xff", "audio/midi", 422, "corrupt"),
        (b"MThd" + b"\x00" * (MAX_UPLOAD_BYTES + 1), "audio/midi", 413, "limit"),
    ],
)
def test_bad_uploads_are_refused_and_the_server_keeps_serving(client, content, media_type, status, message):
    out = client.post(f"{URL}/encode", content=content, headers={"Content-Type": media_type})
    assert out.status_code == status, out.text
    assert message in out.json()["detail"] and "zspace-serve-" not in out.json()["detail"]
    assert client.post(f"{URL}/sample", json={"n": 1}).status_code == 200


def test_upload_without_notes_for_the_encoding_is_a_422(client, tmp_path):
    from zspace.music import Note, NoteSequence, write_midi

    drums = write_midi(NoteSequence(notes=(Note(36, 0, 4, is_drum=True),)), tmp_path / "drums.mid").read_bytes()
    out = client.post(f"{URL}/encode", content=drums, headers={"Content-Type": "audio/midi"})
    assert out.status_code == 422 and "no melody notes" in out.json()["detail"]


BAD = [
    ("sample", {"n": 0}, "greater than or equal to 1"),
    ("sample", {"temperature": -1}, "greater than 0"),
    ("decode", {"z": [[0.0] * 3]}, "z_size=32"),
    ("decode", {"z": [[0.0] * 32], "greedy": "maybe"}, "valid boolean"),
    ("interpolate", {"a": [0.0] * 32, "b": [0.0] * 31}, "z_size=32"),
    ("interpolate", {"a": [0.0] * 32, "b": [0.0] * 32, "steps": 100}, "less than or equal to 32"),
    ("attributes", {"z": [0.0] * 32, "strengths": {"loudness": 1.0}}, "no attribute vector named ['loudness']"),
    ("attributes", {"z": [0.0] * 32, "strengths": {"note_density": float("1e9")}}, "less than or equal to 50"),
    ("midi", {"windows": [[[0]] * 31]}, "shape (32, 1)"),
    ("midi", {"windows": [[[90]] * 32]}, "0..89"),
    ("midi", {"windows": [[[0]] * 32], "qpm": 0}, "greater than or equal to 20"),
]


@pytest.mark.parametrize(("endpoint", "body", "message"), BAD)
def test_bad_input_is_a_clear_4xx(client, endpoint, body, message):
    out = client.post(f"{URL}/{endpoint}", json=body)
    assert out.status_code == 422, out.text
    assert message in out.json()["detail"]


def test_music_routes_refuse_a_vae_run(client):
    out = client.post("/api/runs/0/music/sample", json={})
    assert out.status_code == 404 and "is a vae run" in out.json()["detail"]


def test_a_chunked_upload_is_cut_off_at_the_limit(client):
    def chunks():
        yield b"MThd"
        for _ in range(MAX_UPLOAD_BYTES // 65536 + 2):
            yield b"\0" * 65536

    out = client.post(f"{URL}/encode", content=chunks(), headers={"Content-Type": "audio/midi"})
    assert out.status_code == 413 and "limit" in out.json()["detail"]
