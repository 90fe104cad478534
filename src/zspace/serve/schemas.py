"""Request bodies of the JSON API: pydantic models whose bounds are the server's input contract.

Every number is finite (NaN and infinity are refused) and bounded, so no request can ask for
an unbounded amount of work or memory; lengths that depend on the run (the latent size) are
checked by the family's view against its model. Types are strict: ``true`` is not 1 and
``"0"`` is not 0 (an integer is still a valid float).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 256  # codes decoded in one request
MAX_ABS_Z = 50.0  # |z_i| beyond 50 prior standard deviations is no place a decoder has seen
MAX_LATENT = 4096  # longest code any request may carry (larger than any preset's z)
# Longest request body, refused before parsing: the largest a page sends (256 codes of z 512, 17
# digits a number) is about 2.5 MB.
MAX_BODY_BYTES = 4 << 20

FiniteZ = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_Z, le=MAX_ABS_Z)]
Code = Annotated[list[FiniteZ], Field(min_length=1, max_length=MAX_LATENT)]
Point = Annotated[list[Annotated[float, Field(allow_inf_nan=False, ge=-1e4, le=1e4)]], Field(min_length=2, max_length=2)]
Temperature = Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=5.0)]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
Steps = Annotated[int, Field(ge=2, le=32)]


class Body(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than a silent default; no type is coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class DecodeRequest(Body):
    """Exactly one of ``z`` (codes, (B, D)) or ``points`` (positions on the 2-D map, (B, 2))."""

    z: Annotated[list[Code], Field(min_length=1, max_length=MAX_BATCH)] | None = None
    points: Annotated[list[Point], Field(min_length=1, max_length=MAX_BATCH)] | None = None


class SampleRequest(Body):
    n: Annotated[int, Field(ge=1, le=64)] = 16
    temperature: Temperature = 1.0
    seed: Seed = 0


class PairRequest(Body):
    """Two test examples by index, and the number of points on the path (end points included)."""

    a: Annotated[int, Field(ge=0)]
    b: Annotated[int, Field(ge=0)]
    steps: Steps = 8


__all__ = [
    "MAX_ABS_Z",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "Body",
    "Code",
    "DecodeRequest",
    "PairRequest",
    "SampleRequest",
    "Seed",
    "Steps",
    "Temperature",
]
