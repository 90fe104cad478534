"""Multi-layer perceptrons with named activations."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from zspace.errors import ConfigError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "gelu": nn.GELU,
}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name; unknown names list the valid ones."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(f"unknown activation {name!r}; valid: {sorted(ACTIVATIONS)}") from None


class MLP(nn.Sequential):
    """in_features -> hidden[0] -> ... -> hidden[-1] -> out_features, activation between layers.

    No activation after the last layer: outputs are logits / distribution parameters.
    x: (..., in_features) -> (..., out_features).
    """

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int, act: str = "relu") -> None:
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), activation(act)]
            width = h
        layers.append(nn.Linear(width, out_features))
        super().__init__(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x)
