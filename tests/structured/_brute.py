"""Brute-force enumeration of (y, h) pairs, shared by the tests of the multiclass-style problems."""

from __future__ import annotations

import itertools

import numpy as np


def all_pairs(problem):
    """Every (y, h) of a problem with ``n_classes`` outputs and ``n_latent`` latents, lexicographically."""
    return list(itertools.product(range(problem.n_classes), range(problem.n_latent)))


def brute_argmax(problem, w, x, y=None, augment=False, fixed_y=False):
    """Enumerate (y', h') in lexicographic order; strict '>' keeps the first maximiser."""
    best, best_pair = -np.inf, None
    for yy, hh in all_pairs(problem):
        if fixed_y and yy != y:
            continue
        value = w @ problem.joint_feature(x, yy, hh) + (problem.loss(y, yy) if augment else 0.0)
        if value > best:
            best, best_pair = value, (yy, hh)
    return best_pair
