"""The SeCTAR view: the task's (x, y) plane, one latent's predicted vs executed segment, planning episodes.

Positions are the first two state entries (every zspace env puts the agent's position
first, as :mod:`zspace.rl.figures` draws them), in metres. One environment is shared by the
requests of a run, so a lock serialises its use. Planning episodes are recorded once per seed
and kept (a few), so the page can replay one step by step without planning it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zspace.rl.policy import sample_action
from zspace.rl.sectar.run import load_run
from zspace.rl.sectar.train import SectarTrainConfig, plan_episode
from zspace.serve.errors import require

KEPT_EPISODES = 4


def _xy(states: np.ndarray) -> list[list[float]]:
    return np.asarray(states)[:, :2].round(4).tolist()


class SectarView:
    """A trained SeCTAR, its environment and training config."""

    def __init__(self, model: Any, env: Any, config: SectarTrainConfig, env_id: str) -> None:
        self.model = model.eval()
        self.env = env
        self.config = config
        self.env_id = env_id
        self.z_size = model.config.z_size
        self.segment_len = model.config.segment_len
        self.lock = threading.Lock()
        self.episodes: OrderedDict[int, dict[str, Any]] = OrderedDict()

    @classmethod
    def from_run(cls, run_dir: Path) -> SectarView:
        import gymnasium

        import zspace.rl.envs  # noqa: F401  (registers the ids)

        run = load_run(run_dir)
        return cls(run.model, gymnasium.make(run.env_id, **run.env_kwargs), run.config, run.env_id)

    def _half_width(self) -> float:
        sim = self.env.unwrapped.sim
        return float(getattr(sim.config, "half_width", np.abs(sim.single_observation_space.high[:2]).max()))

    def _scene(self, stage: int = 0) -> dict[str, Any]:
        return {"targets": _xy(self.env.unwrapped.sim.targets[0]), "stage": stage, "half_width": self._half_width()}

    def info(self) -> dict[str, Any]:
        return {"env_id": self.env_id, "z_size": self.z_size, "segment_len": self.segment_len}

    @torch.no_grad()
    def segment(self, seed: int, z: list[float]) -> dict[str, Any]:
        """From the start state of ``env.reset(seed)``: the decoder's predicted segment for latent z
        ((T, 2) positions) beside the one the policy executes with z (greedy actions, (T + 1, 2))."""
        require(len(z) == self.z_size, f"'z' must have z_size={self.z_size} numbers, got {len(z)}")
        code = torch.tensor([z], dtype=torch.float32)  # (1, Z)
        with self.lock:
            obs, info = self.env.reset(seed=seed)
            scene = self._scene(int(info["stage"]))
            predicted = self.model.predict(torch.as_tensor(obs, dtype=torch.float32)[None], code)[0].numpy()  # (T, S)
            states = [obs]
            for _ in range(self.segment_len):
                dist = self.model.policy.distribution(*self.model.policy_inputs(torch.as_tensor(states[-1])[None], code))
                action = sample_action(dist, greedy=True)[0].numpy()
                obs, _, terminated, truncated, _ = self.env.step(action)
                states.append(obs)
                if terminated or truncated:
                    break
        executed = np.stack(states)
        gap = np.linalg.norm(predicted[: len(executed) - 1, :2] - executed[1:, :2], axis=1)  # metres per step
        return {
            **scene, "start": _xy(executed[:1])[0], "predicted": _xy(predicted), "executed": _xy(executed),
            "mean_gap_m": float(gap.mean()),
        }  # fmt: skip

    def episode(self, seed: int) -> dict[str, Any]:
        """One latent-MPC episode (recorded once per seed): per segment, the plan and the states it visited."""
        if seed in self.episodes:
            self.episodes.move_to_end(seed)
            return self.episodes[seed]
        segments: list[dict[str, Any]] = []
        t = self.segment_len

        def on_segment(plan: Any, states: np.ndarray, stage: int) -> None:
            segments.append({
                "executed": _xy(states), "planned": _xy(plan.predicted[:t]), "planned_rest": _xy(plan.predicted[t:]),
                "stage": stage, "score": float(plan.score),
            })  # fmt: skip

        with self.lock:
            total, success, *_ = plan_episode(self.env, self.model, self.config, seed=seed, on_segment=on_segment)
            targets = _xy(self.env.unwrapped.sim.targets[0])
        record = {"targets": targets, "half_width": self._half_width(), "segments": segments, "return": total, "success": success}
        self.episodes[seed] = record
        while len(self.episodes) > KEPT_EPISODES:
            self.episodes.popitem(last=False)
        return record


__all__ = ["SectarView"]
