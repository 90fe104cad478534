"""Latent structured prediction: problems (feature maps and argmax oracles) and latent SSVM learners."""

from zspace.structured.alignment import ImageAlignment, make_shifted_digits
from zspace.structured.estimator import LatentSSVM
from zspace.structured.exact import FitResult, fit_exact, latent_ssvm_objective
from zspace.structured.perturbed import fit_perturbed, randomized_loss_terms
from zspace.structured.problems import LatentMulticlass, StructuredDataset, StructuredProblem, make_synthetic
from zspace.structured.sequence import LatentSequenceLabelling, make_synthetic_sequences

__all__ = [
    "FitResult",
    "ImageAlignment",
    "LatentMulticlass",
    "LatentSSVM",
    "LatentSequenceLabelling",
    "StructuredDataset",
    "StructuredProblem",
    "fit_exact",
    "fit_perturbed",
    "latent_ssvm_objective",
    "make_shifted_digits",
    "make_synthetic",
    "make_synthetic_sequences",
    "randomized_loss_terms",
]
