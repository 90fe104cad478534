"""Named VAE presets (as Magenta's configs.py): complete run configs, variants via ``replace``."""

from __future__ import annotations

from dataclasses import replace

from zspace.core.config import Registry, override
from zspace.core.schedules import Schedule
from zspace.data.images import DataConfig
from zspace.vae.model import VAE, VAEConfig
from zspace.vae.objective import VAEObjective
from zspace.vae.run import VAE_TRAIN, VAERunConfig

PRESETS: Registry[VAERunConfig] = Registry("vae")

# Kingma & Welling (2014), MNIST: 500 hidden units, tanh, Adagrad, minibatch 100, L = 1; the
# issue's 784-500-500-z asks for two hidden layers of 500, which we follow.
PRESETS.register(
    "aevb-mnist",
    VAERunConfig(
        model=VAEConfig(input_shape=(1, 28, 28), latent_dim=20, hidden=(500, 500), activation="tanh"),
        data=DataConfig(source="mnist", binarize="dynamic"),
        train=replace(VAE_TRAIN, optimizer="adagrad", lr=Schedule(value=0.02), batch_size=100, epochs=100),
    ),
)

# github.com/pytorch/examples vae/main.py: 784-400-20, ReLU, Adam 1e-3, batch 128, 10 epochs.
PRESETS.register(
    "pytorch-example",
    VAERunConfig(
        model=VAEConfig(input_shape=(1, 28, 28), latent_dim=20, hidden=(400,), activation="relu"),
        data=DataConfig(source="mnist", binarize="none"),
        train=replace(VAE_TRAIN, optimizer="adam", lr=Schedule(value=1e-3), batch_size=128, epochs=10),
    ),
)

# Bundled 8x8 digits with a 2-D latent: for the scatter, manifold and ablation pictures.
PRESETS.register(
    "digits-2d",
    VAERunConfig(
        model=VAEConfig(input_shape=(1, 8, 8), latent_dim=2, hidden=(256, 128), activation="relu"),
        data=DataConfig(source="digits", binarize="dynamic"),
        train=replace(VAE_TRAIN, optimizer="adam", lr=Schedule(value=2e-3), batch_size=64, epochs=200),
    ),
)

# Bundled digits with a 10-D latent: the default of `zspace train vae`.
PRESETS.register(
    "digits",
    replace(PRESETS["digits-2d"], model=replace(PRESETS["digits-2d"].model, latent_dim=10)),
)

# beta-VAE (Higgins et al. 2017) on the generated dSprites-like shapes: conv encoder/decoder,
# beta = 4, 10 latents. 32x32 images keep it CPU-sized; use --set data.image_size=64,64 for dSprites' size.
PRESETS.register(
    "beta-shapes",
    VAERunConfig(
        model=VAEConfig(input_shape=(1, 32, 32), latent_dim=10, architecture="conv", channels=(32, 32, 64), conv_hidden=256),
        objective=VAEObjective(beta=Schedule(kind="linear", value=4.0, start=0.0, warmup_steps=2000)),
        data=DataConfig(source="shapes", binarize="none", image_size=32, n_samples=20000),
        train=replace(VAE_TRAIN, optimizer="adam", lr=Schedule(value=5e-4), batch_size=64, epochs=20),
    ),
)


def model_from_preset(name: str, **overrides: object) -> VAE:
    """The untrained model of preset ``name``; ``overrides`` are VAEConfig fields (``latent_dim=2``)."""
    return VAE(override(PRESETS[name].model, overrides))
