"""The sparse, sequential, multi-stage tasks of SeCTAR (Co-Reyes et al., ICML 2018), Gymnasium API.

Importing this module registers, once (re-importing is a no-op):

==============================  ==================================================  ===========
id                              task                                                 episode
==============================  ==================================================  ===========
``zspace/Waypoints-v0``         point, 4 moves, 50 waypoints (r 0.4), +1 per 3rd    20 x 19
``zspace/Wheeled-v0``           differential drive, 50 waypoints (r 0.6), walls     50 x 19
``zspace/Wheeled-v1``           the same task, the authors' MuJoCo car               50 x 19
``zspace/Blocks-v0``            gripper, 6 actions, 4 objects to goals (r 0.8)      50 x 19
``zspace/SwimmerWaypoints-v0``  MuJoCo swimmer, 10 waypoints (r 0.2), +1 per 3rd    50 x 99
``zspace/SwimmerWaypoints-v1``  the authors' velocity-servo swimmer, 0.2 s steps     50 x 99
==============================  ==================================================  ===========

The numpy environments and ``Wheeled-v1`` also have a vector entry point
(``gymnasium.make_vec(id, num_envs=n)`` returns :class:`WaypointsVec` etc., stepping all copies
together). The swimmers and ``Wheeled-v1`` need MuJoCo (the ``rl`` extra) when made, not when
registered. The numpy tasks' defaults are the authors'
layouts (``layout="uniform"``: i.i.d. uniform goals as their goal files, random starts);
``gymnasium.make(id, layout="walk")`` gives our earlier, easier layouts (each task's module says
how they differ). Every environment takes ``include_stage``
(the paper's baselines observe the current target), ``layout_seed`` (one fixed layout) and
``render_mode="rgb_array"``; ``info`` carries ``stage``, the count completed, ``is_success`` and
the layout; ``env.unwrapped.progress(states, stage)`` scores predicted states for a planner.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium

from zspace.errors import ConfigError
from zspace.rl.envs.base import LAYOUTS, BatchedSim, SingleEnv, VecEnv
from zspace.rl.envs.blocks import BlocksConfig, BlocksEnv, BlocksVec
from zspace.rl.envs.swimmer import MissingDependencyError, SwimmerWaypointsConfig, SwimmerWaypointsEnv
from zspace.rl.envs.tasks import blocks_distance, blocks_progress, waypoint_distance, waypoint_progress
from zspace.rl.envs.waypoints import WaypointsConfig, WaypointsEnv, WaypointsVec
from zspace.rl.envs.wheeled import WheeledConfig, WheeledEnv, WheeledVec

__all__ = [
    "ENV_IDS",
    "LAYOUTS",
    "BatchedSim",
    "BlocksConfig",
    "BlocksEnv",
    "BlocksVec",
    "MissingDependencyError",
    "SingleEnv",
    "SwimmerWaypointsConfig",
    "SwimmerWaypointsEnv",
    "VecEnv",
    "WaypointsConfig",
    "WaypointsEnv",
    "WaypointsVec",
    "WheeledConfig",
    "WheeledEnv",
    "WheeledVec",
    "blocks_distance",
    "blocks_progress",
    "check_env_id",
    "register_envs",
    "waypoint_distance",
    "waypoint_progress",
]

_PACKAGE = __name__
# id -> (entry point, vector entry point); strings, so registering imports nothing (no MuJoCo).
_ENTRY_POINTS: dict[str, tuple[str, str | None]] = {
    "zspace/Waypoints-v0": (f"{_PACKAGE}.waypoints:WaypointsEnv", f"{_PACKAGE}.waypoints:WaypointsVec"),
    "zspace/Wheeled-v0": (f"{_PACKAGE}.wheeled:WheeledEnv", f"{_PACKAGE}.wheeled:WheeledVec"),
    "zspace/Wheeled-v1": (f"{_PACKAGE}.wheeled_mujoco:WheeledMujocoEnv", f"{_PACKAGE}.wheeled_mujoco:WheeledMujocoVec"),
    "zspace/Blocks-v0": (f"{_PACKAGE}.blocks:BlocksEnv", f"{_PACKAGE}.blocks:BlocksVec"),
    "zspace/SwimmerWaypoints-v0": (f"{_PACKAGE}.swimmer:SwimmerWaypointsEnv", None),
    "zspace/SwimmerWaypoints-v1": (f"{_PACKAGE}.swimmer_vel:SwimmerVelWaypointsEnv", None),
}
ENV_IDS: tuple[str, ...] = tuple(_ENTRY_POINTS)


def check_env_id(env_id: str, supported: Sequence[str] | None = None) -> str:
    """``env_id`` if gymnasium knows it (and it is one of ``supported``), else a ConfigError listing zspace's ids.

    SeCTAR passes ``supported=ENV_IDS``: its planner reads the task's config, stages and rewards,
    which only zspace's environments have; rollouts of any registered id are fine.
    """
    if env_id not in gymnasium.registry or (supported is not None and env_id not in supported):
        raise ConfigError(f"unknown environment id {env_id!r}; the supported ids are {', '.join(ENV_IDS)}")
    return env_id


def register_envs() -> None:
    """Register the ``zspace/...`` ids with gymnasium; ids already registered are left alone.

    Episode length is the environments' own (``config.n_segments * config.segment_len``), so no
    ``TimeLimit`` is registered; ``gymnasium.make(id, max_episode_steps=k)`` still shortens it.
    """
    for env_id, (entry_point, vector_entry_point) in _ENTRY_POINTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point, vector_entry_point=vector_entry_point)


register_envs()
