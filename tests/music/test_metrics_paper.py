"""The paper's metric and the z-use checks: closed forms on constructed decoders, determinism, real models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Independent, Normal

from zspace.music.config import MusicVAEConfig
from zspace.music.model import Generation, MusicVAE
from zspace.music.paper_metrics import derangement, majority_accuracy, onset_mask, paper_metrics

FLAT = MusicVAEConfig(n_steps=8, z_size=4, encoder_sizes=(16,), decoder_sizes=(16,))
HIER = MusicVAEConfig(n_steps=8, z_size=4, encoder_sizes=(16,), decoder_sizes=(16,), decoder="hierarchical", segment_length=4)
SHARPNESS = 60.0  # logit of the chosen class; every other class gets 0


def tokens(n: int, n_steps: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 90, (n, n_steps, 1), generator=torch.Generator().manual_seed(seed))


def model(config: MusicVAEConfig = FLAT, seed: int = 0) -> MusicVAE:
    torch.manual_seed(seed)
    return MusicVAE(config)


def window_as_code(m: MusicVAE) -> MusicVAE:
    """A perfect autoencoder: z is the window's one-hot inputs, the decoder's logits are SHARPNESS * z.

    Whatever a code says, the decoder emits it, so decoding a window's own code reproduces it
    exactly (also at temperature 1: the other classes have probability ~89 e^-60) and decoding
    another window's code reproduces that other window.
    """
    T = m.config.n_steps

    def encode(inputs):  # (B, T, 90) -> z (B, T * 90), no noise
        loc = inputs.flatten(1)
        return Independent(Normal(loc, torch.zeros_like(loc), validate_args=False), 1, validate_args=False)

    def logits(z):
        return (SHARPNESS * z.view(len(z), T, 90),)

    def generate(z, n_steps, pick):
        (lg,) = logits(z)
        return Generation(classes=torch.stack([pick([lg[:, t]]) for t in range(n_steps)], dim=1), logits=(lg,))

    m.encode = encode
    m.decoder.teacher_forced = lambda z, targets: logits(z)
    m.decoder.generate = generate
    return m


def test_derangement_is_a_seeded_permutation_without_fixed_points():
    for n in (2, 3, 10, 101):
        p = derangement(n, torch.Generator().manual_seed(n))
        assert sorted(p.tolist()) == list(range(n)) and not (p == torch.arange(n)).any()
        assert torch.equal(p, derangement(n, torch.Generator().manual_seed(n)))
    with pytest.raises(ValueError, match="at least 2"):
        derangement(1, torch.Generator())


def test_onsets_are_note_ons_not_holds_or_note_offs():
    targets = torch.tensor([[[0], [1], [2], [89]]])
    assert onset_mask(model(), targets)[0, :, 0].tolist() == [False, False, True, True]


def test_majority_accuracy_is_the_share_of_the_most_frequent_training_class():
    train = np.array([[[0], [0], [5]], [[0], [7], [0]]])  # class 0 is the majority
    test = np.array([[[0], [3], [0], [0]]])
    assert majority_accuracy(train, test) == 0.75


def test_a_perfect_decoder_scores_one_and_swapped_codes_score_the_partner_agreement():
    x = tokens(6)
    x[:, 0, 0] = 40  # a shared first note: swapped codes still get step 0 right
    out = paper_metrics(window_as_code(model()), x, z_draws=2, seed=1)
    for key in ("tf_acc", "tf_onset_acc", "sampled_acc_t1", "onset_acc_t1", "sampled_acc_argmax", "sampled_acc_t1_zdraw_mean"):
        assert out[key] == 1.0, key
    assert out["sampled_acc_t1_zdraw_std"] == 0.0 and out["tf_nll_nats"] < 1e-20
    # Window i is decoded from window p[i]'s code: it scores where the two windows agree.
    partner = x[derangement(6, torch.Generator().manual_seed(1))]
    agreement = float((partner == x).double().mean())
    assert out["sampled_acc_t1_zswap"] == pytest.approx(agreement)
    # Teacher-forced NLL with a wrong code: ~SHARPNESS nats at each step where the windows differ.
    mismatches = float((partner != x).double().sum()) / len(x)
    assert out["zswap_gap_nats"] == pytest.approx(mismatches * (SHARPNESS + math.log1p(88 * math.exp(-SHARPNESS))), rel=1e-6)


@pytest.mark.parametrize("config", [FLAT, HIER], ids=["flat", "hierarchical"])
def test_a_decoder_that_ignores_z_has_no_zswap_gap(config):
    m = model(config)
    conditioned = m.decoder.embeddings
    m.decoder.embeddings = lambda z, n_segments: conditioned(torch.zeros_like(z), n_segments)
    out = paper_metrics(m, tokens(8), z_draws=1)
    assert out["zswap_gap_nats"] == 0.0 and out["zswap_tf_nll_nats"] == out["tf_nll_nats"] > 0


@pytest.mark.parametrize("config", [FLAT, HIER], ids=["flat", "hierarchical"])
def test_paper_metrics_are_seeded_and_in_range(config):
    m, x = model(config), tokens(10, seed=3)
    m.train()
    first = paper_metrics(m, x.numpy().astype(np.uint8), z_draws=3, seed=4, batch_size=4)
    assert m.training  # the mode it found is restored
    assert paper_metrics(m, x, z_draws=3, seed=4, batch_size=4) == first
    assert paper_metrics(m, x, z_draws=3, seed=5, batch_size=4)["sampled_acc_t1"] != first["sampled_acc_t1"]
    for key, value in first.items():
        if key.endswith(("_acc", "_acc_t1", "_argmax", "_zswap", "_zdraw_mean", "_zdraw_std")):
            assert 0.0 <= value <= 1.0, key
    assert first["n_windows"] == 10 and first["z_draws"] == 3 and first["tf_nll_nats"] > 0


def test_a_decoder_trained_on_its_codes_loses_likelihood_when_they_are_swapped():
    m, x = model(), tokens(4)
    inputs = F.one_hot(x[..., 0], 90).float()
    optimizer = torch.optim.Adam(m.parameters(), lr=3e-2)
    for _ in range(120):  # overfit four windows: only z tells them apart after the first step
        out = m(inputs, x)
        loss = F.cross_entropy(out.logits[0].flatten(0, 1), x.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scores = paper_metrics(m, x, z_draws=1)
    assert scores["tf_acc"] > 0.97 and scores["zswap_gap_nats"] > 5.0
    assert scores["sampled_acc_t1"] > scores["sampled_acc_t1_zswap"] + 0.3
