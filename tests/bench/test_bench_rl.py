"""Smoke test of bench/sectar.py at its --quick size, and its scoring and merging rules."""

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
    methods = result["authors"]["zspace/Waypoints-v0"]
    assert set(methods) == set(bench.METHODS) and result["walk"] == {}
    for name, entry in methods.items():
        assert entry["seeds"] == [0] and entry["std"] == 0.0 and 0.0 <= entry["success_mean"] <= 1.0
        assert "layout=uniform shaping=none" in entry["variant"] and entry["env_steps_per_s"] > 0
        assert ("K=2048" in entry["variant"]) == (name in ("mpc", "oracle"))
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_final_return_averages_the_last_fifth_of_the_budget():
    bench = load_bench("sectar")
    curve = {"env_steps": [100, 700, 850, 950, 1200], "returns": [9.0, 1.0, 2.0, 4.0, 99.0], "successes": [0, 0, 0, 1, 1]}
    assert bench.final_return(curve, 1000) == (3.0, 0.5)  # records at 850 and 950; 1200 is past the budget
    assert bench.final_return(curve, 800) == (1.0, 0.0)  # none in (640, 800] but 700
    assert bench.final_return(curve, 50) == (0.0, 0.0)
    assert bench.final_return({**curve, "budget": 1000}) == (3.0, 0.5)  # the run's own budget
    assert bench.final_return({**curve, "method": "oracle"}) == (23.0, 0.4)  # no learning: every episode


def test_ratio_is_against_the_best_non_oracle_baseline():
    bench = load_bench("sectar")
    curves = [{"env_id": "zspace/W", "method": m, "seed": 0, "env_steps": [10], "returns": [r], "successes": [0.0],
               "wall_s": 1.0, "extra": {}, "budget": 10}
              for m, r in (("sectar", 6.0), ("ppo", 1.0), ("mpc", 2.0), ("oracle", 9.0))]  # fmt: skip
    table = bench.summarize(curves)
    assert table["zspace/W"]["sectar"]["ratio_vs_best_baseline"] == pytest.approx(3.0)
    assert table["zspace/W"]["sectar"]["best_baseline_mean"] == 2.0


def test_merge_keeps_only_the_runs_not_redone():
    bench = load_bench("sectar")

    def curve(method: str, seed: int, ret: float, layout: str = "uniform") -> dict:
        return {"env_id": "zspace/W", "method": method, "seed": seed, "env_steps": [10], "returns": [ret], "layout": layout}

    previous = {"command": "old", "curves": [curve("sectar", 0, 1.0), curve("mpc", 0, 2.0), curve("mpc", 1, 4.0),
                                             curve("mpc", 0, 7.0, "walk")]}  # fmt: skip
    merged = bench.merge_curves(previous, [curve("mpc", 0, 5.0), curve("ppo", 2, 6.0)])
    assert sorted((c["method"], c["seed"], c["layout"], c["returns"][0]) for c in merged) == [
        ("mpc", 0, "uniform", 5.0),
        ("mpc", 0, "walk", 7.0),
        ("mpc", 1, "uniform", 4.0),
        ("ppo", 2, "uniform", 6.0),
        ("sectar", 0, "uniform", 1.0),
    ]  # fmt: skip  (per (env, method, seed, layout): mpc seed 1 and the walk run are kept)
    assert {c["command"] for c in merged if c["returns"][0] in (1.0, 4.0, 7.0)} == {"old"}


def test_bad_arguments_are_refused():
    bench = load_bench("sectar")
    with pytest.raises(SystemExit, match="--layout"):
        bench.main(["--layout", "spiral", "--quick"])
    with pytest.raises(SystemExit, match="skills_ppo needs sectar"):
        bench.main(["--methods", "skills_ppo", "--quick"])


def test_runs_on_our_terms_get_their_own_rows():
    bench = load_bench("sectar")
    base = {"env_id": "zspace/W", "seed": 0}
    assert bench.label({**base, "method": "sectar", "variant": "layout=uniform shaping=none sectar=paper"}) == "sectar"
    assert bench.label({**base, "method": "sectar", "variant": "layout=uniform shaping=none sectar=cpu"}) == "sectar_cpu"
    assert (
        bench.label({**base, "method": "sectar", "variant": "layout=uniform shaping=none sectar=cpu kl=0.2"})
        == "sectar_cpu_kl0.2"
    )
    assert (
        bench.label({**base, "method": "skills_ppo", "variant": "layout=uniform shaping=none sectar=paper kl=2"})
        == "skills_ppo_kl2"
    )
    assert bench.label({**base, "method": "mpc", "variant": "layout=uniform shaping=none K=256"}) == "mpc_k256"
    assert bench.label({**base, "method": "mpc", "variant": "layout=uniform shaping=none K=2048 stopped at 9 steps"}) == "mpc"
    # every preset other than the authors' names its own row; a tie-break gets rows of its own, for every planner
    assert bench.label({**base, "method": "sectar", "variant": "layout=uniform shaping=none sectar=paper-small"}) == (
        "sectar_paper_small"
    )
    distance = {"sectar": "sectar=cpu", "mpc": "K=256", "oracle": "K=256"}
    for method, terms in distance.items():
        name = bench.label({**base, "method": method, "variant": f"layout=uniform shaping=distance {terms}"})
        assert name == {"sectar": "sectar_cpu", "mpc": "mpc_k256", "oracle": "oracle_k256"}[method] + "_distance"
    assert bench.label({**base, "method": "mpc", "variant": "layout=uniform shaping=distance K=256 H=57"}) == (
        "mpc_k256_h57_distance"
    )


def test_sectar_resumes_from_its_state_dir(tmp_path):
    bench = load_bench("sectar")
    args = bench.Args(envs="zspace/Waypoints-v0", methods="sectar", seeds=1, quick=True, kl_weight=0.5, state_dir=str(tmp_path))
    (job,) = bench.jobs(args)
    first = bench._run({**job, "budget": 700})[0]
    (state,) = tmp_path.glob("*/checkpoints/step-*/trainer_state.pt")  # the last iteration's checkpoint only
    assert "kl=0.5" in first["variant"] and "kl=0.5" in state.parents[2].name and (state.parents[2] / "history.json").is_file()
    n = len(first["env_steps"])
    assert n >= 1 and len(first["extra"]["history"]) == first["extra"]["iterations"]
    longer = bench._run({**job, "budget": 2000})[0]  # goes on from the saved iterations
    assert longer["env_steps"][:n] == first["env_steps"] and longer["returns"][:n] == first["returns"]
    assert (
        len(longer["env_steps"]) > n and longer["extra"]["history"][: len(first["extra"]["history"])] == first["extra"]["history"]
    )
