"""Every JSON endpoint, fed what a hostile or careless client sends, answers a 4xx JSON, never a 500.

Runs as in conftest's ``client``: 0 (2-D VAE), 2 (MusicVAE), 3 (SeCTAR), 4 (SSVM).
"""

from __future__ import annotations

import json

import pytest

from zspace.serve.guards import allowed_hosts, host_name
from zspace.serve.schemas import MAX_BODY_BYTES


@pytest.fixture(scope="module")
def endpoints(client):
    """A valid body of each POST endpoint, sized to its run (so only the hostile field is wrong)."""
    info = {r["id"]: r["info"] for r in client.get("/api/runs").json()}
    music_z, sectar_z = [0.0] * info[2]["z_size"], [0.0] * info[3]["z_size"]
    return {
        "/api/runs/0/vae/decode": {"z": [[0.0, 0.0]]},
        "/api/runs/0/vae/interpolate": {"a": 0, "b": 1, "steps": 4},
        "/api/runs/0/vae/sample": {"n": 2, "temperature": 1.0, "seed": 0},
        "/api/runs/2/music/sample": {"n": 1, "temperature": 1.0, "seed": 0},
        "/api/runs/2/music/decode": {"z": [music_z], "greedy": True},
        "/api/runs/2/music/interpolate": {"a": music_z, "b": music_z, "steps": 3},
        "/api/runs/2/music/attributes": {"z": music_z, "strengths": {"note_density": 1.0}},
        "/api/runs/2/music/midi": {"windows": [[[0]] * info[2]["n_steps"]], "qpm": 120.0},
        "/api/runs/3/sectar/segment": {"z": sectar_z, "seed": 0},
        "/api/runs/3/sectar/episode": {"seed": 0},
    }


POSTS = [
    "/api/runs/0/vae/decode", "/api/runs/0/vae/interpolate", "/api/runs/0/vae/sample", "/api/runs/2/music/sample",
    "/api/runs/2/music/decode", "/api/runs/2/music/interpolate", "/api/runs/2/music/attributes", "/api/runs/2/music/midi",
    "/api/runs/3/sectar/segment", "/api/runs/3/sectar/episode",
]  # fmt: skip
# What a field may be replaced with: coerced types, out-of-range and non-finite numbers, wrong shapes.
HOSTILE = [True, "0", "1.0", 1e20, 2**63, -(2**63) - 1, -1, 0, None, [], {}, [[[0], [0, 1]]], [[True]], "nan", 1.5]


def assert_refused_as_json(response, statuses=range(400, 500)):
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("endpoint", POSTS)
def test_every_field_replaced_by_a_hostile_value_is_never_a_500(client, endpoints, endpoint):
    assert client.post(endpoint, json=endpoints[endpoint]).status_code == 200  # the body is valid as it is
    for field in endpoints[endpoint]:
        for value in HOSTILE:
            response = client.post(endpoint, json={**endpoints[endpoint], field: value})
            assert response.status_code < 500, (endpoint, field, value, response.text[:300])
            if response.status_code >= 400:
                assert_refused_as_json(response)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"windows": [[[0], [0, 1]]]}, "shape"),  # ragged
        ({"windows": [[[1e20]]]}, "integer"),
        ({"windows": [[[2**63]]]}, "less than or equal"),
        ({"windows": [[[True]]]}, "integer"),
        ({"windows": [[["0"]]]}, "integer"),
    ],
)
def test_the_midi_windows_that_were_500s_are_422s(client, body, message):
    response = client.post("/api/runs/2/music/midi", json=body)
    assert_refused_as_json(response, {422})
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/api/runs/0/vae/sample", {"n": True}),
        ("/api/runs/0/vae/sample", {"n": "4"}),
        ("/api/runs/0/vae/sample", {"seed": "0"}),
        ("/api/runs/0/vae/sample", {"n": 2.0}),
        ("/api/runs/2/music/decode", {"greedy": 1}),
        ("/api/runs/2/music/sample", {"temperature": "1.0"}),
    ],
)
def test_types_are_not_coerced(client, endpoints, endpoint, body):
    response = client.post(endpoint, json={**endpoints[endpoint], **body})
    assert_refused_as_json(response, {422})
    assert "valid" in response.json()["detail"]  # pydantic's "Input should be a valid integer/number/boolean"


def test_an_integer_is_still_a_number(client):
    assert client.post("/api/runs/0/vae/sample", json={"n": 2, "temperature": 1}).status_code == 200


def test_a_body_over_the_limit_is_refused_before_parsing(client):
    big = b'{"z": [[' + b"0," * (MAX_BODY_BYTES // 2) + b"0]]}"
    response = client.post("/api/runs/0/vae/decode", content=big, headers={"Content-Type": "application/json"})
    assert_refused_as_json(response, {413})

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"z": [['
        for _ in range(MAX_BODY_BYTES // (1 << 16) + 1):
            yield b"0," * (1 << 15)
        yield b"0]]}"

    response = client.post("/api/runs/0/vae/decode", content=chunks(), headers={"Content-Type": "application/json"})
    assert_refused_as_json(response, {413})
    assert client.post("/api/runs/0/vae/sample", json={"n": 1}).status_code == 200  # and it keeps serving


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil", "[::2]"])
def test_a_foreign_host_header_is_refused(client, host):
    response = client.get("/api/runs", headers={"Host": host})
    assert_refused_as_json(response, {400})
    assert client.post("/api/runs/0/vae/sample", json={"n": 1}, headers={"Host": host}).status_code == 400


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:1234", "[::1]:8000", "LOCALHOST"])
def test_loopback_names_are_served(client, host):
    assert client.get("/api/runs", headers={"Host": host}).status_code == 200


def test_the_bound_host_is_allowed_and_every_interface_allows_any_name():
    assert host_name("[::1]:8000") == "[::1]" and host_name("Example.org:80") == "example.org" and host_name("::1") == "::1"
    assert "192.168.1.5" in allowed_hosts("192.168.1.5") and "[fe80::1]" in allowed_hosts("fe80::1")
    assert "evil.example" not in allowed_hosts("127.0.0.1") and allowed_hosts("0.0.0.0") is None


def test_json_error_bodies_parse(client):
    response = client.post("/api/runs/0/vae/sample", content=b"{", headers={"Content-Type": "application/json"})
    assert_refused_as_json(response, {422})
    json.dumps(response.json())
