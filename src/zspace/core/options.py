"""Command-line options from a typed config: one path per field, values parsed by the field's type.

The one grammar of ``--set path.to.field=value`` (``zspace train FAMILY --set``) and of the
benchmarks' ``--field-name value`` flags (``bench/_common.parse_args``): :func:`config_options`
lists a config's fields as dotted paths, :func:`apply_options` sets them from text. Values are
parsed by the field's annotation (``"500,500"`` for a tuple, ``"none"`` for an optional field) and
checked by the config's declared constraints (:mod:`zspace.core.constraints`).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from zspace.core.config import override

C = TypeVar("C")

__all__ = ["ConfigOption", "apply_options", "config_options"]


@dataclass(frozen=True)
class ConfigOption:
    """One settable field of a config: its dotted ``path``, type and default value."""

    path: str
    annotation: Any
    default: Any

    @property
    def flag(self) -> str:
        """The field as a command-line flag: ``train.batch_size`` -> ``--train.batch-size``."""
        return "--" + self.path.replace("_", "-")


def config_options(config: Any, *, nested: bool = True) -> list[ConfigOption]:
    """The fields of ``config`` (a dataclass or an instance; a class is built with its defaults) as options.

    ``nested``: a field that is itself a config gives its fields as ``field.sub`` paths instead.
    """
    instance = config() if isinstance(config, type) else config
    hints = typing.get_type_hints(type(instance))
    options: list[ConfigOption] = []
    for item in dataclasses.fields(instance):
        value = getattr(instance, item.name)
        if nested and dataclasses.is_dataclass(value):
            options += [dataclasses.replace(o, path=f"{item.name}.{o.path}") for o in config_options(value)]
        else:
            options.append(ConfigOption(item.name, hints[item.name], value))
    return options


def apply_options(config: C, values: Mapping[str, Any]) -> C:
    """``config`` with ``values`` (dotted path -> text as typed, or a value) set; errors name the path and the fix."""
    return override(config, values) if values else config
