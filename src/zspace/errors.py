"""Exceptions raised by zspace.

Every error a user can cause is a :class:`ZspaceError`; its message names the file or field
at fault and what was expected, so the CLI can print it without a traceback.
"""

from __future__ import annotations


class ZspaceError(Exception):
    """Base class of every error a user can cause (bad input, bad config, missing file)."""


class ConfigError(ZspaceError, ValueError):
    """A config field, preset name or CLI override is invalid."""


class DataError(ZspaceError, ValueError):
    """A dataset is missing, unreadable or has the wrong shape or values."""


class CheckpointError(ZspaceError):
    """A run directory or checkpoint is missing, incomplete or incompatible."""


class TrainingDivergedError(ZspaceError):
    """The loss became NaN or infinite; the message names the step and the checkpoint to resume from."""
