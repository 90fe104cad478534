"""Smoke test of bench/sectar_mechanism.py at its --quick size: one run measured and merged into a results file."""

from __future__ import annotations

import json

from ._load import load_bench


def test_quick_run_merges_its_mechanism_and_keeps_the_rest_of_the_file(tmp_path):
    bench = load_bench("sectar_mechanism")
    out = tmp_path / "rl.json"
    out.write_text(json.dumps({"curves": [{"method": "oracle"}], "mechanism": {"zspace/Other-v0": {"cpu": {"runs": []}}}}))
    bench.main(["--quick", "--variants", "cpu", "--json-out", str(out), "--state-dir", str(tmp_path / "state")])
    data = json.loads(out.read_text())
    assert data["curves"] == [{"method": "oracle"}] and "zspace/Other-v0" in data["mechanism"]
    entry = data["mechanism"]["zspace/Waypoints-v0"]["cpu"]
    (run,) = entry["runs"]
    assert entry["seeds"] == [0] and set(entry["mean"]) == set(bench.FIELDS) and "sectar_mechanism.py" in run["command"]
    assert run["final"] == run["curve"][-1] and run["final"]["iteration"] == run["iterations"] >= 1
    assert run["final"]["random_m"] > 0 and 0 <= entry["std"]["policy_m"] == 0.0
    assert len(run["kl_curve"]) == run["iterations"]
    # a second invocation finds the finished state: nothing is retrained, the run is measured again and replaced
    bench.main(["--quick", "--variants", "cpu", "--json-out", str(out), "--state-dir", str(tmp_path / "state")])
    again = json.loads(out.read_text())["mechanism"]["zspace/Waypoints-v0"]["cpu"]
    assert len(again["runs"]) == 1 and again["runs"][0]["final"] == run["final"]


def test_an_init_ablation_gets_its_own_row_and_state_directory():
    bench = load_bench("sectar_mechanism")
    assert bench.row_name("paper-small", "") == "paper-small" and bench.row_name("paper-small", "ours") == "paper-small init=ours"
    plain, ablation = (bench.state_name("zspace/Waypoints-v0", 0, "paper-small", init) for init in ("", "ours"))
    assert plain == "Waypoints-v0_seed0_layout=uniform_shaping=none_sectar=paper-small" and ablation == plain + "_init=ours"
