"""Smoke test of bench/serve.py on a tiny run: a real server process under a few clients, the JSON contract."""

from __future__ import annotations

import json

from tests.bench._load import load_bench


def test_tiny_load_test_writes_the_results_file(vae_run, tmp_path, capsys):
    bench = load_bench("serve")
    out = tmp_path / "serve.json"
    argv = ["--run", str(vae_run), "--clients", "3", "--requests", "30", "--warmup", "3", "--duration-s", "60"]
    result = bench.main([*argv, "--json-out", str(out)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(out.read_text()) == result
    assert result["requests"] == 30 and result["failures"] == 0 and result["clients"] == 3
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["decode_only_ms"] > 0 and isinstance(result["goal_met"], bool)
