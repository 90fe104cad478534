"""The VAE model, objective, presets and evaluation on tiny shapes."""

from __future__ import annotations

import math

import pytest
import torch

from zspace.core.config import override
from zspace.core.objectives import kl_standard_normal
from zspace.core.schedules import Schedule
from zspace.errors import ConfigError
from zspace.vae import PRESETS, VAE, VAEConfig, VAEObjective, make_loss_fn
from zspace.vae.evaluate import evaluate
from zspace.vae.presets import model_from_preset


def tiny(**kw) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=3, hidden=(16,), **kw))


def binary_batch(n=5):
    return (torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(3)) > 0.5).float()


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "gaussian-learned"])
def test_forward_shapes_and_terms(arch, likelihood):
    model = tiny(architecture=arch, likelihood=likelihood, channels=(4, 8))
    x = binary_batch()
    out = model(x, n_samples=4, importance_weights=True)
    assert out.z.shape == (4, 5, 3)
    assert out.log_likelihood.shape == out.log_weights.shape == (4, 5)
    assert model(x).log_weights is None  # only computed when asked for
    torch.testing.assert_close(out.kl_per_dim, kl_standard_normal(out.mean, out.log_var))
    assert model.decode(out.z).mean.shape == (4, 5, 1, 8, 8)
    assert model.sample(6).shape == (6, 1, 8, 8)
    assert model.reconstruct(x).shape == x.shape


def test_bernoulli_log_likelihood_is_negative_bce():
    model = tiny()
    x = binary_batch()
    z = torch.randn(2, 5, 3)
    logits = model.decoder(z).view(2, 5, 1, 8, 8)
    expected = -torch.nn.functional.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum((2, 3, 4))
    torch.testing.assert_close(model.log_likelihood(x, z), expected)


def test_fixed_gaussian_decoder_log_likelihood_closed_form():
    model = tiny(likelihood="gaussian", decoder_std=0.5)
    x = torch.rand(5, 1, 8, 8)
    z = torch.randn(1, 5, 3)
    mean = model.decoder(z).view(1, 5, 1, 8, 8)
    expected = (-0.5 * ((x - mean) / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi)).sum((2, 3, 4))
    torch.testing.assert_close(model.log_likelihood(x, z), expected)


def test_gradients_flow_through_reparameterization():
    model = tiny()
    loss, _ = make_loss_fn(VAEObjective(), dynamic_binarization=False)(model, binary_batch(), 0)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.encoder[0].weight.grad.abs().sum() > 0


def test_loss_ablations_drop_the_right_term():
    model = tiny()
    x = binary_batch()
    results = {}
    for loss in ("elbo", "reconstruction", "kl"):
        torch.manual_seed(5)
        value, metrics = make_loss_fn(VAEObjective(loss=loss), dynamic_binarization=False)(model, x, 0)
        results[loss] = (value, metrics)
    elbo_loss, m = results["elbo"]
    torch.testing.assert_close(elbo_loss, m["reconstruction"] + m["kl"])
    torch.testing.assert_close(results["reconstruction"][0], m["reconstruction"])
    torch.testing.assert_close(results["kl"][0], m["kl"])


def test_beta_schedule_and_free_bits_in_loss():
    model = tiny()
    x = binary_batch()
    objective = VAEObjective(beta=Schedule(kind="linear", value=4.0, warmup_steps=10), free_nats=0.0)
    torch.manual_seed(5)
    loss, m = make_loss_fn(objective, dynamic_binarization=False)(model, x, 5)
    assert float(m["beta"]) == pytest.approx(2.0)
    torch.testing.assert_close(loss, m["reconstruction"] + 2.0 * m["kl"])
    torch.manual_seed(5)
    loss, m = make_loss_fn(VAEObjective(free_nats=1e6), dynamic_binarization=False)(model, x, 0)
    torch.testing.assert_close(loss, m["reconstruction"])  # KL below the budget costs nothing


def test_iwae_loss_is_tighter_than_elbo_on_average():
    model = tiny()
    x = binary_batch(20)
    torch.manual_seed(0)
    _, m = make_loss_fn(VAEObjective(loss="iwae", n_samples=64), dynamic_binarization=False)(model, x, 0)
    assert float(m["iwae"].detach()) > float(m["elbo"].detach())


def test_evaluate_bounds_are_ordered_and_reproducible():
    model = tiny()
    x = binary_batch(30)
    r1 = evaluate(model, x, k=200, iwae_ks=(1, 5, 50), seed=1)
    r2 = evaluate(model, x, k=200, iwae_ks=(1, 5, 50), seed=1)
    assert r1 == r2
    assert r1["elbo"] == pytest.approx(r1["iwae_1"])
    assert r1["iwae_1"] <= r1["iwae_5"] <= r1["iwae_50"] + 0.05
    assert r1["nll"] == pytest.approx(-r1["iwae_200"])
    assert r1["kl"] == pytest.approx(sum(r1["kl_per_dim"]))
    assert 0 <= r1["active_units"] <= 3


def test_presets_build_and_unknown_names_are_listed():
    for name in PRESETS:
        VAE(PRESETS[name].model)
    assert model_from_preset("pytorch-example").config.hidden == (400,)
    assert model_from_preset("aevb-mnist", latent_dim=2).config.latent_dim == 2
    with pytest.raises(ConfigError, match="digits-2d"):
        PRESETS["no-such-preset"]
    with pytest.raises(ConfigError, match="valid fields"):
        override(PRESETS["digits"], {"model.latent_dims": 3})


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ConfigError, match="latent_dim"):
        VAEConfig(latent_dim=0)
    with pytest.raises(ConfigError, match="divisible"):
        VAE(VAEConfig(input_shape=(1, 10, 10), architecture="conv", channels=(4, 8)))
    with pytest.raises(ValueError, match=r"\(B, 1, 8, 8\)"):
        tiny()(torch.zeros(2, 64))
