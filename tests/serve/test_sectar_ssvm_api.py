"""The SeCTAR and latent SSVM views' APIs: shapes, consistency with the models, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

SECTAR, DIGITS, SEQUENCES = "/api/runs/3/sectar", "/api/runs/4/structured", "/api/runs/5/structured"


def test_segment_predicted_by_the_decoder_beside_the_executed_one(client, sectar_run):
    from zspace.rl.sectar.train import load_sectar

    out = client.post(f"{SECTAR}/segment", json={"seed": 2, "z": [0.5, -1.0]})
    assert out.status_code == 200, out.text
    seg = out.json()
    assert np.shape(seg["predicted"]) == (19, 2) and np.shape(seg["executed"]) == (20, 2)
    assert len(seg["targets"]) == 50 and seg["half_width"] == pytest.approx(2.8) and seg["mean_gap_m"] >= 0
    assert seg["executed"][0] == seg["start"]
    model = load_sectar(sectar_run)
    s0 = torch.tensor([seg["start"]], dtype=torch.float32)  # Waypoints' state is the position itself
    expected = model.predict(s0, torch.tensor([[0.5, -1.0]])).detach()[0, :, :2].numpy()
    assert np.allclose(seg["predicted"], expected, atol=1e-3)
    assert client.post(f"{SECTAR}/segment", json={"seed": 2, "z": [0.5, -1.0]}).json() == seg  # greedy: deterministic
    assert client.post(f"{SECTAR}/segment", json={"seed": 2, "z": [-2.0, 2.0]}).json()["predicted"] != seg["predicted"]


def test_planning_episode_is_recorded_once_per_seed(client):
    first = client.post(f"{SECTAR}/episode", json={"seed": 1})
    assert first.status_code == 200, first.text
    episode = first.json()
    assert len(episode["segments"]) == 20 and isinstance(episode["success"], bool)
    segment = episode["segments"][0]
    assert np.shape(segment["executed"]) == (20, 2) and np.shape(segment["planned"]) == (19, 2)
    assert np.shape(segment["planned_rest"]) == (19, 2)  # horizon 2: one more latent planned ahead
    assert client.post(f"{SECTAR}/episode", json={"seed": 1}).json() == episode


@pytest.mark.parametrize(
    ("endpoint", "body", "message"),
    [
        ("segment", {"z": [0.0]}, "z_size=2"),
        ("segment", {"z": [0.0, 99.0]}, "less than or equal to 10"),
        ("segment", {"z": []}, "at least 1"),
        ("segment", {"z": [0.0, 0.0], "seed": -3}, "greater than or equal to 0"),
        ("episode", {"seed": "x"}, "valid integer"),
        ("episode", {"seed": 0, "horizon": 99}, "horizon: Extra inputs are not permitted"),
    ],
)
def test_sectar_bad_input(client, endpoint, body, message):
    out = client.post(f"{SECTAR}/{endpoint}", json=body)
    assert out.status_code == 422 and message in out.json()["detail"], out.text


def test_ssvm_examples_list_the_predictions(client, ssvm_runs):
    from zspace.structured.run import load_run

    data = client.get(f"{DIGITS}/examples").json()
    assert data["problem"] == "ImageAlignment" and data["n_test"] == len(data["examples"]) > 0
    errors = np.mean([e["label"] != e["predicted"] for e in data["examples"]])
    results = load_run(ssvm_runs[0]).results
    assert errors == pytest.approx(data["test_loss"]) == pytest.approx(results["test_error"], abs=1e-6)


def test_ssvm_alternatives_are_ranked_and_start_with_the_prediction(client):
    e = client.get(f"{DIGITS}/examples/3").json()
    scores = [a["score"] for a in e["alternatives"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    assert (e["alternatives"][0]["label"], e["alternatives"][0]["latent"]) == (e["predicted"], e["latent"])
    image = np.asarray(e["image"]["values"])
    row, col, wh, ww = e["image"]["window"]
    assert image.ndim == 2 and 0 <= row <= image.shape[0] - wh and 0 <= col <= image.shape[1] - ww
    s = client.get(f"{SEQUENCES}/examples/0").json()
    assert "proposal" in s["ranked_over"] and s["alternatives"][0]["label"] == s["predicted"]
    assert len(s["predicted"]) == len(s["latent"]) == len(s["label"])
    assert client.get(f"{SEQUENCES}/examples/0").json() == s  # seeded proposals


@pytest.mark.parametrize(("index", "status"), [(10**6, 422), (-1, 422), ("abc", 422), (10**12, 422)])
def test_ssvm_bad_example_index(client, index, status):
    out = client.get(f"{DIGITS}/examples/{index}")
    assert out.status_code == status and out.json()["detail"], out.text


def test_a_broken_sectar_run_file_is_named(sectar_run, tmp_path):
    import json
    import shutil

    from zspace.errors import CheckpointError
    from zspace.serve import load_served_run

    broken = tmp_path / "nav"
    shutil.copytree(sectar_run, broken)
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "train"}))
    with pytest.raises(CheckpointError, match=r"config.json lacks \['train'\]"):
        load_served_run(broken)
