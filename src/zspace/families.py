"""The model families: one :class:`Family` object per family, looked up by its one name.

Each family package exports its object in ``family.py`` (``zspace.vae.family.FAMILY``, ...). The
CLI's shared verbs (``zspace train|eval|sample|explore``), ``zspace presets``, ``--set`` and the
server's routes are generated from this registry, so adding a family means writing its package
and registering it here (or calling :func:`register`). The built-in families are imported only
when first looked up, so ``zspace --help`` does not load every model.

This module sits just above ``zspace.core``: the run contract (:mod:`zspace.train.runs`) checks
family names against it, and a Family names its CLI and server modules by import path (those
layers sit above the families), never by importing them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from zspace.errors import CheckpointError, ConfigError

__all__ = ["Family", "all_families", "get", "names", "register", "registered", "resolve"]


@dataclass(frozen=True)
class Family:
    """What zspace knows of a model family; every callable is the family's public library function.

    name: the one name, in the CLI (``zspace train NAME``), config.json's ``family`` and serve.
    summary: one line for the help of ``zspace train``.
    run_config: the typed run config (a ``configclass``); ``--set path.to.field=value`` sets its fields.
    presets: preset name -> complete run config (``zspace presets``); ``default_preset`` is the CLI's default.
    describe_preset: preset config -> (model, data, train) one-line descriptions for ``zspace presets``.
    build: run config -> the untrained model.
    fit: the library function that trains a run: ``fit(config, out, *, resume, overwrite)`` for vae,
        music and structured; SeCTAR's ``train_run(out, env_id, *, total_env_steps, config, ...)`` also
        takes its task. Its return value is the family's own.
    load: run directory -> the family's loaded run (model and config).
    evaluate, sample, explore: the library functions behind ``zspace eval|sample|explore RUN``,
        ``f(run_dir, ...)`` with the family's own keyword options and return value; the CLI module's
        verb parses flags, calls this and prints. None where the family has no such verb.
        vae: ``evaluate_run`` -> (data set name, test bounds), ``sample_run`` -> images,
        ``explore_run`` -> the HTML report's path; music: ``sample_run`` -> tokens;
        sectar: ``evaluate_run`` (planning episodes) -> PlanningResult, ``render_run`` -> figure
        paths; structured: ``evaluate_run`` -> (config, train/test error).
    commands: import path of the family's CLI module: its ``train`` command, its ``evaluate`` /
        ``sample`` / ``explore`` (the shared verbs' flag handling and printing, each where it exists)
        and ``app``, its own verbs (``zspace NAME ...``), if any.
    instead: shared verb -> the command that does its job for this family's runs (``{run}`` is the run),
        for the verbs the family lacks.
    serve_view: ``"module:attr"`` of the server's view factory, ``factory(run_dir[, seed=...])``.
    serve_routes: import path of the module whose ``add_routes(router, runs)`` adds its API routes.
    """

    name: str
    summary: str
    run_config: type | None = None
    presets: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    default_preset: str | None = None
    describe_preset: Callable[[Any], tuple[str, str, str]] | None = None
    build: Callable[[Any], Any] | None = None
    fit: Callable[..., Any] | None = None
    load: Callable[..., Any] | None = None
    evaluate: Callable[..., Any] | None = None
    sample: Callable[..., Any] | None = None
    explore: Callable[..., Any] | None = None
    commands: str | None = None
    instead: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    serve_view: str | None = None
    serve_routes: str | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ConfigError(f"a family name is a lower-case identifier (a CLI word and a JSON value), got {self.name!r}")
        if self.default_preset is not None and self.default_preset not in self.presets:
            raise ConfigError(f"family {self.name!r}: default preset {self.default_preset!r} is not among {list(self.presets)}")


# The built-in families: name -> module whose FAMILY is the Family (imported on first use).
_BUILTIN = {
    "vae": "zspace.vae.family",
    "music": "zspace.music.family",
    "sectar": "zspace.rl.sectar.family",
    "structured": "zspace.structured.family",
}
_LOADED: dict[str, Family] = {}
_EXTRA: dict[str, Family] = {}  # families registered at run time (a plug-in, a test)


def names() -> list[str]:
    """Every family's name, built-in ones first; imports nothing."""
    return [*_BUILTIN, *(name for name in _EXTRA if name not in _BUILTIN)]


def get(name: str, *, where: str | None = None) -> Family:
    """The family called ``name``; an unknown name is a :class:`CheckpointError` (naming ``where``, a file) or ConfigError."""
    if name in _EXTRA:
        return _EXTRA[name]
    if name not in _BUILTIN:
        message = f"unknown family {name!r}; valid families are {names()}"
        raise CheckpointError(f"{where}: {message}") if where else ConfigError(message)
    if name not in _LOADED:
        family = importlib.import_module(_BUILTIN[name]).FAMILY
        if family.name != name:
            raise ConfigError(f"{_BUILTIN[name]}.FAMILY is named {family.name!r}, registered as {name!r}")
        _LOADED[name] = family
    return _LOADED[name]


def all_families() -> list[Family]:
    """Every family, loaded, in :func:`names` order."""
    return [get(name) for name in names()]


def register(family: Family) -> Family:
    """Add a family at run time; a name already taken is refused."""
    if family.name in _BUILTIN or family.name in _EXTRA:
        raise ConfigError(f"family {family.name!r} is already registered")
    _EXTRA[family.name] = family
    return family


@contextmanager
def registered(family: Family) -> Iterator[Family]:
    """``family`` registered inside the block only (tests, a plug-in's scope)."""
    register(family)
    try:
        yield family
    finally:
        _EXTRA.pop(family.name, None)


def resolve(path: str) -> Any:
    """The object at ``"package.module:attr.attr"`` (a module alone without ``:``)."""
    module_name, _, attrs = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for attr in filter(None, attrs.split(".")):
        obj = getattr(obj, attr)
    return obj
