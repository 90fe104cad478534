"""Run Magenta's own MusicVAE code on small random models and record what it computes.

For ``tests/music/test_magenta_import.py``: each case builds one MusicVAE architecture with
Magenta 2.1.4's classes (``lstm_models`` / ``base_model``), at small sizes, fills every variable
with random fan-in-scaled values (kernels N(0, 1/fan_in), so the LSTMs are neither saturated
nor chaotic), saves it with ``tf.compat.v1.train.Saver`` (a V2 checkpoint, ``global_step``
included, and for the first case Adam's slots too, as ``music_vae_train`` writes them) and
records, for a fixed batch: the posterior's mu and sigma, the teacher-forced logits, the greedy
tokens decoded from mu, and the greedy tokens along Magenta's slerp path between the two mus.

It needs TensorFlow and Magenta, which never enter the project's venv::

    python3.11 -m venv .bench-venv-magenta
    .bench-venv-magenta/bin/pip install tensorflow-cpu==2.21.0 tf-slim tensorflow-probability==0.25.0 scipy pretty_midi mido
    .bench-venv-magenta/bin/pip install --no-deps tf-keras==2.21.0 magenta==2.1.4 note-seq==0.0.5
    .bench-venv-magenta/bin/python tools/magenta_parity.py            # rewrites tests/music/fixtures/magenta/
    .bench-venv-magenta/bin/python tools/magenta_parity.py --full     # preset sizes, into --out (not committed)

Deviations from a plain ``magenta`` call, all in this script: modules that only Magenta's
data and notebook code import are stubbed; decoding picks the argmax instead of sampling
(``CategoricalLstmDecoder._sample``); ``SplitMultiOutLstmDecoder._merge_decode_results``
drops its assertion that every segment spans the whole sequence, which a hierarchical decoder
(one segment per bar) otherwise trips when its logits or samples are fetched.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import types
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for _stub in ("librosa", "pydub", "pandas", "bokeh", "bokeh.plotting", "IPython", "IPython.display", "tensorflow_datasets"):
    sys.modules.setdefault(_stub, types.ModuleType(_stub))  # imported by Magenta modules the model never uses

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

from magenta.common import merge_hparams
from magenta.contrib import training as contrib_training
from magenta.models.music_vae import base_model, lstm_models, lstm_utils

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests/music/fixtures/magenta"
BATCH = 2
SLERP_STEPS = 5


def _argmax_sample(self, rnn_output, temperature=1.0):
    return tf.one_hot(tf.argmax(rnn_output, axis=-1), self._output_depth)


def _merge_without_length_assert(self, decode_results):
    zipped = lstm_utils.LstmDecodeResults(*list(zip(*decode_results)))
    return lstm_utils.LstmDecodeResults(
        rnn_output=tf.concat(zipped.rnn_output, axis=-1),
        rnn_input=tf.concat(zipped.rnn_input, axis=-1),
        samples=tf.concat(zipped.samples, axis=-1),
        final_state=tf.nest.map_structure(lambda *x: tf.concat(x, axis=-1), *zipped.final_state),
        final_sequence_lengths=zipped.final_sequence_lengths[0],
    )


lstm_models.CategoricalLstmDecoder._sample = _argmax_sample
lstm_models.SplitMultiOutLstmDecoder._merge_decode_results = _merge_without_length_assert


def _hierarchical(core, level_lengths):
    return lstm_models.HierarchicalLstmDecoder(core, level_lengths=level_lengths, disable_autoregression=True)


def _trio_core():
    return lstm_models.SplitMultiOutLstmDecoder(
        core_decoders=[lstm_models.CategoricalLstmDecoder() for _ in range(3)], output_depths=[90, 90, 512]
    )


# name -> (zspace preset, decoder factory, n_steps, z, enc sizes, dec sizes, output depths, input kind, level lengths)
SMALL = {
    "cat-mel_2bar": ("cat-mel_2bar_small", 32, 4, [8], [8, 8], (90,), "melody", None),
    "cat-drums_2bar": ("cat-drums_2bar_small", 32, 8, [12], [6, 6], (512,), "drums", None),
    "flat-mel_16bar": ("flat-mel_16bar", 64, 8, [8, 8], [8, 8, 8], (90,), "melody", None),
    "hierdec-mel_16bar": ("hierdec-mel_16bar", 64, 8, [8, 8], [8, 8], (90,), "melody", [4, 16]),
    "hierdec-trio_16bar": ("hierdec-trio_16bar", 32, 8, [4, 4], [4, 4], (90, 90, 512), "trio", [2, 16]),
}
FULL = {
    "cat-mel_2bar_small": ("cat-mel_2bar_small", 32, 256, [512], [256, 256], (90,), "melody", None),
    "cat-mel_2bar_big": ("cat-mel_2bar_big", 32, 512, [2048], [2048, 2048, 2048], (90,), "melody", None),
    "cat-drums_2bar_small": ("cat-drums_2bar_small", 32, 256, [512], [256, 256], (512,), "drums", None),
    "flat-mel_16bar": ("flat-mel_16bar", 256, 512, [2048, 2048], [2048, 2048, 2048], (90,), "melody", None),
    "hierdec-mel_16bar": ("hierdec-mel_16bar", 256, 512, [2048, 2048], [1024, 1024], (90,), "melody", [16, 16]),
    "hierdec-trio_16bar": ("hierdec-trio_16bar", 256, 512, [2048, 2048], [1024, 1024], (90, 90, 512), "trio", [16, 16]),
}


def _decoder(depths, level_lengths):
    if len(depths) > 1:
        return _hierarchical(_trio_core(), level_lengths)
    core = lstm_models.CategoricalLstmDecoder()
    return _hierarchical(core, level_lengths) if level_lengths else core


def _inputs(kind: str, classes: np.ndarray, depths) -> tuple[np.ndarray, np.ndarray]:
    """Encoder inputs and decoder one-hots for class indices (B, T, K), as Magenta's converters.

    Drums read a roll (DrumsConverter(roll_input=True)): drum class k is bit k of the class
    index, plus a last bit set where no drum plays; trio reads its output one-hots (TrioConverter).
    """
    onehots = np.concatenate([np.eye(d, dtype=np.float32)[classes[..., k]] for k, d in enumerate(depths)], axis=-1)
    if kind == "drums":
        bits = (classes[..., :1] >> np.arange(9)) & 1
        roll = np.concatenate([bits, (classes[..., :1] == 0)], axis=-1).astype(np.float32)
        return roll, onehots
    return onehots, onehots


def _slerp(p0, p1, t):  # magenta/models/music_vae/trained_model.py, TrainedModel.interpolate
    omega = np.arccos(np.dot(np.squeeze(p0 / np.linalg.norm(p0)), np.squeeze(p1 / np.linalg.norm(p1))))
    so = np.sin(omega)
    return np.sin((1.0 - t) * omega) / so * p0 + np.sin(t * omega) / so * p1


def run_case(name: str, spec, out: Path, *, seed: int, with_adam: bool) -> dict:
    preset, n_steps, z_size, enc, dec, depths, kind, levels = spec
    rng = np.random.default_rng(seed)
    classes = np.stack([rng.integers(0, d, size=(BATCH, n_steps)) for d in depths], axis=-1)
    classes[:, :2] = 0  # some no-event steps, as real windows start
    inputs, onehots = _inputs(kind, classes, depths)
    tf.reset_default_graph()
    hparams = merge_hparams(
        lstm_models.get_default_hparams(),
        contrib_training.HParams(
            batch_size=BATCH, max_seq_len=n_steps, z_size=z_size, enc_rnn_size=enc, dec_rnn_size=dec,
            sampling_schedule="constant", sampling_rate=0.0,
        ),
    )  # fmt: skip
    model = base_model.MusicVAE(lstm_models.BidirectionalLstmEncoder(), _decoder(depths, levels))
    model.build(hparams, sum(depths), is_training=False)
    lengths = tf.fill([BATCH], n_steps)
    posterior = model.encode(tf.constant(inputs), lengths)
    mu, sigma = posterior.loc, posterior.stddev()
    x_input = tf.pad(tf.constant(onehots)[:, :-1], [(0, 0), (1, 0), (0, 0)])
    _, _, teacher = model.decoder.reconstruction_loss(x_input, tf.constant(onehots), lengths, z=mu)
    z = tf.placeholder(tf.float32, [BATCH, z_size])  # the hierarchical decoder needs hparams.batch_size codes
    with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):  # as base_model.MusicVAE.sample
        decoded = model.decoder.sample(BATCH, max_length=n_steps, z=z, temperature=1.0)[0]
    loss = tf.reduce_sum(teacher.rnn_output**2) + tf.reduce_sum(mu**2)
    if with_adam:
        tf.train.AdamOptimizer(1e-3).minimize(loss)
    variables = tf.global_variables()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for var in variables:
            shape = var.shape.as_list()
            if var.dtype.base_dtype != tf.float32 or not shape:
                continue
            std = 1.0 / np.sqrt(shape[0]) if len(shape) == 2 else 0.1  # kernels (fan_in, out); biases
            var.load(rng.normal(0.0, std, size=shape).astype(np.float32), sess)
        prefix = out / name / "model.ckpt"
        prefix.parent.mkdir(parents=True, exist_ok=True)
        tf.train.Saver(variables).save(sess, str(prefix), write_meta_graph=False)
        mu_v, sigma_v, logits = sess.run([mu, sigma, teacher.rnn_output])
        greedy = sess.run(decoded, {z: mu_v})
        path = np.stack([_slerp(mu_v[0], mu_v[1], t) for t in np.linspace(0, 1, SLERP_STEPS)]).astype(np.float32)
        padded = np.concatenate([path, np.zeros((-len(path) % BATCH, z_size), np.float32)])
        slerp = np.concatenate([sess.run(decoded, {z: part}) for part in np.split(padded, len(padded) // BATCH)])[: len(path)]
    split = np.cumsum(depths)[:-1]
    to_classes = lambda onehot: np.stack([part.argmax(-1) for part in np.split(onehot, split, axis=-1)], axis=-1)
    arrays = {
        "inputs": inputs.astype(np.uint8),
        "targets": classes.astype(np.int16),
        "mu": mu_v,
        "sigma": sigma_v,
        "logits": logits.astype(np.float32),
        "greedy": to_classes(greedy).astype(np.int16),
        "slerp_z": path,
        "slerp": to_classes(slerp).astype(np.int16),
    }
    np.savez_compressed(out / name / "expected.npz", **arrays)
    return {"preset": preset, "n_steps": n_steps, "z_size": z_size, "encoder_sizes": enc, "decoder_sizes": dec,
            "segment_length": levels[-1] if levels else None, "batch": BATCH, "seed": seed}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the presets' own sizes (large; written to --out)")
    parser.add_argument("--out", type=Path, default=FIXTURES)
    parser.add_argument("--only", nargs="*", help="case names to run")
    args = parser.parse_args()
    cases = FULL if args.full else SMALL
    manifest = {}
    for i, (name, spec) in enumerate(cases.items()):
        if args.only and name not in args.only:
            continue
        manifest[name] = run_case(name, spec, args.out, seed=i, with_adam=(i == 0 and not args.full))
        print(name, "written", flush=True)
    (args.out / "cases.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
