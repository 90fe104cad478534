"""The RL-over-skills baseline: the latent-action env and PPO over it."""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

import zspace.rl.envs  # noqa: F401  (registers the ids)
from zspace.rl.sectar.config import PRESETS
from zspace.rl.sectar.model import SeCTAR
from zspace.rl.skills import SkillVecEnv, skills_ppo


def tiny_model(env_id: str) -> SeCTAR:
    torch.manual_seed(0)
    config = PRESETS["cpu"].model.for_env(gymnasium.make(env_id))
    return SeCTAR(config)


def test_one_skill_step_is_one_segment_of_the_frozen_policy():
    model = tiny_model("zspace/Waypoints-v0")
    envs = SkillVecEnv("zspace/Waypoints-v0", model, num_envs=3, env_kwargs={"layout_seed": 1})
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, 3) and envs.single_action_space.shape == (model.config.z_size,)
    z = np.random.default_rng(0).normal(size=(3, model.config.z_size)).astype(np.float32)
    obs, reward, terminated, truncated, _ = envs.step(z)
    np.testing.assert_array_equal(envs.inner.sim.elapsed, [19, 19, 19])
    assert not (terminated | truncated).any() and reward.shape == (3,)

    # The same segment, replayed step by step with the policy outside the env, ends in the same state.
    replay = gymnasium.make_vec("zspace/Waypoints-v0", 3, layout_seed=1)
    state, _ = replay.reset(seed=0)
    with torch.no_grad():
        for _ in range(19):
            inputs = model.policy_inputs(torch.as_tensor(state, dtype=torch.float32), torch.as_tensor(z))
            action, *_ = model.policy.get_action_and_value(*inputs, greedy=True)
            state, *_ = replay.step(action.numpy())
    np.testing.assert_allclose(obs[:, :2], state, atol=1e-6)


def test_an_episode_ending_inside_a_segment_resets_and_reports_its_final_state():
    model = tiny_model("zspace/Blocks-v0")
    envs = SkillVecEnv("zspace/Blocks-v0", model, num_envs=2, env_kwargs={"max_episode_steps": 30})
    envs.reset(seed=0)
    zeros = np.zeros((2, model.config.z_size), dtype=np.float32)
    envs.step(zeros)
    obs, _, terminated, truncated, info = envs.step(zeros)  # steps 20..30: the time limit falls at step 11 of 19
    assert truncated.all() and not terminated.any() and info["_final_obs"].all()
    np.testing.assert_array_equal(envs.inner.sim.elapsed, [0, 0])
    assert obs[:, -1].tolist() == [0.0, 0.0] and info["final_obs"].shape == obs.shape


def test_skills_ppo_counts_environment_steps_and_is_reproducible():
    model = tiny_model("zspace/Waypoints-v0")
    kwargs = {"total_steps": 19 * 2 * 10 * 2, "seed": 3, "num_envs": 2, "n_steps": 10, "hidden": (8,)}
    kwargs["env_kwargs"] = {"max_episode_steps": 95}
    first = skills_ppo("zspace/Waypoints-v0", model, **kwargs)
    second = skills_ppo("zspace/Waypoints-v0", model, **kwargs)
    assert first.method == "skills_ppo" and first.env_id == "zspace/Waypoints-v0"
    assert first.env_steps == [380, 760] and first.returns == second.returns
