"""Small convolutional encoder/decoder stacks for images (DCGAN-style stride-2 blocks)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from zspace.errors import ConfigError
from zspace.nn.mlp import activation


def _check_divisible(image_shape: Sequence[int], n_blocks: int) -> tuple[int, int, int]:
    c, h, w = image_shape
    factor = 2**n_blocks
    if h % factor or w % factor:
        raise ConfigError(
            f"conv architecture with {n_blocks} stride-2 blocks needs height and width divisible by "
            f"{factor}; got image shape {tuple(image_shape)} (use fewer channels entries or the mlp architecture)"
        )
    return c, h // factor, w // factor


class ConvEncoder(nn.Module):
    """x: (B, C, H, W) -> (B, out_features); each channel entry halves H and W (4x4 kernels, stride 2)."""

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], hidden: int, out_features: int, act: str) -> None:
        super().__init__()
        c, h, w = _check_divisible(image_shape, len(channels))
        layers: list[nn.Module] = []
        in_ch = c
        for ch in channels:
            layers += [nn.Conv2d(in_ch, ch, kernel_size=4, stride=2, padding=1), activation(act)]
            in_ch = ch
        self.conv = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(in_ch * h * w, hidden), activation(act), nn.Linear(hidden, out_features)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.conv(x))


class ConvDecoder(nn.Module):
    """z: (..., in_features) -> (..., C_out, H, W) by the mirror image of :class:`ConvEncoder`."""

    def __init__(
        self, in_features: int, image_shape: Sequence[int], channels: Sequence[int], hidden: int, out_channels: int, act: str
    ) -> None:
        super().__init__()
        _, h, w = _check_divisible(image_shape, len(channels))
        rev = list(channels)[::-1]
        self.start_shape = (rev[0], h, w)
        self.fc = nn.Sequential(
            nn.Linear(in_features, hidden), activation(act), nn.Linear(hidden, rev[0] * h * w), activation(act)
        )
        layers: list[nn.Module] = []
        for in_ch, out_ch in itertools.pairwise(rev):
            layers += [nn.ConvTranspose2d(in_ch, out_ch, kernel_size=4, stride=2, padding=1), activation(act)]
        layers.append(nn.ConvTranspose2d(rev[-1], out_channels, kernel_size=4, stride=2, padding=1))
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        x = self.fc(z.reshape(-1, z.shape[-1])).view(-1, *self.start_shape)  # (N, C0, h, w)
        x = self.deconv(x)  # (N, C_out, H, W)
        return x.view(*lead, *x.shape[1:])


def flat_size(shape: Sequence[int]) -> int:
    """Number of elements of one example of ``shape``."""
    return int(torch.Size(shape).numel())
