"""Tiny-shape tests of the shared network blocks."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from zspace.errors import ConfigError
from zspace.nn import ACTIVATIONS, MLP, ConvDecoder, ConvEncoder, activation
from zspace.nn.conv import flat_size


@pytest.mark.parametrize("hidden", [(), (16,), (32, 8), (5, 6, 7)])
def test_mlp_shapes_and_layer_count(hidden):
    torch.manual_seed(0)
    mlp = MLP(10, hidden, 3, act="tanh")
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    assert len(linears) == len(hidden) + 1
    assert len(mlp) == 2 * len(hidden) + 1  # activation between layers, none after the last
    assert isinstance(mlp[-1], nn.Linear)
    widths = [(l.in_features, l.out_features) for l in linears]
    dims = [10, *hidden, 3]
    assert widths == list(itertools.pairwise(dims))
    assert all(isinstance(m, nn.Tanh) for m in list(mlp)[1::2])
    assert mlp(torch.randn(4, 10)).shape == (4, 3)
    assert mlp(torch.randn(2, 5, 10)).shape == (2, 5, 3)  # (..., in) -> (..., out)


def test_mlp_last_layer_is_unbounded():
    torch.manual_seed(1)
    mlp = MLP(2, (8,), 1, act="relu")
    with torch.no_grad():
        mlp[-1].bias.fill_(-5.0)
        mlp[-1].weight.zero_()
    with torch.no_grad():
        assert float(mlp(torch.randn(1, 2))) == -5.0  # no ReLU after the output layer


def test_activation_lookup():
    for name, cls in ACTIVATIONS.items():
        assert isinstance(activation(name), cls)
    assert activation("relu") is not activation("relu")  # a fresh module each time
    with pytest.raises(ConfigError) as err:
        activation("swish")
    assert "swish" in str(err.value) and "relu" in str(err.value) and "silu" in str(err.value)
    with pytest.raises(ConfigError):
        MLP(2, (3,), 1, act="swish")


@pytest.mark.parametrize(
    "image_shape, channels",
    [((1, 8, 8), (32, 64)), ((1, 28, 28), (32, 64)), ((1, 32, 32), (8, 16, 32)), ((3, 16, 8), (4,))],
)
def test_conv_encoder_decoder_round_trip_shapes(image_shape, channels):
    torch.manual_seed(0)
    enc = ConvEncoder(image_shape, channels, hidden=32, out_features=6, act="relu")
    dec = ConvDecoder(3, image_shape, channels, hidden=32, out_channels=image_shape[0], act="relu")
    x = torch.randn(2, *image_shape)
    h = enc(x)
    assert h.shape == (2, 6)
    assert dec(h[:, :3]).shape == (2, *image_shape)
    # Leading sample dims pass through the decoder: (S, B, D) -> (S, B, C, H, W).
    assert dec(torch.randn(4, 2, 3)).shape == (4, 2, *image_shape)
    convs = [m for m in enc.conv if isinstance(m, nn.Conv2d)]
    deconvs = [m for m in dec.deconv if isinstance(m, nn.ConvTranspose2d)]
    assert len(convs) == len(deconvs) == len(channels)
    assert [c.out_channels for c in convs] == list(channels)


def test_conv_decoder_out_channels_can_differ():
    # e.g. a Gaussian likelihood with a learned per-pixel scale doubles the output channels.
    dec = ConvDecoder(4, (1, 8, 8), (8, 16), hidden=16, out_channels=2, act="elu")
    assert dec(torch.randn(5, 4)).shape == (5, 2, 8, 8)


@pytest.mark.parametrize(
    "image_shape, channels",
    [((1, 28, 28), (8, 16, 32)), ((1, 10, 8), (8, 16)), ((1, 8, 6), (8, 16)), ((3, 7, 7), (4,))],
)
def test_non_divisible_sizes_raise_config_error(image_shape, channels):
    with pytest.raises(ConfigError, match="divisible"):
        ConvEncoder(image_shape, channels, hidden=8, out_features=2, act="relu")
    with pytest.raises(ConfigError, match="divisible"):
        ConvDecoder(2, image_shape, channels, hidden=8, out_channels=1, act="relu")


def test_flat_size():
    assert flat_size((1, 28, 28)) == 784
    assert flat_size((7,)) == 7
