"""``zspace/Wheeled-v1``: the authors' MuJoCo car visits waypoints in order, +1 for every third.

The robot of the authors' wheeled experiment (``traj2vec/envs/assets/wheeled.xml``,
``traj2vec/envs/wheeled.py``), simulated in MuJoCo from their model file rebuilt for current
MuJoCo: a 14 kg car (box body, two wheels of radius 0.1 m on an axle 0.4 m long) on slide joints
x, y, z and a hinge about z, each wheel driven by a *velocity* actuator (gain kv = 1, command
range +-20 rad/s), friction 0.4, walls at +-2 m (0.1 m thick), Euler steps of 0.01 s with a frame
skip of 3: one environment step is 0.03 s. Task, layouts, reward and episode length are
``zspace/Wheeled-v0``'s (:class:`~zspace.rl.envs.wheeled.WheeledConfig`), whose dynamics are a
numpy model of this car with an assumed first-order servo (ours, kept as the named option).

Changes to their file that current MuJoCo requires or that change nothing simulated:
``coordinate="local"`` (the only mode now) and ``<size nstack>`` are dropped, as are the
textures, light and skybox (we draw the arena ourselves); ``settotalmass="14"`` is applied with
``mj_setTotalmass`` after compiling, as current MuJoCo asks. ``ctrllimited="false"`` is written out:
their MuJoCo 1.x did not clip a command to its ``ctrlrange`` unless told to, and current MuJoCo
would (its default is "auto"); so here, as there, a command beyond +-20 rad/s is applied as given.

Observation ``(9,)``, the authors' ``get_current_obs``: ``qpos[:-3]`` (x, y, z in m), ``sin, cos``
of the heading, ``qvel[:-2]`` (vx, vy, vz in m/s, yaw rate in rad/s); the wheels' angles and
spins are not observed. ``reset(options={"state": obs})`` restores it as their ``reset_args``
did: pose and body velocities from the observation, wheel angles and spins zero. A new episode
starts at the model's initial pose plus the noise of rllab's ``reset_mujoco`` (N(0, 0.01) on
every ``qpos``, N(0, 0.1) on every ``qvel``), drawn from the episode's generator.
Actions: ``Box(-1, 1, (2,))``, the wheels' speed commands as fractions of 20 rad/s (the wheel at
y = -0.2 m first, the authors' actuator order), so the per-task settings of ``Wheeled-v0`` carry
over unchanged. MuJoCo is imported when the environment is made (the ``rl`` extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zspace.rl.envs.base import SingleEnv, StageOption, VecEnv
from zspace.rl.envs.wheeled import WheeledConfig, WheeledSim

__all__ = ["WHEELED_XML", "WheeledMujocoEnv", "WheeledMujocoSim", "WheeledMujocoVec"]

FRAME_SKIP = 3  # x 0.01 s = 0.03 s per step (the authors' frame_skip)
QPOS_NOISE, QVEL_NOISE = 0.01, 0.1  # rllab's MujocoEnv.reset_mujoco
TOTAL_MASS = 14.0  # kg, over every body (the goal marker's too), as their settotalmass

_WALLS = {"left": ("-2 0 0.5", "0.1 2 0.5"), "right": ("2 0 0.5", "0.1 2 0.5"),
          "front": ("0 2 0.5", "2 0.1 0.5"), "back": ("0 -2 0.5", "2 0.1 0.5")}  # fmt: skip
_WALL_GEOMS = "\n".join(
    f'    <geom name="{name}_wall" type="box" pos="{pos}" size="{size}" contype="1" conaffinity="1" condim="1"/>'
    for name, (pos, size) in _WALLS.items()
)
_WHEELS = "\n".join(
    f"""      <body name="wheelbody{i}" pos="0 {y} 0">
        <geom name="wheel{i}" type="cylinder" axisangle="1 0 0 1.57" pos="0 0 0.5" size="0.1 0.046"/>
        <joint name="rotate_wheels{i}" type="hinge" limited="false" pos="0 0 0.5" axis="0 1 0" margin="0.01"/>
      </body>"""
    for i, y in ((1, "-0.2"), (2, "0.2"))
)
WHEELED_XML = f"""<mujoco model="wheeled">
  <compiler inertiafromgeom="true" angle="radian"/>
  <option timestep="0.01" gravity="0 0 -9.81"/>
  <default>
    <geom contype="1" conaffinity="0" condim="3" friction=".4 .4 .4" solimp="0.0 0.8 0.01" solref="0.02 1"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" pos="0 0 0" size="40 40 40" conaffinity="1" condim="3"/>
{_WALL_GEOMS}
    <body name="car" pos="0 0 -0.4">
      <geom name="body" type="box" pos="0 0 .6" size="0.15 0.1 0.046"/>
      <joint name="xmove" type="slide" limited="false" axis="1 0 0" margin="0.01"/>
      <joint name="ymove" type="slide" limited="false" axis="0 1 0" margin="0.01"/>
      <joint name="zmove" type="slide" limited="true" range="-1 0.03" axis="0 0 1" margin="0.01"/>
      <joint name="zrotate" type="hinge" limited="false" axis="0 0 1" margin="0.01"/>
{_WHEELS}
    </body>
    <body name="goal" pos="0 0 0.1">
      <geom name="goal" type="sphere" pos="0 0 0.1" size="0.1" contype="0" conaffinity="0" condim="1"/>
    </body>
  </worldbody>
  <actuator>
    <velocity name="rotate_wheels1" joint="rotate_wheels1" ctrllimited="false" ctrlrange="-20 20"/>
    <velocity name="rotate_wheels2" joint="rotate_wheels2" ctrllimited="false" ctrlrange="-20 20"/>
  </actuator>
</mujoco>
"""


def _load_model() -> Any:
    from zspace.rl.envs.swimmer import MissingDependencyError

    try:
        import mujoco
    except ImportError as err:
        raise MissingDependencyError(
            "zspace/Wheeled-v1 simulates the authors' car in MuJoCo; install it with pip install 'zspace[rl]' "
            "(or use zspace/Wheeled-v0, our numpy model of the car)"
        ) from err
    model = mujoco.MjModel.from_xml_string(WHEELED_XML)
    mujoco.mj_setTotalmass(model, TOTAL_MASS)  # their compiler's settotalmass, deprecated in current MuJoCo
    mujoco.mj_setConst(model, mujoco.MjData(model))
    return mujoco, model


class WheeledMujocoSim(WheeledSim):
    """``num_envs`` MuJoCo cars (one ``MjData`` each, one shared ``MjModel``); see the module docstring."""

    def __init__(
        self,
        *,
        num_envs: int,
        config: WheeledConfig,
        include_stage: StageOption,
        layout_seed: int | None,
        max_episode_steps: int | None,
    ) -> None:
        super().__init__(num_envs=num_envs, config=config, include_stage=include_stage, layout_seed=layout_seed,
                         max_episode_steps=max_episode_steps)  # fmt: skip
        self._mujoco, self.model = _load_model()
        self.data = [self._mujoco.MjData(self.model) for _ in range(num_envs)]
        self._noise: np.ndarray | None = None  # (n, nq + nv) reset noise drawn with the next layouts

    @staticmethod
    def observation_bounds(c: WheeledConfig) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` of ``[x, y, z, sin, cos, vx, vy, vz, yaw rate]``; z: the zmove joint's range."""
        v, w = c.max_speed, c.max_yaw_rate
        return (np.array([-c.wall, -c.wall, -1.0, -1.0, -1.0, -v, -v, -v, -w]),
                np.array([c.wall, c.wall, 0.03, 1.0, 1.0, v, v, v, w]))  # fmt: skip

    def reset(self, index, rngs, *, state=None, stage=None) -> None:
        rngs = list(rngs)
        nq, nv = self.model.nq, self.model.nv
        self._noise = np.stack([np.concatenate([rng.normal(0, QPOS_NOISE, nq), rng.normal(0, QVEL_NOISE, nv)])
                                for rng in rngs])  # fmt: skip
        super().reset(index, rngs, state=state, stage=stage)

    def _set_state(self, index: np.ndarray, state: np.ndarray | None) -> None:
        mujoco, nq = self._mujoco, self.model.nq
        for row, i in enumerate(index):
            data = self.data[int(i)]
            mujoco.mj_resetData(self.model, data)
            if state is None:  # the model's initial pose, perturbed as rllab did
                noise = self._noise[row] if self._noise is not None else np.zeros(nq + self.model.nv)
                data.qpos[:] = self.model.qpos0 + noise[:nq]
                data.qvel[:] = noise[nq:]
            else:  # the authors' reset_args: the observed pose and body velocities, the wheels at rest
                data.qpos[:3] = state[row, 0:3]
                data.qpos[3] = np.arctan2(state[row, 3], state[row, 4])
                data.qvel[:4] = state[row, 5:9]
            mujoco.mj_forward(self.model, data)
        self._noise = None
        self._sync(index)

    def _advance(self, actions: np.ndarray) -> None:
        mujoco = self._mujoco
        for i, data in enumerate(self.data):
            data.ctrl[:] = actions[i] * self.config.max_wheel_speed  # not clipped (see the module docstring)
            for _ in range(FRAME_SKIP):
                mujoco.mj_step(self.model, data)
        self._sync(np.arange(self.num_envs))

    def _sync(self, index: np.ndarray) -> None:
        """Copy the pose of envs ``index`` to the attributes the task's drawing reads."""
        for i in index:
            qpos, qvel = self.data[int(i)].qpos, self.data[int(i)].qvel
            self.position[i], self.heading[i], self.velocity[i] = qpos[0:2], qpos[3], qvel[0:2]

    def _base_observation(self) -> np.ndarray:
        rows = [np.concatenate([d.qpos[:3], [np.sin(d.qpos[3]), np.cos(d.qpos[3])], d.qvel[:4]]) for d in self.data]
        return np.array(rows, dtype=np.float32)


class WheeledMujocoEnv(SingleEnv):
    """``zspace/Wheeled-v1`` as a ``gymnasium.Env``; arguments as :class:`~zspace.rl.envs.wheeled.WheeledEnv`."""

    sim_class = WheeledMujocoSim


class WheeledMujocoVec(VecEnv):
    """``num_envs`` copies of :class:`WheeledMujocoEnv` (a gymnasium ``VectorEnv``)."""

    sim_class = WheeledMujocoSim
