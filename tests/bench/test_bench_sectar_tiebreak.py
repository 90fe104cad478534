"""bench/sectar_tiebreak.py: every planner's returns merged per (task, planner, objective), the file's rest kept."""

from __future__ import annotations

import json

from ._load import load_bench


def test_oracle_part_merges_both_objectives_with_the_same_k_and_h(tmp_path):
    bench = load_bench("sectar_tiebreak")
    out = tmp_path / "rl.json"
    out.write_text(json.dumps({"curves": [], "mechanism": {"x": 1}}))
    argv = ["--envs", "zspace/Waypoints-v0", "--seeds", "1", "--planners", "oracle", "--episodes", "1", "--candidates", "16"]
    bench.main([*argv, "--json-out", str(out)])
    data = json.loads(out.read_text())
    assert data["mechanism"] == {"x": 1} and data["curves"] == []
    oracle = data["tiebreak"]["zspace/Waypoints-v0"]["oracle"]
    assert set(oracle) == {"none", "distance"}
    for entry in oracle.values():
        (run,) = entry["runs"]
        assert (run["K"], run["H"], run["seed"], len(run["returns"])) == (16, 3, 0, 1) and entry["mean"] == run["mean"]
        assert "sectar_tiebreak.py" in run["command"]
