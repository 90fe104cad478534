"""Recurrent blocks for sequence VAEs: a stacked bidirectional LSTM encoder, an autoregressive
LSTM decoder core, a conductor, and the state initialisation they share.

Batch first everywhere, ``(B, T, features)``. A stack's state is one ``(h, c)`` pair per layer,
each ``(B, H_layer)``. Every block is built from ``nn.LSTM`` weights (gate order i, f, g, o), so
a decoder core has two ways to run that compute the same function:

- ``forward``: a whole teacher-forced sequence in one fused ``nn.LSTM`` call per layer (training);
- ``start`` + ``step``: one step at a time, for generation and scheduled sampling, where the
  next input depends on the previous output.

Initialisation follows Magenta's MusicVAE (TF ``LSTMBlockCell``): zero biases plus a forget-gate
bias of 1, and dense-to-state layers with N(0, 0.001) kernels so every state starts near zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zspace.errors import ConfigError

LSTMState = tuple[Tensor, Tensor]  # (h, c), each (B, H)


def _check_sizes(sizes: Sequence[int], what: str) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in sizes)
    if not sizes or any(s < 1 for s in sizes):
        raise ConfigError(f"{what} must be one or more positive layer sizes, got {sizes}")
    return sizes


def init_lstm_(lstm: nn.LSTM, forget_bias: float = 1.0) -> nn.LSTM:
    """Zero the biases, then set the forget gate's to ``forget_bias`` (TF LSTMBlockCell's default).

    A forget bias of 1 keeps the cell state flowing early in training (Jozefowicz et al. 2015).
    nn.LSTM has two bias vectors per layer; the sum is what matters, so ``bias_ih`` carries it.
    """
    h = lstm.hidden_size
    with torch.no_grad():
        for name, param in lstm.named_parameters():
            if name.startswith("bias_"):
                param.zero_()
                if name.startswith("bias_ih"):
                    param[h : 2 * h].fill_(forget_bias)  # gate order i, f, g, o
    return lstm


def lstm_cell(input_gates: Tensor, state: LSTMState, weight_hh: Tensor, bias_hh: Tensor) -> LSTMState:
    """One step of nn.LSTM's recurrence, given the input's pre-activations ``W_ih x + b_ih``.

    input_gates: (B, 4H); state: (h, c), each (B, H). Returns the new (h, c).
    """
    h, c = state
    gates = input_gates + F.linear(h, weight_hh, bias_hh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


class StateFromEmbedding(nn.Module):
    """Every layer's initial (h, c) from one embedding: split(tanh(dense(e))).

    Magenta's ``initial_cell_state_from_embedding``; how z reaches the decoder's memory
    (Roberts et al. 2018, sec. 3.2). e: (B, E) -> one (h, c) per layer, each (B, H_layer).
    """

    def __init__(self, embedding_size: int, sizes: Sequence[int]) -> None:
        super().__init__()
        self.sizes = _check_sizes(sizes, "StateFromEmbedding sizes")
        self.dense = nn.Linear(embedding_size, 2 * sum(self.sizes))
        nn.init.normal_(self.dense.weight, std=1e-3)
        nn.init.zeros_(self.dense.bias)

    def forward(self, e: Tensor) -> tuple[LSTMState, ...]:
        parts = torch.tanh(self.dense(e)).split([s for s in self.sizes for _ in "hc"], dim=-1)
        return tuple((parts[2 * i], parts[2 * i + 1]) for i in range(len(self.sizes)))


class LSTMStack(nn.Module):
    """Unidirectional LSTM layers of any widths, stacked, with an explicit per-layer state.

    ``forward`` runs a whole sequence (one fused call per layer); ``step`` advances one time
    step by hand on the same weights.
    """

    def __init__(self, input_size: int, sizes: Sequence[int]) -> None:
        super().__init__()
        self.sizes = _check_sizes(sizes, "LSTMStack sizes")
        widths = (input_size, *self.sizes[:-1])
        self.layers = nn.ModuleList(init_lstm_(nn.LSTM(i, h, batch_first=True)) for i, h in zip(widths, self.sizes))

    def forward(self, x: Tensor, state: Sequence[LSTMState]) -> tuple[Tensor, tuple[LSTMState, ...]]:
        """x: (B, T, input_size) -> top-layer outputs (B, T, sizes[-1]) and the final state."""
        final = []
        for layer, (h, c) in zip(self.layers, state):
            x, (h, c) = layer(x, (h.unsqueeze(0), c.unsqueeze(0)))  # h, c: (1, B, H)
            final.append((h.squeeze(0), c.squeeze(0)))
        return x, tuple(final)

    def step(self, input_gates: Tensor, state: Sequence[LSTMState]) -> tuple[Tensor, tuple[LSTMState, ...]]:
        """One time step from layer 0's input pre-activations (B, 4 sizes[0]) -> top h (B, sizes[-1])."""
        new: list[LSTMState] = []
        for layer, layer_state in zip(self.layers, state):
            if new:  # layers above 0 read the new h of the layer below
                input_gates = F.linear(new[-1][0], layer.weight_ih_l0, layer.bias_ih_l0)
            new.append(lstm_cell(input_gates, layer_state, layer.weight_hh_l0, layer.bias_hh_l0))
        return new[-1][0], tuple(new)


class BidirectionalLSTMEncoder(nn.Module):
    """Stacked bidirectional LSTM that summarises a sequence by its final states.

    Each layer reads the previous layer's concatenated (forward, backward) outputs, as TF's
    ``stack_bidirectional_dynamic_rnn``; the summary is [h_fwd after t = T-1, h_bwd after t = 0]
    of the last layer (Roberts et al. 2018, sec. 3.1; Magenta ``BidirectionalLstmEncoder``).
    x: (B, T, input_size) -> (B, 2 * sizes[-1]).
    """

    def __init__(self, input_size: int, sizes: Sequence[int]) -> None:
        super().__init__()
        self.sizes = _check_sizes(sizes, "BidirectionalLSTMEncoder sizes")
        widths = (input_size, *(2 * s for s in self.sizes[:-1]))
        self.layers = nn.ModuleList(
            init_lstm_(nn.LSTM(i, h, batch_first=True, bidirectional=True)) for i, h in zip(widths, self.sizes)
        )

    @property
    def output_size(self) -> int:
        return 2 * self.sizes[-1]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x, (h, _) = layer(x)  # x: (B, T, 2H); h: (2, B, H) = (forward final, backward final)
        return torch.cat([h[0], h[1]], dim=-1)  # (B, 2H)


class CoreState(NamedTuple):
    """What a decoder core carries from one step to the next.

    layers: (h, c) per layer, each (B, H_layer); embedding_gates: (B, 4 H_0), layer 0's
    pre-activations from the embedding (plus bias), constant over a rollout so computed once.
    """

    layers: tuple[LSTMState, ...]
    embedding_gates: Tensor


class LSTMDecoderCore(nn.Module):
    """Autoregressive LSTM conditioned on an embedding ``e`` (z, or a conductor's c_u).

    state_0 = tanh(dense(e)); the input at step t is concat(token_{t-1}, e), with a zero token
    at t = 0 supplied by the caller; logits_t = dense(h_t). Roberts et al. (2018), sec. 3.1-3.2;
    Magenta ``BaseLstmDecoder``. ``token_size`` is the width of the previous-token vector.
    """

    def __init__(self, token_size: int, embedding_size: int, sizes: Sequence[int], output_size: int) -> None:
        super().__init__()
        self.token_size = token_size
        self.initial_state = StateFromEmbedding(embedding_size, sizes)
        self.lstm = LSTMStack(token_size + embedding_size, sizes)
        self.output = nn.Linear(self.lstm.sizes[-1], output_size)

    def forward(self, tokens: Tensor, e: Tensor) -> Tensor:
        """Teacher forcing in one fused pass: tokens (B, T, token_size), e (B, E) -> logits (B, T, output_size)."""
        x = torch.cat([tokens, e.unsqueeze(1).expand(-1, tokens.shape[1], -1)], dim=-1)  # (B, T, W + E)
        h, _ = self.lstm(x, self.initial_state(e))  # (B, T, H)
        return self.output(h)

    @property
    def token_weight(self) -> Tensor:
        """Layer 0's input weights for the token part of its input: (4 H_0, token_size).

        ``step`` takes ``F.linear(token, token_weight)``; a caller whose tokens come from a
        fixed table can project the table once and gather rows instead of multiplying each step.
        """
        return self.lstm.layers[0].weight_ih_l0[:, : self.token_size]

    def start(self, e: Tensor) -> CoreState:
        """The state before step 0 for embeddings e (B, E)."""
        layer0 = self.lstm.layers[0]
        embedding_gates = F.linear(e, layer0.weight_ih_l0[:, self.token_size :], layer0.bias_ih_l0)  # (B, 4H_0)
        return CoreState(self.initial_state(e), embedding_gates)

    def step(self, token_gates: Tensor, state: CoreState) -> tuple[Tensor, CoreState]:
        """One step from the previous token's pre-activations (B, 4 H_0) -> logits (B, output_size)."""
        h, layers = self.lstm.step(token_gates + state.embedding_gates, state.layers)
        return self.output(h), CoreState(layers, state.embedding_gates)


class Conductor(nn.Module):
    """The hierarchical decoder's top level: one embedding per segment from z alone.

    An LSTM whose state starts at tanh(dense(z)) and whose input is a constant zero (Magenta's
    ``HierarchicalLstmDecoder`` with ``disable_autoregression=True``); its top-layer output at
    segment u is c_u (Roberts et al. 2018, sec. 3.2). z: (B, Z) -> (B, U, sizes[-1]).
    """

    def __init__(self, z_size: int, sizes: Sequence[int]) -> None:
        super().__init__()
        self.initial_state = StateFromEmbedding(z_size, sizes)
        self.lstm = LSTMStack(1, sizes)  # a width-1 zero input, as Magenta: only the state carries z

    @property
    def output_size(self) -> int:
        return self.lstm.sizes[-1]

    def forward(self, z: Tensor, n_segments: int) -> Tensor:
        zeros = z.new_zeros(z.shape[0], n_segments, 1)  # (B, U, 1)
        c, _ = self.lstm(zeros, self.initial_state(z))
        return c  # (B, U, H)


__all__ = [
    "BidirectionalLSTMEncoder",
    "Conductor",
    "CoreState",
    "LSTMDecoderCore",
    "LSTMStack",
    "LSTMState",
    "StateFromEmbedding",
    "init_lstm_",
    "lstm_cell",
]
