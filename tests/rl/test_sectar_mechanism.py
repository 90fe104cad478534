"""The skills' mechanism (zspace.rl.sectar.mechanism) on hand-set policies and a tiny training run."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch
from torch.distributions import Categorical

from zspace.rl.envs import WaypointsConfig
from zspace.rl.sectar.mechanism import measure_mechanism, uniform_policy
from zspace.rl.sectar.model import SeCTAR, SectarConfig
from zspace.rl.sectar.train import train_sectar

from .test_sectar_train import ENV_KWARGS as TRAIN_KWARGS
from .test_sectar_train import TINY

ENV = "zspace/Waypoints-v0"
ENV_KWARGS = {"config": WaypointsConfig(segment_len=10, n_segments=2)}
STARTS = np.zeros((6, 2), dtype=np.float32)  # the centre: no wall within 10 moves of 0.2 m


def model() -> SeCTAR:
    torch.manual_seed(0)
    config = SectarConfig(z_size=2, hidden=8, encoder_layers=1, decoder_hidden=(8,), policy_hidden=(8,))
    with gymnasium.make(ENV, **ENV_KWARGS) as env:
        return SeCTAR(config.for_env(env))


def hold(model: SeCTAR, by_z: bool) -> None:
    """Make the policy take one move for the whole segment: the one z's sign picks (by_z), or a uniform one."""

    def distribution(obs, cond):
        logits = torch.zeros(len(obs), 4)
        if by_z:
            logits[:, 0] = torch.where(cond[:, 0] > 0, 50.0, -50.0)  # right when z_0 > 0, else one of the other three
            logits[:, 1] = torch.where(cond[:, 0] > 0, 0.0, 50.0)  # up
        return Categorical(logits=logits)

    model.policy.distribution = distribution


def test_a_policy_that_follows_z_goes_far_and_z_explains_its_ends():
    m = model()
    hold(m, by_z=True)
    result = measure_mechanism(m, ENV, STARTS, uniform_policy(m.config.action_space), latents=4, repeats=3, env_kwargs=ENV_KWARGS)
    assert result.policy_m == pytest.approx(2.0)  # 10 moves of 0.2 m, every rollout
    assert result.z_share == pytest.approx(1.0)  # the repeats of one latent end at the same place
    assert result.random_m < 1.2 and result.explorer_m < 1.2  # a random walk of 10 moves: ~0.2 sqrt(10 pi / 4)
    assert result.end_error_m >= abs(result.policy_m - result.decoded_m) - 1e-6 and -1 <= result.cosine <= 1
    assert result.kl_nats > 0


def test_a_policy_that_ignores_z_leaves_nothing_for_z_to_explain():
    m = model()
    hold(m, by_z=False)
    result = measure_mechanism(m, ENV, STARTS, uniform_policy(m.config.action_space), latents=4, repeats=3, env_kwargs=ENV_KWARGS)
    assert result.policy_m < 1.2 and abs(result.z_share) < 0.3


def test_the_measurement_is_seeded_and_leaves_the_global_rng_alone():
    m = model()
    state = torch.get_rng_state()
    a = measure_mechanism(m, ENV, STARTS, uniform_policy(m.config.action_space), seed=3, env_kwargs=ENV_KWARGS)
    assert torch.equal(torch.get_rng_state(), state)
    assert a == measure_mechanism(m, ENV, STARTS, uniform_policy(m.config.action_space), seed=3, env_kwargs=ENV_KWARGS)
    with pytest.raises(ValueError, match="repeats >= 2"):
        measure_mechanism(m, ENV, STARTS, uniform_policy(m.config.action_space), repeats=1, env_kwargs=ENV_KWARGS)


def test_training_measures_every_n_iterations_and_at_the_end_without_changing_the_run(tmp_path):
    kwargs = {
        "total_env_steps": 300,
        "seed": 1,
        "config": TINY,
        "env_kwargs": TRAIN_KWARGS,
    }  # 3 x 92 steps, then one of planning only
    plain_model, plain = train_sectar(ENV, **kwargs)
    measured_model, curve = train_sectar(ENV, measure_every=3, **kwargs)
    assert [(m["iteration"], m["env_steps"]) for m in curve.mechanism] == [(3, 276), (4, 300)]
    assert set(curve.mechanism[0]) >= {"random_m", "explorer_m", "policy_m", "decoded_m", "cosine", "z_share"}
    assert curve.returns == plain.returns and curve.last["sectar/loss"] == plain.last["sectar/loss"]
    for p, q in zip(plain_model.parameters(), measured_model.parameters(), strict=True):
        assert torch.equal(p, q)
    # a finished run resumed from its state is measured at its last iteration, once
    train_sectar(ENV, state_dir=tmp_path, **kwargs)
    _, resumed = train_sectar(ENV, state_dir=tmp_path, measure_every=5, **kwargs)
    assert [m["iteration"] for m in resumed.mechanism] == [4]
