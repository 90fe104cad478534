"""Reusable network blocks (MLPs, conv stacks) shared by the model families."""

from zspace.nn.conv import ConvDecoder, ConvEncoder
from zspace.nn.mlp import ACTIVATIONS, MLP, activation

__all__ = ["ACTIVATIONS", "ConvDecoder", "ConvEncoder", "MLP", "activation"]
