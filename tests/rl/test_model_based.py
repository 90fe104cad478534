"""The state-space MPC baseline: the dynamics model learns the point's moves, and the whole
loop (random data, MPC episodes, aggregation, refits) runs, counts env steps and reproduces."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

gymnasium = pytest.importorskip("gymnasium")

from zspace.errors import ConfigError
from zspace.rl.envs.waypoints import move_point
from zspace.rl.model_based import DynamicsModel, MPCConfig, fit_dynamics, model_simulator, mpc_episodes, state_mpc

TINY = MPCConfig(n_paths=32, horizon=8, plan_every=4, random_episodes=2, episodes_per_iter=2, epochs=2, hidden=(16,))
SHORT = {"max_episode_steps": 30}  # 30-step episodes: several refits within a tiny budget


def point_transitions(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random positions in the Waypoints square and random moves, through the true dynamics."""
    rng = np.random.default_rng(seed)
    states = rng.uniform(-2.8, 2.8, (n, 2))
    actions = rng.integers(0, 4, n)
    next_states = move_point(states, actions, step_size=0.2, half_width=2.8)
    return (torch.as_tensor(states, dtype=torch.float32), torch.as_tensor(actions),
            torch.as_tensor(next_states, dtype=torch.float32))  # fmt: skip


def test_dynamics_model_learns_the_point_moves():
    torch.manual_seed(0)
    space = gymnasium.spaces.Discrete(4)
    model = DynamicsModel(2, space, hidden=(64, 64))
    states, actions, next_states = point_transitions(1024, seed=0)
    model.set_normalization(states, next_states)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss = fit_dynamics(model, optimizer, states, actions, next_states, epochs=30, batch_size=128,
                        generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert loss < 0.02  # normalised delta MSE; an untrained model scores ~1
    test_states, test_actions, test_next = point_transitions(512, seed=1)
    with torch.no_grad():
        error = (model(test_states, test_actions) - test_next).abs()
    assert error.mean() < 0.02  # metres, against 0.2 m moves
    interior = (test_states.abs() < 2.5).all(dim=1)  # moves the walls do not clip
    assert error[interior].max() < 0.05


def test_dynamics_model_features_one_hot_discrete_and_pass_through_box():
    discrete = DynamicsModel(3, gymnasium.spaces.Discrete(4), hidden=(8,))
    torch.testing.assert_close(discrete.features(torch.tensor([2, 0])), torch.tensor([[0.0, 0, 1, 0], [1, 0, 0, 0]]))
    box = DynamicsModel(3, gymnasium.spaces.Box(-1, 1, (2,)), hidden=(8,))
    assert box(torch.zeros(5, 3), torch.zeros(5, 2)).shape == (5, 3)
    with pytest.raises(ConfigError, match="Discrete or a 1-D Box"):
        DynamicsModel(3, gymnasium.spaces.MultiBinary(2))


def test_state_mpc_runs_counts_steps_and_reproduces():
    model, curve = state_mpc("zspace/Waypoints-v0", total_steps=250, seed=3, config=TINY, env_kwargs=SHORT)
    assert curve.method == "mpc" and curve.env_id == "zspace/Waypoints-v0" and curve.seed == 3
    assert curve.env_steps == [30 * (i + 1) for i in range(8)]  # 8 full episodes; the cut 9th is not recorded
    assert curve.extra["random_episodes"] == 2 and curve.extra["plan_s"] > 0
    assert np.isfinite(curve.extra["model_loss"])
    assert isinstance(model, DynamicsModel)
    again_model, again = state_mpc("zspace/Waypoints-v0", total_steps=250, seed=3, config=TINY, env_kwargs=SHORT)
    assert (again.env_steps, again.returns, again.successes) == (curve.env_steps, curve.returns, curve.successes)
    assert again.extra["model_loss"] == curve.extra["model_loss"]
    for a, b in zip(model.state_dict().values(), again_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_state_mpc_plans_continuous_actions_and_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    _, curve = state_mpc("zspace/Wheeled-v0", total_steps=90, seed=0, config=TINY, env_kwargs=SHORT)
    assert curve.env_steps == [30, 60, 90] and all(np.isfinite(curve.returns))
    assert torch.equal(torch.rand(3), expected)


def test_final_fit_fits_a_model_whose_budget_ended_before_its_first_refit():
    config = dataclasses.replace(TINY, random_episodes=5)
    untrained, curve = state_mpc("zspace/Waypoints-v0", total_steps=90, seed=1, config=config, env_kwargs=SHORT)
    assert curve.extra["fits"] == 0 and not np.isfinite(curve.extra["model_loss"])
    assert torch.equal(untrained.delta_std, torch.ones(2))  # never normalised: the planner searched noise
    fitted, again = state_mpc("zspace/Waypoints-v0", total_steps=90, seed=1, config=config, env_kwargs=SHORT,
                              final_fit=True)  # fmt: skip
    assert again.extra["fits"] == 1 and np.isfinite(again.extra["model_loss"])
    assert again.env_steps == curve.env_steps and again.returns == curve.returns  # the same episodes, then the fit
    assert not torch.equal(fitted.delta_std, torch.ones(2))


def test_mpc_episodes_plan_through_a_trained_model_reproducibly_and_learn_nothing():
    model, _ = state_mpc("zspace/Waypoints-v0", total_steps=120, seed=0, config=TINY, env_kwargs=SHORT, final_fit=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    runs = [mpc_episodes("zspace/Waypoints-v0", lambda env: model_simulator(model), episodes=2, seed=7, config=TINY,
                         env_kwargs=SHORT) for _ in range(2)]  # fmt: skip
    assert runs[0].method == "mpc" and runs[0].env_steps == [30, 60]
    assert runs[0].returns == runs[1].returns and runs[0].extra["plan_s"] > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ConfigError, match="episodes must be >= 1"):
        mpc_episodes("zspace/Waypoints-v0", lambda env: model_simulator(model), episodes=0)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("n_paths", 0, "n_paths"), ("random_episodes", 0, "random_episodes"), ("shaping", "dense", "shaping")],
)
def test_mpc_config_rejects_bad_fields(field, value, match):
    with pytest.raises(ConfigError, match=f"MPCConfig.{match}"):
        MPCConfig(**{field: value})
    with pytest.raises(ConfigError, match="total_steps"):
        state_mpc("zspace/Waypoints-v0", total_steps=0)
