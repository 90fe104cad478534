"""SeCTAR + latent MPC vs flat PPO, PPO + count bonus, state-space MPC and RL over skills.

The claim (Co-Reyes et al., ICML 2018, sec. 6): on long-horizon, sparse-reward, multi-stage
tasks, planning in the learned latent space of trajectories earns far more than flat RL,
model-based planning in state space, and exploration baselines at the same number of
environment steps. For every environment and seed, each method trains on one fixed layout
(``layout_seed = seed``, as the authors' goal files) within ``--budget`` environment steps.

Scoring: a method's return at the budget is the mean return of the episodes it ran in the last
fifth of the budget (the last record before, if none), then mean and std over seeds. The
baselines observe the stage index (``include_stage="index"``, what the paper's baselines saw);
SeCTAR's planner tracks the stage itself. "RL over skills" (``skills_ppo``) trains a high-level
PPO for the whole budget over the frozen policy of the SeCTAR run of the same seed; the SeCTAR
training steps behind those skills are not charged to it (a generous baseline).

Runs go to a process pool (``--workers``), one torch thread each.

    python bench/sectar.py --json-out docs/benchmarks/rl.json --figure docs/figures/rl_curves.png
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_common` beside this file, also when imported by path
from _common import command_line, emit_json, parse_args

METHODS = ("sectar", "ppo", "ppo_count", "mpc", "skills_ppo")


def _bench_mpc():
    """The state-space MPC baseline at CPU size: the authors' planner searched 2048 action paths of
    190 steps per plan and refit 60 epochs; at that size one run of our budget takes hours on one
    core. 256 paths of ``--plan-segments`` x 19 steps is the same search SeCTAR's latent planner gets
    (256 candidates x that many segments), and 10 epochs per refit (warm-started) keep a run to minutes."""
    from zspace.rl.model_based import MPCConfig

    return MPCConfig(n_paths=256, random_episodes=10, epochs=10)  # horizon: --plan-segments x 19


@dataclass
class Args:
    """SeCTAR vs its baselines on sparse multi-stage tasks."""

    envs: str = "zspace/Waypoints-v0,zspace/Blocks-v0"
    methods: str = ",".join(METHODS)
    seeds: int = 3
    budget: int = 100_000  # environment steps per method and seed
    # The planners' shared objective and reach (SeCTAR's latent MPC and the state-space MPC alike): "none" is
    # the authors' sparse scorer, "distance" our tie-break (see zspace.rl.planner); segments of 19 steps ahead.
    shaping: str = "distance"
    plan_segments: int = 3
    decoder_consistency: bool = True  # SectarTrainConfig.decoder_consistency (fit the decoder to the policy's rollouts too)
    workers: int = 2  # parallel runs (processes of one torch thread each)
    quick: bool = False
    json_out: str | None = None
    merge: bool = False  # keep the (env, method) runs already in --json-out that this run does not redo
    figure: str | None = None


# ---------------------------------------------------------------------------------------- runs
def _run(job: dict[str, Any]) -> list[dict[str, Any]]:
    """One (env, method, seed) run in a worker process; ``sectar`` also runs ``skills_ppo`` on its skills."""
    import torch

    torch.set_num_threads(1)
    import zspace.rl.envs  # noqa: F401  (registers the ids)
    from zspace.rl.baselines import flat_ppo, ppo_count_bonus
    from zspace.rl.model_based import state_mpc
    from zspace.rl.sectar_train import SectarTrainConfig, train_sectar
    from zspace.rl.skills import skills_ppo

    env_id, method, seed, budget, quick = job["env"], job["method"], job["seed"], job["budget"], job["quick"]
    env_kwargs = {"layout_seed": seed, **job.get("env_kwargs", {})}
    curves = []
    if method == "sectar":
        config = SectarTrainConfig(plan_shaping=job["shaping"], plan_horizon=job["plan_segments"],
                                   decoder_consistency=job.get("decoder_consistency", True))  # fmt: skip
        if quick:
            config = replace(config, num_envs=4, n_candidates=64, plan_horizon=2, rounds=1, vae_steps=2)
        model, curve = train_sectar(env_id, total_env_steps=budget, seed=seed, config=config, env_kwargs=env_kwargs)
        curves.append(curve)
        if job["skills"]:
            curves.append(skills_ppo(env_id, model, total_steps=budget, seed=seed, env_kwargs=env_kwargs,
                                     **({"num_envs": 2, "n_steps": 4} if quick else {})))  # fmt: skip
    elif method in ("ppo", "ppo_count"):
        fit = flat_ppo if method == "ppo" else ppo_count_bonus
        curves.append(fit(env_id, total_steps=budget, seed=seed, env_kwargs=env_kwargs,
                          **({"num_envs": 2, "n_steps": 64} if quick else {})))  # fmt: skip
    elif method == "mpc":
        config = _bench_mpc()
        config = replace(config, shaping=job["shaping"], horizon=job["plan_segments"] * config.plan_every)
        config = replace(config, n_paths=64) if quick else config
        curves.append(state_mpc(env_id, total_steps=budget, seed=seed, config=config, env_kwargs=env_kwargs)[1])
    else:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    return [c.to_json() for c in curves]


def jobs(args: Args) -> list[dict[str, Any]]:
    from zspace.rl.planner import SHAPINGS

    if args.shaping not in SHAPINGS or args.plan_segments < 1:
        raise SystemExit(f"--shaping must be one of {SHAPINGS} and --plan-segments >= 1, got {args.shaping!r}, {args.plan_segments}")  # fmt: skip
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown --methods {unknown}; choose from {list(METHODS)}")
    skills = "skills_ppo" in methods
    env_kwargs = {"max_episode_steps": 76} if args.quick else {}
    out = []
    for env_id in [e for e in args.envs.split(",") if e]:
        for seed in range(args.seeds):
            for method in methods:
                if method == "skills_ppo" and "sectar" in methods:
                    continue  # runs inside the sectar job, on its model
                if method == "skills_ppo":
                    raise SystemExit("--methods skills_ppo needs sectar too (it uses the SeCTAR run's skills)")
                out.append({"env": env_id, "method": method, "seed": seed, "budget": args.budget, "quick": args.quick,
                            "skills": skills, "env_kwargs": env_kwargs, "shaping": args.shaping,
                            "plan_segments": args.plan_segments, "decoder_consistency": args.decoder_consistency})  # fmt: skip
    # the longest first, so the pool's last minutes are not one straggler
    return sorted(out, key=lambda j: j["method"] != "sectar")


# ------------------------------------------------------------------------------------- scoring
def final_return(curve: dict[str, Any], budget: int) -> tuple[float, float]:
    """Mean return and success of the episodes recorded in the last fifth of the budget."""
    steps, returns, successes = (np.asarray(curve[k], dtype=float) for k in ("env_steps", "returns", "successes"))
    inside = steps <= budget
    last = inside & (steps > 0.8 * budget)
    if last.any():
        return float(returns[last].mean()), float(successes[last].mean())
    if inside.any():
        i = np.flatnonzero(inside)[-1]
        return float(returns[i]), float(successes[i])
    return 0.0, 0.0


def merge_curves(previous: dict[str, Any], curves: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """``curves`` plus the previous file's curves of every (env, method) this run did not redo."""
    if previous.get("budget") != budget:
        raise SystemExit(f"--merge: the file's budget is {previous.get('budget')}, this run's {budget}; rerun everything")
    redone = {(c["env_id"], c["method"]) for c in curves}
    kept = [c for c in previous.get("curves", []) if (c["env_id"], c["method"]) not in redone]
    for c in kept:
        c.setdefault("command", previous.get("command", ""))
    return kept + curves


def summarize(curves: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    """``{env_name: {method: {"mean", "std", "returns", "success", "wall_s", ...}}}`` over seeds."""
    table: dict[str, dict[str, Any]] = {}
    for curve in curves:
        name = curve["env_id"].split("/")[-1]
        entry = table.setdefault(name, {}).setdefault(curve["method"], {"returns": [], "success": [], "wall_s": [], "seeds": []})
        ret, success = final_return(curve, budget)
        entry["returns"].append(ret)
        entry["success"].append(success)
        entry["wall_s"].append(curve["wall_s"])
        entry["seeds"].append(curve["seed"])
        for key, value in curve["extra"].items():
            if isinstance(value, (int, float)) and key in ("consistency_error", "plan_s"):
                entry.setdefault(key, []).append(float(value))
    for methods in table.values():
        for entry in methods.values():
            entry["mean"], entry["std"] = float(np.mean(entry["returns"])), float(np.std(entry["returns"]))
            entry["success_mean"] = float(np.mean(entry["success"]))
            entry["wall_s_mean"] = float(np.mean(entry["wall_s"]))
        baselines = [m["mean"] for k, m in methods.items() if k != "sectar"]
        if "sectar" in methods and baselines:
            best = max(baselines)
            methods["sectar"]["best_baseline_mean"] = best
            methods["sectar"]["ratio_vs_best_baseline"] = methods["sectar"]["mean"] / best if best > 0 else None
    return table


def print_table(result: dict[str, Any]) -> None:
    print(f"\nreturn at {result['budget']:,} environment steps (mean +- std over {result['seeds']} seeds)")
    print(f"{'env':<16}{'method':<12}{'return':>16}{'success':>9}{'wall s':>9}")
    for env in result["envs"]:
        for method, m in result[env].items():
            ratio = m.get("ratio_vs_best_baseline", "")
            extra = (
                f"  x{ratio:.1f} best baseline"
                if isinstance(ratio, float)
                else ("  (every baseline earns 0)" if ratio is None else "")
            )
            print(
                f"{env:<16}{method:<12}{m['mean']:>9.2f} +- {m['std']:<4.2f}{m['success_mean']:>9.2f}{m['wall_s_mean']:>9.0f}{extra}"
            )


def plot_curves(curves: list[dict[str, Any]], path: str | Path, budget: int) -> None:
    """Return against environment steps, one panel per env, mean over seeds on a common grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({c["env_id"] for c in curves})
    fig, axes = plt.subplots(1, len(envs), figsize=(5.5 * len(envs), 4), squeeze=False)
    grid = np.linspace(0, budget, 41)
    for ax, env in zip(axes[0], envs, strict=True):
        for method in METHODS:
            runs = [c for c in curves if c["env_id"] == env and c["method"] == method and c["env_steps"]]
            if not runs:
                continue
            # step function: the latest record at or before each grid point (0 before the first)
            ys = [np.array([c["returns"][i] if (i := np.searchsorted(c["env_steps"], g, "right") - 1) >= 0 else 0.0
                            for g in grid]) for c in runs]  # fmt: skip
            ax.plot(grid, np.mean(ys, axis=0), label=method)
        ax.set(title=env.split("/")[-1], xlabel="environment steps", ylabel="episode return")
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv)
    if args.quick:
        args.envs, args.seeds, args.budget = "zspace/Waypoints-v0", 1, 1_520
    start = time.perf_counter()
    todo = jobs(args)
    curves: list[dict[str, Any]] = []

    def done(result: list[dict[str, Any]]) -> None:
        curves.extend(result)
        for c in result:  # progress on stderr: a long run shows each finished (env, method, seed)
            print(f"done {c['env_id']} {c['method']} seed {c['seed']}: last returns {c['returns'][-3:]}, "
                  f"{c['wall_s']:.0f} s", file=sys.stderr, flush=True)  # fmt: skip

    if args.workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            for future in as_completed([pool.submit(_run, job) for job in todo]):
                done(future.result())
    else:
        for job in todo:
            done(_run(job))
    command = command_line(__file__, argv)
    for c in curves:
        c["command"] = command  # which run made it, also after a --merge
    if args.merge and args.json_out and Path(args.json_out).is_file():
        curves = merge_curves(json.loads(Path(args.json_out).read_text()), curves, args.budget)
    curves.sort(key=lambda c: (c["env_id"], METHODS.index(c["method"]), c["seed"]))
    table = summarize(curves, args.budget)  # the results file's shape: {env: {method: {"mean", "std", ...}}}
    result = {
        **table, "envs": list(table), "benchmark": "rl", "budget": args.budget, "seeds": args.seeds,
        "commands": sorted({c.get("command", "") for c in curves} - {""}), "wall_s": time.perf_counter() - start,
        "cpus": os.cpu_count(),
    }  # fmt: skip
    print_table(result)
    if args.figure:
        plot_curves(curves, args.figure, args.budget)
    if args.json_out:
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps({**result, "curves": curves}, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, out)
    emit_json(result)
    return result


if __name__ == "__main__":
    main()
