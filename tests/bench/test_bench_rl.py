"""Smoke test of bench/sectar.py (`zspace bench rl`) at its --quick size, and its scoring rule."""

from __future__ import annotations

import json

import pytest

from ._load import load_bench


def test_quick_run_writes_the_results_file(tmp_path, capsys):
    bench = load_bench("sectar")
    out = tmp_path / "rl.json"
    result = bench.main(["--quick", "--workers", "1", "--json-out", str(out), "--figure", str(tmp_path / "curves.png")])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result and {k: v for k, v in json.loads(out.read_text()).items() if k != "curves"} == result
    methods = result["Waypoints-v0"]
    assert set(methods) == set(bench.METHODS)
    for entry in methods.values():
        assert len(entry["returns"]) == 1 and entry["std"] == 0.0 and 0.0 <= entry["success_mean"] <= 1.0
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_final_return_averages_the_last_fifth_of_the_budget():
    bench = load_bench("sectar")
    curve = {"env_steps": [100, 700, 850, 950, 1200], "returns": [9.0, 1.0, 2.0, 4.0, 99.0], "successes": [0, 0, 0, 1, 1]}
    assert bench.final_return(curve, 1000) == (3.0, 0.5)  # records at 850 and 950; 1200 is past the budget
    assert bench.final_return(curve, 800) == (1.0, 0.0)  # none in (640, 800] but 700
    assert bench.final_return(curve, 50) == (0.0, 0.0)


def test_ratio_is_against_the_best_baseline():
    bench = load_bench("sectar")
    curves = [{"env_id": "zspace/W", "method": m, "seed": 0, "env_steps": [10], "returns": [r], "successes": [0.0],
               "wall_s": 1.0, "extra": {}} for m, r in (("sectar", 6.0), ("ppo", 1.0), ("mpc", 2.0))]  # fmt: skip
    table = bench.summarize(curves, 10)
    assert table["W"]["sectar"]["ratio_vs_best_baseline"] == pytest.approx(3.0)
    assert table["W"]["sectar"]["best_baseline_mean"] == 2.0


def test_merge_keeps_only_the_runs_not_redone():
    bench = load_bench("sectar")

    def curve(method: str, seed: int, ret: float) -> dict:
        return {"env_id": "zspace/W", "method": method, "seed": seed, "env_steps": [10], "returns": [ret]}

    previous = {"budget": 10, "command": "old", "curves": [curve("sectar", 0, 1.0), curve("mpc", 0, 2.0), curve("ppo", 0, 3.0)]}
    merged = bench.merge_curves(previous, [curve("mpc", 0, 5.0), curve("mpc", 1, 6.0)], 10)
    assert sorted((c["method"], c["seed"], c["returns"][0]) for c in merged) == [
        ("mpc", 0, 5.0), ("mpc", 1, 6.0), ("ppo", 0, 3.0), ("sectar", 0, 1.0)
    ]  # fmt: skip
    assert {c["command"] for c in merged if c["method"] != "mpc"} == {"old"}
    with pytest.raises(SystemExit, match="budget"):
        bench.merge_curves(previous, [], 20)
