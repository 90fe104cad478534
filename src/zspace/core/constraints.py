"""Declared constraints on config fields, checked in one place whenever a config is built.

A field states its range beside itself, in its annotation (as scikit-learn's
``_parameter_constraints``, but next to the field)::

    @configclass
    class VAEConfig:
        latent_dim: Size = 20        # an integer in [1, 2^63)
        hidden: Sizes = (400,)       # one or more such integers
        decoder_std: Positive = 1.0  # a finite number > 0
        seed: Seed = 0               # an integer in [0, 2^63)

:func:`configclass` is ``@dataclass(frozen=True, kw_only=True)`` whose ``__post_init__`` first
runs :func:`check_fields`, then the class's own cross-field rules. So every way of building a
config (a preset, ``from_dict`` on a config.json, ``override`` and ``--set``, a CLI flag, the
Python API) refuses a bad value with the field, the value and the range, before any tensor is
allocated. The type implies the rest: an ``int`` is a whole number (not a bool) in
[-2^63, 2^63), a ``float`` a finite number, a ``tuple[X, ...]`` holds X's, a ``Literal`` one of
its values. A float field that may be infinite says so with :data:`MaybeInfinite`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from zspace.errors import ConfigError

__all__ = [
    "FieldError",
    "Fraction",
    "Interval",
    "MaybeInfinite",
    "MinLength",
    "NonNegative",
    "NonNegativeInt",
    "Positive",
    "Probability",
    "Seed",
    "Size",
    "Sizes",
    "check_fields",
    "check_value",
    "configclass",
]

C = TypeVar("C")
INT64_LIMIT = 2**63


class FieldError(ConfigError):
    """A field's value breaks its declared constraint: names the field, the value and the range."""

    def __init__(self, where: str, value: Any, expected: str) -> None:
        self.where, self.value, self.expected = where, value, expected
        super().__init__(f"{where} = {_shown(value)}: expected {expected}")

    def within(self, prefix: str) -> FieldError:
        """The same error named from where the config sits: ``TrainConfig.lr`` -> ``VAERunConfig.train.lr``."""
        _, _, rest = self.where.partition(".")
        return FieldError(f"{prefix}.{rest}", self.value, self.expected)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x: float) -> str:
    """2^63 for the int64 bound, plain numbers otherwise."""
    if x in (INT64_LIMIT, -INT64_LIMIT):
        return ("-" if x < 0 else "") + "2^63"
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclasses.dataclass(frozen=True)
class Interval:
    """``low <= value <= high`` (``open`` makes an end strict); None is unbounded on that side."""

    low: float | None = None
    high: float | None = None
    open: Literal["neither", "low", "high", "both"] = "neither"

    def holds(self, value: float) -> bool:
        low_open, high_open = self.open in ("low", "both"), self.open in ("high", "both")
        if self.low is not None and (value < self.low or (low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (high_open and value == self.high)))

    def __str__(self) -> str:
        left = "(" if self.open in ("low", "both") or self.low is None else "["
        right = ")" if self.open in ("high", "both") or self.high is None else "]"
        low = "-inf" if self.low is None else _number(self.low)
        high = "inf" if self.high is None else _number(self.high)
        return f"{left}{low}, {high}{right}"


@dataclasses.dataclass(frozen=True)
class MinLength:
    """A tuple of at least ``n`` items."""

    n: int


class _Infinite:
    """Marks a float field that may be +-inf (never NaN)."""


MaybeInfinite = _Infinite()

Size = Annotated[int, Interval(1, INT64_LIMIT, open="high")]  # a count of units, steps or examples
NonNegativeInt = Annotated[int, Interval(0, INT64_LIMIT, open="high")]
Seed = Annotated[int, Interval(0, INT64_LIMIT, open="high")]  # what numpy and torch generators accept
Sizes = Annotated[tuple[Size, ...], MinLength(1)]
Positive = Annotated[float, Interval(0, None, open="low")]
NonNegative = Annotated[float, Interval(0, None)]
Probability = Annotated[float, Interval(0, 1)]
Fraction = Annotated[float, Interval(0, 1, open="high")]  # a share of examples held out: [0, 1)

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls, include_extras=True)
        _HINTS[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return _HINTS[cls]


def check_fields(config: Any) -> None:
    """Check every field of dataclass ``config`` against its annotation; raise :class:`FieldError`."""
    name = type(config).__name__
    for field_name, hint in _hints(type(config)).items():
        check_value(getattr(config, field_name), hint, f"{name}.{field_name}")


def check_value(value: Any, hint: Any, where: str) -> None:
    """``value`` against type ``hint`` (with its ``Annotated`` constraints); ``where`` names it in the error."""
    constraints: tuple[Any, ...] = ()
    if typing.get_origin(hint) is Annotated:
        hint, *extras = typing.get_args(hint)
        constraints = tuple(extras)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        options = [a for a in args if a is not type(None)]
        errors: list[FieldError] = []
        for option in options:
            try:
                check_value(value, option, where)
                break
            except FieldError as err:
                errors.append(err)
        else:
            if len(errors) == 1 and type(None) not in args:
                raise errors[0]
            expected = " or ".join([e.expected for e in errors] + (["None"] if type(None) in args else []))
            raise FieldError(where, value, expected)
    elif origin is tuple:
        if not isinstance(value, tuple):
            raise FieldError(where, value, "a tuple")
        variadic = len(args) == 2 and args[1] is Ellipsis
        if not variadic and args and len(args) != len(value):
            raise FieldError(where, value, f"{len(args)} items")
        for i, item in enumerate(value):
            check_value(item, args[0] if variadic else args[i] if args else Any, f"{where}[{i}]")
    elif origin is Literal:
        if value not in args:
            raise FieldError(where, value, f"one of {list(args)}")
    else:
        _check_plain(value, hint, where, constraints)
    for constraint in constraints:
        if isinstance(constraint, MinLength) and len(value) < constraint.n:
            raise FieldError(where, value, f"at least {constraint.n} item(s)")


def _check_plain(value: Any, hint: Any, where: str, constraints: tuple[Any, ...]) -> None:
    interval = next((c for c in constraints if isinstance(c, Interval)), None)
    if hint is bool:
        if not isinstance(value, bool):
            raise FieldError(where, value, "true or false")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise FieldError(where, value, f"an integer in {interval or Interval(-INT64_LIMIT, INT64_LIMIT, 'high')}")
        bounds = interval or Interval(-INT64_LIMIT, INT64_LIMIT, "high")
        if not (bounds.holds(int(value)) and -INT64_LIMIT <= value < INT64_LIMIT):
            raise FieldError(where, value, f"an integer in {bounds}")
    elif hint is float:
        infinite_ok = any(c is MaybeInfinite for c in constraints)
        expected = ("a number" if infinite_ok else "a finite number") + (f" in {interval}" if interval else "")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise FieldError(where, value, expected)
        if math.isnan(value) or (math.isinf(value) and not infinite_ok):
            raise FieldError(where, value, expected)
        if interval is not None and not interval.holds(float(value)):
            raise FieldError(where, value, expected)
    elif hint is str:
        if not isinstance(value, str):
            raise FieldError(where, value, "a string")
    elif isinstance(hint, type) and hint not in (typing.Any, object) and not isinstance(value, hint):
        raise FieldError(where, value, f"a {hint.__name__}")


def check_params(constraints: Mapping[str, Any], params: Mapping[str, Any], owner: str) -> None:
    """scikit-learn style: ``params[name]`` against type ``constraints[name]`` for every declared name."""
    for name, hint in constraints.items():
        if name in params:
            check_value(params[name], hint, f"{owner}.{name}")


def configclass(cls: type[C] | None = None, /, **dataclass_options: Any) -> Any:
    """``@dataclass(frozen=True, kw_only=True)`` that runs :func:`check_fields` before ``__post_init__``."""

    def wrap(cls: type[C]) -> type[C]:
        own: Callable[[Any], None] | None = cls.__dict__.get("__post_init__")

        def __post_init__(self: Any) -> None:
            check_fields(self)
            if own is not None:
                own(self)

        __post_init__.__doc__ = own.__doc__ if own is not None else None
        cls.__post_init__ = __post_init__  # type: ignore[attr-defined]
        options = {"frozen": True, "kw_only": True} | dataclass_options
        return dataclasses.dataclass(**options)(cls)

    return wrap if cls is None else wrap(cls)
