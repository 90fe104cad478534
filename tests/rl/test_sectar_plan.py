"""SeCTAR's batched planning: each episode gets the best latent for its own state and layout,
and parallel planning episodes run, count their steps and reproduce."""

from __future__ import annotations

import types

import gymnasium
import numpy as np
import torch
from torch import nn

import zspace.rl.envs  # noqa: F401 - registers the ids
from zspace.rl.envs import WaypointsConfig
from zspace.rl.sectar.config import SectarTrainConfig
from zspace.rl.sectar.model import SeCTAR, SectarConfig
from zspace.rl.sectar.plan import plan_episodes, plan_latents


class DriftModel(nn.Module):
    """A stand-in decoder: the state drifts 0.1 z[:2] per step (T = 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # gives the model a device
        self.config = types.SimpleNamespace(z_size=2, segment_len=4)

    def predict(self, s0, z):
        return s0[:, None] + 0.1 * z[:, None] * torch.arange(1, 5.0)[None, :, None]


def test_each_episode_gets_the_latent_that_heads_for_its_own_target():
    targets = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])  # one per episode

    def progress(states, stage, *, env_index, discount=1.0):
        final = states[:, -1]  # reward: closeness of the segment's end to the row's episode's target
        return -np.linalg.norm(final - targets[env_index], axis=1), stage

    z = plan_latents(DriftModel(), np.zeros((3, 2), np.float32), np.zeros(3, dtype=np.int64), horizon=2, n_candidates=256,
                     progress=progress, distance=None, shaping="none", discount=1.0,
                     generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert z.shape == (3, 2)
    direction = z / z.norm(dim=1, keepdim=True)
    assert direction[0, 0] > 0.8 and direction[1, 0] < -0.8 and direction[2, 1] > 0.8
    chunked = plan_latents(DriftModel(), np.zeros((3, 2), np.float32), np.zeros(3, dtype=np.int64), horizon=2,
                           n_candidates=256, progress=progress, distance=None, shaping="none", discount=1.0,
                           generator=torch.Generator().manual_seed(0), chunk=1)  # fmt: skip
    assert (chunked / chunked.norm(dim=1, keepdim=True) * direction).sum(dim=1).min() > 0.8  # same choices, one at a time


def test_parallel_planning_episodes_run_count_and_reproduce():
    config = SectarTrainConfig(
        model=SectarConfig(z_size=2, hidden=8, encoder_layers=1, decoder_hidden=(), policy_hidden=(8,)),
        plan_episodes=3,
        n_candidates=16,
        plan_horizon=2,
    )
    kwargs = {"config": WaypointsConfig(segment_len=4, n_segments=3), "layout_seed": 0}
    envs = gymnasium.make_vec("zspace/Waypoints-v0", num_envs=3, autoreset_mode="Disabled", **kwargs)
    torch.manual_seed(0)
    model = SeCTAR(config.model.for_env(envs)).eval()
    runs = [plan_episodes(envs, model, config, seed=s, generator=torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    first = runs[0]
    assert first.returns.shape == (3,) and first.env_steps == 3 * 12
    assert first.segment_starts.shape == (9, 2) and first.states.shape == (9, 5, 2) and first.actions.shape == (9, 4)
    np.testing.assert_array_equal(first.states, runs[1].states)
    assert not np.array_equal(first.states, runs[2].states)
    np.testing.assert_array_equal(first.states[:3, 0], first.segment_starts[:3])  # segment 0 of each episode
