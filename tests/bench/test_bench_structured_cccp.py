"""Smoke test of bench/structured_cccp.py with a tiny budget: the JSON contract and the best-setting rule."""

from __future__ import annotations

import json

from ._load import load_bench


def test_tiny_run_writes_the_results_file(tmp_path, capsys):
    bench = load_bench("structured_cccp")
    out = tmp_path / "structured.json"
    result = bench.main(
        [
            "--sizes",
            "3x2",
            "--n-samples",
            "4",
            "--seeds",
            "2",
            "--examples-per-feature",
            "1",
            "--no-digits",
            "--json-out",
            str(out),
            "--figure",
            str(tmp_path / "time.png"),
        ]
    )
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(out.read_text()) == result
    setting = result["settings"]["synthetic_3x2"]
    assert set(setting) >= {"exact", "perturbed_n4", "space_size"}
    assert len(setting["exact"]["test_errors"]) == 2
    gap = 100 * (setting["perturbed_n4"]["test_error_mean"] - setting["exact"]["test_error_mean"])
    assert setting["perturbed_n4"]["error_gap_pts"] == result["error_gap_pts"] == gap
    assert result["speedup"] == setting["exact"]["seconds_mean"] / setting["perturbed_n4"]["seconds_mean"]
    assert (tmp_path / "time.png").stat().st_size > 0


def test_best_setting_prefers_speed_within_one_point():
    bench = load_bench("structured_cccp")
    settings = {
        "a": {"p1": {"speedup": 50.0, "error_gap_pts": 3.0}, "p2": {"speedup": 12.0, "error_gap_pts": 0.5}},
        "b": {"p1": {"speedup": 20.0, "error_gap_pts": 0.9}, "space_size": 4},
    }
    assert bench.best_setting(settings)["speedup"] == 20.0
    settings = {"a": {"p1": {"speedup": 50.0, "error_gap_pts": 3.0}, "p2": {"speedup": 12.0, "error_gap_pts": 2.0}}}
    best = bench.best_setting(settings)
    assert best["error_gap_pts"] == 2.0 and not best["within_1pt"]
