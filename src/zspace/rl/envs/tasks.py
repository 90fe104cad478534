"""Sparse sequential task rewards, and the random layouts they are scored on.

The tasks of SeCTAR (Co-Reyes et al., ICML 2018) are sequences of targets that must be completed
in order: waypoints to reach, or objects to bring to their goals. The progress functions here are
pure and batched, so one piece of code scores both an environment step (``T = 1``, one row per
sub-environment) and a planner's predicted trajectories (``K`` sampled plans of ``T`` steps):
the two cannot drift apart.

As the authors' ``reward_fn`` (traj2vec/envs), at most one target is completed per time step, a
target counts when the position is *strictly* within the radius, and the progress index ("stage")
is the number of targets completed so far, which is also the index of the next one.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "blocks_distance",
    "blocks_progress",
    "sample_separated_points",
    "sample_waypoints",
    "waypoint_distance",
    "waypoint_progress",
]


def _flatten_batch(states: np.ndarray, stage: np.ndarray | int, n_targets: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate ``states (..., T, D)`` and ``stage (...)``; return stage as ``(B,)`` int64 and the batch shape."""
    if states.ndim < 2:
        raise ValueError(f"states must have shape (..., T, obs_dim), got {states.shape}")
    batch = states.shape[:-2]
    index = np.broadcast_to(np.asarray(stage, dtype=np.int64), batch).reshape(-1).copy()
    if np.any((index < 0) | (index > n_targets)):
        raise ValueError(f"stage must lie in [0, {n_targets}], got values in [{index.min()}, {index.max()}]")
    return index, batch


def _pad_targets(targets: np.ndarray, batch: tuple[int, ...]) -> np.ndarray:
    """``(N, 2)`` or ``(..., N, 2)`` targets -> ``(B, N + 1, 2)``, the extra row NaN so a finished row never matches."""
    targets = np.asarray(targets, dtype=np.float64)
    n = targets.shape[-2]
    flat = np.broadcast_to(targets, (*batch, n, 2)).reshape(-1, n, 2)
    return np.concatenate([flat, np.full((flat.shape[0], 1, 2), np.nan)], axis=1)


def waypoint_progress(
    states: np.ndarray,
    waypoints: np.ndarray,
    stage: np.ndarray | int,
    *,
    radius: float,
    reward_every: int = 3,
    discount: float = 1.0,
    xy: slice = slice(0, 2),
) -> tuple[np.ndarray, np.ndarray]:
    """Reward and progress of trajectories on an ordered waypoint task.

    Waypoint ``stage`` is the one being sought; it is reached at the first step whose position is
    strictly closer than ``radius``, and the next one becomes current. Reaching the k-th waypoint
    (1-based) pays +1 when ``k % reward_every == 0`` (waypoints 3, 6, 9, ... by default).

    Args:
        states: ``(..., T, obs_dim)`` the states *after* each of T steps (s_1..s_T); the position
            is ``states[..., xy]`` in metres. Real or predicted: any float array.
        waypoints: ``(N, 2)`` shared by all rows, or ``(..., N, 2)`` one layout per row.
        stage: ``(...)`` or a scalar: index of the current waypoint (= number reached), in [0, N].
        radius: reach radius in metres.
        reward_every: pay every this many waypoints.
        discount: the reward of step t (0-based) is weighted by ``discount**t``.

    Returns:
        reward: ``(...)`` float64, the discounted sum of the sparse rewards over the T steps.
        stage: ``(...)`` int64, the index of the current waypoint after the T steps (N when done).
    """
    states = np.asarray(states, dtype=np.float64)
    waypoints = np.asarray(waypoints)
    index, batch = _flatten_batch(states, stage, waypoints.shape[-2])
    horizon = states.shape[-2]
    position = states[..., xy].reshape(-1, horizon, 2)  # (B, T, 2)
    targets = _pad_targets(waypoints, batch)  # (B, N + 1, 2)
    rows = np.arange(index.size)
    reward = np.zeros(index.size)
    for t in range(horizon):
        offset = position[:, t] - targets[rows, index]
        hit = np.einsum("bi,bi->b", offset, offset) < radius**2  # NaN (finished) compares False
        reward += np.where(hit & ((index + 1) % reward_every == 0), discount**t, 0.0)
        index += hit
    return reward.reshape(batch), index.reshape(batch)


def blocks_progress(
    states: np.ndarray,
    goals: np.ndarray,
    stage: np.ndarray | int,
    *,
    radius: float,
    discount: float = 1.0,
    objects: slice = slice(2, 10),
) -> tuple[np.ndarray, np.ndarray]:
    """Reward and progress of trajectories on an ordered object-placement task.

    Object ``stage`` is the one to place; it counts as placed (+1) at the first step its centre is
    strictly within ``radius`` of its own goal, and the next object becomes current. As in the
    authors' block task, placement is judged on positions alone (held or released), and an object
    is judged only while it is the current one, so out-of-order placements pay nothing until
    their turn comes.

    Args:
        states: ``(..., T, obs_dim)`` states after each step; ``states[..., objects]`` holds the M
            object positions as ``(x_0, y_0, x_1, y_1, ...)`` in metres.
        goals: ``(M, 2)`` or ``(..., M, 2)``: the goal of object m, in metres.
        stage: ``(...)`` or a scalar in [0, M]: index of the object to place next.
        radius: placement radius in metres.
        discount: the reward of step t (0-based) is weighted by ``discount**t``.

    Returns:
        reward: ``(...)`` float64, discounted count of objects placed during the T steps.
        stage: ``(...)`` int64, the index of the next object after the T steps (M when done).
    """
    states = np.asarray(states, dtype=np.float64)
    goals = np.asarray(goals)
    n_objects = goals.shape[-2]
    index, batch = _flatten_batch(states, stage, n_objects)
    horizon = states.shape[-2]
    position = states[..., objects].reshape(-1, horizon, n_objects, 2)  # (B, T, M, 2)
    targets = _pad_targets(goals, batch)  # (B, M + 1, 2)
    rows = np.arange(index.size)
    reward = np.zeros(index.size)
    for t in range(horizon):
        current = position[rows, t, np.minimum(index, n_objects - 1)]  # (B, 2); done rows meet the NaN goal
        offset = current - targets[rows, index]
        hit = np.einsum("bi,bi->b", offset, offset) < radius**2
        reward += np.where(hit, discount**t, 0.0)
        index += hit
    return reward.reshape(batch), index.reshape(batch)


def _current_target(
    states: np.ndarray, targets: np.ndarray, stage: np.ndarray | int
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """For one state per row ``(..., D)``: each row's current target ``(B, 2)`` (NaN once done), its
    stage index ``(B,)`` and the batch shape (validated as the progress functions validate theirs)."""
    targets = np.asarray(targets)
    index, batch = _flatten_batch(states[..., None, :], stage, targets.shape[-2])  # as one step of T = 1
    return _pad_targets(targets, batch)[np.arange(index.size), index], index, batch


def waypoint_distance(
    states: np.ndarray, waypoints: np.ndarray, stage: np.ndarray | int, *, xy: slice = slice(0, 2)
) -> np.ndarray:
    """Metres from each state's position to the waypoint still sought (0 once all are reached).

    Args:
        states: ``(..., obs_dim)`` one state per row (e.g. a plan's final predicted state).
        waypoints: ``(N, 2)`` or ``(..., N, 2)``; stage: ``(...)`` or a scalar in [0, N].

    Returns:
        ``(...)`` float64 distances: what a planner can pull on between sparse rewards.
    """
    states = np.asarray(states, dtype=np.float64)
    target, _, batch = _current_target(states, waypoints, stage)
    distance = np.linalg.norm(states[..., xy].reshape(-1, 2) - target, axis=-1)
    return np.nan_to_num(distance, nan=0.0).reshape(batch)


def blocks_distance(
    states: np.ndarray,
    goals: np.ndarray,
    stage: np.ndarray | int,
    *,
    gripper: slice = slice(0, 2),
    objects: slice = slice(2, 10),
) -> np.ndarray:
    """Metres of work left on the current object: gripper to object plus object to its goal.

    The usual pick-and-place shaping: the first term falls as the gripper approaches the object,
    the second as the object (carried) approaches its goal; 0 once every object is placed.

    Args:
        states: ``(..., obs_dim)`` one state per row; ``goals``: ``(M, 2)`` or ``(..., M, 2)``;
        stage: ``(...)`` or a scalar in [0, M], the object to place next.

    Returns:
        ``(...)`` float64 distances in metres.
    """
    states = np.asarray(states, dtype=np.float64)
    n_objects = np.asarray(goals).shape[-2]
    goal, index, batch = _current_target(states, goals, stage)
    rows = states.reshape(-1, states.shape[-1])
    position = rows[:, objects].reshape(-1, n_objects, 2)[np.arange(index.size), np.minimum(index, n_objects - 1)]
    reach = np.linalg.norm(rows[:, gripper] - position, axis=-1)
    carry = np.linalg.norm(position - goal, axis=-1)
    return np.where(index >= n_objects, 0.0, reach + np.nan_to_num(carry, nan=0.0)).reshape(batch)


def sample_waypoints(
    rng: np.random.Generator,
    n_waypoints: int,
    *,
    start: np.ndarray,
    spacing: tuple[float, float],
    half_width: float,
    tries: int = 64,
) -> np.ndarray:
    """A random walk of waypoints inside the square ``[-half_width, half_width]^2``.

    Each waypoint lies at a distance drawn uniformly from ``spacing`` (metres) in a uniform
    direction from the previous one (the first from ``start``); directions leaving the square are
    redrawn. A fixed number of draws per waypoint keeps the generator's consumption independent
    of the outcome, so a seed always yields the same layout.

    Returns:
        ``(n_waypoints, 2)`` float64 positions in metres.
    """
    points = np.empty((n_waypoints, 2))
    previous = np.asarray(start, dtype=np.float64)
    for k in range(n_waypoints):
        angle = rng.uniform(0.0, 2.0 * np.pi, tries)
        distance = rng.uniform(spacing[0], spacing[1], tries)
        candidates = previous + distance[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        inside = np.all(np.abs(candidates) <= half_width, axis=1)
        # Some direction always points inwards; all `tries` failing is a ~1e-8 event, then clip.
        previous = candidates[np.argmax(inside)] if inside.any() else np.clip(candidates[0], -half_width, half_width)
        points[k] = previous
    return points


def sample_separated_points(
    rng: np.random.Generator,
    n_points: int,
    *,
    half_width: float,
    min_separation: float,
    tries: int = 256,
) -> np.ndarray:
    """``n_points`` uniform points in ``[-half_width, half_width]^2``, pairwise >= ``min_separation`` apart.

    Dart throwing with a fixed number of candidates per point (deterministic consumption of
    ``rng``); if none is far enough (only for near-impossible packings) the farthest is kept.

    Returns:
        ``(n_points, 2)`` float64 positions in metres.
    """
    points = np.empty((n_points, 2))
    for k in range(n_points):
        candidates = rng.uniform(-half_width, half_width, (tries, 2))
        if k == 0:
            points[k] = candidates[0]
            continue
        gap = np.linalg.norm(candidates[:, None] - points[None, :k], axis=-1).min(axis=1)  # (tries,)
        far = gap >= min_separation
        points[k] = candidates[np.argmax(far)] if far.any() else candidates[np.argmax(gap)]
    return points
