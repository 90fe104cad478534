"""Pictures of a trained SeCTAR: one planning episode as a GIF, and its skills from a common start.

Both draw the (x, y) plane of the task (every zspace env puts the agent's position first in the
state) with matplotlib, off-screen. ``episode_gif``: one frame per segment, showing the targets
(the current one highlighted), the path executed so far, and the plan the MPC chose at that
segment (its first latent, which is executed, solid; the rest of the horizon faint).
``skills_figure``: latents z ~ N(0, I) decoded from the episode's start state (the decoder's
prediction, solid) next to what the policy actually does with the same z (dotted): the gap
between the two is SeCTAR's consistency error, drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from zspace.rl.sectar.model import SeCTAR
from zspace.rl.sectar.train import SectarTrainConfig, plan_episode

__all__ = ["episode_gif", "skills_figure"]


def _figure(half_width: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 4), dpi=80)
    ax = fig.add_subplot()
    ax.set(xlim=(-half_width, half_width), ylim=(-half_width, half_width), aspect="equal", xticks=[], yticks=[])
    return fig, ax


def _half_width(env: Any) -> float:
    sim = env.unwrapped.sim
    return float(getattr(sim.config, "half_width", np.abs(sim.single_observation_space.high[:2]).max())) + 0.2


def _draw_targets(ax: Any, targets: np.ndarray, stage: int) -> None:
    ax.plot(targets[:, 0], targets[:, 1], color="0.8", lw=0.8, zorder=1)
    done, todo = targets[:stage], targets[stage + 1 :]
    ax.scatter(done[:, 0], done[:, 1], s=18, color="tab:green", zorder=2)
    ax.scatter(todo[:, 0], todo[:, 1], s=18, color="0.6", zorder=2)
    if stage < len(targets):
        ax.scatter(*targets[stage], s=60, color="tab:orange", zorder=3)


def _frame(fig: Any) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def episode_gif(env: Any, model: SeCTAR, config: SectarTrainConfig, path: str | Path, *, seed: int = 0) -> Path:
    """Run one planning episode and write it as a GIF (one frame per segment, 2 frames/s)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    frames: list[np.ndarray] = []
    executed: list[np.ndarray] = []
    half_width = _half_width(env)
    segment_len = model.config.segment_len

    def on_segment(plan: Any, states: np.ndarray, stage: int) -> None:
        executed.append(states[:, :2])
        fig, ax = _figure(half_width)
        FigureCanvasAgg(fig)
        _draw_targets(ax, env.unwrapped.sim.targets[0], stage)
        path_xy = np.concatenate(executed)
        ax.plot(path_xy[:, 0], path_xy[:, 1], color="tab:blue", lw=1.5, zorder=4, label="executed")
        start = states[:1, :2]
        first = np.concatenate([start, plan.predicted[:segment_len, :2]])
        rest = np.concatenate([first[-1:], plan.predicted[segment_len:, :2]])
        ax.plot(first[:, 0], first[:, 1], color="tab:red", ls="--", lw=1.5, zorder=5, label="planned (executed latent)")
        ax.plot(rest[:, 0], rest[:, 1], color="tab:red", ls=":", lw=1, alpha=0.5, zorder=5)
        ax.set_title(f"segment {len(executed)}, stage {stage}", fontsize=9)
        ax.legend(loc="lower right", fontsize=6)
        frames.append(_frame(fig))

    plan_episode(env, model, config, seed=seed, on_segment=on_segment)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=500, loop=0)
    return path


@torch.no_grad()
def skills_figure(env: Any, model: SeCTAR, path: str | Path, *, n: int = 16, seed: int = 0) -> Path:
    """``n`` skills from the start state: decoded (solid) vs executed by the policy (dotted), same colour."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    obs, _ = env.reset(seed=seed)
    z = torch.randn(n, model.config.z_size, generator=torch.Generator().manual_seed(seed))
    s0 = torch.as_tensor(obs, dtype=torch.float32)
    predicted = model.predict(s0.expand(n, -1), z).numpy()  # (n, T, S)
    fig, ax = _figure(_half_width(env))
    FigureCanvasAgg(fig)
    colors = [f"C{i % 10}" for i in range(n)]
    for i in range(n):
        start, _ = env.reset(seed=seed)
        states = [start]
        for _ in range(model.config.segment_len):
            inputs = model.policy_inputs(torch.as_tensor(states[-1], dtype=torch.float32)[None], z[i : i + 1])
            action, *_ = model.policy.get_action_and_value(*inputs, greedy=True)
            states.append(env.step(action[0].numpy())[0])
        real = np.stack(states)[:, :2]
        decoded = np.concatenate([obs[None, :2], predicted[i, :, :2]])
        ax.plot(decoded[:, 0], decoded[:, 1], color=colors[i], lw=1.5)
        ax.plot(real[:, 0], real[:, 1], color=colors[i], lw=1, ls=":")
    ax.scatter(*obs[:2], color="black", s=30, zorder=5)
    ax.set_title(f"{n} skills from one start: decoded (solid) vs executed (dotted)", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
