"""MusicVAE on tiny shapes: recurrent blocks, flat/hierarchical/trio decoders, objective, presets."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from zspace.core.config import from_dict, to_dict
from zspace.core.distributions import categorical
from zspace.core.schedules import Schedule
from zspace.errors import ConfigError
from zspace.music.config import MusicVAEConfig
from zspace.music.model import MusicVAE, sampler
from zspace.music.objective import (
    MusicObjective,
    SamplingSchedule,
    inverse_sigmoid,
    loss_terms,
    make_loss_fn,
    reconstruction_log_likelihood,
)
from zspace.music.presets import PRESETS, MusicPreset, preset_model
from zspace.nn.recurrent import BidirectionalLSTMEncoder

# Uneven layer sizes exercise the stacks; 3 segments of 4 steps exercise the boundaries.
FLAT = MusicVAEConfig(
    encoding="melody", output_depths=(11,), input_depth=11, n_steps=12, z_size=5, encoder_sizes=(8, 6), decoder_sizes=(9, 7)
)
HIER = replace(FLAT, decoder="hierarchical", segment_length=4)
TRIO = replace(HIER, encoding="trio", output_depths=(5, 6, 8), input_depth=16)
FLAT_TRIO = replace(TRIO, decoder="flat")
CONFIGS = {"flat": FLAT, "hier": HIER, "trio": TRIO, "flat-trio": FLAT_TRIO}


def build(config: MusicVAEConfig, seed: int = 0, **kw) -> MusicVAE:
    torch.manual_seed(seed)
    return MusicVAE(config, **kw)


def batch(config: MusicVAEConfig, n: int = 3, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    targets = torch.stack([torch.randint(0, d, (n, config.n_steps), generator=g) for d in config.output_depths], dim=-1)
    return torch.randn(n, config.n_steps, config.input_depth, generator=g), targets


def z_for(config: MusicVAEConfig, n: int = 3, seed: int = 2) -> torch.Tensor:
    return torch.randn(n, config.z_size, generator=torch.Generator().manual_seed(seed))


def resample(targets: torch.Tensor, config: MusicVAEConfig, start: int, stop: int | None = None) -> torch.Tensor:
    """targets with every class in steps [start, stop) changed to a different one."""
    out = targets.clone()
    depths = torch.tensor(config.output_depths)
    out[:, start:stop] = (out[:, start:stop] + 1) % depths
    return out


# -- recurrent blocks ------------------------------------------------------------------------------
def test_bidirectional_encoder_returns_final_forward_and_backward_states():
    torch.manual_seed(0)
    enc = BidirectionalLSTMEncoder(4, (6, 5))
    x = torch.randn(2, 7, 4)
    hidden = enc.layers[0](x)[0]
    outputs = enc.layers[1](hidden)[0]  # (B, T, 2H): forward half then backward half
    expected = torch.cat([outputs[:, -1, :5], outputs[:, 0, 5:]], dim=-1)  # forward after T-1, backward after 0
    torch.testing.assert_close(enc(x), expected)
    assert enc.output_size == 10


# -- shapes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONFIGS)
def test_shapes(name):
    config = CONFIGS[name]
    model = build(config)
    inputs, targets = batch(config)
    out = model(inputs, targets)
    assert [tuple(lg.shape) for lg in out.logits] == [(3, 12, d) for d in config.output_depths]
    assert out.z.shape == (3, 5)
    assert out.posterior.batch_shape == (3,) and out.posterior.event_shape == (5,)
    assert model.decode(out.z).shape == (3, 12, config.n_tracks)
    assert model.sample(2, 16).shape == (2, 16, config.n_tracks)  # longer than trained: the conductor unrolls further
    recon = model.reconstruct(inputs)
    assert recon.shape == targets.shape and recon.dtype == torch.long
    assert all((recon[..., k] < d).all() for k, d in enumerate(config.output_depths))


def test_hierarchical_decoder_rejects_partial_segments():
    model = build(HIER)
    with pytest.raises(ValueError, match="segment_length"):
        model.decode(z_for(HIER), 10)


# -- teacher forcing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("path", ["teacher", "scheduled"])
def test_no_leakage_from_current_or_future_targets(name, path):
    """logits at step t depend on targets before t only; and they do depend on the target at t - 1."""
    config = CONFIGS[name]
    decoder = build(config).decoder
    z, (_, targets) = z_for(config), batch(config)

    def logits(t):
        torch.manual_seed(7)  # the scheduled path draws coins and samples: the same ones each call
        return decoder.teacher_forced(z, t) if path == "teacher" else decoder.scheduled_sampling(z, t, 0.5)

    base = logits(targets)
    for t0 in (0, 3, 4, 9):  # 3: last step of segment 0, so 4 is the first step of segment 1
        changed = logits(resample(targets, config, t0))
        for k in range(config.n_tracks):
            torch.testing.assert_close(changed[k][:, : t0 + 1], base[k][:, : t0 + 1], rtol=0, atol=0)
        one_changed = logits(resample(targets, config, t0, t0 + 1))
        moved = [(one_changed[k][:, t0 + 1] - base[k][:, t0 + 1]).abs().max() for k in range(config.n_tracks)]
        if path == "teacher":  # each example's coin may hide the true token under scheduled sampling
            assert min(moved) > 0  # every track's next step reads its own previous token


@pytest.mark.parametrize("name", CONFIGS)
def test_fast_path_equals_step_by_step_loop_with_gradients(name):
    config = CONFIGS[name]
    model = build(config)
    z, (_, targets) = z_for(config), batch(config)
    grads = []
    for run in (model.decoder.teacher_forced, lambda z, t: model.decoder.scheduled_sampling(z, t, 0.0)):
        model.zero_grad()
        logits = run(z, targets)
        sum((lg * torch.linspace(-1, 1, lg.shape[-1])).sum() for lg in logits).backward()
        grads.append({n: p.grad.clone() for n, p in model.decoder.named_parameters() if p.grad is not None})
        grads[-1]["logits"] = torch.cat([lg.flatten() for lg in logits]).detach()
    assert grads[0].keys() == grads[1].keys()
    for key in grads[0]:
        torch.testing.assert_close(grads[1][key], grads[0][key], atol=2e-6, rtol=1e-4, msg=key)


def test_full_scheduled_sampling_reads_only_segment_starts():
    """p = 1: after a segment's first (true) input the decoder reads only its own samples."""

    def logits(decoder, z, targets):
        torch.manual_seed(3)
        return decoder.scheduled_sampling(z, targets, 1.0)[0]

    for config in (FLAT, HIER):
        decoder, z, (_, targets) = build(config).decoder, z_for(config), batch(config)
        inside = resample(targets, config, 0)
        inside[:, 3::4] = targets[:, 3::4]  # keep the last step of every segment
        torch.testing.assert_close(logits(decoder, z, inside), logits(decoder, z, targets), rtol=0, atol=0)
    boundary = resample(targets, config, 3, 4)  # the true token the hierarchical segment 1 starts from
    assert not torch.equal(logits(decoder, z, boundary)[:, 4], logits(decoder, z, targets)[:, 4])


# -- generation --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("greedy", [True, False])
def test_generation_feeds_back_what_teacher_forcing_would(name, greedy):
    """Generated logits equal the teacher-forced logits of the generated sequence: the sampler
    carries the previous token across segments exactly as training does."""
    config = CONFIGS[name]
    decoder = build(config).decoder
    z = z_for(config)
    generated = decoder.generate(z, 12, sampler(greedy=greedy, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        forced = decoder.teacher_forced(z, generated.classes)
    for k in range(config.n_tracks):
        torch.testing.assert_close(generated.logits[k], forced[k], atol=2e-6, rtol=1e-4)
    if greedy:
        assert torch.equal(torch.stack([lg.argmax(-1) for lg in forced], dim=-1), generated.classes)


def test_temperature_to_zero_is_greedy():
    model = build(TRIO)
    z = z_for(TRIO, n=6)
    cold = model.decode(z, temperature=1e-9, generator=torch.Generator().manual_seed(0))  # top-2 gaps go down to ~3e-7
    assert torch.equal(cold, model.decode(z, greedy=True))
    with pytest.raises(ValueError, match="greedy"):
        model.decode(z, temperature=0.0)


def test_seeded_generator_makes_sampling_deterministic():
    model = build(HIER)

    def draw(seed):
        return model.sample(5, temperature=1.5, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))


def test_conductor_embeddings_depend_on_z():
    decoder = build(HIER).decoder
    z = z_for(HIER)
    c, c_other = decoder.embeddings(z, 3), decoder.embeddings(z + 1.0, 3)  # (B, U, H)
    assert c.shape == (3, 3, 7)
    assert ((c - c_other).abs().amax(dim=-1) > 1e-6).all()  # every segment of every example moves
    assert not torch.allclose(c[:, 0], c[:, 1])  # and the segments differ from each other


# -- input tables --------------------------------------------------------------------------------------
def test_input_tables_define_the_fed_back_vectors_and_travel_with_the_weights():
    table = torch.eye(11)[:, :6]  # classes 6..10 feed back the zero vector: indistinguishable from each other
    config = replace(HIER, decoder_token_depths=(6,))
    model = build(config, input_tables=[table])
    z, (_, targets) = z_for(config), batch(config)
    targets[:, 5] = 7
    other = targets.clone()
    other[:, 5] = 9
    with torch.no_grad():
        torch.testing.assert_close(model.decoder(z, other)[0], model.decoder(z, targets)[0], rtol=0, atol=0)
        other[:, 5] = 2  # a class with its own vector changes the next step
        assert not torch.equal(model.decoder(z, other)[0][:, 6], model.decoder(z, targets)[0][:, 6])

    rebuilt = MusicVAE.from_state_dict(config, model.state_dict())
    torch.testing.assert_close(rebuilt.decoder.input_table(0), table)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.decoder(z, targets)[0], model.decoder(z, targets)[0])
    with pytest.raises(ConfigError, match="input_tables"):
        MusicVAE(config)
    with pytest.raises(ConfigError, match="decoder_token_depths"):
        MusicVAE(HIER, input_tables=[table])


# -- objective --------------------------------------------------------------------------------------
def random_posterior(b=4, d=3, seed=0) -> Independent:
    g = torch.Generator().manual_seed(seed)
    return Independent(Normal(torch.randn(b, d, generator=g) * 2, torch.rand(b, d, generator=g) * 3 + 0.05), 1)


def test_kl_matches_closed_form_and_is_nonnegative():
    logits, targets = (torch.zeros(4, 2, 3),), torch.zeros(4, 2, 1, dtype=torch.long)
    for seed in range(5):
        q = random_posterior(seed=seed)
        mu, s = q.base_dist.loc, q.base_dist.scale
        closed = 0.5 * (mu**2 + s**2 - 1 - torch.log(s**2)).sum(-1)  # Kingma & Welling, appendix B
        _, metrics = loss_terms(logits, targets, q, beta=1.0, free_nats=0.0)
        torch.testing.assert_close(metrics["kl"], closed.mean())
        torch.testing.assert_close(metrics["kl"], kl_divergence(q, Independent(Normal(torch.zeros(3), torch.ones(3)), 1)).mean())
        torch.testing.assert_close(metrics["kl_bits"], closed.mean() / math.log(2))
        assert (closed >= 0).all()
    q = Independent(Normal(torch.zeros(2, 3), torch.ones(2, 3)), 1)
    assert float(loss_terms((logits[0][:2],), targets[:2], q, beta=1.0, free_nats=0.0)[1]["kl"]) == 0.0


def test_reconstruction_sums_over_steps_and_tracks():
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(4, 6, 5, generator=g), torch.randn(4, 6, 8, generator=g))
    targets = torch.stack([torch.randint(0, 5, (4, 6), generator=g), torch.randint(0, 8, (4, 6), generator=g)], -1)
    expected = categorical(logits[0], 1).log_prob(targets[..., 0]) + categorical(logits[1], 1).log_prob(targets[..., 1])
    torch.testing.assert_close(reconstruction_log_likelihood(logits, targets), expected)


def test_loss_reduction_beta_and_free_bits_clamp():
    g = torch.Generator().manual_seed(1)
    logits, targets = (torch.randn(4, 6, 5, generator=g),), torch.randint(0, 5, (4, 6, 1), generator=g)
    mu = torch.randn(4, 3, generator=g).requires_grad_()
    q = Independent(Normal(mu, torch.full((4, 3), 0.5)), 1)
    recon = -reconstruction_log_likelihood(logits, targets).mean()
    kl = kl_divergence(q, Independent(Normal(torch.zeros(3), torch.ones(3)), 1)).detach()  # (B,)
    for free in (0.0, float(kl.median())):
        loss, metrics = loss_terms(logits, targets, q, beta=0.3, free_nats=free)
        torch.testing.assert_close(loss, recon + 0.3 * torch.clamp(kl - free, min=0).mean())
        torch.testing.assert_close(metrics["elbo"], -(recon + kl.mean()))  # the bound itself ignores beta and free bits
    loss, _ = loss_terms(logits, targets, q, beta=0.3, free_nats=float(kl.max()) + 1)
    torch.testing.assert_close(loss, recon)  # every example under budget: no KL pressure at all
    loss.backward()
    assert mu.grad is None or (mu.grad == 0).all()


def test_sampling_schedules_against_closed_forms():
    k = 1000.0
    schedule = SamplingSchedule(kind="inverse_sigmoid", rate=k)
    for step in (0, 1, 500, 1000, 5000, 20_000):
        assert schedule(step) == pytest.approx(1 - k / (k + math.exp(step / k)), rel=1e-12)
    assert schedule(int(k * math.log(k))) == pytest.approx(0.5, abs=1e-3)
    assert schedule(10**9) == 1.0  # no overflow where exp(step / k) would
    values = [schedule(s) for s in range(0, 30_000, 1000)]
    assert values == sorted(values)
    assert inverse_sigmoid(0, 1.0) == 0.5
    assert SamplingSchedule(kind="exponential", rate=0.9)(3) == pytest.approx(1 - 0.9**3)
    assert SamplingSchedule()(10**6) == 0.0  # the default is teacher forcing
    for kind, rate in (("inverse_sigmoid", 0.5), ("constant", 1.5), ("exponential", 1.0), ("linear", 0.1)):
        with pytest.raises(ConfigError):
            SamplingSchedule(kind=kind, rate=rate)


def test_loss_fn_schedules_and_eval_mode_teacher_forcing():
    config = TRIO
    model = build(config)
    inputs, targets = batch(config)
    objective = MusicObjective(
        free_bits=2.0,
        beta=Schedule(kind="exponential-rise", value=0.2, rate=0.99),
        sampling=SamplingSchedule(kind="inverse_sigmoid", rate=10.0),
    )
    loss_fn = make_loss_fn(objective, track_names=config.track_names)
    loss, metrics = loss_fn(model, (inputs, targets), 50)
    assert loss.requires_grad and loss.dim() == 0
    assert float(metrics["beta"]) == pytest.approx(0.2 * (1 - 0.99**50))
    assert float(metrics["sampling_probability"]) == pytest.approx(inverse_sigmoid(50, 10.0))
    assert {"accuracy/melody", "accuracy/bass", "accuracy/drums", "elbo", "kl", "kl_bits", "reconstruction"} <= set(metrics)
    model.eval()
    assert float(loss_fn(model, (inputs, targets), 50)[1]["sampling_probability"]) == 0.0


def test_tiny_model_overfits_four_sequences():
    config = MusicVAEConfig(n_steps=16, z_size=16, encoder_sizes=(32,), decoder_sizes=(64,))
    model = build(config)
    targets = torch.randint(0, 90, (4, 16, 1), generator=torch.Generator().manual_seed(0))
    inputs = torch.nn.functional.one_hot(targets[..., 0], 90).float()
    loss_fn = make_loss_fn(MusicObjective(beta=Schedule(kind="constant", value=0.0)))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(150):  # 100% by step 100 on every seed tried
        loss, _ = loss_fn(model, (inputs, targets), step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        _, metrics = loss_fn(model, (inputs, targets), 150)
    assert float(metrics["accuracy"]) > 0.95


# -- config and presets --------------------------------------------------------------------------------
def expected_parameters(c: MusicVAEConfig) -> int:
    """Closed-form parameter count: 4H(I + H + 2) per LSTM layer and direction, plus dense layers."""

    def lstm(i: int, h: int) -> int:
        return 4 * h * (i + h + 2)

    def stack(i: int, sizes: tuple[int, ...]) -> int:
        return sum(lstm(a, b) for a, b in zip((i, *sizes[:-1]), sizes))

    def state(e: int) -> int:  # tanh(dense(e)) -> (h, c) of every layer
        return (e + 1) * 2 * sum(c.decoder_sizes)

    def core(w: int, e: int, out: int) -> int:
        return state(e) + stack(w + e, c.decoder_sizes) + (c.decoder_sizes[-1] + 1) * out

    h = c.encoder_sizes
    encoder = sum(2 * lstm(i, s) for i, s in zip((c.input_depth, *(2 * s for s in h[:-1])), h)) + 2 * (2 * h[-1] + 1) * c.z_size
    if c.decoder == "flat":
        return encoder + core(sum(c.output_depths), c.z_size, sum(c.output_depths))
    conductor = state(c.z_size) + stack(1, c.decoder_sizes)
    return encoder + conductor + sum(core(d, c.decoder_sizes[-1], d) for d in c.output_depths)


# For the record (millions): the sizes a reader can compare with other implementations.
MILLIONS = {
    "cat-mel_2bar_small": 4.43, "cat-mel_2bar_big": 134.61, "cat-drums_2bar_small": 4.64, "flat-mel_16bar": 235.31,
    "hierdec-mel_16bar": 176.11, "hierdec-trio_16bar": 231.04,  # trio: 692-wide input, as Magenta
}  # fmt: skip


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_with_a_plausible_size(name):
    preset = PRESETS[name]
    with torch.device("meta"):  # the big presets allocate nothing
        model = MusicVAE(preset.model)
    n = sum(p.numel() for p in model.parameters())
    assert n == expected_parameters(preset.model)
    if name.endswith("_tiny"):
        assert 5e4 < n < 1e6
        assert preset.objective == PRESETS[name.replace("_tiny", "_small" if "2bar" in name else "")].objective
    else:
        assert n / 1e6 == pytest.approx(MILLIONS[name], abs=0.01)
    assert from_dict(MusicPreset, to_dict(preset)) == preset  # JSON round trip: rebuilt from config alone


def test_magenta_hyperparameters():
    small, hier = PRESETS["cat-mel_2bar_small"], PRESETS["hierdec-trio_16bar"]
    assert (small.model.z_size, small.model.encoder_sizes, small.model.decoder_sizes, small.model.n_steps) == (
        256,
        (512,),
        (256, 256),
        32,
    )
    assert small.objective.beta(10**7) == pytest.approx(0.2) and small.objective.beta(0) == 0.0
    assert small.objective.sampling == SamplingSchedule(kind="inverse_sigmoid", rate=1000)
    assert PRESETS["cat-drums_2bar_small"].objective.free_nats == pytest.approx(48 * math.log(2))
    assert (hier.model.n_segments, hier.model.segment_length, hier.model.n_bars, hier.train.batch_size) == (16, 16, 16, 256)
    lr = small.train.lr
    assert (lr(0), small.train.grad_clip_norm, small.train.batch_size) == (1e-3, 1.0, 512)
    assert lr(10**6) == pytest.approx(1e-5)


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="n_steps"):
        replace(HIER, n_steps=10)
    with pytest.raises(ConfigError, match="output_depths"):
        MusicVAEConfig(encoding="trio", output_depths=(90,))
    with pytest.raises(ConfigError, match="decoder_token_depths"):
        replace(TRIO, decoder_token_depths=(5,))
    with pytest.raises(ConfigError, match="cat-mel_2bar_small"):
        PRESETS["cat-mel_2bar"]
    assert preset_model("cat-mel_2bar_tiny", z_size=8).config.z_size == 8


def test_magenta_initialisation_is_the_default_and_pytorch_a_named_option():
    """Magenta's start: glorot-uniform over each LSTM's whole [input + hidden, 4H] kernel and
    over the output projection, zero output bias; "pytorch" keeps nn.LSTM's and nn.Linear's own."""
    config = PRESETS["cat-mel_2bar_small"].model
    assert config.init == "magenta"
    magenta, pytorch = build(config), build(replace(config, init="pytorch"))
    enc, core = magenta.encoder.rnn.layers[0], magenta.decoder.cores[0]
    enc_bound = (6 / (90 + 512 + 4 * 512)) ** 0.5
    for w in (enc.weight_ih_l0, enc.weight_hh_l0, enc.weight_ih_l0_reverse, enc.weight_hh_l0_reverse):
        assert enc_bound * 0.98 < float(w.abs().max()) <= enc_bound
    dec = core.lstm.layers[0]
    dec_bound = (6 / (90 + 256 + 256 + 4 * 256)) ** 0.5  # token + z in, hidden, 4H out
    assert dec_bound * 0.98 < float(dec.weight_ih_l0.abs().max()) <= dec_bound
    out_bound = (6 / (256 + 90)) ** 0.5
    assert out_bound * 0.98 < float(core.output.weight.abs().max()) <= out_bound
    assert not core.output.bias.any() and pytorch.decoder.cores[0].output.bias.any()
    torch_bound = 1 / 512**0.5  # nn.LSTM: uniform(+-1/sqrt(hidden))
    assert torch_bound * 0.98 < float(pytorch.encoder.rnn.layers[0].weight_ih_l0.abs().max()) <= torch_bound
    for model in (magenta, pytorch):  # both: zero LSTM biases but the forget gate's 1.0, N(0, 0.001) heads
        bias = model.encoder.rnn.layers[0].bias_ih_l0
        assert torch.equal(bias[512:1024], torch.ones(512)) and not bias[:512].any()
        assert float(model.encoder.mu.weight.std()) < 2e-3
