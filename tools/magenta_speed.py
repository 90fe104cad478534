"""Magenta's MusicVAE timed on this CPU: the TensorFlow half of bench/music_vs_magenta.py.

Runs in the Magenta venv (see tools/magenta_parity.py for the recipe) as a worker that
bench/music_vs_magenta.py starts once per preset, so both sides are timed in turns in one run.
It builds ``configs.CONFIG_MAP[PRESET]``'s model at the preset's sizes with a fixed random batch
of one-hot windows and Magenta's training step as ``music_vae_train.py`` builds it (Adam,
global-norm clipping of the gradients, teacher forcing as ours is timed), plus inference: the
posterior mean of the batch, then greedy decoding from it. TF runs with ``--threads`` intra-op
threads and one inter-op thread, as torch runs with ``torch.set_num_threads``.

Protocol on stdin/stdout, one line each: it prints ``ready {json}`` after warming up, then
answers ``train SECONDS`` / ``infer SECONDS`` with the calls per second of that timed window;
``quit`` ends it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import magenta_parity  # noqa: F401 - the stand-in modules, TF's graph mode and the argmax sampler
import numpy as np
from magenta_parity import contrib_training, lstm_models, merge_hparams, tf


def build(preset: str, batch: int, seed: int = 0):
    from magenta.models.music_vae import configs

    config = configs.CONFIG_MAP[preset]
    hparams = merge_hparams(
        config.hparams, contrib_training.HParams(batch_size=batch, sampling_schedule="constant", sampling_rate=0.0)
    )
    model = config.model
    depth = config.data_converter.output_depth
    input_depth = config.data_converter.input_depth
    n_steps = hparams.max_seq_len
    rng = np.random.default_rng(seed)
    inputs = np.eye(input_depth, dtype=np.float32)[rng.integers(0, input_depth, (batch, n_steps))]
    outputs = np.eye(depth, dtype=np.float32)[rng.integers(0, depth, (batch, n_steps))]
    if isinstance(model.decoder, lstm_models.HierarchicalLstmDecoder) and depth != 90:
        raise SystemExit(f"{preset}: only single-track presets are timed")
    model.build(hparams, depth, is_training=True)
    lengths = tf.fill([batch], n_steps)
    optimizer = model.train(tf.constant(inputs), tf.constant(outputs), lengths)
    grads, variables = zip(*optimizer.compute_gradients(model.loss))
    clipped, _ = tf.clip_by_global_norm(grads, hparams.grad_clip, use_norm=tf.global_norm(grads))
    train_op = optimizer.apply_gradients(zip(clipped, variables), global_step=model.global_step)
    with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
        mu = model.encode(tf.constant(inputs), lengths).loc
        decoded = model.decoder.sample(batch, max_length=n_steps, z=mu, temperature=1.0)[0]
    return train_op, decoded, {"preset": preset, "batch": batch, "n_steps": n_steps, "input_depth": input_depth}


def rate(fn, seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or calls == 0:
        fn()
        calls += 1
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    train_op, decoded, info = build(args.preset, args.batch)
    session_config = tf.ConfigProto(intra_op_parallelism_threads=args.threads, inter_op_parallelism_threads=1)
    with tf.Session(config=session_config) as sess:
        sess.run(tf.global_variables_initializer())
        info["graph_seconds"] = round(time.perf_counter() - start, 1)
        run = {"train": lambda: sess.run(train_op), "infer": lambda: sess.run(decoded)}
        run["train"](), run["train"](), run["infer"]()  # warm-up
        info["tensorflow"] = tf.__version__
        print("ready", json.dumps(info), flush=True)
        for line in sys.stdin:
            kind, *rest = line.split()
            if kind == "quit":
                break
            print(rate(run[kind], float(rest[0])), flush=True)


if __name__ == "__main__":
    main()
