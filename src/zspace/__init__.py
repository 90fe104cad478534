"""zspace: latent-variable models to train, explore and plan with.

Importing zspace has no side effects: no logging handlers, seeds or global torch flags.
"""

from __future__ import annotations

from zspace.errors import CheckpointError, ConfigError, DataError, TrainingDivergedError, ZspaceError

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "TrainingDivergedError",
    "ZspaceError",
    "__version__",
]
