"""Exploring trained latent-variable models: family-agnostic figures and a self-contained HTML report.

Each family orchestrates its own exploration (e.g. :func:`zspace.vae.explore.explore_run`) from
these pieces. Importing this package changes no global state (matplotlib is used without pyplot).
"""

from zspace.explore.plots import (
    comparison_rows,
    image_grid,
    latent_scatter,
    manifold_grid,
    project_2d,
    read_metrics,
    scatter_panels,
    training_curves,
    traversal_grid,
)
from zspace.explore.report import REPORT_FILE, Section, format_value, write_html_report

__all__ = [
    "REPORT_FILE", "Section", "comparison_rows", "format_value", "image_grid", "latent_scatter",
    "manifold_grid", "project_2d", "read_metrics", "scatter_panels", "training_curves",
    "traversal_grid", "write_html_report",
]  # fmt: skip
