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


def test_state_mpc_part_trains_on_the_budget_keeps_its_model_and_plans_the_same_from_it(tmp_path):
    bench = load_bench("sectar_tiebreak")
    argv = ["--envs", "zspace/Waypoints-v0", "--seeds", "1", "--planners", "mpc", "--episodes", "1", "--candidates", "8",
            "--horizon", "1", "--budget", "200", "--state-dir", str(tmp_path / "state")]  # fmt: skip
    first = bench.main([*argv, "--json-out", str(tmp_path / "a.json")])["tiebreak"]["zspace/Waypoints-v0"]["mpc"]
    (saved,) = (tmp_path / "state").glob("Waypoints-v0_seed0_*mpc_k8_h19_200/model.safetensors")
    trained = json.loads((saved.parent / "curve.json").read_text())
    assert trained["env_steps"] == 200 and trained["fits"] == 1  # the budget ends in the random episodes: one final fit
    written = saved.stat().st_mtime_ns
    again = bench.main([*argv, "--json-out", str(tmp_path / "b.json")])["tiebreak"]["zspace/Waypoints-v0"]["mpc"]
    assert set(first) == {"none", "distance"} and saved.stat().st_mtime_ns == written  # loaded, not retrained
    assert all(first[s]["runs"][0]["returns"] == again[s]["runs"][0]["returns"] for s in first)
