"""MusicVAE (Roberts et al. 2018): a bidirectional LSTM encoder q(z|x) and a flat or hierarchical
autoregressive LSTM decoder p(x|z) over one or more instrument tracks.

Modules only; the loss lives in :mod:`zspace.music.objective`, the config in
:mod:`zspace.music.config`. The model knows nothing of MIDI: it reads class indices per track
and the encoding's input vectors, and returns logits per track.

Decoder layout. Both decoders are "embeddings -> autoregressive cores":

- flat: the one embedding is z; one core runs all T steps and emits every track's logits
  (Magenta ``CategoricalLstmDecoder`` / ``MultiOutCategoricalLstmDecoder``);
- hierarchical: a conductor turns z into U = T / L embeddings c_u; each segment of L steps is
  decoded by a core re-initialised from tanh(dense(c_u)) with c_u concatenated to its inputs;
  one core per track, each seeing only its own track's previous token (Magenta
  ``HierarchicalLstmDecoder`` over ``SplitMultiOutLstmDecoder``, as ``hierdec-trio_16bar``).

The previous token of step t is the true token at t - 1 under teacher forcing, the start token
(a zero vector) at t = 0, and it is carried across segment boundaries: segment u starts from
the last token of segment u - 1, in training and in generation alike.

Tokens are handled as class indices until the last moment: class c of track k becomes the row
c of that track's input table (one-hot by default), and an extra index D_k stands for the
zero start vector. With teacher forcing every segment is independent given its c_u, so all
U segments run as one batch of B * U sequences in one fused LSTM call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Independent, Normal

from zspace.core.distributions import standard_normal
from zspace.errors import ConfigError
from zspace.music.config import MusicVAEConfig
from zspace.nn.recurrent import BidirectionalLSTMEncoder, Conductor, LSTMDecoderCore, glorot_lstm_

Pick = Callable[[Sequence[Tensor]], Tensor]  # per-track logits [(N, D_k)] -> classes (N, K)


class MusicVAEOutput(NamedTuple):
    """One forward pass. logits: one (B, T, D_k) per track; posterior: q(z|x) with batch (B,),
    event (z_size,); z: (B, z_size), the reparameterized sample the decoder read."""

    logits: tuple[Tensor, ...]
    posterior: Independent
    z: Tensor


class Generation(NamedTuple):
    """Decoded sequences: classes (B, T, n_tracks) long and the logits that chose them, one (B, T, D_k) per track."""

    classes: Tensor
    logits: tuple[Tensor, ...]


def sampler(*, temperature: float = 1.0, greedy: bool = False, generator: torch.Generator | None = None) -> Pick:
    """Choose one class per track: argmax, or a draw from softmax(logits / temperature)."""
    if not greedy and temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}; use greedy=True for argmax decoding")

    def pick(logits: Sequence[Tensor]) -> Tensor:
        if greedy:
            return torch.stack([lg.argmax(dim=-1) for lg in logits], dim=-1)
        draws = [torch.multinomial(torch.softmax(lg / temperature, dim=-1), 1, generator=generator) for lg in logits]
        return torch.cat(draws, dim=-1)  # (N, K)

    return pick


class MusicEncoder(nn.Module):
    """q(z|x) = N(mu, diag sigma^2): mu = dense(h), sigma = softplus(dense(h)), h the BiLSTM summary.

    Magenta ``MusicVAE.encode`` (kernels N(0, 0.001), so q starts near N(0, softplus(0)^2)).
    inputs: (B, T, input_depth) -> batch (B,), event (z_size,).
    """

    def __init__(self, input_depth: int, sizes: Sequence[int], z_size: int, *, matmul_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.rnn = BidirectionalLSTMEncoder(input_depth, sizes, matmul_dtype=matmul_dtype)
        self.mu = nn.Linear(self.rnn.output_size, z_size)
        self.sigma = nn.Linear(self.rnn.output_size, z_size)
        for dense in (self.mu, self.sigma):
            nn.init.normal_(dense.weight, std=1e-3)
            nn.init.zeros_(dense.bias)

    def forward(self, inputs: Tensor) -> Independent:
        h = self.rnn(inputs)  # (B, 2H)
        normal = Normal(self.mu(h), F.softplus(self.sigma(h)), validate_args=False)
        return Independent(normal, 1, validate_args=False)


class MusicDecoder(nn.Module):
    """p(x|z): autoregressive LSTM cores conditioned on z (flat) or on a conductor's c_u (hierarchical).

    ``forward`` dispatches on the scheduled-sampling probability: 0 runs :meth:`teacher_forced`
    (fused, the fast path), anything else :meth:`scheduled_sampling` (step by step).
    """

    def __init__(self, config: MusicVAEConfig, input_tables: Sequence[Tensor]) -> None:
        super().__init__()
        c = config
        self.output_depths = c.output_depths
        self.hierarchical = c.decoder == "hierarchical"
        self.segment_length = c.segment_length if self.hierarchical else None
        for k, table in enumerate(input_tables):
            self.register_buffer(f"input_table_{k}", table)
        # Which tracks each core emits: all in one (flat), or one core per track (hierarchical).
        self.groups: tuple[tuple[int, ...], ...] = (
            tuple((k,) for k in range(c.n_tracks)) if self.hierarchical else (tuple(range(c.n_tracks)),)
        )
        self.conductor = Conductor(c.z_size, c.decoder_sizes, matmul_dtype=c.matmul_dtype) if self.hierarchical else None
        embedding_size = self.conductor.output_size if self.conductor is not None else c.z_size
        self.cores = nn.ModuleList(
            LSTMDecoderCore(
                token_size=sum(c.token_depths[k] for k in tracks),
                embedding_size=embedding_size,
                sizes=c.decoder_sizes,
                output_size=sum(c.output_depths[k] for k in tracks),
                matmul_dtype=c.matmul_dtype,
            )
            for tracks in self.groups
        )

    # -- tokens ------------------------------------------------------------------------------
    def input_table(self, k: int) -> Tensor:
        """Track k's table, class -> fed-back vector: (D_k, W_k)."""
        return getattr(self, f"input_table_{k}")

    def _start_tables(self, tracks: Sequence[int]) -> list[Tensor]:
        """Track tables with one extra all-zero row at index D_k: the start token. (D_k + 1, W_k)."""
        return [F.pad(self.input_table(k), (0, 0, 0, 1)) for k in tracks]

    def _start_classes(self, n: int, tracks: Sequence[int], device: torch.device) -> Tensor:
        return torch.tensor([self.output_depths[k] for k in tracks], device=device).expand(n, -1)  # (n, K)

    def _previous_classes(self, targets: Tensor) -> Tensor:
        """The token each step sees: targets shifted right by one, start index at t = 0. (B, T, n_tracks)."""
        start = self._start_classes(targets.shape[0], range(targets.shape[2]), targets.device)
        return torch.cat([start.unsqueeze(1), targets[:, :-1]], dim=1)

    # -- conditioning --------------------------------------------------------------------------
    def _segments(self, n_steps: int) -> tuple[int, int]:
        """(U, L): number of segments and steps per segment for a sequence of n_steps."""
        if self.segment_length is None:
            return 1, n_steps
        if n_steps % self.segment_length:
            raise ValueError(
                f"the hierarchical decoder needs a multiple of segment_length={self.segment_length} steps, got {n_steps}"
            )
        return n_steps // self.segment_length, self.segment_length

    def embeddings(self, z: Tensor, n_segments: int) -> Tensor:
        """What each segment's cores are conditioned on: the conductor's c_u, or z itself. (B, U, E)."""
        return self.conductor(z, n_segments) if self.conductor is not None else z.unsqueeze(1)

    # -- training ------------------------------------------------------------------------------
    def forward(self, z: Tensor, targets: Tensor, sampling_probability: float = 0.0) -> tuple[Tensor, ...]:
        """Logits per track (B, T, D_k) for targets (B, T, n_tracks) given z (B, z_size)."""
        if sampling_probability == 0.0:
            return self.teacher_forced(z, targets)
        return self.scheduled_sampling(z, targets, sampling_probability)

    def teacher_forced(self, z: Tensor, targets: Tensor) -> tuple[Tensor, ...]:
        """Every step reads the true previous token; all B * U segments in one fused LSTM pass."""
        (B, T, _), (U, L) = targets.shape, self._segments(targets.shape[1])
        e = self.embeddings(z, U).flatten(0, 1)  # (B*U, E)
        previous = self._previous_classes(targets)
        logits: dict[int, Tensor] = {}  # track -> (B, T, D_k)
        for core, tracks in zip(self.cores, self.groups):
            tables = self._start_tables(tracks)
            tokens = torch.cat([F.embedding(previous[..., k], t) for k, t in zip(tracks, tables)], dim=-1)  # (B, T, W)
            out = core(tokens.reshape(B * U, L, -1), e).reshape(B, T, -1)  # (B, T, sum D_k)
            logits.update(zip(tracks, out.split([self.output_depths[k] for k in tracks], dim=-1)))
        return tuple(logits[k] for k in range(len(self.output_depths)))

    def scheduled_sampling(self, z: Tensor, targets: Tensor, sampling_probability: float) -> tuple[Tensor, ...]:
        """Step by step; after each segment's first step, each example's next input is, with
        probability p, the model's own sample (temperature 1) instead of the true token.

        Magenta's ``ScheduledOutputTrainingHelper``: a segment's first input is always the true
        one, so segments stay independent given c_u and still run as one batch of B * U.
        With p = 0 this computes :meth:`teacher_forced`'s function (a test checks it).
        """
        if not 0.0 <= sampling_probability <= 1.0:
            raise ValueError(f"sampling_probability must lie in [0, 1], got {sampling_probability}")
        (B, T, _), (U, L) = targets.shape, self._segments(targets.shape[1])
        e = self.embeddings(z, U).flatten(0, 1)  # (B*U, E)
        previous = self._previous_classes(targets).reshape(B * U, L, -1)  # (B*U, L, n_tracks)
        own = torch.rand(B * U, L, device=z.device) < sampling_probability  # one draw per example and step
        logits: dict[int, Tensor] = {}  # track -> (B, T, D_k)
        for group, tracks in enumerate(self.groups):
            teacher = previous[..., list(tracks)]  # (B*U, L, K)
            out, _, _ = self._rollout(group, e, teacher[:, 0], L, sampler(), teacher=teacher, own=own)
            logits.update((k, track_logits.reshape(B, T, -1)) for k, track_logits in zip(tracks, out))
        return tuple(logits[k] for k in range(len(self.output_depths)))

    # -- generation ----------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: Tensor, n_steps: int, pick: Pick) -> Generation:
        """Decode n_steps from z (B, z_size), feeding back the classes ``pick`` chooses.

        Segments run in order; each starts from the last token of the one before.
        """
        B, (U, L) = z.shape[0], self._segments(n_steps)
        e = self.embeddings(z, U)  # (B, U, E)
        classes: list[list[Tensor]] = [[] for _ in self.output_depths]
        logits: list[list[Tensor]] = [[] for _ in self.output_depths]
        previous = [self._start_classes(B, tracks, z.device) for tracks in self.groups]  # (B, K) per core
        for u in range(U):
            for group, tracks in enumerate(self.groups):
                out, chosen, previous[group] = self._rollout(group, e[:, u], previous[group], L, pick)
                for i, k in enumerate(tracks):
                    logits[k].append(out[i])
                    classes[k].append(chosen[..., i])
        return Generation(
            classes=torch.stack([torch.cat(c, dim=1) for c in classes], dim=-1),
            logits=tuple(torch.cat(lg, dim=1) for lg in logits),
        )

    def _rollout(
        self,
        group: int,
        e: Tensor,
        first: Tensor,
        n_steps: int,
        pick: Pick,
        *,
        teacher: Tensor | None = None,
        own: Tensor | None = None,
    ) -> tuple[list[Tensor], Tensor, Tensor]:
        """Run core ``group`` for n_steps from the classes ``first`` (N, K), conditioned on e (N, E).

        The next input is the picked class, or with ``teacher`` (N, L, K) the true one except
        where ``own`` (N, L) is set. The previous token enters layer 0 as a row gathered from
        its table projected once by the core's input weights: no per-step matmul, and the
        start index gathers the zero row. Returns the logits per track [(N, L, D_k)], the
        picked classes (N, L, K) and the classes that would be fed next (N, K).
        """
        core, tracks = self.cores[group], self.groups[group]
        weights = core.token_weight.split([self.input_table(k).shape[1] for k in tracks], dim=1)
        projected = [F.linear(t, w) for t, w in zip(self._start_tables(tracks), weights)]  # (D_k + 1, 4H) per track
        depths = [self.output_depths[k] for k in tracks]
        state, previous = core.start(e), first
        logits, picked = [], []
        for t in range(n_steps):
            gates = sum(F.embedding(previous[:, i], p) for i, p in enumerate(projected))  # (N, 4H)
            out, state = core.step(gates, state)  # (N, sum D_k)
            chosen = pick([lg.detach() for lg in out.split(depths, dim=-1)])  # (N, K)
            logits.append(out)
            picked.append(chosen)
            previous = chosen
            if teacher is not None and t + 1 < n_steps:
                previous = torch.where(own[:, t + 1, None], chosen, teacher[:, t + 1])
        out = torch.stack(logits, dim=1)  # (N, L, sum D_k)
        return list(out.split(depths, dim=-1)), torch.stack(picked, dim=1), previous


class MusicVAE(nn.Module):
    """MusicVAE: q(z|x) by a bidirectional LSTM, p(x|z) by a flat or hierarchical LSTM decoder.

    ``input_tables``: per track, a float (D_k, W_k) table mapping a class to the vector the
    decoder is fed back (registered as buffers, saved with the weights). Default: identity
    tables (one-hot), which needs ``config.decoder_token_depths`` None or equal to the depths.
    """

    def __init__(self, config: MusicVAEConfig, input_tables: Sequence[Tensor] | None = None) -> None:
        super().__init__()
        self.config = config
        tables = self._check_tables(config, input_tables)
        self.encoder = MusicEncoder(config.input_depth, config.encoder_sizes, config.z_size, matmul_dtype=config.matmul_dtype)
        self.decoder = MusicDecoder(config, tables)
        if config.init == "magenta":
            self._magenta_init()

    def _magenta_init(self) -> None:
        """TF's defaults where Magenta relies on them: glorot-uniform LSTM kernels and output
        projections, zero output biases (``tf.layers.Dense``); the LSTM biases, forget bias and
        N(0, 0.001) layers are already Magenta's in every init."""
        for module in self.modules():
            if isinstance(module, nn.LSTM):
                glorot_lstm_(module)
        for core in self.decoder.cores:
            nn.init.xavier_uniform_(core.output.weight)
            nn.init.zeros_(core.output.bias)

    @staticmethod
    def _check_tables(config: MusicVAEConfig, input_tables: Sequence[Tensor] | None) -> list[Tensor]:
        if input_tables is None:
            if config.token_depths != config.output_depths:
                raise ConfigError(
                    f"MusicVAEConfig.decoder_token_depths={config.decoder_token_depths} needs the encoding's input tables; "
                    "pass input_tables=..., or rebuild a trained model with MusicVAE.from_state_dict"
                )
            return [torch.eye(d) for d in config.output_depths]
        tables = [torch.as_tensor(t, dtype=torch.float32) for t in input_tables]
        expected = list(zip(config.output_depths, config.token_depths))
        if [tuple(t.shape) for t in tables] != expected:
            raise ConfigError(
                f"input_tables have shapes {[tuple(t.shape) for t in tables]}, but the config expects (output depth, token depth) "
                f"{expected}; set MusicVAEConfig.decoder_token_depths to the tables' widths"
            )
        return tables

    # -- the two halves --------------------------------------------------------------------------
    def encode(self, inputs: Tensor) -> Independent:
        """q(z|x): inputs (B, T, input_depth) -> diagonal Normal, batch (B,), event (z_size,)."""
        if inputs.dim() != 3 or inputs.shape[-1] != self.config.input_depth:
            raise ValueError(f"MusicVAE expects inputs of shape (B, T, {self.config.input_depth}), got {tuple(inputs.shape)}")
        return self.encoder(inputs)

    def prior(self) -> Independent:
        """p(z) = N(0, I) on the model's device."""
        return standard_normal(self.config.z_size, device=self._device())

    def forward(self, inputs: Tensor, targets: Tensor, *, sampling_probability: float = 0.0) -> MusicVAEOutput:
        """inputs (B, T, input_depth) float, targets (B, T, n_tracks) long -> logits, posterior, z.

        ``sampling_probability`` > 0 switches the decoder to scheduled sampling (slower).
        """
        if targets.dim() != 3 or targets.shape[-1] != self.config.n_tracks or targets.shape[:2] != inputs.shape[:2]:
            raise ValueError(
                f"MusicVAE expects targets of shape (B, T, {self.config.n_tracks}) matching inputs {tuple(inputs.shape[:2])}, "
                f"got {tuple(targets.shape)}"
            )
        posterior = self.encode(inputs)
        z = posterior.rsample()  # (B, Z)
        return MusicVAEOutput(self.decoder(z, targets, sampling_probability), posterior, z)

    # -- generating ----------------------------------------------------------------------------
    @torch.no_grad()
    def decode(
        self,
        z: Tensor,
        n_steps: int | None = None,
        *,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Classes (B, n_steps, n_tracks) for codes z (B, z_size): temperature sampling or argmax."""
        pick = sampler(temperature=temperature, greedy=greedy, generator=generator)
        return self.decoder.generate(z, n_steps or self.config.n_steps, pick).classes

    @torch.no_grad()
    def sample(
        self,
        n: int,
        n_steps: int | None = None,
        *,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """n sequences decoded from z ~ N(0, I): classes (n, n_steps, n_tracks)."""
        z = torch.randn(n, self.config.z_size, generator=generator, device=self._device())
        return self.decode(z, n_steps, temperature=temperature, greedy=greedy, generator=generator)

    @torch.no_grad()
    def reconstruct(
        self,
        inputs: Tensor,
        *,
        temperature: float = 1.0,
        greedy: bool = True,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Decode the posterior mean of each input: (B, T, input_depth) -> classes (B, T, n_tracks)."""
        z = self.encode(inputs).mean
        return self.decode(z, inputs.shape[1], temperature=temperature, greedy=greedy, generator=generator)

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_state_dict(cls, config: MusicVAEConfig, state_dict: Mapping[str, Tensor]) -> MusicVAE:
        """Rebuild a trained model from its config and weights; the input tables travel in the weights."""
        prefix = "decoder.input_table_"
        tables = [state_dict[f"{prefix}{k}"] for k in range(config.n_tracks) if f"{prefix}{k}" in state_dict]
        model = cls(config, tables if len(tables) == config.n_tracks else None)
        model.load_state_dict(state_dict)
        return model


__all__ = ["Generation", "MusicDecoder", "MusicEncoder", "MusicVAE", "MusicVAEOutput", "sampler"]
