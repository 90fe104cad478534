"""``zspace music ...``: MusicVAE's commands: ``prepare`` data, ``train`` a preset or ``import-magenta`` one; with a run,
``sample``, ``interpolate``, ``encode`` / ``decode`` MIDI files and edit them with ``attributes``.
Each parses flags, builds a config and calls the library; outputs are MIDI, piano-roll PNGs and
(with ``--wav``) a synthesized audio preview."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from zspace.cli.common import (
    MAX_SAMPLES,
    FileOverwriteOpt,
    OverwriteOpt,
    ResumeOpt,
    SampleOptions,
    SetOpt,
    TemperatureOpt,
    apply_sets,
    bounded,
    checked,
    console,
    metrics_table,
    output_path,
    renamed,
    user_errors,
)
from zspace.cli.music_files import (
    command_words,
    describe_windows,
    pick_window,
    read_windows,
    report_table,
    warn_if_silent,
    write_windows,
)
from zspace.core.constraints import NonNegativeInt, Seed
from zspace.music.attributes import AttributeFit
from zspace.music.corpus import PrepareConfig, prepare
from zspace.music.songs import SPLITS
from zspace.train.outputs import check_output_dir, check_output_file

Track = NonNegativeInt | None
app = typer.Typer(help="MusicVAE: melodies, drums and trios from MIDI files.", no_args_is_help=True)
_DEFAULTS = PrepareConfig()  # CLI defaults are the config's: defaults live in configs


@app.callback()
def music() -> None:
    """MusicVAE: melodies, drums and trios from MIDI files."""


@app.command("prepare")
def prepare_cmd(
    out: Annotated[
        Path, typer.Option("--out", "-o", parser=output_path, help="Output .npz; its JSON manifest goes next to it (.json).")
    ],
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
        int, typer.Option(help="Seed of the per-song choice (the split depends on song names only).", callback=checked(Seed))
    ] = _DEFAULTS.seed,
    valid_fraction: Annotated[float, typer.Option(help="Share of songs in the valid split.")] = _DEFAULTS.valid_fraction,
    test_fraction: Annotated[float, typer.Option(help="Share of songs in the test split.")] = _DEFAULTS.test_fraction,
    transpose: Annotated[int, typer.Option(help="Melody: add train copies moved by every -k..+k semitones that fits.")] = (
        _DEFAULTS.transpose
    ),
    melody: Annotated[
        str, typer.Option(help="magenta: melodies per instrument | skyline: top voice of all tracks merged (departure).")
    ] = _DEFAULTS.melody,
    melody_programs: Annotated[
        str,
        typer.Option(
            "--melody-programs",
            "--programs",
            help="magenta: programs 0-31 for 2-bar windows, all for longer (configs.py) | 0-31 | all.",
        ),
    ] = _DEFAULTS.melody_programs,
    split_time_changes: Annotated[
        bool, typer.Option(help="Cut songs at meter and tempo changes (Magenta); --no-split-...: first meter and tempo only.")
    ] = _DEFAULTS.split_time_changes,
    steps_per_bar: Annotated[
        int, typer.Option(help="Steps per bar (16: 4/4, Magenta); e.g. 12 keeps 3/4 sections instead.")
    ] = _DEFAULTS.steps_per_bar,
    max_bars: Annotated[
        int, typer.Option(help="Truncate each melody / drum line to this many bars (Magenta: 100); 0: no limit.")
    ] = (_DEFAULTS.max_bars or 0),
    gap_bars: Annotated[
        float, typer.Option(help="A silence of this many bars splits a melody / drum line.")
    ] = _DEFAULTS.gap_bars,
    expand_repeats: Annotated[
        bool, typer.Option(help="music21 scores: write out repeats first (departure: more data from short tunes).")
    ] = _DEFAULTS.expand_repeats,
    overwrite: FileOverwriteOpt = False,
) -> None:
    """Cut MIDI files or a music21 collection into N-bar token windows: one .npz and a JSON manifest.

    Example: zspace music prepare --corpus music21:essenFolksong --kind melody --bars 2 --out data/mel2.npz
    """
    given = {k: v for k, v in locals().items() if v is not None and k != "overwrite"}
    with user_errors():
        check_output_file(out, overwrite=overwrite, suffixes=(".npz",))
        check_output_file(out.with_suffix(".json"), "--out (its manifest)", overwrite=overwrite)
        config = PrepareConfig(
            kind=kind, bars=bars, meter=meter, max_per_song=max_per_song or None, seed=seed, limit=limit, workers=workers,
            valid_fraction=valid_fraction, test_fraction=test_fraction, transpose=transpose, melody=melody,
            melody_programs=melody_programs, split_time_changes=split_time_changes, steps_per_bar=steps_per_bar,
            max_bars=max_bars or None, gap_bars=gap_bars, expand_repeats=expand_repeats,
        )  # fmt: skip
        command = shlex.join(["zspace", "music", "prepare", *(w for k, v in given.items() for w in command_words(k, v))])
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
            f"[yellow]note:[/] the {' and '.join(empty)} split(s) are empty: too few songs for the fractions; "
            "raise --limit (or drop it), use a larger --corpus/--midi-dir, or raise --valid-fraction/--test-fraction"
        )
    console.print(f"wrote {report.out} and {report.manifest_path}")


def train_cmd(
    preset: Annotated[str, typer.Option(help="A preset name, e.g. cat-mel_2bar_small or cat-mel_2bar_tiny.")],
    data: Annotated[
        Path, typer.Option(help="Prepared .npz from `zspace music prepare` (its kind and bars must fit the preset).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", parser=output_path, help="Run directory: config, checkpoints, metrics.")],
    steps: Annotated[int | None, typer.Option(help="Optimizer steps (default: the preset's budget).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Examples per step (default: the preset's).")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of initialization, data order and noise (default: the preset's).")
    ] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="Steps between checkpoints (default: every epoch).")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda | cuda:N (default: auto).")] = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    bf16: Annotated[
        bool,
        typer.Option(
            "--bf16",
            help="bf16 autocast of the training step (faster on AVX512-BF16/AMX CPUs and GPUs; "
            "float32 with a warning on a device without bf16 kernels).",
        ),
    ] = False,
    set_: SetOpt = None,
) -> None:
    """Train a MusicVAE preset on prepared windows; the best checkpoint has the highest validation ELBO.

    Example: zspace train music --preset cat-mel_2bar_tiny --data data/mel2.npz --out runs/mel2 --steps 2000
    """
    from zspace.music.run import MusicRunConfig, train

    changes = {"max_steps": steps, "batch_size": batch_size, "seed": seed, "checkpoint_every": checkpoint_every, "device": device}
    changes["autocast"] = "bfloat16" if bf16 else None
    with user_errors():
        config = MusicRunConfig.from_preset(preset, data=data, **{k: v for k, v in changes.items() if v is not None})
        config = apply_sets(config, set_)
        _, result, prepared = train(config, out, resume=resume, overwrite=overwrite)
    rows = {"steps": result.step, "train windows": len(prepared.train), "valid windows": len(prepared.valid)}
    rows |= {f"train/{k}": v for k, v in result.train_metrics.items() if k in ("loss", "elbo", "kl_bits", "accuracy")}
    rows |= {f"valid/{k}": v for k, v in result.valid_metrics.items() if k in ("loss", "elbo", "kl_bits", "accuracy")}
    console.print(metrics_table(f"{preset} on {data}", rows))
    if not len(prepared.valid):
        console.print("[yellow]note:[/] the data has no valid windows, so the best checkpoint is simply the last one")
    console.print(f"checkpoints in {out / 'checkpoints'}; best: {result.best_checkpoint}")


@app.command("import-magenta")
def import_magenta_cmd(
    checkpoint: Annotated[
        Path, typer.Argument(help="Magenta's TF checkpoint: its prefix (model.ckpt), .index file, folder, or the .tar.")
    ],
    config: Annotated[str, typer.Option("--config", help="The Magenta config it was trained with, e.g. cat-mel_2bar_big.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", parser=output_path, help="Run directory to write (config.json + one checkpoint).")
    ],
    overwrite: OverwriteOpt = False,
) -> None:
    """Import one of Magenta's trained MusicVAE checkpoints as a zspace run (no TensorFlow needed).

    The run then works with sample, encode, decode, interpolate, attributes and `zspace serve`.

    Example: zspace music import-magenta cat-mel_2bar_big.tar --config cat-mel_2bar_big --out runs/mel2big
    """
    from zspace.music.magenta import import_run

    with user_errors():
        written = import_run(checkpoint, config, out, overwrite=overwrite)
    console.print(f"imported {checkpoint} as {config} into {out} (checkpoint {written.name})")


RunArg = Annotated[Path, typer.Argument(help="A run directory written by `zspace train music`.")]
CheckpointOpt = Annotated[str, typer.Option(help="best | last | step-NNNNNNNN")]
PngOpt = Annotated[bool, typer.Option("--png/--no-png", help="Also draw a piano-roll PNG per MIDI file.")]
WavOpt = Annotated[bool, typer.Option("--wav", help="Also write a synthesized WAV preview per MIDI file.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of z and of every draw: the same seed, the same music.", callback=checked(Seed))]
DecodeGreedyOpt = Annotated[
    bool, typer.Option("--greedy/--no-greedy", help="Argmax decoding (default); --no-greedy samples at --temperature.")
]

TrackOpt = Annotated[int | None, typer.Option(help="Read only this MIDI track (0-based) of each file.", callback=checked(Track))]
# The file commands cut files by the run's converter (as its training data was cut); these options change one rule.
MelodyRuleOpt = Annotated[
    str | None,
    typer.Option(
        "--melody", help="magenta: melodies per instrument | skyline: top voice of all tracks. Default: the run's rule."
    ),
]
ProgramsOpt = Annotated[
    str | None,
    typer.Option(
        "--melody-programs", "--programs",
        help="Melody programs: magenta (0-31 for 2-bar models, all for longer) | 0-31 | all. Default: the run's rule.",
    ),
]  # fmt: skip
FileMeterOpt = Annotated[
    str | None,
    typer.Option(
        help="4/4: sections whose bars fit the model (16 steps: 4/4, 2/2; Magenta) | any: such bars cut from any meter. "
        "Default: the run's rule."
    ),
]


def _converter(config: Any, melody: str | None, melody_programs: str | None, meter: str | None) -> Any:
    """The run's converter, with the rules given on the command line in place of its own."""
    from dataclasses import replace

    given = {"melody": melody, "melody_programs": melody_programs, "meter": meter}
    return replace(config.data_converter, **{k: v for k, v in given.items() if v is not None})


def _load(run: Path, checkpoint: str) -> tuple[Any, Any]:
    """(run config, model in eval mode) of a run directory."""
    from zspace.music.run import load_model, load_run_config

    return load_run_config(run), load_model(run, checkpoint=checkpoint)


@app.command("sample")
def sample_cmd(
    run: RunArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", parser=output_path, help="Folder for sample_XX.mid (+ .png, .wav) and samples.png.")
    ],
    n: Annotated[int, typer.Option("-n", help="Number of samples.", callback=bounded(1, MAX_SAMPLES))] = 8,
    temperature: TemperatureOpt = 1.0,
    greedy: Annotated[
        bool, typer.Option("--greedy", help="Argmax decoding instead of sampling (ignores --temperature).")
    ] = False,
    seed: SeedOpt = 0,
    png: PngOpt = True,
    wav: WavOpt = False,
    checkpoint: CheckpointOpt = "best",
) -> None:
    """Decode samples z ~ N(0, I) into MIDI files, one per sample, with piano rolls.

    Example: zspace music sample runs/mel2 -n 8 --temperature 0.5 --out samples/ --wav
    """
    from zspace import families
    from zspace.music.figures import piano_roll_grid
    from zspace.music.generate import numbered
    from zspace.music.run import load_run_config

    with user_errors():
        check_output_dir(out)
        config = load_run_config(run)
        tokens = families.get("music").sample(run, n, temperature=temperature, seed=seed, greedy=greedy, checkpoint=checkpoint)
        count = write_windows(config.encoding, tokens, out, numbered("sample", n), qpm=120.0, png=png, wav=wav)
        if png:
            piano_roll_grid(tokens, out / "samples.png", encoding=config.encoding, titles=numbered("sample", n))
    console.print(f"wrote {count + png} files for {n} samples of {config.model.n_steps} steps to {out}")
    warn_if_silent(config.encoding, tokens, run, checkpoint)


@app.command("interpolate")
def interpolate_cmd(
    run: RunArg,
    a: Annotated[Path, typer.Argument(help="Start: a MIDI file (its first window, or --window-a).")],
    b: Annotated[Path, typer.Argument(help="End: a MIDI file (its first window, or --window-b).")],
    out: Annotated[Path, typer.Option("--out", "-o", parser=output_path, help="Folder for interpolation.mid (+ .png, .wav).")],
    steps: Annotated[
        int, typer.Option(help="Points on the path, both ends included (at most 1024).", callback=bounded(2, 1024))
    ] = 7,
    window_a: Annotated[int, typer.Option(help="Which window of A, numbered as `zspace music encode` lists them.")] = 0,
    window_b: Annotated[int, typer.Option(help="Which window of B.")] = 0,
    track: TrackOpt = None,
    melody: MelodyRuleOpt = None,
    programs: ProgramsOpt = None,
    meter: FileMeterOpt = None,
    png: PngOpt = True,
    wav: WavOpt = False,
    checkpoint: CheckpointOpt = "best",
) -> None:
    """Slerp between the codes of two MIDI files and write the decoded path as one MIDI file.

    Windows are cut by the run's converter, the rules its training data was cut by (by default
    Magenta's: melodies per instrument, sliding by a bar).

    Example: zspace music interpolate runs/mel2 a.mid b.mid --steps 7 --out interp/ --wav
    """
    from zspace.music.audio import render_wav
    from zspace.music.figures import interpolation_figure
    from zspace.music.generate import interpolate, to_sequence
    from zspace.music.midi import write_midi

    with user_errors():
        check_output_dir(out)
        config, model = _load(run, checkpoint)
        converter = _converter(config, melody, programs, meter)
        bars = converter.bars
        (_, a_windows), (_, b_windows) = read_windows([a, b], converter, track)
        start = pick_window(a, a_windows, window_a, bars, "--window-a")
        end = pick_window(b, b_windows, window_b, bars, "--window-b")
        path = interpolate(model, start.tokens, end.tokens, steps, encoding=config.encoding)
        seq = to_sequence(config.encoding, path, qpm=start.qpm)
        written = [write_midi(seq, out / "interpolation.mid")]
        if png:
            written.append(interpolation_figure(path, out / "interpolation.png", encoding=config.encoding))
        if wav:
            written.append(render_wav(seq, out / "interpolation.wav"))
    console.print(f"wrote {', '.join(str(p) for p in written)}: {steps} points of {config.model.n_steps} steps each")


@app.command("encode")
def encode_cmd(
    run: RunArg,
    files: Annotated[list[Path], typer.Argument(help="MIDI files; every window (the model's length) of each is encoded.")],
    out: Annotated[Path, typer.Option("--out", "-o", parser=output_path, help="Output .npz: z (n, z_size), names, tags, qpm.")],
    track: TrackOpt = None,
    melody: MelodyRuleOpt = None,
    programs: ProgramsOpt = None,
    meter: FileMeterOpt = None,
    checkpoint: CheckpointOpt = "best",
    overwrite: FileOverwriteOpt = False,
) -> None:
    """Encode MIDI files to posterior mean codes: one row per window, every window of every file.

    Windows are cut by the run's converter, the rules its training data was cut by (by default
    Magenta's: melodies per instrument, or drum tracks, trios), sliding by one bar; a line shorter
    than a window is padded with silence. Each code's tag says where it came from (section, line,
    first bar).

    Example: zspace music encode runs/mel2 a.mid b.mid --out codes.npz
    """
    import numpy as np

    from zspace.music.generate import Codes, encode, save_codes

    with user_errors():
        check_output_file(out, overwrite=overwrite, suffixes=(".npz",), inputs=files)
        config, model = _load(run, checkpoint)
        read = read_windows(files, _converter(config, melody, programs, meter), track)
        windows = [(f, w) for f, file_windows in read for w in file_windows]
        z = encode(model, np.stack([w.tokens for _, w in windows]), encoding=config.encoding)
        codes = Codes(z=z, names=tuple(f.name for f, _ in windows), qpm=np.array([w.qpm for _, w in windows]),
                      tags=tuple(w.tag for _, w in windows), encoding=config.encoding.name, n_steps=config.model.n_steps)  # fmt: skip
        save_codes(out, codes)
    describe_windows(read, config.model.n_steps // config.model.steps_per_bar)
    console.print(
        f"wrote {out}: {len(windows)} codes of size {z.shape[1]} from {len(files)} file(s) "
        f"(mean norm {float(z.norm(dim=1).mean()):.2f})"
    )


@app.command("decode")
def decode_cmd(
    run: RunArg,
    codes: Annotated[Path, typer.Argument(help="An .npz written by `zspace music encode`.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", parser=output_path, help="Folder for NN_NAME.mid (+ .png, .wav), one per code.")
    ],
    greedy: DecodeGreedyOpt = True,
    temperature: TemperatureOpt = 1.0,
    seed: SeedOpt = 0,
    png: PngOpt = True,
    wav: WavOpt = False,
    checkpoint: CheckpointOpt = "best",
) -> None:
    """Decode codes back into MIDI files (at the tempo of the file each came from).

    Example: zspace music decode runs/mel2 codes.npz --out decoded/
    """
    from zspace.errors import ConfigError
    from zspace.music.generate import decode, load_codes

    with user_errors():
        check_output_dir(out)
        config, model = _load(run, checkpoint)
        c = load_codes(codes)
        if c.encoding != config.encoding.name:
            raise ConfigError(f"{codes} holds codes of a {c.encoding} model; this run reads {config.encoding.name}")
        tokens = decode(model, c.z, temperature=temperature, greedy=greedy, seed=seed, n_steps=c.n_steps)
        count = write_windows(config.encoding, tokens, out, c.stems, qpm=c.qpm, png=png, wav=wav)
    console.print(f"wrote {count} files for {len(tokens)} codes to {out}")
    warn_if_silent(config.encoding, tokens, run, checkpoint)


@app.command("attributes")
def attributes_cmd(
    run: RunArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", parser=output_path, help="With --data: folder for the vectors; with --apply: for MIDI.")
    ],
    data: Annotated[Path | None, typer.Option(help="Fit: a prepared .npz; vectors come from its train split.")] = None,
    attribute: Annotated[
        list[str] | None, typer.Option(help="Fit: an attribute to fit (repeat it); default: all for the encoding.")
    ] = None,
    quantile: Annotated[float, typer.Option(help="Fit: compare the top and bottom quantile of windows.")] = (
        AttributeFit().quantile
    ),
    vectors: Annotated[Path | None, typer.Option(help="Apply: a folder of vectors written by a fit.")] = None,
    apply: Annotated[list[str] | None, typer.Option(help="Apply: NAME=STRENGTH, e.g. note_density=+1.5 (repeat it).")] = None,
    input: Annotated[
        list[Path] | None,
        typer.Option(
            "--input", help="Apply: MIDI files to edit, the earliest window of each (repeat it); default: -n prior samples."
        ),
    ] = None,
    n: Annotated[
        int, typer.Option("-n", help="Apply without --input: codes drawn from the prior.", callback=bounded(1, MAX_SAMPLES))
    ] = 1,
    track: TrackOpt = None,
    melody: MelodyRuleOpt = None,
    programs: ProgramsOpt = None,
    meter: FileMeterOpt = None,
    greedy: DecodeGreedyOpt = True,
    temperature: TemperatureOpt = 1.0,
    seed: SeedOpt = 0,
    png: PngOpt = True,
    wav: WavOpt = False,
    checkpoint: CheckpointOpt = "best",
) -> None:
    """Fit attribute vectors (note density, pitch range, ...) from data, or apply them to music.

    Example: zspace music attributes runs/mel2 --data data/mel2.npz --out runs/mel2/attributes
    Example: zspace music attributes runs/mel2 --vectors runs/mel2/attributes --apply note_density=+1.5 --out edits/
    """
    from zspace.errors import ConfigError

    with user_errors():
        check_output_dir(out)
        if (data is None) == (vectors is None) or (vectors is not None) != bool(apply):
            raise ConfigError(
                "give --data DATA.npz to fit attribute vectors, or --vectors DIR with --apply NAME=STRENGTH to edit music"
            )
        config, model = _load(run, checkpoint)
        if data is not None:
            _fit_attributes(config, model, data, attribute, quantile, out)
        else:
            converter = _converter(config, melody, programs, meter)
            _apply_attributes(config, model, vectors, apply or [], input or [], converter, track, n=n, greedy=greedy,
                              temperature=temperature, seed=seed, png=png, wav=wav, out=out)  # fmt: skip


def _fit_attributes(config: Any, model: Any, data: Path, names: list[str] | None, quantile: float, out: Path) -> None:
    from zspace.music.attributes import fit_attribute_vectors, save_attribute_vectors
    from zspace.music.corpus import load_prepared
    from zspace.music.run import check_data

    prepared = load_prepared(data)
    check_data(config, prepared)
    fitted = fit_attribute_vectors(model, prepared.train, names or None, config.encoding, fit=AttributeFit(quantile=quantile))
    save_attribute_vectors(fitted, out)
    table = Table(title=f"attribute vectors: top vs bottom {quantile:.0%} of {data} (train)", header_style="bold")
    for column in ("attribute", "windows", "low mean", "high mean", "|vector|"):
        table.add_column(column, justify="left" if column == "attribute" else "right")
    for name in fitted.names:
        table.add_row(name, str(fitted.n_windows[name]), f"{fitted.low_mean[name]:.3f}", f"{fitted.high_mean[name]:.3f}",
                      f"{fitted.norm(name):.3f}")  # fmt: skip
    console.print(table)
    console.print(f"wrote {out}")


def _apply_attributes(
    config: Any, model: Any, vectors_dir: Path, specs: list[str], inputs: list[Path], converter: Any, track: int | None, *,
    n: int, greedy: bool,
    temperature: float, seed: int, png: bool, wav: bool, out: Path,
) -> None:  # fmt: skip
    import numpy as np
    import torch

    from zspace.errors import ConfigError
    from zspace.music.attributes import apply_attributes, load_attribute_vectors, measure, parse_strengths
    from zspace.music.figures import piano_roll_grid
    from zspace.music.generate import decode, encode, numbered, read_tokens

    fitted = load_attribute_vectors(vectors_dir)
    if fitted.encoding != config.encoding.name:
        raise ConfigError(f"{vectors_dir} holds vectors of a {fitted.encoding} model; this run reads {config.encoding.name}")
    strengths = parse_strengths(specs, fitted.names)
    if inputs:
        read = [read_tokens(f, converter, track=track) for f in inputs]
        z, qpm = encode(model, np.stack([t for t, _ in read]), encoding=config.encoding), [q for _, q in read]
    else:
        if n < 1:
            raise ConfigError(f"-n must be >= 1, got {n}")
        z, qpm = torch.randn(n, config.model.z_size, generator=torch.Generator().manual_seed(seed)), [120.0] * n
    edited = apply_attributes(z, fitted, strengths)
    before, after = (decode(model, c, temperature=temperature, greedy=greedy, seed=seed) for c in (z, edited))
    count = len(z)
    write_windows(config.encoding, before, out, numbered("original", count), qpm=qpm, png=png, wav=wav)
    write_windows(config.encoding, after, out, numbered("edited", count), qpm=qpm, png=png, wav=wav)
    if png:
        pairs = [w for pair in zip(before, after) for w in pair]
        titles = [t for pair in zip(numbered("original", count), numbered("edited", count)) for t in pair]
        piano_roll_grid(pairs, out / "attributes.png", encoding=config.encoding, ncol=2, titles=titles)
    values = measure(before, fitted.names, config.encoding), measure(after, fitted.names, config.encoding)
    table = Table(title=f"attributes of the decoded music, mean of {count} window(s)", header_style="bold")
    for column in ("attribute", "strength", "before", "after", "change"):
        table.add_column(column, justify="left" if column == "attribute" else "right")
    for name in fitted.names:
        b, a = (float(v[name][np.isfinite(v[name])].mean()) if np.isfinite(v[name]).any() else float("nan") for v in values)
        strength = f"{strengths[name]:+g}" if name in strengths else ""
        table.add_row(name, strength, f"{b:.3f}", f"{a:.3f}", f"{a - b:+.3f}")
    console.print(table)
    console.print(f"wrote original_*/edited_* files for {count} window(s) to {out}")


# The family's side of the shared verbs (zspace.families): `zspace train music` and `zspace sample RUN`.
train = train_cmd
app.command("train", hidden=True)(renamed(train_cmd, "music train", "train music"))


def sample(run: Path, options: SampleOptions) -> None:
    """``zspace sample``: MIDI files (and piano rolls) of prior samples in --out (default RUN/samples)."""
    out = options.out or run / "samples"
    check_output_dir(out)
    sample_cmd(run, out=out, n=options.n, temperature=options.temperature, seed=options.seed, checkpoint=options.checkpoint)
