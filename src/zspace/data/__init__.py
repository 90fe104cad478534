"""Datasets: images for the VAE family (digits, MNIST IDX files, folders, arrays, shapes)."""

from __future__ import annotations

from zspace.data.images import (
    BINARIZE_MODES,
    SOURCES,
    DataConfig,
    ImageDataset,
    binarize_batch,
    load_images,
    validation_split,
)
from zspace.data.shapes import FACTOR_NAMES, SHAPE_NAMES, generate_shapes

__all__ = [
    "BINARIZE_MODES",
    "FACTOR_NAMES",
    "SHAPE_NAMES",
    "SOURCES",
    "DataConfig",
    "ImageDataset",
    "binarize_batch",
    "generate_shapes",
    "load_images",
    "validation_split",
]
