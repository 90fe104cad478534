"""``zspace/SwimmerWaypoints-v1``: the authors' velocity-servo swimmer visits waypoints in order.

The swimmer of the authors' swimmer experiment (``traj2vec/envs/assets/swimmer_vel.xml``,
``traj2vec/envs/swimmer.py``, ``exps/swimmer/swimmer_explore.py``), rebuilt for current MuJoCo:
three capsules of 1 m (radius 0.1 m, density 1000) in a viscous medium (density 4000,
viscosity 0.1), two hinge joints (+-100 degrees) driven by *velocity* servos (ctrl in
+-300, gain 1), walls at +-2.5 m colliding with every capsule, Euler steps of 1 ms with a frame
skip of 200: one environment step is 0.2 s. Ten waypoints i.i.d. uniform in +-1.5 m (as the
authors' ``goals/swim.npy``) are reached strictly within 0.2 m of the front capsule's centre
(their ``get_body_com("torso")``), +1 for every third; episodes are 50 segments of 99 steps.
Dropped from their file because current MuJoCo rejects them: ``coordinate="local"`` (the only
mode now) and ``collision="predefined"`` (here every geom has ``contype = conaffinity = 0`` and
only the listed wall pairs collide, which is what "predefined" meant).

Observation and reset options as ``SwimmerWaypoints-v0`` (head position, ``qpos``, ``qvel``);
actions ``Box(-300, 300, (2,))``, the servos' target joint speeds.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from zspace.rl.envs.swimmer import SwimmerWaypointsConfig, SwimmerWaypointsEnv

__all__ = ["SWIMMER_VEL_XML", "SwimmerVelWaypointsEnv", "swimmer_vel_config"]

_WALLS = {"left": ("-2.5 0 0", "0.1 2.5 0.5"), "right": ("2.5 0 0", "0.1 2.5 0.5"),
          "front": ("0 2.5 0", "2.5 0.1 0.5"), "back": ("0 -2.5 0", "2.5 0.1 0.5")}  # fmt: skip
_PAIRS = "\n".join(f'    <pair geom1="{body}" geom2="{wall}_wall"/>' for body in ("torso", "mid", "back") for wall in _WALLS)
_WALL_GEOMS = "\n".join(
    f'    <geom name="{name}_wall" type="box" pos="{pos}" size="{size}" contype="0" conaffinity="0"/>'
    for name, (pos, size) in _WALLS.items()
)
SWIMMER_VEL_XML = f"""<mujoco model="swimmer_vel">
  <compiler inertiafromgeom="true" angle="degree"/>
  <option timestep="0.001" density="4000" viscosity="0.1" integrator="Euler" iterations="1000">
    <flag warmstart="disable"/>
  </option>
  <default>
    <geom contype="0" conaffinity="0" condim="1" rgba="0.8 0.6 0.4 1"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" pos="0 0 -0.1" size="40 40 0.1" contype="0" conaffinity="0"/>
{_WALL_GEOMS}
    <body name="torso" pos="0 0 0">
      <geom name="torso" type="capsule" fromto="1.5 0 0 0.5 0 0" size="0.1" density="1000"/>
      <joint name="slider1" type="slide" pos="0 0 0" axis="1 0 0"/>
      <joint name="slider2" type="slide" pos="0 0 0" axis="0 1 0"/>
      <joint name="rot" type="hinge" pos="0 0 0" axis="0 0 1"/>
      <body name="mid" pos="0.5 0 0">
        <geom name="mid" type="capsule" fromto="0 0 0 -1 0 0" size="0.1" density="1000"/>
        <joint name="rot2" type="hinge" pos="0 0 0" axis="0 0 1" range="-100 100" limited="true"/>
        <body name="back" pos="-1 0 0">
          <geom name="back" type="capsule" fromto="0 0 0 -1 0 0" size="0.1" density="1000"/>
          <joint name="rot3" type="hinge" pos="0 0 0" axis="0 0 1" range="-100 100" limited="true"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <velocity joint="rot2" ctrllimited="true" ctrlrange="-300 300"/>
    <velocity joint="rot3" ctrllimited="true" ctrlrange="-300 300"/>
  </actuator>
  <contact>
{_PAIRS}
  </contact>
</mujoco>
"""


def swimmer_vel_config() -> SwimmerWaypointsConfig:
    """The authors' swimmer task: 10 uniform waypoints in +-1.5 m, radius 0.2 m, 50 segments of 99 steps."""
    return dataclasses.replace(SwimmerWaypointsConfig(), layout="uniform", half_width=1.5, reset_noise_scale=0.0)


class SwimmerVelWaypointsEnv(SwimmerWaypointsEnv):
    """``zspace/SwimmerWaypoints-v1``; arguments as :class:`SwimmerWaypointsEnv` (default config: :func:`swimmer_vel_config`)."""

    env_id = "zspace/SwimmerWaypoints-v1"
    frame_skip = 200  # x 1 ms = 0.2 s per step (the authors' frame_skip)

    def __init__(self, *, config: SwimmerWaypointsConfig | None = None, **kwargs) -> None:
        super().__init__(config=config or swimmer_vel_config(), **kwargs)

    def _make_swimmer(self, config: SwimmerWaypointsConfig):
        from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv

        xml = Path(tempfile.mkdtemp(prefix="zspace-swimmer-")) / "swimmer_vel.xml"
        xml.write_text(SWIMMER_VEL_XML)
        return SwimmerEnv(xml_file=str(xml), frame_skip=self.frame_skip, exclude_current_positions_from_observation=False,
                          reset_noise_scale=config.reset_noise_scale)  # fmt: skip
