"""Reusable network blocks (MLPs, conv stacks, LSTM encoders/decoders) shared by the model families."""

from zspace.nn.conv import ConvDecoder, ConvEncoder
from zspace.nn.mlp import ACTIVATIONS, MLP, activation
from zspace.nn.recurrent import BidirectionalLSTMEncoder, Conductor, LSTMDecoderCore, LSTMStack

__all__ = [
    "ACTIVATIONS", "MLP", "BidirectionalLSTMEncoder", "Conductor", "ConvDecoder", "ConvEncoder", "LSTMDecoderCore",
    "LSTMStack", "activation",
]  # fmt: skip
