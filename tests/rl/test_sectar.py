"""SeCTAR's model and loss: the ELBO terms against a hand computation, causality, shapes, determinism."""

from __future__ import annotations

import dataclasses
import math

import gymnasium
import pytest
import torch

import zspace.rl.envs  # noqa: F401 - registers the ids
from zspace.errors import ConfigError
from zspace.rl.exploration import Explorer, ExplorerConfig, novelty_rewards, segment_neg_elbo
from zspace.rl.sectar.config import PRESETS
from zspace.rl.sectar.model import SeCTAR, SectarConfig, consistency_error, sectar_loss

TINY = SectarConfig(
    state_dim=2, state_low=(-2.0, -4.0), state_high=(2.0, 0.0), n_actions=3, segment_len=4,
    z_size=2, hidden=8, encoder_layers=1, decoder_hidden=(), policy_hidden=(8,),
)  # fmt: skip
TINY_OURS = dataclasses.replace(TINY, init="ours")


def tiny_model(seed: int = 0, config: SectarConfig = TINY) -> SeCTAR:
    torch.manual_seed(seed)
    return SeCTAR(config)


def test_for_env_binds_spaces_and_segment_length():
    env = gymnasium.make("zspace/Blocks-v0")
    config = PRESETS["cpu"].model.for_env(env)
    assert config.state_dim == 14 and config.n_actions == 6 and config.segment_len == 19
    assert config.state_low[0] == pytest.approx(-2.8) and config.state_high[-1] == 1.0  # gripper bound, holding flag
    continuous = PRESETS["paper"].model.for_env(gymnasium.make("zspace/Wheeled-v0"))
    assert continuous.n_actions == 0 and continuous.action_low == (-1.0, -1.0)
    assert PRESETS["paper"].model.hidden == 256 and PRESETS["paper"].model.policy_hidden == (400, 300, 200)


def test_config_errors_name_the_fix():
    with pytest.raises(ConfigError, match="for_env"):
        SeCTAR(PRESETS["cpu"].model)
    with pytest.raises(ConfigError, match="valid presets are"):
        PRESETS["huge"]
    with pytest.raises(ConfigError, match="state_dim=2"):
        dataclasses.replace(TINY, state_low=(0.0,))


def test_shapes():
    model = tiny_model()
    states = torch.randn(5, 5, 2)  # (B, T+1, S)
    posterior = model.encode(states)
    assert posterior.batch_shape == (5,) and posterior.event_shape == (2,)
    z = posterior.sample()
    assert model.predict(states[:, 0], z).shape == (5, 4, 2)
    assert model.state_log_prob(states[:, 0], z, states[:, 1:]).shape == (5,)
    loss, metrics = sectar_loss(model, states, torch.randint(0, 3, (5, 4)))
    assert loss.shape == () and set(metrics) == {"loss", "nll_per_step", "kl", "bc", "elbo_per_step"}
    assert consistency_error(model, states[:, 0], z, states[:, 1:]).shape == (5,)


def test_continuous_actions_are_cloned_by_a_gaussian_policy():
    config = dataclasses.replace(TINY, n_actions=0, action_low=(-1.0, -1.0), action_high=(1.0, 1.0))
    model = tiny_model(config=config)
    loss, metrics = sectar_loss(model, torch.randn(3, 5, 2), torch.randn(3, 4, 2))
    assert torch.isfinite(loss) and metrics["bc"] > 0


@pytest.mark.parametrize("init", ["authors", "ours"])
def test_loss_terms_match_a_hand_computation(init):
    """Hand-set weights make every term closed-form: q(z | tau) = N(m, e^lv), pi = softmax(l), and the decoder's
    mean_t = b (the authors' decoder outputs the state) or x_0 + t b (ours predicts each step's change)."""
    model = tiny_model(config=dataclasses.replace(TINY, init=init))
    m, log_var = torch.tensor([0.5, -1.0]), torch.tensor([-0.4, 0.2])
    b, log_std = torch.tensor([0.1, -0.2]), torch.tensor([-1.0, 0.5])
    logits = torch.tensor([0.3, -0.7, 1.2])
    with torch.no_grad():
        model.encoder_head.weight.zero_()
        model.encoder_head.bias.copy_(torch.cat([m, log_var]))
        model.decoder_head[-1].weight.zero_()
        model.decoder_head[-1].bias.copy_(b)
        model.state_log_std.copy_(log_std)
        model.policy.actor[-1].weight.zero_()
        model.policy.actor[-1].bias.copy_(logits)
    torch.manual_seed(1)
    states = torch.randn(3, 5, 2) * 2 + torch.tensor([0.0, -2.0])  # raw units
    actions = torch.tensor([[0, 1, 2, 2], [1, 1, 0, 2], [2, 0, 0, 1]])
    _, metrics = sectar_loss(model, states, actions)

    x = (states - torch.tensor([0.0, -2.0])) / torch.tensor([2.0, 2.0])  # normalised by the bounds of TINY
    steps = torch.arange(1, 5, dtype=torch.float32)[:, None]  # t = 1..T
    mean = (x[:, :1] + steps * b) if init == "ours" else b.expand(3, 4, 2)  # (B, T, S)
    var = torch.exp(2 * log_std)
    nll = (0.5 * math.log(2 * math.pi) + log_std + (x[:, 1:] - mean) ** 2 / (2 * var)).sum(dim=(1, 2)).mean() / 4
    kl = 0.5 * (m**2 + log_var.exp() - 1 - log_var).sum()
    bc = -torch.log_softmax(logits, 0)[actions].mean()
    assert metrics["nll_per_step"] == pytest.approx(nll.item(), rel=1e-5)
    assert metrics["kl"] == pytest.approx(kl.item(), rel=1e-5)
    assert metrics["bc"] == pytest.approx(bc.item(), rel=1e-5)
    assert metrics["loss"] == pytest.approx((nll + model.config.kl_weight * kl + model.config.bc_weight * bc).item(), rel=1e-5)
    assert metrics["elbo_per_step"] == pytest.approx(-(nll + kl / 4).item(), rel=1e-5)


def test_state_log_prob_is_torch_distributions_on_predictions():
    model = tiny_model()
    states, z = torch.randn(4, 5, 2), torch.randn(4, 2)
    mean = model.normalize(model.predict(states[:, 0], z))
    expected = torch.distributions.Normal(mean, model.state_log_std.exp()).log_prob(model.normalize(states[:, 1:])).sum((1, 2))
    torch.testing.assert_close(model.state_log_prob(states[:, 0], z, states[:, 1:]), expected)


def test_decoder_never_reads_true_future_states():
    model = tiny_model()
    states, z = torch.randn(4, 5, 2), torch.randn(4, 2)
    changed = states.clone()
    changed[:, 2:] += 3.0  # s_2..s_T
    torch.testing.assert_close(model.predict(states[:, 0], z), model.predict(changed[:, 0], z))
    before = model.step_log_probs(states[:, 0], z, states[:, 1:])
    after = model.step_log_probs(changed[:, 0], z, changed[:, 1:])
    torch.testing.assert_close(before[:, 0], after[:, 0])  # step 1 is scored against s_1 alone
    assert not torch.allclose(before[:, 1:], after[:, 1:])


def test_seeded_models_and_losses_are_reproducible():
    states, actions = torch.randn(3, 5, 2), torch.randint(0, 3, (3, 4))
    losses = []
    for _ in range(2):
        model = tiny_model(seed=7)
        torch.manual_seed(3)
        losses.append(sectar_loss(model, states, actions)[0])
    assert losses[0].item() == losses[1].item()
    assert tiny_model(seed=8).encoder_head.weight.ne(tiny_model(seed=7).encoder_head.weight).any()


def test_consistency_error_is_the_mean_distance_in_raw_units():
    model = tiny_model()
    s0, z = torch.randn(2, 2), torch.randn(2, 2)
    predicted = model.predict(s0, z)
    assert consistency_error(model, s0, z, predicted).abs().max() < 1e-6
    torch.testing.assert_close(consistency_error(model, s0, z, predicted + torch.tensor([3.0, 4.0])), torch.full((2,), 5.0))


def test_novelty_rewards_sum_to_the_negative_elbo_at_the_posterior_mean():
    model = tiny_model()
    states = torch.randn(3, 5, 2)
    rewards = novelty_rewards(model, states)
    posterior = model.encode(states)
    mean, var = posterior.mean, posterior.variance
    kl = 0.5 * (mean**2 + var - 1 - var.log()).sum(-1)
    expected = -model.state_log_prob(states[:, 0], mean, states[:, 1:]) + kl
    assert rewards.shape == (3, 4)
    torch.testing.assert_close(rewards.sum(1), expected.detach())


def test_segment_neg_elbo_is_the_authors_per_step_nll_plus_kl_at_a_sampled_z():
    """The authors' explorer reward (VAEBC.forward_batch): -log p(tau | z) / T + KL, z = mean + std * noise."""
    model = tiny_model()
    states = torch.randn(3, 5, 2)
    rewards = segment_neg_elbo(model, states, torch.Generator().manual_seed(4))
    posterior = model.encode(states)
    mean, var = posterior.mean, posterior.variance
    z = mean + var.sqrt() * torch.randn(mean.shape, generator=torch.Generator().manual_seed(4))
    kl = 0.5 * (mean**2 + var - 1 - var.log()).sum(-1)
    expected = -model.state_log_prob(states[:, 0], z, states[:, 1:]) / 4 + kl
    torch.testing.assert_close(rewards, expected.detach())
    assert not torch.allclose(rewards, segment_neg_elbo(model, states, torch.Generator().manual_seed(5)))


def test_explorer_resets_when_its_entropy_collapses():
    explorer = Explorer(2, gymnasium.spaces.Discrete(4), ExplorerConfig(reset_entropy_frac=0.5))
    assert explorer.collapsed(0.1) and not explorer.collapsed(1.3)
    box = Explorer(2, gymnasium.spaces.Box(-1, 1, (2,)), ExplorerConfig())
    assert box.collapsed(-5.0) and not box.collapsed(2.0)
    # an absolute threshold set in the authors' units (nats of actions in rad/s, 20 rad/s per unit): each of the
    # two dims' entropy is ln 20 = 3.0 nats higher there, so -5 nats in ours is +1 in theirs
    authors = Explorer(2, gymnasium.spaces.Box(-1, 1, (2,)), ExplorerConfig(reset_entropy=0.0, action_scale=20.0))
    assert not authors.collapsed(-5.0) and authors.collapsed(-6.5)
    start = Explorer(2, gymnasium.spaces.Box(-1, 1, (2,)), ExplorerConfig(init_std=0.25)).agent.log_std
    torch.testing.assert_close(start.exp(), torch.full((2,), 0.25))


def test_the_authors_initialisation_and_ours():
    authors, ours = tiny_model(config=dataclasses.replace(TINY, init="authors")), tiny_model(config=TINY_OURS)
    h = TINY.hidden
    # ours: forget-gate bias 1 and a "stand still" decoder head; the authors': PyTorch's default biases
    assert torch.equal(ours.decoder.bias_ih[h : 2 * h], torch.ones(h)) and not authors.decoder.bias_ih.eq(1).all()
    assert ours.decoder_head[-1].bias.eq(0).all() and isinstance(authors.policy.actor[1], torch.nn.ReLU)
    assert isinstance(ours.policy.actor[1], torch.nn.Tanh)
    s0 = torch.tensor([[1.5, -1.0]])  # raw; the untrained decoders' first predictions: ours stays near s0
    z = torch.zeros(1, TINY.z_size)
    assert (ours.predict(s0, z)[0, 0] - s0[0]).abs().max() < 0.3
    with pytest.raises(ConfigError, match="init must be one of"):
        dataclasses.replace(TINY, init="kaiming")
