"""decoder_accuracy gives the numbers of the three accuracy functions it replaced.

tests/music/fixtures/v1/accuracy.json was written on a seeded case by the code before they were
merged: metrics.reconstruction_accuracy (teacher-forced or free-running argmax, from the
posterior mean or a posterior sample), paper_metrics.teacher_forced_scores / sampled_scores
(argmax, or sampled at a temperature) and paper_metrics, and objective.accuracy (the training
metric, from teacher-forced logits). The same seeded case is rebuilt here and scored by the one
function.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from zspace.music.config import MusicVAEConfig
from zspace.music.model import MusicVAE, sampler
from zspace.music.objective import loss_terms
from zspace.music.paper_metrics import decoder_accuracy, input_vectors, paper_metrics, posterior_codes, posterior_samples

BEFORE = json.loads((Path(__file__).parent / "fixtures" / "v1" / "accuracy.json").read_text())
CONFIGS = {
    "melody": MusicVAEConfig(n_steps=32, z_size=8, encoder_sizes=(16,), decoder_sizes=(16,)),
    "trio": MusicVAEConfig(encoding="trio", output_depths=(90, 90, 512), input_depth=692, n_steps=32, z_size=8,
                           encoder_sizes=(16,), decoder_sizes=(16,), decoder="hierarchical", segment_length=16),
}  # fmt: skip


def seeded_case(config: MusicVAEConfig) -> tuple[MusicVAE, torch.Tensor]:
    """A model with sharper logits than at initialisation and 10 windows it generated."""
    torch.manual_seed(0)
    model = MusicVAE(config).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
        z = torch.randn(10, config.z_size, generator=generator)
        tokens = model.decoder.generate(z, 32, sampler(temperature=0.7, generator=generator)).classes
    return model, tokens


@pytest.mark.parametrize("encoding", sorted(CONFIGS))
def test_one_function_gives_the_numbers_of_the_three(encoding):
    torch.set_num_threads(1)
    before, (model, tokens) = BEFORE[encoding], seeded_case(CONFIGS[encoding])
    mean, _ = posterior_codes(model, tokens, batch_size=4)

    def scores(codes, **kw):
        return decoder_accuracy(model, tokens, codes, batch_size=4, **kw)

    for teacher_forced, mode in ((True, "teacher_forced"), (False, "sampled")):
        for z in ("mean", "sample"):
            codes = mean if z == "mean" else posterior_samples(model, tokens, torch.Generator().manual_seed(3), batch_size=4)
            got = scores(codes, teacher_forced=teacher_forced)
            assert {k: got[k] for k in before[f"recon_{mode}_{z}"]} == pytest.approx(before[f"recon_{mode}_{z}"], abs=1e-12)

    tf = scores(mean)
    assert {k: tf[k] for k in before["tf_scores"]} == pytest.approx(before["tf_scores"], rel=1e-9)
    for key, kw in (("sampled_t1", {"temperature": 1.0}), ("sampled_t05", {"temperature": 0.5}), ("sampled_argmax", {})):
        greedy = not kw
        generator = None if greedy else torch.Generator().manual_seed(5)
        got = scores(mean, teacher_forced=False, greedy=greedy, generator=generator, **kw)
        assert {k: got[k] for k in before[key]} == pytest.approx(before[key], abs=1e-12)

    paper = paper_metrics(model, tokens, z_draws=2, seed=2, batch_size=4)
    assert {k: paper[k] for k in before["paper"]} == pytest.approx(before["paper"], rel=1e-9)

    with torch.no_grad():
        logits, posterior = model.decoder.teacher_forced(mean, tokens), model.encode(input_vectors(model, tokens))
    _, metrics = loss_terms(logits, tokens, posterior, beta=1.0, free_nats=0.0, track_names=model.config.track_names)
    per_track = [float(metrics.get(f"accuracy/{name}", metrics["accuracy"])) for name in model.config.track_names]
    assert per_track == pytest.approx(before["objective_accuracy"], abs=1e-7)
