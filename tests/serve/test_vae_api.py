"""The VAE view's API: status codes, shapes, determinism under a seed, and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zspace.explore.plots import project_2d
from zspace.serve.vae_view import VAEView
from zspace.vae import load_model


def test_index_static_and_run_list(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"] and "/static/vae.js" in page.text
    assert client.get("/static/vae.js").headers["content-type"].startswith("text/javascript")
    runs = client.get("/api/runs").json()
    assert [r["family"] for r in runs] == ["vae", "vae", "music", "sectar", "structured", "structured"]
    assert runs[0]["info"]["latent_dim"] == 2 and runs[1]["info"]["image_shape"] == [1, 8, 8]


@pytest.mark.parametrize("name", ["../pyproject.toml", "..%2Fapp.py", "app.py", "nope.js", "%2Fetc%2Fpasswd"])
def test_static_files_come_from_memory_only(client, name):
    assert client.get(f"/static/{name}").status_code == 404


def test_map_shapes_and_same_projection_as_explore(client, vae3_run):
    m = client.get("/api/runs/1/vae/map").json()
    n = len(m["points"])
    assert m["method"] == "pca" and np.shape(m["codes"]) == (n, 3) and len(m["labels"]) == n and len(m["activity"]) == 3
    expected, _ = project_2d(np.asarray(m["codes"]), "auto", seed=0)
    assert np.allclose(np.asarray(m["points"]), expected, atol=1e-3)
    m2 = client.get("/api/runs/0/vae/map").json()
    assert m2["method"] == "none" and np.allclose(m2["points"], m2["codes"], atol=1e-4)


def test_decode_codes_matches_the_model(client, vae_run):
    z = [[0.5, -1.0], [0.0, 0.0]]
    out = client.post("/api/runs/0/vae/decode", json={"z": z})
    assert out.status_code == 200
    images = np.asarray(out.json()["images"])
    assert images.shape == (2, 64) and images.min() >= 0 and images.max() <= 1
    with torch.no_grad():
        expected = load_model(vae_run).decode(torch.tensor(z)).mean.flatten(1).numpy()
    assert np.allclose(images, expected, atol=1e-3)
    assert not np.allclose(images[0], images[1])


def test_map_points_decode_to_the_codes_they_show(client):
    from sklearn.decomposition import PCA

    m = client.get("/api/runs/1/vae/map").json()
    out = client.post("/api/runs/1/vae/decode", json={"points": m["points"][:3]}).json()
    z = np.asarray(out["z"])  # codes on the map's plane: projecting them again gives the points back
    pca = PCA(n_components=2, random_state=0).fit(np.asarray(m["codes"], dtype=np.float64))
    assert z.shape == (3, 3) and np.allclose(pca.transform(z), m["points"][:3], atol=1e-3)
    assert np.asarray(out["images"]).shape == (3, 64)


def test_projection_round_trip_in_the_plane():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 5)) * np.array([3.0, 2.0, 1.0, 0.5, 0.1])
    from zspace.serve.vae_view import Projection

    p = Projection.fit(z, seed=0)
    points = p.to_map(z)
    assert np.allclose(points, project_2d(z, "auto", seed=0)[0], atol=1e-8)
    assert np.allclose(p.to_map(p.to_code(points)), points, atol=1e-8)


def test_interpolate_paths_end_at_the_examples(client):
    m = client.get("/api/runs/1/vae/map").json()
    out = client.post("/api/runs/1/vae/interpolate", json={"a": 0, "b": 5, "steps": 6}).json()
    for kind in ("lerp", "slerp"):
        z = np.asarray(out[kind]["z"])
        assert z.shape == (6, 3) and np.asarray(out[kind]["images"]).shape == (6, 64)
        assert np.allclose(z[0], m["codes"][0], atol=1e-4) and np.allclose(z[-1], m["codes"][5], atol=1e-4)
    assert not np.allclose(out["lerp"]["z"][2], out["slerp"]["z"][2])


def test_sample_is_deterministic_under_a_seed_and_scales_with_temperature(client):
    def sample(**kw):
        return client.post("/api/runs/0/vae/sample", json={"n": 8, **kw}).json()

    a, b, c = sample(seed=3), sample(seed=3), sample(seed=4)
    assert a == b and a["z"] != c["z"] and np.shape(a["images"]) == (8, 64)
    cold = np.asarray(sample(seed=3, temperature=0.5)["z"])
    assert np.allclose(cold, 0.5 * np.asarray(a["z"]), atol=1e-4)


BAD = [
    ("decode", {}, "exactly one"),
    ("decode", {"z": [[0.0, 0.0]], "points": [[0.0, 0.0]]}, "exactly one"),
    ("decode", {"z": [[0.0, 0.0, 0.0]]}, "latent_dim=2"),
    ("decode", {"z": [[1e9, 0.0]]}, "less than or equal to 50"),
    ("decode", {"z": []}, "at least 1"),
    ("decode", {"z": [[0.0, 0.0]] * 257}, "at most 256"),
    ("decode", {"z": [["a", 0.0]]}, "valid number"),
    ("decode", {"z": [[0.0, 0.0]], "extra": 1}, "extra: Extra inputs are not permitted"),
    ("decode", {"points": [[0.0]]}, "at least 2"),
    ("sample", {"n": 0}, "greater than or equal to 1"),
    ("sample", {"n": 10_000}, "less than or equal to 64"),
    ("sample", {"temperature": 0}, "greater than 0"),
    ("sample", {"temperature": 99}, "less than or equal to 5"),
    ("sample", {"seed": -1}, "greater than or equal to 0"),
    ("interpolate", {"a": 0, "b": 99_999}, "out of range"),
    ("interpolate", {"a": -1, "b": 0}, "greater than or equal to 0"),
    ("interpolate", {"a": 0, "b": 1, "steps": 1}, "greater than or equal to 2"),
    ("interpolate", {"a": 0, "b": 1, "steps": 500}, "less than or equal to 32"),
]


@pytest.mark.parametrize(("endpoint", "body", "message"), BAD)
def test_bad_input_is_a_clear_422(client, endpoint, body, message):
    out = client.post(f"/api/runs/0/vae/{endpoint}", json=body)
    assert out.status_code == 422, out.text
    assert message in out.json()["detail"]


@pytest.mark.parametrize("raw", ['{"z": [[NaN, 0]]}', '{"z": [[Infinity, 0]]}', "{not json", "[1, 2]", ""])
def test_non_finite_and_malformed_json_is_a_422(client, raw):
    out = client.post("/api/runs/0/vae/decode", content=raw, headers={"Content-Type": "application/json"})
    assert out.status_code == 422, out.text
    assert out.json()["detail"]


def test_unknown_run_or_wrong_family_is_a_404(client):
    assert client.get("/api/runs/7/vae/map").status_code == 404
    assert "runs 0..5" in client.get("/api/runs/7/vae/map").json()["detail"]
    assert client.get("/api/runs/-1/vae/map").status_code == 404
    assert client.get("/api/runs/abc/vae/map").status_code == 422


def test_view_refuses_an_example_outside_the_map(vae_run):
    from zspace.errors import ZspaceError

    view = VAEView.from_run(vae_run)
    with pytest.raises(ZspaceError, match="out of range"):
        view.interpolate(0, len(view.codes), 3)


def test_projection_of_a_one_dimensional_latent_is_the_code_and_zero():
    from zspace.serve.vae_view import Projection

    z = np.linspace(-2, 2, 7)[:, None]  # (7, 1)
    p = Projection.fit(z, seed=0)
    assert p.method == "none" and np.allclose(p.to_map(z), np.c_[z, np.zeros(7)])
    assert np.allclose(p.to_code(np.array([[1.5, 9.0]])), [[1.5]])  # the map's y carries nothing
