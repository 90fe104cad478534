"""``zspace music ...``: MusicVAE's commands: ``prepare`` data, ``train`` a preset, ``sample`` and
``interpolate`` with a trained run. Each parses flags, builds a config and calls the library."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from zspace.cli.common import console, metrics_table, user_errors
from zspace.music.corpus import PrepareConfig, PrepareReport, prepare
from zspace.music.songs import SKIP_REASONS, SPLITS

app = typer.Typer(help="MusicVAE: melodies, drums and trios from MIDI files.", no_args_is_help=True)
_DEFAULTS = PrepareConfig()  # CLI defaults are the config's (STYLE: defaults live in configs)


@app.callback()
def music() -> None:
    """MusicVAE: melodies, drums and trios from MIDI files."""


@app.command("prepare")
def prepare_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .npz; its JSON manifest goes next to it (.json).")],
    corpus: Annotated[
        str | None, typer.Option(help="music21:NAME, bundled with music21: essenFolksong, bach, ryansMammoth, oneills1850...")
    ] = None,
    midi_dir: Annotated[Path | None, typer.Option(help="A folder of .mid/.midi files (searched recursively).")] = None,
    kind: Annotated[str, typer.Option(help="melody | drums | trio")] = _DEFAULTS.kind,
    bars: Annotated[int, typer.Option(help="Bars per window; windows slide by one bar.")] = _DEFAULTS.bars,
    meter: Annotated[str, typer.Option(help="4/4: only songs with 16-step bars (Magenta) | any: 16-step bars of any meter.")] = (
        _DEFAULTS.meter
    ),
    workers: Annotated[int | None, typer.Option(help="Parsing processes (default: all CPUs; 1: no subprocess).")] = None,
    limit: Annotated[
        int | None, typer.Option(help="Read at most this many songs (a fixed sample spread over the source).")
    ] = None,
    max_per_song: Annotated[int, typer.Option(help="Distinct windows kept per song, chosen with --seed; 0 keeps all.")] = (
        _DEFAULTS.max_per_song or 0
    ),
    seed: Annotated[
        int, typer.Option(help="Seed of the per-song choice (the split depends on song names only).")
    ] = _DEFAULTS.seed,
    valid_fraction: Annotated[float, typer.Option(help="Share of songs in the valid split.")] = _DEFAULTS.valid_fraction,
    test_fraction: Annotated[float, typer.Option(help="Share of songs in the test split.")] = _DEFAULTS.test_fraction,
    transpose: Annotated[int, typer.Option(help="Melody: add train copies moved by every -k..+k semitones that fits.")] = (
        _DEFAULTS.transpose
    ),
) -> None:
    """Cut MIDI files or a music21 collection into N-bar token windows: one .npz and a JSON manifest.

    Example: zspace music prepare --corpus music21:essenFolksong --kind melody --bars 2 --out data/mel2.npz
    """
    given = {k: v for k, v in locals().items() if v is not None}
    with user_errors():
        config = PrepareConfig(
            kind=kind, bars=bars, meter=meter, max_per_song=max_per_song or None, seed=seed, limit=limit, workers=workers,
            valid_fraction=valid_fraction, test_fraction=test_fraction, transpose=transpose,
        )  # fmt: skip
        command = shlex.join(
            ["zspace", "music", "prepare", *(w for k, v in given.items() for w in (f"--{k.replace('_', '-')}", str(v)))]
        )
        if console.is_terminal:
            from rich.progress import Progress

            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("reading songs", total=None)
                report = prepare(out, config, corpus=corpus, midi_dir=midi_dir, command=command,
                                 on_progress=lambda done, total: progress.update(task, completed=done, total=total))  # fmt: skip
        else:
            report = prepare(out, config, corpus=corpus, midi_dir=midi_dir, command=command)
    console.print(report_table(report, bars))
    empty = [s for s in SPLITS if not report.windows[s]]
    if empty:
        console.print(
            f"[yellow]note:[/] the {' and '.join(empty)} split(s) are empty: too few songs for the fractions; read more with --limit"
        )
    console.print(f"wrote {report.out} and {report.manifest_path}")


def report_table(report: PrepareReport, bars: int) -> Table:
    """The end-of-run report: songs read and skipped (why, with an example), windows per split."""
    unit = report.unit
    table = Table(title=f"{report.kind} windows of {bars} bars from {report.source}", header_style="bold")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_column("detail")
    rows: list[tuple[str, Any, str]] = [
        (f"{unit}s listed", report.songs_listed, f"{report.songs_per_s:.1f} {unit}s/s, {report.seconds:.1f} s"),
        (f"{unit}s read", report.songs_read, ""),
    ]
    for reason, count in sorted(report.skipped.items(), key=lambda kv: -kv[1]):
        words = f"too short for {bars} bars" if reason == "too_short" else SKIP_REASONS.get(reason, reason)
        hint = " (--meter any keeps them)" if reason == "meter" else ""
        rows.append((f"skipped: {words}{hint}", count, (report.skip_examples.get(reason) or ("",))[0]))
    for split in SPLITS:
        rows.append((f"{split} windows", report.windows[split], f"from {report.songs[split]} {unit}s"))
    rows += [
        ("duplicates dropped", report.duplicates_dropped, "windows equal to an earlier one (train first)"),
        ("over the per-song cap", report.capped_dropped, "distinct windows left out by --max-per-song"),
    ]
    if report.augmented:
        rows.append(("transposed copies", report.augmented, "added to train"))
    for name, count, detail in rows:
        table.add_row(name, str(count), detail)
    return table


@app.command("train")
def train_cmd(
    preset: Annotated[str, typer.Option(help="A preset name, e.g. cat-mel_2bar_small or cat-mel_2bar_tiny.")],
    data: Annotated[
        Path, typer.Option(help="Prepared .npz from `zspace music prepare` (its kind and bars must fit the preset).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory: config, checkpoints, metrics.")],
    steps: Annotated[int | None, typer.Option(help="Optimizer steps (default: the preset's budget).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Examples per step (default: the preset's).")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of initialization, data order and noise (default: the preset's).")
    ] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="Steps between checkpoints (default: every epoch).")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda | cuda:N (default: auto).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")] = False,
) -> None:
    """Train a MusicVAE preset on prepared windows; the best checkpoint has the highest validation ELBO.

    Example: zspace music train --preset cat-mel_2bar_tiny --data data/mel2.npz --out runs/mel2 --steps 2000
    """
    from zspace.music.run import MusicRunConfig, train

    changes = {"max_steps": steps, "batch_size": batch_size, "seed": seed, "checkpoint_every": checkpoint_every, "device": device}
    with user_errors():
        config = MusicRunConfig.from_preset(preset, data=data, **{k: v for k, v in changes.items() if v is not None})
        _, result, prepared = train(config, out, resume=resume)
    rows = {"steps": result.step, "train windows": len(prepared.train), "valid windows": len(prepared.valid)}
    rows |= {f"train/{k}": v for k, v in result.train_metrics.items() if k in ("loss", "elbo", "kl_bits", "accuracy")}
    rows |= {f"valid/{k}": v for k, v in result.valid_metrics.items() if k in ("loss", "elbo", "kl_bits", "accuracy")}
    console.print(metrics_table(f"{preset} on {data}", rows))
    if not len(prepared.valid):
        console.print("[yellow]note:[/] the data has no valid windows, so the best checkpoint is simply the last one")
    console.print(f"checkpoints in {out / 'checkpoints'}; best: {result.best_checkpoint}")


RunArg = Annotated[Path, typer.Argument(help="A run directory written by `zspace music train`.")]
CheckpointOpt = Annotated[str, typer.Option(help="best | last | step-NNNNNNNN")]


@app.command("sample")
def sample_cmd(
    run: RunArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for sample_XX.mid files.")],
    n: Annotated[int, typer.Option("-n", help="Number of samples.")] = 8,
    temperature: Annotated[float, typer.Option(help="Softmax temperature: lower is safer, higher wilder.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of z and of every draw: the same seed, the same music.")] = 0,
    checkpoint: CheckpointOpt = "best",
) -> None:
    """Decode samples z ~ N(0, I) into MIDI files, one per sample.

    Example: zspace music sample runs/mel2 -n 8 --temperature 0.5 --out samples/
    """
    from zspace.music.generate import sample, write_samples
    from zspace.music.run import load_model, load_run_config

    with user_errors():
        config = load_run_config(run)
        model = load_model(run, checkpoint=checkpoint)
        tokens = sample(model, config.encoding, n, temperature=temperature, seed=seed)
        paths = write_samples(config.encoding, tokens, out)
    console.print(f"wrote {len(paths)} MIDI files of {config.model.n_steps} steps to {out}")


@app.command("interpolate")
def interpolate_cmd(
    run: RunArg,
    a: Annotated[Path, typer.Argument(help="Start: a MIDI file (its first window is used).")],
    b: Annotated[Path, typer.Argument(help="End: a MIDI file (its first window is used).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for interpolation.mid.")],
    steps: Annotated[int, typer.Option(help="Points on the path, both ends included.")] = 7,
    checkpoint: CheckpointOpt = "best",
) -> None:
    """Slerp between the codes of two MIDI files and write the decoded path as one MIDI file.

    Example: zspace music interpolate runs/mel2 a.mid b.mid --steps 7 --out interp/
    """
    from zspace.music.generate import interpolate, read_tokens, to_sequence
    from zspace.music.midi import write_midi
    from zspace.music.run import load_model, load_run_config

    with user_errors():
        config = load_run_config(run)
        model = load_model(run, checkpoint=checkpoint)
        a_tokens, qpm = read_tokens(a, config.encoding, config.model.n_steps)
        b_tokens, _ = read_tokens(b, config.encoding, config.model.n_steps)
        path = interpolate(model, a_tokens, b_tokens, steps, encoding=config.encoding)
        written = write_midi(to_sequence(config.encoding, path, qpm=qpm), out / "interpolation.mid")
    console.print(f"wrote {written}: {steps} steps of {config.model.n_steps} steps each")
