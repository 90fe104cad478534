"""SeCTAR + latent MPC vs state-space MPC, flat PPO, PPO + count bonus and RL over skills, with the
true-dynamics oracle as the upper bound: the authors' terms (Co-Reyes et al., ICML 2018, sec. 6).

The claim: on long-horizon, sparse-reward, multi-stage tasks, planning in the learned latent space
of trajectories earns far more than flat RL, model-based planning in state space and exploration
baselines at the same number of environment steps. Defaults are the authors' terms: their task
layouts (``layout="uniform"``, one fixed layout per seed, ``layout_seed = seed``, as their goal
files), planners scored by the sparse task reward alone (``--shaping none``), SeCTAR's ``paper``
preset and the state MPC of ``MPCConfig.for_task`` (K 2048). The paper sizes need an accelerator;
``--sectar-preset cpu --mpc-paths 256`` is the CPU-feasible variant (same K for both planners),
labelled in every result. ``--layout walk`` runs our earlier, easier layouts (also labelled).

Scoring: a learning method's return is the mean return of the episodes it recorded in the last
fifth of its budget (the last record before, if none); the oracle, which does not learn, scores
the mean of its ``--oracle-episodes`` episodes. Then mean and std over seeds. The baselines observe
the stage index (``include_stage="index"``, as the paper's); the planners track the stage
themselves. ``skills_ppo`` trains a high-level PPO over the frozen policy of the SeCTAR run of
the same seed for the whole budget (SeCTAR's own steps not charged: a generous baseline).

Runs are parts: ``--merge`` replaces only the (env, method, seed) runs this invocation made and
keeps every other run of the file, each with the command that made it; ``"authors"`` in the file
is ``{env_id: {method: {"mean", "std", "seeds"}}}`` over the uniform-layout runs.

    python bench/sectar.py --envs zspace/Waypoints-v0 --methods oracle --merge --json-out docs/benchmarks/sectar.json
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_common` beside this file, also when imported by path
from _common import command_line, emit_json, parse_args

from zspace.core.io import atomic_write_text

METHODS = ("sectar", "mpc", "oracle", "ppo", "ppo_count", "skills_ppo")
ENVS = "zspace/Waypoints-v0,zspace/Wheeled-v1,zspace/Blocks-v0"
SHARES = ("time_share/", "activity_share/")  # SeCTAR's shares of its loop's wall time (train_sectar)
KEPT = ("mechanism", "tiebreak", "diagnosis")  # sections of the results file that other benches write; --merge keeps them


@dataclass
class Args:
    """SeCTAR vs its baselines and the oracle on the authors' sparse multi-stage tasks."""

    envs: str = ENVS
    methods: str = ",".join(METHODS)
    seeds: int = 3
    first_seed: int = 0  # run seeds first_seed .. first_seed + seeds - 1 (parts of a long experiment)
    budget: int = 300_000  # environment steps per learning method and seed
    layout: str = "uniform"  # the authors' layouts; "walk" is ours (labelled)
    shaping: str = "none"  # both planners' objective: the sparse task reward (authors); "distance" is our tie-break
    sectar_preset: str = "paper"  # zspace.rl.sectar.config.PRESETS: "paper" (the authors') or "cpu" (ours, labelled)
    kl_weight: float = 0.0  # > 0: SeCTAR's KL weight instead of its preset's (labelled "kl=W", row sectar..._klW)
    state_dir: str = ""  # SeCTAR keeps its training state in STATE_DIR/<run> and resumes from it (raise --budget to go on)
    mpc_paths: int = 0  # K of the state MPC and the oracle; 0 = the authors' 2048
    mpc_horizon: int = 0  # planned steps of the state MPC and the oracle; 0 = the authors' (MPCConfig.for_task)
    oracle_episodes: int = 10
    device: str = "cpu"  # SeCTAR's and the state MPC's torch device
    time_limit_s: float = 0.0  # > 0: SeCTAR and the state MPC stop at the first iteration/episode past it (labelled)
    workers: int = 2  # parallel runs (processes of one torch thread each)
    quick: bool = False
    json_out: str | None = None
    merge: bool = False  # keep the (env, method, seed) runs already in --json-out that this run does not redo
    include: str = ""  # comma-separated results files of other parts whose runs are merged in too (as --merge)
    figure: str | None = None


# ---------------------------------------------------------------------------------------- runs
def variant(job: dict[str, Any]) -> str:
    """The label of a run's terms, e.g. ``layout=uniform shaping=none sectar=paper K=2048``."""
    k = job["mpc_paths"] or 2048
    parts = [f"layout={job['layout']}", f"shaping={job['shaping']}"]
    if job["method"] in ("sectar", "skills_ppo"):
        parts.append(f"sectar={job['sectar_preset']}")
        if job.get("kl_weight"):
            parts.append(f"kl={job['kl_weight']:g}")
    if job["method"] in ("mpc", "oracle"):
        parts.append(f"K={k}")
        if job.get("mpc_horizon"):
            parts.append(f"H={job['mpc_horizon']}")
    return " ".join(parts) + (" quick" if job["quick"] else "")


def _run(job: dict[str, Any]) -> list[dict[str, Any]]:
    """One (env, method, seed) run in a worker process; ``sectar`` also runs ``skills_ppo`` on its skills."""
    import torch

    torch.set_num_threads(1)
    from sectar_diagnosis import History

    import zspace.rl.envs  # noqa: F401  (registers the ids)
    from zspace.rl.baselines import flat_ppo, ppo_count_bonus
    from zspace.rl.model_based import MPCConfig, state_mpc
    from zspace.rl.oracle import oracle_mpc
    from zspace.rl.sectar.config import PRESETS
    from zspace.rl.sectar.train import SectarTrainConfig, train_sectar
    from zspace.rl.skills import skills_ppo

    env_id, method, seed, budget, quick = job["env"], job["method"], job["seed"], job["budget"], job["quick"]
    env_kwargs = {"layout_seed": seed, "layout": job["layout"], **job.get("env_kwargs", {})}
    planner = {"n_paths": job["mpc_paths"], "horizon": job.get("mpc_horizon", 0)}
    mpc = MPCConfig.for_task(env_id, shaping=job["shaping"], **{k: v for k, v in planner.items() if v})
    if quick:
        mpc = replace(mpc, n_paths=32, horizon=38, random_episodes=1, episodes_per_iter=2, epochs=2)
    curves, history = [], None
    tic = time.perf_counter()
    if method == "sectar":
        config = SectarTrainConfig.for_task(env_id, PRESETS[job["sectar_preset"]])
        config = replace(config, plan_shaping=job["shaping"])
        if job.get("kl_weight"):
            config = replace(config, model=replace(config.model, kl_weight=job["kl_weight"]))
        if quick:
            config = replace(config, plan_episodes=2, n_candidates=16, plan_horizon=2, explore_starts=4, rounds=1,
                             vae_steps=2, consistency_rollouts=4, batch_size=16)  # fmt: skip
        state_dir = None
        if job.get("state_dir"):  # one directory per run's terms: a later invocation with a larger budget goes on
            state_dir = Path(job["state_dir"]) / "_".join([env_id.split("/")[-1], f"seed{seed}", *variant(job).split()])
        history = History(state_dir)
        model, curve = train_sectar(env_id, total_env_steps=budget, seed=seed, config=config, env_kwargs=env_kwargs,
                                    device=job["device"], time_limit_s=job["time_limit_s"] or None, state_dir=state_dir,
                                    log=history.log)  # fmt: skip
        curves.append(curve)
        if job["skills"] and not curve.stopped_early:
            curves.append(skills_ppo(env_id, model, total_steps=budget, seed=seed, env_kwargs=env_kwargs,
                                     **({"num_envs": 2, "n_steps": 4} if quick else {})))  # fmt: skip
    elif method in ("ppo", "ppo_count"):
        fit = flat_ppo if method == "ppo" else ppo_count_bonus
        curves.append(fit(env_id, total_steps=budget, seed=seed, env_kwargs=env_kwargs,
                          **({"num_envs": 2, "n_steps": 64} if quick else {})))  # fmt: skip
    elif method == "mpc":
        curves.append(state_mpc(env_id, total_steps=budget, seed=seed, config=mpc, env_kwargs=env_kwargs,
                                device=job["device"], time_limit_s=job["time_limit_s"] or None)[1])  # fmt: skip
    elif method == "oracle":
        curves.append(oracle_mpc(env_id, episodes=1 if quick else job["oracle_episodes"], seed=seed, config=mpc,
                                 env_kwargs=env_kwargs))  # fmt: skip
    else:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    out = []
    for curve in curves:
        record = result_record(curve, history)
        steps = record["extra"].get("env_steps") or (record["env_steps"][-1] if record["env_steps"] else 0)
        label = variant({**job, "method": curve.method})
        if record["extra"].get("stopped_early"):  # scored on the steps it reached, and said so
            label += f" stopped at {steps} steps"
        record.update(budget=steps if record["extra"].get("stopped_early") else budget, variant=label, layout=job["layout"])
        record["env_steps_per_s"] = steps / max(record["wall_s"], 1e-9)
        out.append(record)
    print(f"done {env_id} {method} seed {seed} in {time.perf_counter() - tic:.0f} s", file=sys.stderr, flush=True)
    return out


def result_record(curve: Any, history: Any = None) -> dict[str, Any]:
    """A curve as the results file holds it; SeCTAR's measurements and ``history`` rows go into its ``extra``."""
    from zspace.rl.sectar.train import SectarCurve

    if not isinstance(curve, SectarCurve):
        return curve.to_json()
    record = {k: v for k, v in curve.to_json().items() if k in ("method", "env_id", "seed", "env_steps", "returns",
                                                                "successes", "wall_s")}  # fmt: skip
    shares = {f"time_share/{k}": v for k, v in curve.time_share.items()}
    shares |= {f"activity_share/{k}": v for k, v in curve.activity_share.items()}
    counts = {"iterations": curve.iterations, "env_steps": curve.steps_taken, "explorer_resets": curve.explorer_resets,
              "stopped_early": curve.stopped_early}  # fmt: skip
    extra = counts | curve.last | shares | ({"history": history.rows} if history is not None else {})
    return record | {"extra": extra | ({"mechanism": curve.mechanism} if curve.mechanism else {})}


def jobs(args: Args) -> list[dict[str, Any]]:
    from zspace.rl.envs import LAYOUTS
    from zspace.rl.planner import SHAPINGS
    from zspace.rl.sectar.config import PRESETS

    if args.shaping not in SHAPINGS or args.layout not in LAYOUTS or args.sectar_preset not in PRESETS:
        raise SystemExit(f"--shaping must be one of {SHAPINGS}, --layout one of {LAYOUTS}, --sectar-preset one of "
                         f"{list(PRESETS)}; got {args.shaping!r}, {args.layout!r}, {args.sectar_preset!r}")  # fmt: skip
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown --methods {unknown}; choose from {list(METHODS)}")
    if "skills_ppo" in methods and "sectar" not in methods:
        raise SystemExit("--methods skills_ppo needs sectar too (it uses the SeCTAR run's skills)")
    common = {k: getattr(args, k) for k in ("budget", "quick", "layout", "shaping", "sectar_preset", "kl_weight",
                                             "state_dir", "mpc_paths", "mpc_horizon", "oracle_episodes", "device", "time_limit_s")}  # fmt: skip
    common["skills"] = "skills_ppo" in methods
    common["env_kwargs"] = {"max_episode_steps": 76} if args.quick else {}
    out = [{"env": env_id, "method": method, "seed": seed, **common}
           for env_id in [e for e in args.envs.split(",") if e]
           for seed in range(args.first_seed, args.first_seed + args.seeds)
           for method in methods if method != "skills_ppo"]  # fmt: skip
    return sorted(out, key=lambda j: j["method"] != "sectar")  # the longest first: no straggler at the end


# ------------------------------------------------------------------------------------- scoring
def final_return(curve: dict[str, Any], budget: int | None = None) -> tuple[float, float]:
    """Mean return and success of the episodes recorded in the last fifth of the budget (the oracle: all of them)."""
    steps, returns, successes = (np.asarray(curve[k], dtype=float) for k in ("env_steps", "returns", "successes"))
    if curve.get("method") == "oracle":
        return (float(returns.mean()), float(successes.mean())) if len(returns) else (0.0, 0.0)
    budget = curve.get("budget") if budget is None else budget
    inside = steps <= budget
    last = inside & (steps > 0.8 * budget)
    if last.any():
        return float(returns[last].mean()), float(successes[last].mean())
    if inside.any():
        i = np.flatnonzero(inside)[-1]
        return float(returns[i]), float(successes[i])
    return 0.0, 0.0


def label(curve: dict[str, Any]) -> str:
    """The row name of a run: its method, marked when it ran on our terms rather than the authors'
    (``sectar_cpu`` / ``sectar_paper_small``: a preset other than "paper"; ``sectar_cpu_kl0.2``: a KL
    weight other than the preset's; ``mpc_k256`` / ``oracle_k256``: a K other than 2048; a
    ``_distance`` suffix: planned with the distance tie-break instead of the sparse reward)."""
    method, terms = curve["method"], curve.get("variant", "")
    tiebreak = "_distance" if "shaping=distance" in terms else ""  # the labelled tie-break table's rows
    if method in ("sectar", "skills_ppo"):
        preset = terms.split("sectar=")[1].split()[0] if "sectar=" in terms else "paper"
        name = method if preset == "paper" else f"{method}_{preset.replace('-', '_')}"
        return name + (f"_kl{terms.split('kl=')[1].split()[0]}" if "kl=" in terms else "") + tiebreak
    horizon = f"_h{terms.split('H=')[1].split()[0]}" if " H=" in terms else ""
    if method in ("mpc", "oracle") and "K=" in terms and ("K=2048" not in terms or horizon):
        return f"{method}_k{terms.split('K=')[1].split()[0]}{horizon}{tiebreak}"
    return method + tiebreak


def run_key(curve: dict[str, Any]) -> tuple[str, str, int, str]:
    return curve["env_id"], label(curve), curve["seed"], curve.get("layout", "uniform")


def _order(curve: dict[str, Any]) -> tuple[str, int, str, int]:
    name = label(curve)
    return curve["env_id"], METHODS.index(curve["method"]) if curve["method"] in METHODS else 99, name, curve["seed"]


def merge_curves(previous: dict[str, Any], curves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``curves`` plus the previous file's curves of every (env, method, seed, layout) this run did not redo."""
    redone = {run_key(c) for c in curves}
    kept = [c for c in previous.get("curves", []) if run_key(c) not in redone]
    for c in kept:
        c.setdefault("command", previous.get("command", ""))
        c.setdefault("budget", previous.get("budget"))
    return kept + curves


def summarize(curves: list[dict[str, Any]]) -> dict[str, Any]:
    """``{env_id: {method: {"mean", "std", "seeds", "returns", "success_mean", "variant", ...}}}`` over seeds."""
    table: dict[str, dict[str, Any]] = {}
    for curve in curves:
        entry = table.setdefault(curve["env_id"], {}).setdefault(label(curve), {"returns": [], "success": [], "wall_s": [],
                                                                                   "seeds": [], "variants": set(), "steps_per_s": []})  # fmt: skip
        ret, success = final_return(curve)
        entry["returns"].append(ret)
        entry["success"].append(success)
        entry["wall_s"].append(curve["wall_s"])
        entry["seeds"].append(curve["seed"])
        entry["variants"].add(curve.get("variant", "?"))
        entry["steps_per_s"].append(curve.get("env_steps_per_s", 0.0))
        for key, value in curve.get("extra", {}).items():  # SeCTAR's shares of wall time per phase and activity
            if key.startswith(SHARES):
                entry.setdefault(key, []).append(float(value))
        entry.setdefault("budget", curve.get("budget"))
    for methods in table.values():
        for entry in methods.values():
            entry["mean"], entry["std"] = float(np.mean(entry["returns"])), float(np.std(entry["returns"]))
            entry["success_mean"] = float(np.mean(entry["success"]))
            entry["wall_s_mean"] = float(np.mean(entry["wall_s"]))
            entry["env_steps_per_s"] = float(np.mean(entry.pop("steps_per_s")))
            entry["wall_s_per_100k_steps"] = 1e5 / entry["env_steps_per_s"] if entry["env_steps_per_s"] > 0 else None
            for key in [k for k in entry if k.startswith(SHARES)]:
                entry[key] = float(np.mean(entry[key]))
            entry["variant"] = " | ".join(sorted(entry.pop("variants")))
        baselines = [m["mean"] for k, m in methods.items() if not k.startswith(("sectar", "oracle"))]
        for name in [k for k in methods if k.startswith("sectar")]:
            if baselines:
                best = max(baselines)
                methods[name]["best_baseline_mean"] = best
                methods[name]["ratio_vs_best_baseline"] = methods[name]["mean"] / best if best > 0 else None
    return table


def print_table(table: dict[str, Any]) -> None:
    print("\nreturn at each run's budget (mean +- std over seeds; the oracle: mean over its episodes)")
    print(f"{'env':<22}{'method':<18}{'return':>16}{'success':>9}{'steps/s':>9}{'seeds':>7}  terms")
    for env, methods in table.items():
        for method, m in methods.items():
            ratio = m.get("ratio_vs_best_baseline", "")
            extra = f"  x{ratio:.2f} best baseline" if isinstance(ratio, float) else ""
            print(f"{env:<22}{method:<18}{m['mean']:>9.2f} +- {m['std']:<4.2f}{m['success_mean']:>9.2f}"
                  f"{m['env_steps_per_s']:>9.0f}{len(m['seeds']):>7}  {m['variant']}{extra}")  # fmt: skip
    rows = [(env, method, m) for env, methods in table.items() for method, m in methods.items() if "activity_share/other" in m]
    if rows:  # the activities train_sectar recorded, "other" (the rest) last
        names = {k.split("/", 1)[1] for _, _, m in rows for k in m if k.startswith("activity_share/")}
        activities = [*sorted(names - {"other"}), "other"]
        print("\nSeCTAR's wall time by activity (share of its loop; mean over seeds)")
        print(f"{'env':<22}{'method':<18}" + "".join(f"{a:>8}" for a in activities) + f"{'s/100k':>9}")
        for env, method, m in rows:
            shares = "".join(f"{m.get(f'activity_share/{a}', 0.0):>8.2f}" for a in activities)
            print(f"{env:<22}{method:<18}{shares}{m['wall_s_per_100k_steps'] or 0:>9.0f}")


def plot_curves(curves: list[dict[str, Any]], path: str | Path) -> None:
    """Return against environment steps, one panel per env, mean over seeds on a common grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({c["env_id"] for c in curves})
    fig, axes = plt.subplots(1, len(envs), figsize=(5.5 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        budget = max((c.get("budget") or 1) for c in curves if c["env_id"] == env)
        grid = np.linspace(0, budget, 41)
        for method in sorted({label(c) for c in curves if c["env_id"] == env}):
            runs = [c for c in curves if c["env_id"] == env and label(c) == method and c["env_steps"]]
            if not runs:
                continue
            if method.startswith("oracle"):
                ax.axhline(np.mean([final_return(c)[0] for c in runs]), color="k", ls="--", label="oracle")
                continue
            # mean return of each run's records in each grid cell; nothing past a run's last record (a stopped run ends there)
            edges = np.append(grid, grid[-1] + grid[1])
            ys = []
            for c in runs:
                steps, returns = np.asarray(c["env_steps"]), np.asarray(c["returns"], dtype=float)
                cell = np.digitize(steps, edges) - 1
                ys.append([returns[cell == k].mean() if (cell == k).any() else np.nan for k in range(len(grid))])
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # cells no run reached
                mean = np.nanmean(np.array(ys), axis=0)
            ax.plot(grid[~np.isnan(mean)], mean[~np.isnan(mean)], marker=".", label=method)
        ax.set(title=env.split("/")[-1], xlabel="environment steps", ylabel="episode return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def collect(args: Args, runs: list[dict[str, Any]], command: str, start: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """This invocation's ``runs`` (stamped with ``command``) merged with ``--include`` and ``--merge``: (summary, curves)."""
    curves = [{**c, "command": command} for c in runs]  # which run made it, also after a --merge
    for part in [p for p in args.include.split(",") if p]:  # other parts' runs; this invocation's own win
        curves = merge_curves(json.loads(Path(part).read_text()), curves)
    kept: dict[str, Any] = {}  # other benches' sections of the same file (bench/sectar_mechanism.py's "mechanism")
    if args.merge and args.json_out and Path(args.json_out).is_file():
        previous = json.loads(Path(args.json_out).read_text())
        curves = merge_curves(previous, curves)
        kept = {k: previous[k] for k in KEPT if k in previous}
    curves.sort(key=_order)
    authors = summarize([c for c in curves if c.get("layout", "uniform") == "uniform"])
    walk = summarize([c for c in curves if c.get("layout") == "walk"])
    result = {"authors": authors, "walk": walk, "benchmark": "sectar", "args": asdict(args),
              "commands": sorted({c.get("command", "") for c in curves} - {""}), "wall_s": time.perf_counter() - start,
              "cpus": os.cpu_count(), **kept}  # fmt: skip
    return result, curves


def write(path: str, result: dict[str, Any], curves: list[dict[str, Any]]) -> None:
    """The results file, atomically (a reader or a kill never sees half of it)."""
    atomic_write_text(path, json.dumps({**result, "curves": curves}, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv)
    if args.quick:
        args.envs, args.seeds, args.budget = "zspace/Waypoints-v0", 1, 1_000
    start = time.perf_counter()
    todo = jobs(args)
    command = command_line(__file__, argv)
    runs: list[dict[str, Any]] = []

    def finished(result: list[dict[str, Any]]) -> None:  # each finished run is in the file at once (kill-safe)
        runs.extend(result)
        if args.json_out:
            write(args.json_out, *collect(args, runs, command, start))

    if args.workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            for future in as_completed([pool.submit(_run, job) for job in todo]):
                finished(future.result())
    else:
        for job in todo:
            finished(_run(job))
    result, curves = collect(args, runs, command, start)
    print_table({**result["authors"], **{f"{k} (walk)": v for k, v in result["walk"].items()}})
    if args.figure:
        plot_curves([c for c in curves if c.get("layout", "uniform") == "uniform"], args.figure)
    if args.json_out:
        write(args.json_out, result, curves)
    emit_json(result)
    return result


if __name__ == "__main__":
    main()
