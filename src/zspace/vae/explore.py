"""Explore a trained VAE run: figures of its latent space and an HTML report in ``RUN/report/``.

``explore_run(run_dir)`` is the library behind ``zspace explore RUN``. It loads the model and
its data from the run directory, draws reconstructions, prior samples, the latent scatter, the
2-D manifold (Kingma & Welling 2014, fig. 4), lerp/slerp interpolations and per-dimension
traversals, and, with ``ablation=True``, trains reconstruction-only and KL-only variants of the
same run (cached in ``RUN/ablations/<loss>/``) to show what each half of the ELBO does.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from zspace.core.config import override, to_dict
from zspace.core.latent import lerp, slerp
from zspace.core.seeds import derive_seed
from zspace.data.images import ImageDataset, load_images
from zspace.errors import CheckpointError
from zspace.explore import plots
from zspace.explore.report import Section, write_html_report
from zspace.train import checkpoint as ckpt
from zspace.vae.evaluate import evaluate
from zspace.vae.model import VAE
from zspace.vae.run import VAERunConfig, fit_data_shape, load_model, load_run_config, n_train_examples, train

log = logging.getLogger("zspace.explore")

MAX_POINTS = 2000  # test examples used for statistics and scatters (t-SNE and MNIST stay fast)
IWAE_K = 20  # importance samples for the log p(x) bound in the report (cost: K decoder passes per image)
MANIFOLD_N = 20  # Kingma & Welling fig. 4 shows a 20 x 20 grid
TRAVERSAL_VALUES = tuple(float(v) for v in torch.linspace(-3.0, 3.0, 9))
MAX_TRAVERSAL_DIMS = 10
N_PAIRS, PATH_STEPS = 4, 10
_OWN_NAMES = {"elbo": "full ELBO", "iwae": "IWAE", "reconstruction": "reconstruction only", "kl": "KL only"}
ABLATION_LOSSES = {"reconstruction": "reconstruction only (beta = 0)", "kl": "KL only (no reconstruction term)"}


def explore_run(
    run_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    n_samples: int = 64,
    ablation: bool = True,
    ablation_epochs: int | None = None,
    seed: int = 0,
) -> Path:
    """Write figures and ``report.html`` for the VAE in ``run_dir``; returns the report's path.

    out_dir: defaults to ``run_dir/report``. ablation: also train (or reuse) the loss ablations
    under ``run_dir/ablations/{reconstruction,kl}/`` with the run's config and budget, or
    ``ablation_epochs`` epochs when given. Every random choice derives from ``seed``.
    """
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    config = load_run_config(run_dir)
    model = load_model(run_dir)
    data = load_images(config.data)
    x = data.test_x[:MAX_POINTS]
    y = None if data.test_y is None else data.test_y[:MAX_POINTS]
    stats = posterior_stats(model, x, seed)
    used = ckpt.resolve_checkpoint(run_dir, "best").name

    sections = [_overview(run_dir, config, data, stats, used, out), _images(model, x, n_samples, seed, out)]
    sections.append(_latent_space(model, x, y, data.label_names, stats, seed, out))
    sections.append(_interpolations(model, stats["mean"], y, data.label_names, seed, out))
    sections.append(_traversals(model, x, stats, seed, out))
    summary: dict[str, Any] = {"run": str(run_dir), "checkpoint": used, "test": _numbers(stats)}
    if ablation:
        section, summary["ablation"] = _ablation(run_dir, config, data, model, x, y, ablation_epochs, seed, out)
        sections.append(section)
    ckpt.write_json_atomic(out / "summary.json", summary)
    title = f"VAE exploration: {run_dir.name} ({data.name}, {config.model.latent_dim}-D latent)"
    intro = (
        f"Run directory {run_dir}, checkpoint {used}. Test numbers are per example in nats, on "
        f"{'the first ' if len(x) < len(data.test_x) else 'all '}{len(x)} test images; every random choice in this "
        f"report is seeded with seed={seed}."
    )
    return write_html_report(out, title, sections, intro=intro)


# -- numbers ------------------------------------------------------------------------------------
@torch.no_grad()
def posterior_stats(model: VAE, x: Tensor, seed: int, *, iwae_k: int = IWAE_K, batch: int = 250) -> dict[str, Any]:
    """Full-ELBO statistics of ``model`` on x (N, C, H, W), whatever loss it was trained with.

    Returns floats (nats per example) elbo, reconstruction (E_q[-log p(x|z)]), kl, iwae (the
    IWAE lower bound on log p(x) with iwae_k samples), the ints iwae_k and active_units, and
    tensors mean (N, D) of posterior means, activity (D,) and kl_per_dim (D,).
    """
    r = evaluate(model, x, k=iwae_k, iwae_ks=(), batch_size=batch, seed=seed, return_posterior_means=True)
    return {
        "elbo": r["elbo"], "reconstruction": -(r["elbo"] + r["kl"]), "kl": r["kl"], "iwae": r[f"iwae_{iwae_k}"],
        "iwae_k": iwae_k, "active_units": r["active_units"], "mean": r["posterior_means"],
        "activity": torch.tensor(r["activity"]), "kl_per_dim": torch.tensor(r["kl_per_dim"]),
    }  # fmt: skip


def _numbers(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if not isinstance(v, Tensor)}


def _stats_row(stats: dict[str, Any], latent_dim: int) -> dict[str, Any]:
    return {
        "ELBO": stats["elbo"], f"log p(x) >= (IWAE k={stats['iwae_k']})": stats["iwae"],
        "reconstruction -log p(x|z)": stats["reconstruction"], "KL(q||p)": stats["kl"],
        "active units": f"{stats['active_units']} / {latent_dim}",
    }  # fmt: skip


# -- sections -----------------------------------------------------------------------------------
def _overview(run_dir: Path, config: VAERunConfig, data: ImageDataset, stats: dict, used: str, out: Path) -> Section:
    m = config.model
    table = {
        "data": f"{data.name}: {len(data.train_x)} train / {len(data.test_x)} test images of "
        f"{'x'.join(map(str, data.image_shape))}, binarize={data.binarize}",
        "model": f"{m.architecture}, latent {m.latent_dim}, {m.likelihood} decoder",
        "objective": f"{config.objective.loss}, beta {config.objective.beta.value:g} ({config.objective.beta.kind})",
        "training": f"{config.train.epochs} epochs, batch {config.train.batch_size}, {config.train.optimizer}",
        **_stats_row(stats, m.latent_dim),
    }
    section = Section(
        "Overview",
        "The ELBO, -(reconstruction + KL), is a lower bound on log p(x). The IWAE bound with k importance samples is "
        "tighter; its gap to the ELBO measures how far q(z|x) is from the true posterior. A latent unit is active "
        "when the variance of its posterior mean across test images exceeds 0.01 (Burda et al. 2016): units below "
        "that carry no information about x (posterior collapse).",
        table=table,
    )
    metrics = run_dir / "metrics.jsonl"
    if metrics.is_file():
        section.figures.append(plots.training_curves(metrics, out / "training_curves.png"))
        section.captions.append(
            "Training (blue, running means between log points) and validation (red, on the "
            f"{config.data.valid_fraction:.0%} of the training split held out to pick the best checkpoint) curves. "
            "A KL that stays near zero while reconstruction improves would signal posterior collapse."
        )
    return section


def _images(model: VAE, x: Tensor, n_samples: int, seed: int, out: Path) -> Section:
    n = min(16, len(x))
    index = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    rows = [("test images", x[index]), ("reconstructions", model.reconstruct(x[index]))]
    recon = plots.comparison_rows(rows, out / "reconstructions.png")
    samples = model.sample(n_samples, generator=torch.Generator().manual_seed(derive_seed(seed, "prior-samples")))
    grid = plots.image_grid(samples, out / "samples.png", nrow=min(8, n_samples), title=f"{n_samples} samples, z ~ N(0, I)")
    return Section(
        "Reconstructions and samples",
        "Reconstructions decode the posterior mean of each test image; samples decode codes drawn from the prior. "
        "Both show the decoder's mean (per-pixel probabilities for a Bernoulli decoder), not a noisy draw from p(x|z).",
        figures=[recon, grid],
        captions=[
            "Random test images (top; binarized as the model sees them) and their reconstructions (bottom).",
            "Decoder means at prior samples. Blurry or mixed images are codes that fall between the regions the encoder uses.",
        ],
    )


def _latent_space(model: VAE, x: Tensor, y: Tensor | None, names: Any, stats: dict, seed: int, out: Path) -> Section:
    d = model.config.latent_dim
    how = "the codes themselves" if d <= 2 else f"their PCA projection from {d} dimensions"
    scatter = plots.latent_scatter(
        stats["mean"],
        y,
        out / "latent_scatter.png",
        label_names=names,
        seed=seed,
        title=f"test posterior means ({'2-D' if d == 2 else f'PCA of {d}-D'})",
    )
    section = Section(
        "Latent space",
        f"Each test image is placed at its posterior mean E[z|x] ({how}), colored by its label. Under the N(0, I) "
        "prior the codes should fill a round blob; classes the model separates form clusters without any label "
        "having been used in training.",
        figures=[scatter],
        captions=["Test posterior means. Overlapping classes are digits the model finds similar (or cannot tell apart)."],
    )
    if d == 2:
        p = (torch.arange(MANIFOLD_N, dtype=torch.float32) + 0.5) / MANIFOLD_N
        values = torch.distributions.Normal(0.0, 1.0).icdf(p)  # Phi^-1 of an even grid on (0, 1)
        z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")  # (n, n): row i, column j
        z = torch.stack([z1, z2], dim=-1).reshape(-1, 2)  # z[i*n + j] = (values[j], values[n-1-i]): z2 grows upward
        with torch.no_grad():
            images = model.decode(z).mean
        path = plots.manifold_grid(
            images,
            out / "manifold.png",
            MANIFOLD_N,
            values=values.tolist(),
            title="learned manifold: decoder mean on a Gaussian-quantile grid",
        )
        section.figures.append(path)
        section.captions.append(
            "As in Kingma & Welling (2014, fig. 4): an even grid on the unit square mapped through the inverse "
            "Gaussian CDF, so each cell covers equal prior mass and the grid spans the prior's central 95%. "
            "Smooth morphing between digits means nearby codes decode to similar images."
        )
    return section


def _pairs(y: Tensor | None, n: int, generator: torch.Generator, size: int) -> list[tuple[int, int]]:
    """Up to n disjoint pairs of indices into ``size`` examples, with different labels when labels exist."""
    order = torch.randperm(size, generator=generator).tolist()
    pairs, used = [], set()
    for i in order:
        if len(pairs) == n:
            break
        if i in used:
            continue
        j = next((j for j in order if j not in used and j != i and (y is None or int(y[j]) != int(y[i]))), None)
        if j is not None:
            pairs.append((i, j))
            used.update((i, j))
    return pairs


def _interpolations(model: VAE, mean: Tensor, y: Tensor | None, names: Any, seed: int, out: Path) -> Section:
    """mean: (N, D) test posterior means."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "interpolation-pairs"))
    pairs = _pairs(y, N_PAIRS, generator, len(mean))
    with torch.no_grad():
        rows = []
        for i, j in pairs:
            tag = f"{_name(y, i, names)}→{_name(y, j, names)}" if y is not None else f"{i}→{j}"
            for kind, path_fn in (("lerp", lerp), ("slerp", slerp)):
                rows.append((f"{kind} {tag}", model.decode(path_fn(mean[i], mean[j], PATH_STEPS)).mean))
        figure = plots.comparison_rows(rows, out / "interpolations.png", title="interpolation between test codes")
        # How far each path's midpoint strays from the prior's typical radius, over many random pairs.
        # Medians: slerp's midpoint norm explodes for nearly opposite codes of unequal norm.
        a, b = (mean[torch.randint(len(mean), (500,), generator=generator)] for _ in range(2))  # (500, D) each
        lerp_mid = ((a + b) / 2).norm(dim=-1)
        slerp_mid = torch.stack([slerp(u, v, 3)[1] for u, v in zip(a, b)]).norm(dim=-1)
    table = {
        "median |z| of test codes": float(mean.norm(dim=-1).median()),
        "median |z| at lerp midpoints": float(lerp_mid.median()),
        "median |z| at slerp midpoints": float(slerp_mid.median()),
        "sqrt(D): typical |z| of a prior sample": float(mean.shape[1]) ** 0.5,
    }
    return Section(
        "Interpolations",
        "Paths between the posterior means of two test images, decoded at 10 evenly spaced points. lerp moves "
        "on the straight line; slerp (Shoemake 1985, the formula MusicVAE uses) rotates along the great circle "
        "between the two directions. Under a D-dimensional N(0, I) prior with large D almost all mass lies near the "
        "sphere of radius sqrt(D) and two typical codes are nearly orthogonal, so the straight line between them "
        "cuts through the low-norm interior the decoder rarely saw in training (its midpoint has norm about "
        "sqrt(D/2)), while slerp stays on the shell. The table compares the norms at the midpoints of random pairs."
        + (_LOW_D_NOTE if mean.shape[1] <= 3 else ""),
        figures=[figure],
        captions=["Each pair of rows: lerp then slerp between the same two test codes (left end to right end)."],
        table=table,
    )


_LOW_D_NOTE = (
    "\n\nWith this few latent dimensions the shell argument is weak: the prior's density peaks at the origin and "
    "codes of every norm are common, so lerp is fine here, while slerp between nearly opposite codes takes a long "
    "detour around the origin through other classes (and, when their norms differ, overshoots both of them)."
)


def _name(y: Tensor | None, i: int, names: Any) -> str:
    if y is None:
        return str(i)
    k = int(y[i])
    return names[k] if names is not None and k < len(names) else str(k)


def _traversals(model: VAE, x: Tensor, stats: dict, seed: int, out: Path) -> Section:
    activity, kl = stats["activity"], stats["kl_per_dim"]
    dims = torch.argsort(activity, descending=True)[:MAX_TRAVERSAL_DIMS].tolist()
    base_index = int(torch.randint(len(x), (1,), generator=torch.Generator().manual_seed(derive_seed(seed, "traversal-base"))))
    base = stats["mean"][base_index]  # (D,)
    values = torch.tensor(TRAVERSAL_VALUES)
    z = base.repeat(len(dims), len(values), 1)  # (dims, steps, D)
    for r, d in enumerate(dims):
        z[r, :, d] = values
    with torch.no_grad():
        images = model.decode(z.reshape(-1, base.numel())).mean
    notes = [f"(var {float(activity[d]):.2g}, KL {float(kl[d]):.2f})" for d in dims]
    figure = plots.traversal_grid(
        images,
        out / "traversals.png",
        dims,
        TRAVERSAL_VALUES,
        row_notes=notes,
        title=f"traversals around test image {base_index}",
    )
    latent_dim = model.config.latent_dim
    shown = "all dimensions" if len(dims) == latent_dim else f"the {len(dims)} most active of {latent_dim} dimensions"
    return Section(
        "Latent traversals",
        f"Each row sets one latent dimension (z_1 is the first) to values from -3 to 3 (prior standard deviations) and "
        f"keeps the others at the posterior mean of one test image; rows show {shown}, most active first. 'var' is the "
        "variance of that dimension's posterior mean across test images (its activity), 'KL' its average KL in nats. "
        "A dimension with near-zero activity and KL is collapsed: its row does not change.",
        figures=[figure],
        captions=["Per-dimension traversals; columns are the value of the traversed dimension."],
    )


# -- the loss ablation --------------------------------------------------------------------------
def ablation_config(config: VAERunConfig, loss: str, epochs: int | None) -> VAERunConfig:
    """The run config trained with ``objective.loss = loss`` (and ``epochs`` if given)."""
    changes: dict[str, Any] = {"objective.loss": loss}
    if epochs is not None:
        changes.update({"train.epochs": epochs, "train.max_steps": None})
    return override(config, changes)


def _train_or_reuse(config: VAERunConfig, data: ImageDataset, directory: Path) -> VAE:
    """Train ``config`` into ``directory``, or reuse (finishing if interrupted) what is there.

    Checkpoints are thinned to about ten per run: the ablation needs only its final weights,
    and saving every epoch dominates the training time of small models.
    """
    config = fit_data_shape(config, data)
    n_train = n_train_examples(config, data)
    steps_per_epoch = max(1, n_train // config.train.batch_size)
    total = config.train.total_steps(n_train)
    config = replace(config, train=replace(config.train, checkpoint_every=max(steps_per_epoch, total // 10)))
    latest = ckpt.latest_checkpoint(directory)
    if latest is None:
        log.info("training ablation %s for %d steps", directory, total)
        train(config, directory, overwrite=True)  # no checkpoint there: only an attempt killed before its first one
        return load_model(directory, checkpoint="last")
    if to_dict(load_run_config(directory)) != to_dict(config):
        raise CheckpointError(
            f"{directory} holds an ablation trained with a different config than this run now asks for "
            f"(e.g. another ablation_epochs); delete {directory} to retrain it"
        )
    if int(latest.name.split("-")[-1]) < total:  # interrupted earlier: finish it
        train(config, directory, resume=True)
    return load_model(directory, checkpoint="last")


def _ablation(
    run_dir: Path,
    config: VAERunConfig,
    data: ImageDataset,
    model: VAE,
    x: Tensor,
    y: Tensor | None,
    epochs: int | None,
    seed: int,
    out: Path,
) -> tuple[Section, dict[str, Any]]:
    own, beta = config.objective.loss, config.objective.beta
    plain = (
        beta.kind == "constant" and beta.value == 1.0 and not (config.objective.free_nats or config.objective.free_nats_per_dim)
    )
    models = [(f"{_OWN_NAMES.get(own, own)}{'' if plain else ' (beta, free bits)'} (this run)", model)]
    for loss, label in ABLATION_LOSSES.items():
        if loss != own:
            trained = _train_or_reuse(ablation_config(config, loss, epochs), data, run_dir / "ablations" / loss)
            models.append((label, trained))
    stats = [(label, posterior_stats(m, x, seed)) for label, m in models]
    projected = [(label, *plots.project_2d(s["mean"], seed=seed)) for label, s in stats]
    axis = "PC" if any(method == "pca" for _, _, method in projected) else "z"
    scatter = plots.scatter_panels(
        [(label, z2d, y) for label, z2d, _ in projected],
        out / "ablation_scatter.png",
        label_names=data.label_names,
        axis_names=(f"{axis} 1", f"{axis} 2"),
    )
    n = min(12, len(x))
    rows: list[tuple[str, Any]] = [("test images", x[:n])]
    rows += [(f"recon: {label.split(' (')[0]}", m.reconstruct(x[:n])) for label, m in models]
    rows += [
        (
            f"samples: {label.split(' (')[0]}",
            m.sample(n, generator=torch.Generator().manual_seed(derive_seed(seed, "ablation-samples"))),
        )
        for label, m in models
    ]
    images = plots.comparison_rows(rows, out / "ablation_images.png")
    budget = f"{epochs} epochs each" if epochs is not None else f"the run's own budget ({config.train.epochs} epochs)"
    table = {label: _stats_row(s, config.model.latent_dim) for label, s in stats}
    section = Section(
        "Loss ablation: what each half of the ELBO does",
        f"The same model, data and seed trained with only one of the two ELBO terms, for {budget}; all "
        f"{len(models)} are evaluated with the full ELBO. Reconstruction only (beta = 0) is a noisy autoencoder: "
        "nothing pulls q(z|x) toward the prior, so codes spread or shrink freely and KL is large; reconstructions "
        "are the sharpest, but N(0, I) no longer describes where the codes lie, so prior samples need not be "
        "distributed like the data. KL only ignores the images: every posterior equals the prior, KL goes to 0 "
        "(total posterior collapse), codes carry no information, and the decoder, which gets no gradient, stays at "
        "its initialization. The full ELBO trades the two: codes informative enough to reconstruct, close enough "
        "to N(0, I) to sample from.",
        figures=[scatter, images],
        captions=[
            (
                "Test posterior means of each model, each panel at its own scale; 'std' is the spread of the codes "
                "(compare with 1 for the prior). A tiny std means all images map to the same code."
            ),
            "Reconstructions of the same test images, then prior samples, for each model.",
        ],
        table=table,
    )
    return section, {label: _numbers(s) for label, s in stats}


__all__ = ["ablation_config", "explore_run", "posterior_stats"]
