"""Latent structured prediction: problems (feature maps and argmax oracles) for latent SSVMs."""

from zspace.structured.problems import LatentMulticlass, StructuredProblem, make_synthetic

__all__ = ["LatentMulticlass", "StructuredProblem", "make_synthetic"]
