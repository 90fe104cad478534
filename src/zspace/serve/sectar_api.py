"""Routes of the SeCTAR view: ``/api/runs/{id}/sectar/...`` (plain ``def``: rollouts and planning run in the thread pool)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from zspace.serve.schemas import Body, Seed

LatentValue = Annotated[float, Field(allow_inf_nan=False, ge=-10.0, le=10.0)]


class SegmentRequest(Body):
    seed: Seed = 0  # the start state is env.reset(seed)'s
    z: Annotated[list[LatentValue], Field(min_length=1, max_length=256)]


class EpisodeRequest(Body):
    seed: Seed = 0


def add_routes(api: APIRouter, runs: Any) -> None:
    def view(run_id: int) -> Any:
        return runs.view(run_id, "sectar")

    @api.post("/sectar/segment")
    def segment(run_id: int, body: SegmentRequest) -> dict[str, Any]:
        return view(run_id).segment(body.seed, body.z)

    @api.post("/sectar/episode")
    def episode(run_id: int, body: EpisodeRequest) -> dict[str, Any]:
        return view(run_id).episode(body.seed)


__all__ = ["add_routes"]
