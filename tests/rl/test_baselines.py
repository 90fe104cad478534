"""The flat baselines: the count bonus's counts and values, and the entry points' wiring."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from zspace.errors import ConfigError
from zspace.rl import baselines
from zspace.rl.baselines import BASELINE_PPO, CountBonus, flat_ppo, ppo_count_bonus


def test_count_bonus_decays_as_one_over_sqrt_visits() -> None:
    bonus = CountBonus(cell_size=0.5, beta=0.2)
    states = np.array([[0.1, 0.1, 9.0], [0.4, 0.2, -9.0], [-0.1, 0.1, 0.0]])  # same cell, same cell, cell (-1, 0)
    np.testing.assert_allclose(bonus.update(states), [0.2, 0.2 / np.sqrt(2), 0.2])
    np.testing.assert_allclose(bonus.update(states[:1]), [0.2 / np.sqrt(3)])  # counts persist across calls
    assert dict(bonus.counts) == {(0, 0): 3, (-1, 0): 1}
    np.testing.assert_allclose(bonus(states[2:], np.array([1.0])), [1.0 + 0.2 / np.sqrt(2)])  # reward + bonus


def test_count_bonus_reads_the_position_slice() -> None:
    bonus = CountBonus(cell_size=1.0, xy=slice(1, 3))
    np.testing.assert_array_equal(bonus.cells(np.array([[100.0, 2.5, -0.5]])), [[2, -1]])


@pytest.mark.parametrize(("kwargs", "field"), [({"cell_size": 0.0}, "cell_size"), ({"beta": -1.0}, "beta")])
def test_count_bonus_rejects_bad_arguments(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=f"CountBonus.{field}"):
        CountBonus(**kwargs)


def test_baselines_observe_the_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_train_ppo(env_id, **kwargs):
        seen.update(kwargs)
        return None, baselines.LearningCurve(method="ppo_count" if kwargs.get("bonus") else "ppo", env_id=env_id, seed=0)

    monkeypatch.setattr(baselines, "train_ppo", fake_train_ppo)
    flat_ppo("zspace/Blocks-v0", total_steps=1, seed=0, env_kwargs={"layout_seed": 2})
    assert seen["env_kwargs"] == {"layout_seed": 2, "include_stage": "index"} and seen["config"] is BASELINE_PPO
    ppo_count_bonus("zspace/Blocks-v0", total_steps=1, seed=0, stage="target")
    assert seen["env_kwargs"] == {"include_stage": "target"} and seen["bonus"].beta == 0.01
    with pytest.raises(ConfigError, match="include_stage"):
        flat_ppo("zspace/Blocks-v0", total_steps=1, seed=0, env_kwargs={"include_stage": False})
    with pytest.raises(ConfigError, match="stage must be 'index'"):
        flat_ppo("zspace/Blocks-v0", total_steps=1, seed=0, stage="position")


def test_flat_and_count_runs_report_their_method() -> None:
    kwargs = {
        "total_steps": 128,
        "seed": 0,
        "num_envs": 2,
        "n_steps": 32,
        "env_kwargs": {"max_episode_steps": 16},
        "hidden": (8,),
    }
    flat = flat_ppo("zspace/Waypoints-v0", **kwargs)
    count = ppo_count_bonus("zspace/Waypoints-v0", **kwargs)
    assert (flat.method, count.method) == ("ppo", "ppo_count")
    assert flat.env_steps == count.env_steps == [64, 128]
    assert count.extra["cells_visited"] > 1 and count.extra["gamma"] == BASELINE_PPO.gamma == 0.995
