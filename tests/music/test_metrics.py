"""MusicVAE evaluation metrics: accuracy on hand-built logits, an overfit batch, input-blind decoders; smoothness."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from zspace.core.objectives import kl_standard_normal
from zspace.music.config import MusicVAEConfig
from zspace.music.metrics import evaluate, interpolation_smoothness, kl_and_active_units, smoothness
from zspace.music.model import MusicVAE
from zspace.music.paper_metrics import decoder_accuracy, posterior_codes, posterior_samples

CONFIG = MusicVAEConfig(n_steps=8, z_size=4, encoder_sizes=(16,), decoder_sizes=(16,))  # melody, 90 classes


def tokens(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 90, (n, CONFIG.n_steps, 1), generator=torch.Generator().manual_seed(seed))


def model(seed: int = 0) -> MusicVAE:
    torch.manual_seed(seed)
    return MusicVAE(CONFIG)


def reconstruction_accuracy(m: MusicVAE, x: torch.Tensor, *, teacher_forced: bool = True, **kw) -> dict[str, float]:
    """decoder_accuracy from the posterior means, greedy; the model left in the mode it was in."""
    was_training = m.training
    m.eval()
    try:
        return decoder_accuracy(m, x, posterior_codes(m, x)[0], teacher_forced=teacher_forced, **kw)
    finally:
        m.train(was_training)


def test_teacher_forced_accuracy_counts_argmax_hits_on_hand_built_logits():
    m, x = model(), tokens(5)

    def logits(z, targets):  # the right class except at every 4th step: 6 of 8 right
        wrong = targets.clone()
        wrong[:, ::4] = (wrong[:, ::4] + 1) % 90
        return (F.one_hot(wrong[..., 0], 90).float(),)

    m.decoder.teacher_forced = logits
    scores = reconstruction_accuracy(m, x, batch_size=2)
    assert (scores["accuracy"], scores["accuracy/melody"]) == (0.75, 0.75)
    onsets = x[..., 0] >= 2
    assert scores["onset_accuracy"] == pytest.approx(
        float(onsets[:, 1::4].sum() + onsets[:, 2::4].sum() + onsets[:, 3::4].sum()) / float(onsets.sum())
    )


def test_a_model_that_overfit_one_batch_reconstructs_it():
    m, x = model(), tokens(4)
    inputs = F.one_hot(x[..., 0], 90).float()
    optimizer = torch.optim.Adam(m.parameters(), lr=3e-2)
    for _ in range(120):
        out = m(inputs, x)
        loss = F.cross_entropy(out.logits[0].flatten(0, 1), x.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert reconstruction_accuracy(m, x)["accuracy"] > 0.97
    assert reconstruction_accuracy(m, tokens(4, seed=1))["accuracy"] < 0.5  # unseen windows are not


def test_sampled_equals_teacher_forced_for_a_decoder_that_ignores_its_inputs():
    m, x = model(), tokens(6)
    with torch.no_grad():
        m.decoder.cores[0].lstm.layers[0].weight_ih_l0[:, :90] = 0.0  # the previous token's weights
    tf = reconstruction_accuracy(m, x, teacher_forced=True)
    sampled = reconstruction_accuracy(m, x, teacher_forced=False)
    assert "nll_nats" in tf and "nll_nats" not in sampled  # only the teacher-forced decoder scores the targets
    assert sampled == pytest.approx({k: v for k, v in tf.items() if k != "nll_nats"}, abs=1e-12)
    m2 = model()  # one that reads its inputs does differ
    assert reconstruction_accuracy(m2, x, teacher_forced=False) != reconstruction_accuracy(m2, x, teacher_forced=True)


def test_smoothness_of_known_paths():
    ramp = torch.tensor([[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]).unsqueeze(-1)
    assert smoothness(ramp) == pytest.approx((0.25, 1.0))
    assert smoothness(ramp.flip(0)) == pytest.approx((0.25, 1.0))  # distance from its own start grows too
    constant = torch.zeros(4, 4, 1, dtype=torch.long)
    assert smoothness(constant) == (0.0, 0.0)
    there_and_back = torch.stack([ramp[0], ramp[2], ramp[4], ramp[2], ramp[0]])
    change, monotonic = smoothness(there_and_back)
    assert change == pytest.approx(0.5) and monotonic == pytest.approx(0.0)
    jump = torch.stack([ramp[0]] * 3 + [ramp[4]] * 2)  # distances 0 0 0 1 1: tied ranks
    assert smoothness(jump) == pytest.approx((0.25, (0.8660254037844387)))
    with pytest.raises(ValueError, match="S >= 3"):
        smoothness(ramp[:2])


def test_interpolation_smoothness_is_in_range_and_its_ends_are_the_reconstructions():
    m, a, b = model(), tokens(3, seed=1), tokens(3, seed=2)
    out = interpolation_smoothness(m, a, b, steps=5)
    assert 0 <= out["change_rate"] <= 1 and -1 <= out["monotonicity"] <= 1 and out["steps"] == 5
    ends = (
        reconstruction_accuracy(m, a, teacher_forced=False)["accuracy"]
        + reconstruction_accuracy(m, b, teacher_forced=False)["accuracy"]
    ) / 2
    assert out["endpoint_accuracy"] == pytest.approx(ends)


def test_kl_and_active_units_match_the_posterior():
    m, x = model(), tokens(7)
    with torch.no_grad():
        m.encoder.mu.weight.normal_(std=1.0)
        posterior = m.encode(F.one_hot(x[..., 0], 90).float()).base_dist
    kl = kl_standard_normal(posterior.loc, 2 * posterior.scale.log()).sum(-1).mean()
    out = kl_and_active_units(m, x, batch_size=3)
    assert out["kl_nats"] == pytest.approx(float(kl), rel=1e-5)
    assert out["kl_bits"] == pytest.approx(float(kl) / 0.6931471805599453, rel=1e-5)
    assert out["active_units"] == int((posterior.loc.var(0) > 0.01).sum()) and out["z_size"] == 4


def test_evaluate_is_deterministic_given_the_seed():
    m, x = model(), tokens(9)
    first = evaluate(m, x, seed=3, n_interpolations=2, interpolation_steps=3)
    assert evaluate(m, x, seed=3, n_interpolations=2, interpolation_steps=3) == first
    assert {
        "tf_acc",
        "sampled_acc_t1",
        "sampled_acc_argmax",
        "zswap_gap_nats",
        "kl_nats",
        "active_units",
        "interp_change_rate",
    } <= set(first)
    m.eval()
    sampled_z = [posterior_samples(m, x, torch.Generator().manual_seed(5), batch_size=4) for _ in range(2)]
    assert torch.equal(*sampled_z) and not torch.equal(sampled_z[0], posterior_codes(m, x)[0])
