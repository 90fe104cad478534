"""The latent-SSVM family as the registry sees it (:mod:`zspace.families`)."""

from __future__ import annotations

from zspace.families import Family
from zspace.structured.config import PRESETS, StructuredRunConfig
from zspace.structured.run import build, evaluate_run, fit, load_run


def describe_preset(config: StructuredRunConfig) -> tuple[str, str, str]:
    """(model, data, train) columns of ``zspace presets``."""
    p = config.params
    learner = f"{p.method} alpha={p.alpha}" + (f" samples={p.n_samples} epochs={p.max_epochs}" if p.method == "perturbed" else "")
    return "latent SSVM", config.problem, learner


FAMILY = Family(
    name="structured",
    summary="Fit a latent structural SVM (exact CCCP or randomized) on a bundled or generated problem.",
    run_config=StructuredRunConfig,
    presets=PRESETS,
    default_preset="synthetic-latent",
    describe_preset=describe_preset,
    build=build,
    fit=fit,
    load=load_run,
    evaluate=evaluate_run,
    commands="zspace.cli.structured",
    instead={"sample": "zspace eval {run}", "explore": "zspace eval {run}"},
    serve_view="zspace.serve.ssvm_view:SSVMView.from_run",
    serve_routes="zspace.serve.ssvm_api",
)
