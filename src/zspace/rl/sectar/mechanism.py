"""What a trained SeCTAR model's skills do, measured in the environment: the mechanism behind planning.

Planning with SeCTAR works only if a latent names a segment that goes somewhere (the policy
decoder executes it), that the state decoder predicts where (the planner's model), and that
different latents go to different places (the planner has something to choose). From the same
start states, :func:`measure_mechanism` runs one segment of ``T`` steps of:

- uniform random actions (what the data looks like without skills);
- the explorer (the policy that gathers the VAE's data);
- the latent-conditioned policy pi(a | s, z), z ~ N(0, I), each latent ``repeats`` times;

and decodes the same latents with the state decoder. Positions are a state's first two entries,
metres (the agent's position on every ``zspace/...`` task).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import gymnasium
import numpy as np
import torch
from torch import Tensor
from torch.distributions import Categorical, Distribution, Independent, Uniform

from zspace.core.objectives import kl_from_posterior
from zspace.rl.sectar.model import SeCTAR
from zspace.rl.segments import rollout_segments

__all__ = ["Mechanism", "measure_mechanism", "uniform_policy"]

Act = Callable[[Tensor], Distribution]


@dataclasses.dataclass(frozen=True)
class Mechanism:
    """One measurement; displacements are mean distances from a segment's start to its end, metres."""

    random_m: float  # uniform random actions
    explorer_m: float  # the explorer
    policy_m: float  # pi(a | s, z), z ~ N(0, I), executed
    decoded_m: float  # the state decoder's prediction for the same z
    cosine: float  # mean cos(predicted displacement, executed displacement) over rollouts
    end_error_m: float  # mean distance between the predicted and the executed end
    z_share: float  # share of the executed ends' variance (around each start's mean) that lies between latents
    kl_nats: float  # mean KL(q(z | tau) || N(0, I)) summed over dims, of the explorer's segments


def uniform_policy(space: gymnasium.spaces.Space) -> Act:
    """``act(states (N, S)) -> pi``: uniform over a Discrete space or a Box's bounds, whatever the state."""
    if isinstance(space, gymnasium.spaces.Discrete):
        return lambda s: Categorical(logits=torch.zeros(len(s), int(space.n)))
    low, high = torch.as_tensor(space.low, dtype=torch.float32), torch.as_tensor(space.high, dtype=torch.float32)
    return lambda s: Independent(Uniform(low.expand(len(s), -1), high.expand(len(s), -1)), 1)


@torch.no_grad()
def measure_mechanism(
    model: SeCTAR,
    env_id: str,
    starts: np.ndarray,
    explore: Act,
    *,
    latents: int = 8,
    repeats: int = 2,
    seed: int = 0,
    env_kwargs: dict | None = None,
) -> Mechanism:
    """Run the segments of the module docstring from ``starts (N, S)`` (raw states) and measure them.

    Every policy runs ``N x latents x repeats`` segments: for each start, ``latents`` draws of
    z ~ N(0, I), each executed ``repeats`` times (random actions and the explorer: as many segments
    from the same starts). ``explore(states (M, S)) -> pi`` acts for the explorer on raw states.
    ``z_share`` = 1 - (variance of the ends of one latent's repeats) / (variance of all ends from
    that start), both unbiased and averaged over starts and latents (needs ``repeats >= 2``): 1 when
    the latent alone decides where the policy goes, 0 when it changes nothing. Torch's global RNG
    is restored after (the policies' samples are drawn from ``seed``).
    """
    if latents < 2 or repeats < 2:
        raise ValueError(f"measure_mechanism needs latents >= 2 and repeats >= 2, got {latents} and {repeats}")
    model.eval()
    device = next(model.parameters()).device
    n, steps = len(starts), model.config.segment_len
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, latents, model.config.z_size, generator=generator)
    z = z[:, :, None].expand(n, latents, repeats, -1).reshape(-1, model.config.z_size)  # (N L R, Z)
    s0 = torch.as_tensor(np.repeat(starts, latents * repeats, axis=0), dtype=torch.float32)  # (N L R, S)
    envs = gymnasium.make_vec(env_id, num_envs=len(s0), autoreset_mode="Disabled", **(env_kwargs or {}))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            act_policy = lambda s: model.policy.distribution(*model.policy_inputs(s.to(device), z.to(device)))
            rolls = {name: rollout_segments(envs, s0.numpy(), steps, act)
                     for name, act in (("random", uniform_policy(envs.single_action_space)), ("explorer", explore),
                                       ("policy", act_policy))}  # fmt: skip
    finally:
        envs.close()
    start = s0[:, :2]
    moved = {name: (roll["states"][:, -1, :2] - start) for name, roll in rolls.items()}  # (M, 2) metres
    predicted = model.predict(s0.to(device), z.to(device))[:, -1, :2].cpu() - start
    executed = moved["policy"]
    ends = executed.reshape(n, latents, repeats, 2)
    within = ends.var(dim=2).sum(-1).mean()  # one latent's repeats (unbiased)
    total = ends.reshape(n, latents * repeats, 2).var(dim=1).sum(-1).mean()  # all ends from one start
    kl = kl_from_posterior(model.encode(rolls["explorer"]["states"].to(device))).sum(-1).mean()
    return Mechanism(
        random_m=float(moved["random"].norm(dim=-1).mean()),
        explorer_m=float(moved["explorer"].norm(dim=-1).mean()),
        policy_m=float(executed.norm(dim=-1).mean()),
        decoded_m=float(predicted.norm(dim=-1).mean()),
        cosine=float(torch.nn.functional.cosine_similarity(predicted, executed, dim=-1, eps=1e-9).mean()),
        end_error_m=float((predicted - executed).norm(dim=-1).mean()),
        z_share=float(1 - within / total) if total > 0 else 0.0,
        kl_nats=float(kl),
    )
