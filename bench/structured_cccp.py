"""LEGACY (kept for the record, see bench/structured.py for the fair comparison): exact CCCP vs the randomized learner.

The claim (Bello & Honorio, NeurIPS 2018): replacing the max over all (y, h) by a max over a few
sampled pairs keeps the test error and trains much faster. For every synthetic setting (classes
C x latent sub-classes L) and seed, both learners train on the same split with the same alpha and
the same initial latents; the randomized one for each n in --n-samples. On digits with latent
shifts a non-latent SSVM (one window = the whole canvas) and logistic regression give context.

    python bench/structured_cccp.py --sizes 5x4,10x5,20x10 --seeds 3 --json-out docs/benchmarks/structured_cccp.json
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_common` beside this file, also when imported by path
from _common import command_line, emit_json, parse_args, write_json

from zspace.structured import LatentMulticlass, fit_exact, fit_perturbed, make_shifted_digits, make_synthetic
from zspace.structured.datasets import train_test_split


@dataclass
class Args:
    """Exact vs randomized latent SSVM."""

    sizes: str = "5x4,10x5,20x10,40x10"  # C x L settings of the synthetic problem
    n_samples: str = "10,40"  # |T_i| of the randomized learner
    seeds: int = 3
    n_input_features: int = 10
    examples_per_feature: float = 3.0  # training examples per weight (at least 2000)
    alpha: float = 1e-3
    digits: bool = True
    quick: bool = False
    json_out: str | None = None
    figure: str | None = None


def _error(problem, w, X, Y) -> float:
    return float(problem.losses(Y, problem.batch_inference(w, X)[0]).mean())


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def _summary(errors: list[float], seconds: list[float]) -> dict[str, Any]:
    return {
        "test_error_mean": float(np.mean(errors)),
        "test_error_std": float(np.std(errors)),
        "seconds_mean": float(np.mean(seconds)),
        "seconds_std": float(np.std(seconds)),
        "test_errors": errors,
        "seconds": seconds,
    }


def run_setting(problem, splits, args: Args, n_values: list[int], extra: dict | None = None) -> dict[str, Any]:
    """Both learners on every seed's split: {method: summary}; the split is fixed per seed."""
    runs: dict[str, tuple[list, list]] = {"exact": ([], [])} | {f"perturbed_n{n}": ([], []) for n in n_values}
    for seed, ((X, Y), (X_test, Y_test)) in enumerate(splits):
        H0 = problem.initial_latents(X, Y, np.random.default_rng(seed))  # the same start for every learner
        result, seconds = _timed(fit_exact, problem, X, Y, alpha=args.alpha, H_init=H0, seed=seed)
        runs["exact"][0].append(_error(problem, result.w, X_test, Y_test))
        runs["exact"][1].append(seconds)
        for n in n_values:
            result, seconds = _timed(fit_perturbed, problem, X, Y, alpha=args.alpha, n_samples=n, H_init=H0, seed=seed)
            runs[f"perturbed_n{n}"][0].append(_error(problem, result.w, X_test, Y_test))
            runs[f"perturbed_n{n}"][1].append(seconds)
    out = {name: _summary(*values) for name, values in runs.items()}
    for name, summary in out.items():
        if name != "exact":
            summary["speedup"] = out["exact"]["seconds_mean"] / summary["seconds_mean"]
            summary["error_gap_pts"] = 100 * (summary["test_error_mean"] - out["exact"]["test_error_mean"])
    return out | (extra or {})


def synthetic_settings(args: Args, n_values: list[int]) -> dict[str, Any]:
    settings = {}
    for size in args.sizes.split(","):
        C, L = (int(v) for v in size.lower().split("x"))
        n_train = max(2000, int(args.examples_per_feature * C * L * args.n_input_features))
        splits, problem = [], None
        for seed in range(args.seeds):
            data = make_synthetic(n_train + 1000, C, L, args.n_input_features, noise=0.0, seed=seed)
            problem = data.problem
            splits.append(((data.X[:n_train], data.Y[:n_train]), (data.X[n_train:], data.Y[n_train:])))
        print(f"synthetic {C}x{L}: {n_train} train examples, {problem.n_features} weights", file=sys.stderr, flush=True)
        settings[f"synthetic_{C}x{L}"] = run_setting(
            problem, splits, args, n_values, {"space_size": C * L, "n_train": n_train, "n_features": problem.n_features}
        )
    return settings


def digits_setting(args: Args, n_values: list[int]) -> dict[str, Any]:
    """Digits at a random offset in a 12x12 canvas; latent = the 8x8 window's position (25 shifts)."""
    from sklearn.linear_model import LogisticRegression

    data = make_shifted_digits(margin=2, seed=0, n_samples=600 if args.quick else None)
    splits = [train_test_split(data, 0.25, seed) for seed in range(args.seeds)]
    print(f"digits-shift: {len(data.X)} images, {data.problem.n_latent} shifts", file=sys.stderr, flush=True)
    out = run_setting(data.problem, splits, args, n_values, {"space_size": data.problem.n_classes * data.problem.n_latent})
    flat = LatentMulticlass(n_classes=10, n_latent=1, n_input_features=data.X[0].size)  # a non-latent multiclass SSVM
    context: dict[str, tuple[list, list]] = {"non_latent_ssvm": ([], []), "logistic_regression": ([], [])}
    for (X, Y), (X_test, Y_test) in splits:
        Xf, Xf_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)
        result, seconds = _timed(fit_exact, flat, Xf, Y, alpha=args.alpha, H_init=np.zeros(len(Y), dtype=int))
        context["non_latent_ssvm"][0].append(_error(flat, result.w, Xf_test, Y_test))
        context["non_latent_ssvm"][1].append(seconds)
        model, seconds = _timed(LogisticRegression(max_iter=2000).fit, Xf, Y)
        context["logistic_regression"][0].append(float(np.mean(model.predict(Xf_test) != Y_test)))
        context["logistic_regression"][1].append(seconds)
    return {"digits_shift": out | {name: _summary(*values) for name, values in context.items()}}


def best_setting(settings: dict[str, Any]) -> dict[str, Any]:
    """The largest speed-up among (setting, n) with error within 1 point of exact; else the smallest gap."""
    candidates = [
        (name, method, s)
        for name, setting in settings.items()
        for method, s in setting.items()
        if isinstance(s, dict) and "speedup" in s
    ]
    within = [c for c in candidates if c[2]["error_gap_pts"] <= 1.0]
    name, method, s = (
        max(within, key=lambda c: c[2]["speedup"]) if within else min(candidates, key=lambda c: c[2]["error_gap_pts"])
    )
    return {
        "setting": name,
        "method": method,
        "speedup": s["speedup"],
        "error_gap_pts": s["error_gap_pts"],
        "within_1pt": bool(within),
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"{'setting':<22}{'method':<20}{'test error (%)':>18}{'seconds':>14}{'speedup':>9}{'gap (pts)':>11}")
    for name, setting in result["settings"].items():
        for method, s in setting.items():
            if not isinstance(s, dict):
                continue
            err = f"{100 * s['test_error_mean']:.2f} +- {100 * s['test_error_std']:.2f}"
            extra = f"{s['speedup']:9.1f}{s['error_gap_pts']:+11.2f}" if "speedup" in s else ""
            print(f"{name:<22}{method:<20}{err:>18}{s['seconds_mean']:14.2f}{extra}")
    best = result["best"]
    print(f"best: {best['setting']} {best['method']}: {best['speedup']:.1f}x faster, {best['error_gap_pts']:+.2f} pts")


def plot_time(result: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    synthetic = {k: v for k, v in result["settings"].items() if k.startswith("synthetic")}
    sizes = [v["space_size"] for v in synthetic.values()]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method in next(iter(synthetic.values())):
        if isinstance(synthetic[next(iter(synthetic))][method], dict):
            ax.errorbar(
                sizes,
                [v[method]["seconds_mean"] for v in synthetic.values()],
                yerr=[v[method]["seconds_std"] for v in synthetic.values()],
                marker="o",
                label=method,
                capsize=3,
            )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="|Y| x |H| (classes x latent sub-classes)",
        ylabel="training seconds",
        title="latent SSVM training time",
    )
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv)
    if args.quick:
        args.sizes, args.seeds, args.examples_per_feature = "5x4,10x5", 1, 2.0
    n_values = [int(n) for n in args.n_samples.split(",")]
    settings = synthetic_settings(args, n_values)
    if args.digits:
        settings |= digits_setting(args, n_values)
    result = {
        "benchmark": "structured",
        "command": command_line(__file__, argv),
        "alpha": args.alpha,
        "seeds": args.seeds,
        "settings": settings,
        "best": best_setting(settings),
    }
    result |= {"speedup": result["best"]["speedup"], "error_gap_pts": result["best"]["error_gap_pts"]}
    print_table(result)
    if args.figure:
        plot_time(result, args.figure)
    write_json(args.json_out, result)
    emit_json(result)
    return result


if __name__ == "__main__":
    main()
