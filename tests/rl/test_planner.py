"""Planners: random shooting and CEM on known objectives, the shared scorer, and latent MPC's
chaining, choice and reproducibility with hand-made decoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

gymnasium = pytest.importorskip("gymnasium")

from zspace.core.config import from_dict
from zspace.errors import ConfigError
from zspace.rl.envs import waypoint_distance, waypoint_progress
from zspace.rl.model_based import MPCConfig
from zspace.rl.planner import LatentMPC, Plan, cem, random_shooting, score_states
from zspace.rl.sectar.config import SectarTrainConfig

T = 10  # steps per segment of the hand-made decoders


def linear_predict(s0: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """A straight-line 'skill': s_t = s_0 + 0.1 t z[:2], t = 1..T.  (N, 2), (N, Z) -> (N, T, 2)."""
    t = torch.arange(1, T + 1, dtype=s0.dtype)[None, :, None]
    return s0[:, None] + 0.1 * t * z[:, None, :2]


# A row of waypoints along +x; only the third pays (reward_every=3).
ROW = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]])


def row_progress(states: np.ndarray, stage: np.ndarray | int, *, discount: float = 1.0):
    """The env-style progress callable ``(states (..., L, 2), stage) -> (reward, new stage)`` of ROW."""
    return waypoint_progress(states, ROW, stage, radius=0.4, discount=discount)


def row_distance(states: np.ndarray, stage: np.ndarray) -> np.ndarray:
    """The env-style ``distance_to_go`` of ROW: metres from each state (K, 2) to its stage's waypoint."""
    return waypoint_distance(states, ROW, stage)


# --- random shooting and CEM -----------------------------------------------------------------
def test_random_shooting_returns_the_argmax_and_the_first_of_ties():
    candidates = torch.tensor([[0.0], [3.0], [1.0], [3.0]])
    best, score = random_shooting(lambda x: x[:, 0] ** 2, lambda k: candidates[:k], 4)
    assert best.item() == 3.0 and score.item() == 9.0
    index, _ = random_shooting(lambda x: (x[:, 0] == 3.0).double(), lambda k: torch.arange(k)[:, None] * 0 + candidates, 4)
    assert index.item() == 3.0
    # ties: the first maximum, i.e. index 1 of (0, 1, 0, 1)
    best, _ = random_shooting(lambda x: torch.tensor([0.0, 1.0, 0.0, 1.0]), lambda k: torch.arange(k), 4)
    assert best.item() == 1


def test_cem_finds_the_optimum_of_a_quadratic_and_returns_the_best_ever():
    optimum = torch.tensor([[1.5, -2.0, 0.5], [0.0, 3.0, -1.0]])  # (2, 3): CEM works on any event shape
    seen: list[torch.Tensor] = []

    def score(x: torch.Tensor) -> torch.Tensor:
        value = -((x - optimum) ** 2).sum(dim=(1, 2))
        seen.append(value)
        return value

    best, best_score = cem(
        score, torch.zeros(2, 3), torch.full((2, 3), 3.0), n_candidates=256, n_iters=12, elite_frac=0.1,
        generator=torch.Generator().manual_seed(0), min_std=1e-3,
    )  # fmt: skip
    assert best.shape == (2, 3)
    torch.testing.assert_close(best, optimum, atol=0.02, rtol=0)
    assert best_score == torch.cat(seen).max()  # best ever, not the last iteration's
    assert torch.isclose(best_score, score(best[None])[0])


def test_cem_is_reproducible_with_a_seeded_generator():
    def run(seed: int) -> torch.Tensor:
        score = lambda x: -(x**2).sum(-1)
        best, _ = cem(score, torch.ones(4), torch.ones(4), n_candidates=32, n_iters=3, elite_frac=0.25,
                      generator=torch.Generator().manual_seed(seed))  # fmt: skip
        return best

    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))


def test_cem_floors_the_std_when_elites_tie():
    stds: list[torch.Tensor] = []

    def flat(x: torch.Tensor) -> torch.Tensor:  # every candidate ties: elites would collapse without the floor
        stds.append(x.std(0))
        return torch.zeros(x.shape[0])

    cem(flat, torch.zeros(3), torch.ones(3), n_candidates=200, n_iters=3, elite_frac=0.005,
        generator=torch.Generator().manual_seed(0), min_std=0.5)  # fmt: skip
    assert all(s.min() > 0.35 for s in stds[1:])  # 1 elite: refitted std is 0, floored to 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"elite_frac": 0.0}, "elite_frac"), ({"n_iters": 0}, "n_iters"), ({"n_candidates": 0}, "n_candidates")],
)
def test_cem_rejects_bad_settings(kwargs, match):
    settings = {"n_candidates": 8, "n_iters": 2, "elite_frac": 0.5, "generator": None, **kwargs}
    with pytest.raises(ConfigError, match=match):
        cem(lambda x: x.sum(-1), torch.zeros(2), torch.ones(2), **settings)


# --- the shared scorer -----------------------------------------------------------------------
def test_score_states_shapings_break_ties_without_outweighing_reward():
    # (K=3, L=2, S=2): reaches waypoints 1 and 2 (no reward) / reaches nothing, ends far / ends near wp 1
    states = np.array([[[1.0, 0.0], [2.0, 0.0]], [[-2.0, 0.0], [-3.0, 0.0]], [[0.0, 0.0], [0.5, 0.0]]])
    np.testing.assert_allclose(score_states(row_progress, states, 0, shaping="none"), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(score_states(row_progress, states, 0, shaping="stage"), [2e-3, 0.0, 0.0])
    dist = score_states(row_progress, states, 0, shaping="distance", distance=row_distance)
    np.testing.assert_allclose(dist, [2e-3 - 1e-4 * 1.0, -1e-4 * 4.0, -1e-4 * 0.5])
    paying = np.array([[[3.0, 0.0], [3.0, 0.0]]])  # from stage 2, the third waypoint pays +1
    assert score_states(row_progress, paying, 2, shaping="distance", distance=row_distance)[0] == pytest.approx(1 + 1e-3 - 1e-4)
    discounted = np.array([[[0.0, 0.0], [3.0, 0.0]]])  # reached at t = 1
    assert score_states(row_progress, discounted, 2, shaping="none", discount=0.9)[0] == pytest.approx(0.9)


def test_score_states_by_segments_discounts_reward_exactly_and_stage_progress_per_segment():
    # 3 segments of 2 steps along the row: wp 1 in segment 0 (t=1), wp 2 in segment 1 (t=3), wp 3 (+1) at t=5
    states = np.array([[[0.0, 0], [1.0, 0], [1.5, 0], [2.0, 0], [2.5, 0], [3.0, 0]]])
    whole = score_states(row_progress, states, 0, shaping="none", discount=0.9)
    by_segment = score_states(row_progress, states, 0, shaping="none", discount=0.9, segment_len=2)
    assert whole[0] == pytest.approx(0.9**5) and by_segment[0] == pytest.approx(0.9**5)
    staged = score_states(row_progress, states, 0, shaping="stage", discount=0.9, segment_len=2)
    assert staged[0] == pytest.approx(0.9**5 + 1e-3 * (1 + 0.9**2 + 0.9**4))


def test_score_states_errors_name_the_option():
    states = np.zeros((1, 1, 2))
    with pytest.raises(ConfigError, match="shaping must be one of"):
        score_states(row_progress, states, 0, shaping="dense")
    with pytest.raises(ConfigError, match="needs distance"):
        score_states(row_progress, states, 0, shaping="distance")


# --- latent MPC ----------------------------------------------------------------------------
def test_rollout_chains_segments_with_one_batched_predict_call_per_segment():
    calls: list[tuple[int, ...]] = []

    def predict(s0: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(s0.shape))
        return linear_predict(s0, z)

    mpc = LatentMPC(predict, row_progress, z_size=3, horizon=3, n_candidates=5)
    latents = torch.randn(5, 3, 3, generator=torch.Generator().manual_seed(0))
    state = torch.tensor([0.5, -0.5])
    predicted = mpc.rollout(state, latents)
    assert predicted.shape == (5, 3 * T, 2) and calls == [(5, 2)] * 3
    # closed form: segment h starts at s0 + 0.1 T (z_0 + ... + z_{h-1})
    t = torch.arange(1, T + 1, dtype=torch.float32)[None, :, None]
    for h in range(3):
        start = state + 0.1 * T * latents[:, :h, :2].sum(1)
        torch.testing.assert_close(predicted[:, h * T : (h + 1) * T], start[:, None] + 0.1 * t * latents[:, h, None, :2])


@pytest.mark.parametrize("method", ["shooting", "cem"])
def test_latent_mpc_heads_for_the_rewarded_waypoint(method):
    mpc = LatentMPC(
        linear_predict, row_progress, z_size=2, horizon=2, n_candidates=512, method=method, seed=0, discount=1.0, shaping="stage"
    )
    plan = mpc.plan(np.zeros(2), 0)
    assert isinstance(plan, Plan) and plan.z.shape == (2,) and plan.latents.shape == (2, 2)
    assert plan.predicted.shape == (2 * T, 2)
    assert torch.equal(plan.z, plan.latents[0])
    reward, stage = row_progress(plan.predicted[None], 0)
    assert reward[0] == 1.0 and stage[0] >= 3  # all three waypoints, in order, within 2 segments
    assert plan.score == pytest.approx(1.0 + 1e-3 * stage[0])
    assert plan.z[0] > 0 and abs(plan.z[1]) < plan.z[0]  # heads along +x


def test_latent_mpc_stage_shaping_prefers_progress_when_no_plan_can_pay():
    # One short segment cannot reach the third waypoint; "stage" still heads for the first.
    mpc = LatentMPC(linear_predict, row_progress, z_size=2, horizon=1, n_candidates=256, shaping="stage", seed=1)
    plan = mpc.plan(np.zeros(2), 0)
    _, stage = row_progress(plan.predicted[None], 0)
    assert stage[0] >= 1 and plan.z[0] > 0


@pytest.mark.parametrize("method", ["shooting", "cem"])
def test_latent_mpc_is_reproducible_with_a_seed(method):
    def plans(seed: int) -> list[torch.Tensor]:
        mpc = LatentMPC(linear_predict, row_progress, z_size=4, horizon=3, n_candidates=64, method=method, seed=seed)
        return [mpc.plan(np.array([0.1 * i, 0.0]), 0).latents for i in range(3)]

    first, again, other = plans(3), plans(3), plans(4)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


def test_plan_horizon_override_and_bad_predict_shape():
    mpc = LatentMPC(linear_predict, row_progress, z_size=2, horizon=4, n_candidates=8)
    assert mpc.plan(np.zeros(2), 0, horizon=1).predicted.shape == (T, 2)
    broken = LatentMPC(lambda s0, z: s0, row_progress, z_size=2, horizon=2, n_candidates=8)
    with pytest.raises(ValueError, match="predict must return"):
        broken.plan(np.zeros(2), 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "mppi"}, "method must be"),
        ({"shaping": "dense"}, "shaping must be"),
        ({"shaping": "distance"}, "needs distance"),
        ({"horizon": 0}, "horizon must be"),
        ({"method": "cem", "n_candidates": 2, "cem_iters": 4}, "must be >= cem_iters"),
    ],
)
def test_latent_mpc_rejects_bad_settings(kwargs, match):
    settings = {"z_size": 2, "horizon": 2, **kwargs}
    with pytest.raises(ConfigError, match=match):
        LatentMPC(linear_predict, row_progress, **settings)


def test_config_loader_refuses_an_unknown_shaping_and_names_the_choices():
    for config, field in ((MPCConfig, "shaping"), (SectarTrainConfig, "plan_shaping")):
        assert getattr(config(), field) == "none"  # one default everywhere: the authors' sparse scorer
        with pytest.raises(ConfigError, match=r"'dense' is not one of \['none', 'stage', 'distance'\]"):
            from_dict(config, {field: "dense"}, where="config.json")
