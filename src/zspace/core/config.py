"""Frozen, keyword-only dataclass configs: JSON round trips, validated overrides, preset registries.

Configs are plain frozen, keyword-only dataclasses. This module turns them into JSON
dicts and back, applies ``field=value`` overrides with errors that list the valid fields, and
holds the small preset registry used by every family (as Magenta's ``configs.py``).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from zspace.core.constraints import FieldError
from zspace.errors import ConfigError

C = TypeVar("C")


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (possibly nested) config dataclass; tuples become lists."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            value = to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


_NONE_WORDS = ("none", "null")


def _json_if_bracketed(value: Any) -> Any:
    """A command-line string that is a JSON list or object, parsed; anything else unchanged."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _coerce_config(value: Any, annotation: type, where: str) -> Any:
    """A nested config from a dict (or JSON object text), or from one scalar via ``from_scalar``.

    ``--set train.lr=0.01`` means "a constant learning rate of 0.01": a config class that has
    one obvious scalar form (:class:`~zspace.core.schedules.Schedule`) says so with ``from_scalar``.
    """
    value = _json_if_bracketed(value)
    if isinstance(value, Mapping):
        return from_dict(annotation, value, where=where)
    from_scalar = getattr(annotation, "from_scalar", None)
    if from_scalar is not None and not isinstance(value, (list, tuple, bool)):
        try:
            return from_scalar(_coerce(value, float, where))
        except FieldError as err:
            raise err.within(where) from None
    fields = sorted(f.name for f in dataclasses.fields(annotation))
    raise ConfigError(
        f"{where}: expected {annotation.__name__} fields, got {value!r}; set one of them as {where}.FIELD=VALUE ({fields})"
    )


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Convert a JSON/CLI value to the field's annotated type (tuples, nested configs, Optional).

    Strings as typed on a command line are parsed by the field's type: ``"0.5"`` for a float,
    ``"none"`` for an optional field, ``"500,500"`` or ``"[500, 500]"`` for a tuple.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if dataclasses.is_dataclass(annotation):
        return _coerce_config(value, annotation, where)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS)):
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except (ConfigError, TypeError, ValueError):
                continue
        raise ConfigError(f"{where}: {value!r} does not match {annotation}")
    if origin is tuple:
        value = _json_if_bracketed(value)
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item_type = args[0] if args else Any
        return tuple(_coerce(v, item_type, where) for v in value)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if annotation is bool:
        if isinstance(value, str):
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return bool(value)
    if annotation in (int, float, str):
        if annotation is not str and isinstance(value, bool):
            raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}")
        if annotation is int and isinstance(value, str):
            value = _int_text(value, where)
        try:
            converted = annotation(value)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}") from err
        if annotation is int and isinstance(value, float) and value != converted:
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return converted
    return value


def _int_text(text: str, where: str) -> int:
    """``"100"``, ``"1e3"`` or ``"1_000"`` as an int; ``"0.5"`` is an error."""
    try:
        return int(text.replace("_", ""))
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {text!r}") from None
        if not number.is_integer():
            raise ConfigError(f"{where}: expected an integer, got {text!r}") from None
        return int(number)


def parse_scalar(text: str, like: Any) -> Any:
    """Command-line ``text`` parsed by the type of ``like`` (a default value): int, float, bool, or JSON.

    For parameters without a dataclass field (an estimator's keyword arguments).
    """
    if isinstance(like, bool):
        return _coerce(text, bool, "value")
    if isinstance(like, (int, float)):
        try:
            return _coerce(text, type(like), "value")
        except ConfigError:
            pass  # e.g. an int default given a float: let the estimator judge it
    if like is None or isinstance(like, (int, float)):
        if text.strip().lower() in _NONE_WORDS:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def from_dict(cls: type[C], data: Mapping[str, Any], *, where: str | None = None) -> C:
    """Build config ``cls`` from a dict (as written by :func:`to_dict`), rejecting unknown keys."""
    where = where or cls.__name__
    types_by_name = _field_types(cls)
    unknown = sorted(set(data) - set(types_by_name))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; valid fields are {sorted(types_by_name)}")
    kwargs = {name: _coerce(value, types_by_name[name], f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except FieldError as err:
        raise err.within(where) from None
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"{where}: {err}") from err


def override(config: C, overrides: Mapping[str, Any]) -> C:
    """Return a copy of ``config`` with dotted-path overrides applied.

    ``override(run, {"model.latent_dim": 2, "train.epochs": 5})``; values may be strings as
    typed on a command line. Unknown paths raise a :class:`ConfigError` listing valid fields.
    """
    nested: dict[str, dict[str, Any]] = {}
    direct: dict[str, Any] = {}
    for path, value in overrides.items():
        head, _, rest = path.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    types_by_name = _field_types(type(config))
    unknown = sorted((set(direct) | set(nested)) - set(types_by_name))
    if unknown:
        raise ConfigError(f"{type(config).__name__}: unknown field(s) {unknown}; valid fields are {sorted(types_by_name)}")
    changes = {name: _coerce(value, types_by_name[name], f"{type(config).__name__}.{name}") for name, value in direct.items()}
    for name, sub in nested.items():
        inner = getattr(config, name)
        if not dataclasses.is_dataclass(inner):
            raise ConfigError(
                f"{type(config).__name__}.{name} is {inner!r}, not a config with fields; "
                f"set it as a whole ({name}=...) instead of {sorted(name + '.' + k for k in sub)}"
            )
        try:
            changes[name] = override(inner, sub)
        except FieldError as err:
            raise err.within(f"{type(config).__name__}.{name}") from None
    try:
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"{type(config).__name__}: {err}") from err


class Registry(Mapping[str, C]):
    """Named presets, ``name -> config``; an unknown name lists the valid ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, C] = {}

    def register(self, name: str, config: C) -> C:
        if name in self._items:
            raise ConfigError(f"{self.kind} preset {name!r} is already registered")
        self._items[name] = config
        return config

    def __getitem__(self, name: str) -> C:
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} preset {name!r}; valid presets are {sorted(self._items)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def get(self, name: str, default: C | None = None) -> C | None:
        return self._items.get(name, default)

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
