"""Smoke test of bench/structured.py (one SGD learner, exact vs sampled oracles) with a tiny budget."""

from __future__ import annotations

import json

import pytest

from ._load import load_bench


def test_tiny_run_writes_and_merges_the_results_file(tmp_path, capsys):
    bench = load_bench("structured")
    out = tmp_path / "structured.json"
    argv = ["--quick", "--seeds", "2", "--json-out", str(out), "--figure", str(tmp_path / "err.png")]
    result = bench.main(argv)
    assert json.loads(out.read_text()) == result
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["fair_error_gap_pts"] == result["fair_error_gap_pts"] and last["problems"] == ["align_m1"]
    problem = result["problems"]["align_m1"]
    assert problem["space_size"] == 10 * 9
    names = {"exact_oracle", "sampled_n4", "sampled_n8", "sampled_n4_cache2", "sampled_n8_latent_sampled"}
    assert set(problem["curves"]) == set(problem["comparison"]) == names
    exact = problem["comparison"]["exact_oracle"]
    assert exact["speedup_to_exact_objective"]["mean"] == 1.0  # the exact learner reaches its own objective
    assert exact["final_error_gap_pts"]["mean"] == 0.0
    for runs in problem["curves"].values():
        assert len(runs) == 2 and all(len(r["seconds"]) == len(r["test_error"]) == r["epochs"] for r in runs)
    assert result["learner"] in names - {"exact_oracle", "sampled_n4_cache2", "sampled_n8_latent_sampled"}
    assert (tmp_path / "err.png").stat().st_size > 0
    again = bench.main(argv[:-2] + ["--margins", "0"])  # parts merge into the file already there
    assert set(again["problems"]) == {"align_m0", "align_m1"}


def test_time_helpers():
    bench = load_bench("structured")
    curve = {"seconds": [1.0, 2.0, 3.0], "objective": [0.9, 0.5, 0.4], "test_error": [0.5, 0.3, 0.2]}
    assert bench.at_time(curve, 2.5, "test_error") == 0.3
    assert bench.at_time(curve, 0.5, "test_error") is None
    assert bench.time_to_objective(curve, 0.5) == 2.0
    assert bench.time_to_objective(curve, 0.1) is None


def test_multiclass_problem_runs(tmp_path):
    bench = load_bench("structured")
    argv = ["--quick", "--margins", "", "--multiclass", "4x3", "--multiclass-train", "200", "--n-samples", "4"]
    result = bench.main([*argv, "--no-latent-sampled", "--cache", "0"])
    problem = result["problems"]["multiclass_4x3"]
    assert problem["space_size"] == 12 and problem["n_train"] == 200
    assert set(problem["comparison"]) == {"exact_oracle", "sampled_n4"}


def test_sequence_problem_runs():
    bench = load_bench("structured")
    argv = ["--quick", "--margins", "", "--sequences", "5", "--sequences-train", "80", "--n-samples", "4"]
    problem = bench.main([*argv, "--no-latent-sampled", "--cache", "0"])["problems"]["sequences_T5"]
    assert problem["space_size"] == 8**5 and problem["n_train"] == 80  # (C L) ** T, C = 4, L = 2
    assert set(problem["comparison"]) == {"exact_oracle", "sampled_n4"}
    exact, sampled = problem["curves"]["exact_oracle"][0], problem["curves"]["sampled_n4"][0]
    viterbi = 5 * 8 * 8  # T S^2 max-sum entries per exact call or completion; epoch 1 trains on the start latents
    assert exact["scores"][:2] == [80 * viterbi, 80 * 3 * viterbi] and sampled["scores"][:2] == [80 * 4, 80 * (8 + viterbi)]
    assert all(0.0 <= e <= 1.0 for e in exact["test_error"])  # mean Hamming loss


def test_brightest_start_and_cccp_timing(tmp_path):
    bench = load_bench("structured")
    argv = ["--quick", "--seeds", "1", "--n-samples", "4", "--cache", "0", "--no-latent-sampled"]
    result = bench.main([*argv, "--init", "brightest", "--cccp-seeds", "1"])
    problem = result["problems"]["align_m1"]
    assert problem["init"] == "brightest" and len(problem["cccp"]) == 1
    run = problem["cccp"][0]
    assert run["seconds"] > 0 and 0.0 <= run["test_error"] <= 1.0 and run["rounds"] >= 1
    with pytest.raises(SystemExit, match="brightest"):  # multiclass has no windows
        bench.main(["--quick", "--margins", "", "--multiclass", "4x3", "--multiclass-train", "200", "--init", "brightest"])


def test_learning_rate_ties_go_to_the_lower_training_objective():
    """The exact oracle gave lr 0.01 and 0.1 the same validation error; 0.01 won as the first, with f near f(0)."""
    bench = load_bench("structured")
    errors = {0.01: 0.48, 0.1: 0.48, 1.0: 0.70}
    assert bench.pick_learning_rate(errors, {0.01: 0.98, 0.1: 0.79, 1.0: 0.5}) == 0.1
    assert bench.pick_learning_rate({0.01: 0.2, 0.1: 0.3}, {0.01: 0.9, 0.1: 0.1}) == 0.01  # error first


def _summary(speedup: float, gap: float) -> dict:
    stat = lambda v: {"mean": v, "std": 0.0, "n_seeds": 1}
    return {"speedup_to_exact_objective": stat(speedup), "error_gap_pts_at_exact_time": stat(gap), "final_objective": 0.5}


def test_headline_stays_on_the_largest_alignment_problem():
    """The issue defines fair_speedup on the largest alignment problem; a larger multiclass one is reported beside it."""
    bench = load_bench("structured")
    problems = {
        name: {
            "space_size": size,
            "comparison": {"exact_oracle": _summary(1.0, 0.0), "sampled_n10": _summary(speedup, 0.5)},
            "curves": {"exact_oracle": [{"converged": True}]},
        }
        for name, size, speedup in [("align_m2", 250, 2.0), ("align_m10", 4410, 3.0), ("multiclass_100x100", 10_000, 20.0)]
    }
    head = bench.headline(problems)
    assert head["problem"] == "align_m10" and head["fair_speedup"] == 3.0 and not head["goal_met"]
    del problems["align_m2"], problems["align_m10"]  # no alignment problem: the largest one
    assert bench.headline(problems)["problem"] == "multiclass_100x100"


def test_versus_cccp_pairs_each_learner_with_cccp_per_seed():
    """The paper's comparison: error gaps in points and CCCP's seconds over the learner's, on the seeds CCCP ran."""
    bench = load_bench("structured")
    run = {"test_error": [0.30, 0.10], "seconds": [0.5, 2.0]}
    problems = {
        "align_m2": {"cccp": [{"test_error": 0.08, "seconds": 400.0}], "curves": {"sampled_n40": [run, run]}},
        "align_m10": {"cccp": [], "curves": {"sampled_n40": [run]}},
    }
    versus = bench.versus_cccp(problems)
    assert list(versus) == ["align_m2"]  # no CCCP runs, no comparison
    learner = versus["align_m2"]["learners"]["sampled_n40"]
    assert learner["seeds"] == 1
    assert learner["error_gap_pts"] == pytest.approx([2.0]) and learner["cccp_seconds_over_learner"] == pytest.approx([200.0])
