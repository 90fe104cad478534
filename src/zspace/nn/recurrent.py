"""Recurrent blocks for sequence VAEs: a stacked bidirectional LSTM encoder, an autoregressive
LSTM decoder core, a conductor, and the state initialisation they share.

Batch first everywhere, ``(B, T, features)``. A stack's state is one ``(h, c)`` pair per layer,
each ``(B, H_layer)``. Every block is built from ``nn.LSTM`` weights (gate order i, f, g, o), so
a decoder core has two ways to run that compute the same function:

- ``forward``: a whole teacher-forced sequence in one fused ``nn.LSTM`` call per layer (training);
- ``start`` + ``step``: one step at a time, for generation and scheduled sampling, where the
  next input depends on the previous output.

A whole-sequence pass runs in one of two ways, by the block's ``matmul_dtype``: None calls
``nn.LSTM`` (oneDNN / cuDNN fused kernels); a dtype (bfloat16) runs :func:`lstm_scan`, a
hand-written forward and backward whose recurrent matmuls take that dtype with float32 gates,
cell state and accumulation. On an AVX512-BF16 CPU bf16 matmuls are ~2.5x faster than MKL's
float32 ones, which makes the scan ~1.4x faster than oneDNN's float32 LSTM in training.

Initialisation follows Magenta's MusicVAE (TF ``LSTMBlockCell``): zero biases plus a forget-gate
bias of 1, and dense-to-state layers with N(0, 0.001) kernels so every state starts near zero;
:func:`glorot_lstm_` gives the weights TF's glorot-uniform start (MusicVAE's default init).
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


def glorot_lstm_(lstm: nn.LSTM) -> nn.LSTM:
    """TF's glorot-uniform initialisation of an LSTMBlockCell kernel, on nn.LSTM's weights.

    TF keeps one kernel ``[input + hidden, 4H]`` per LSTM (and direction), so its bound
    sqrt(6 / (fan_in + fan_out)) counts input + hidden in and 4H out; ``weight_ih`` and
    ``weight_hh`` are the two halves of that kernel and share the bound. Biases are left alone.
    """
    with torch.no_grad():
        for suffix in ("", "_reverse") if lstm.bidirectional else ("",):
            for layer in range(lstm.num_layers):
                w_ih, w_hh = getattr(lstm, f"weight_ih_l{layer}{suffix}"), getattr(lstm, f"weight_hh_l{layer}{suffix}")
                bound = (6.0 / (w_ih.shape[1] + w_hh.shape[1] + w_ih.shape[0])) ** 0.5
                w_ih.uniform_(-bound, bound)
                w_hh.uniform_(-bound, bound)
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


class _LSTMScan(torch.autograd.Function):
    """D independent LSTMs (directions) over T steps, given their input pre-activations.

    forward(gates_x (D, T, B, 4H), h0, c0 (D, B, H), weight_hh (D, 4H, H), dtype) ->
    (outputs (D, T, B, H), final c (D, B, H)). Matmuls run in ``dtype``; the rest in the
    dtype of gates_x. The backward is backpropagation through time by hand: per step only
    dh = dgates @ W_hh, then dW_hh in one big matmul over all steps (as cuDNN does).
    """

    @staticmethod
    def forward(ctx, gates_x: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        T, H = gates_x.shape[1], h0.shape[-1]
        w = weight_hh.to(dtype).transpose(1, 2)  # (D, H, 4H)
        acts = torch.empty_like(gates_x)  # i, f, g, o after their nonlinearities: (D, T, B, 4H)
        cells = gates_x.new_empty(*c0.shape[:1], T, *c0.shape[1:])  # (D, T, B, H)
        outputs = torch.empty_like(cells)  # (D, T, B, H)
        h, c = h0, c0
        for t in range(T):
            a = torch.add(gates_x[:, t], torch.bmm(h.to(dtype), w), out=acts[:, t])
            a[..., : 2 * H].sigmoid_(), a[..., 2 * H : 3 * H].tanh_(), a[..., 3 * H :].sigmoid_()
            i, f, g, o = a.split(H, dim=-1)
            c = torch.addcmul(f * c, i, g, out=cells[:, t])
            h = torch.mul(o, torch.tanh(c), out=outputs[:, t])
        ctx.save_for_backward(h0, c0, weight_hh, outputs, cells, acts)
        ctx.dtype = dtype
        return outputs, c.clone()

    @staticmethod
    def backward(ctx, d_outputs: Tensor | None, d_c_last: Tensor | None):  # type: ignore[override]
        h0, c0, weight_hh, outputs, cells, acts = ctx.saved_tensors
        w, T, H = weight_hh.to(ctx.dtype), outputs.shape[1], h0.shape[-1]  # w: (D, 4H, H)
        d_gates = torch.empty_like(acts)  # (D, T, B, 4H)
        dh = torch.zeros_like(h0)
        dc = torch.zeros_like(c0) if d_c_last is None else d_c_last.clone()
        for t in range(T - 1, -1, -1):
            i, f, g, o = acts[:, t].split(H, dim=-1)
            tanh_c = torch.tanh(cells[:, t])
            if d_outputs is not None:
                dh = dh + d_outputs[:, t]
            di, df, dg, do = d_gates[:, t].split(H, dim=-1)
            torch.mul(dh * tanh_c, o - o * o, out=do)
            dc = torch.addcmul(dc, dh * o, 1 - tanh_c * tanh_c)
            torch.mul(dc * g, i - i * i, out=di)
            torch.mul(dc * (cells[:, t - 1] if t else c0), f - f * f, out=df)
            torch.mul(dc * i, 1 - g * g, out=dg)
            dc = dc * f
            dh = torch.bmm(d_gates[:, t].to(ctx.dtype), w).to(dh.dtype)
        previous = torch.cat([h0.unsqueeze(1), outputs[:, :-1]], dim=1).flatten(1, 2).to(ctx.dtype)  # h_{t-1}: (D, T*B, H)
        d_weight = torch.bmm(d_gates.flatten(1, 2).to(ctx.dtype).transpose(1, 2), previous).to(weight_hh.dtype)  # (D, 4H, H)
        return d_gates, dh, dc, d_weight, None


def lstm_scan(gates_x: Tensor, state: LSTMState, weight_hh: Tensor, dtype: torch.dtype) -> tuple[Tensor, LSTMState]:
    """Run D LSTMs with nn.LSTM's recurrence from precomputed input pre-activations.

    gates_x: (D, T, B, 4H), ``W_ih x_t + b_ih + b_hh``; state: (h0, c0), each (D, B, H);
    weight_hh: (D, 4H, H). Returns the outputs h_t (D, T, B, H) and the final (h, c), each
    (D, B, H). Recurrent matmuls run in ``dtype`` (float32 reproduces nn.LSTM).
    """
    outputs, c = _LSTMScan.apply(gates_x, state[0], state[1], weight_hh, dtype)
    return outputs, (outputs[:, -1], c)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None, dtype: torch.dtype | None) -> Tensor:
    """F.linear with the matmul in ``dtype`` (None: x's own) and the result, plus bias, in x's dtype."""
    if dtype is None or dtype == x.dtype:
        return F.linear(x, weight, bias)
    out = F.linear(x.to(dtype), weight.to(dtype)).to(x.dtype)
    return out if bias is None else out + bias


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

    ``forward`` runs a whole sequence (one fused call per layer, or :func:`lstm_scan` with
    matmuls in ``matmul_dtype``); ``step`` advances one time step by hand on the same weights.
    """

    def __init__(self, input_size: int, sizes: Sequence[int], *, matmul_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.sizes = _check_sizes(sizes, "LSTMStack sizes")
        self.matmul_dtype = matmul_dtype
        widths = (input_size, *self.sizes[:-1])
        self.layers = nn.ModuleList(init_lstm_(nn.LSTM(i, h, batch_first=True)) for i, h in zip(widths, self.sizes))

    def forward(self, x: Tensor, state: Sequence[LSTMState]) -> tuple[Tensor, tuple[LSTMState, ...]]:
        """x: (B, T, input_size) -> top-layer outputs (B, T, sizes[-1]) and the final state."""
        if self.matmul_dtype is not None:
            layer0 = self.layers[0]
            return self.forward_gates(linear(x, layer0.weight_ih_l0, layer0.bias_ih_l0, self.matmul_dtype), state)
        final = []
        for layer, (h, c) in zip(self.layers, state):
            x, (h, c) = layer(x, (h.unsqueeze(0), c.unsqueeze(0)))  # h, c: (1, B, H)
            final.append((h.squeeze(0), c.squeeze(0)))
        return x, tuple(final)

    def forward_gates(self, input_gates: Tensor, state: Sequence[LSTMState]) -> tuple[Tensor, tuple[LSTMState, ...]]:
        """:meth:`forward` from layer 0's input pre-activations ``W_ih x_t + b_ih``: (B, T, 4 sizes[0]).

        Always the scan (in ``matmul_dtype``, float32 if None): a caller that can build layer 0's
        pre-activations cheaply (a gathered token row plus a per-sequence term) skips its matmul.
        """
        dtype = self.matmul_dtype or input_gates.dtype
        x, final = input_gates, []
        for k, (layer, (h, c)) in enumerate(zip(self.layers, state)):
            if k:  # layers above 0 read the outputs of the layer below
                input_gates = linear(x, layer.weight_ih_l0, layer.bias_ih_l0, dtype)
            gates = (input_gates + layer.bias_hh_l0).transpose(0, 1).unsqueeze(0)  # (1, T, B, 4H)
            out, (h, c) = lstm_scan(gates, (h.unsqueeze(0), c.unsqueeze(0)), layer.weight_hh_l0.unsqueeze(0), dtype)
            x = out.squeeze(0).transpose(0, 1)  # (B, T, H)
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
    x: (B, T, input_size) -> (B, 2 * sizes[-1]). With ``matmul_dtype`` both directions run as
    one :func:`lstm_scan` (the backward one on the time-reversed sequence).
    """

    def __init__(self, input_size: int, sizes: Sequence[int], *, matmul_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.sizes = _check_sizes(sizes, "BidirectionalLSTMEncoder sizes")
        self.matmul_dtype = matmul_dtype
        widths = (input_size, *(2 * s for s in self.sizes[:-1]))
        self.layers = nn.ModuleList(
            init_lstm_(nn.LSTM(i, h, batch_first=True, bidirectional=True)) for i, h in zip(widths, self.sizes)
        )

    @property
    def output_size(self) -> int:
        return 2 * self.sizes[-1]

    def forward(self, x: Tensor) -> Tensor:
        if self.matmul_dtype is not None:
            return self._scan(x, self.matmul_dtype)
        for layer in self.layers:
            x, (h, _) = layer(x)  # x: (B, T, 2H); h: (2, B, H) = (forward final, backward final)
        return torch.cat([h[0], h[1]], dim=-1)  # (B, 2H)

    def _scan(self, x: Tensor, dtype: torch.dtype) -> Tensor:
        for layer, H in zip(self.layers, self.sizes):
            weight_ih = torch.cat([layer.weight_ih_l0, layer.weight_ih_l0_reverse])  # (8H, I)
            bias = torch.cat([layer.bias_ih_l0 + layer.bias_hh_l0, layer.bias_ih_l0_reverse + layer.bias_hh_l0_reverse])
            gates = linear(x, weight_ih, bias, dtype).unflatten(-1, (2, 4 * H)).permute(2, 1, 0, 3)  # (2, T, B, 4H)
            gates = torch.stack([gates[0], gates[1].flip(0)])  # the backward direction reads t = T-1 first
            zeros = x.new_zeros(2, x.shape[0], H)
            weight_hh = torch.stack([layer.weight_hh_l0, layer.weight_hh_l0_reverse])  # (2, 4H, H)
            out, (h, _) = lstm_scan(gates, (zeros, zeros), weight_hh, dtype)  # out: (2, T, B, H)
            x = torch.cat([out[0], out[1].flip(0)], dim=-1).transpose(0, 1)  # (B, T, 2H)
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

    def __init__(
        self,
        token_size: int,
        embedding_size: int,
        sizes: Sequence[int],
        output_size: int,
        *,
        matmul_dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.token_size = token_size
        self.initial_state = StateFromEmbedding(embedding_size, sizes)
        self.lstm = LSTMStack(token_size + embedding_size, sizes, matmul_dtype=matmul_dtype)
        self.output = nn.Linear(self.lstm.sizes[-1], output_size)

    def forward(self, tokens: Tensor, e: Tensor) -> Tensor:
        """Teacher forcing in one pass: tokens (B, T, token_size), e (B, E) -> logits (B, T, output_size).

        The scan path computes e's share of layer 0's pre-activations once per sequence, not per step.
        """
        if self.lstm.matmul_dtype is not None:
            state = self.start(e)
            gates = linear(tokens, self.token_weight, None, self.lstm.matmul_dtype) + state.embedding_gates.unsqueeze(1)
            h, _ = self.lstm.forward_gates(gates, state.layers)  # (B, T, H)
            return self.output(h)
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

    def __init__(self, z_size: int, sizes: Sequence[int], *, matmul_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.initial_state = StateFromEmbedding(z_size, sizes)
        self.lstm = LSTMStack(1, sizes, matmul_dtype=matmul_dtype)  # a width-1 zero input, as Magenta: only the state carries z

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
    "glorot_lstm_",
    "init_lstm_",
    "linear",
    "lstm_cell",
    "lstm_scan",
]
