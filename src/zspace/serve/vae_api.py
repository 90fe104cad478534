"""Routes of the VAE view: ``/api/runs/{id}/vae/...``.

The handlers are ``async``: a decode of a small MLP takes well under a millisecond, less
than a hop to the thread pool would cost, so it runs on the event loop itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zspace.serve.schemas import DecodeRequest, PairRequest, SampleRequest


def add_routes(api: APIRouter, runs: Any) -> None:
    def view(run_id: int) -> Any:
        return runs.view(run_id, "vae")

    @api.get("/vae/map")
    async def latent_map(run_id: int) -> dict[str, Any]:
        return view(run_id).latent_map()

    @api.post("/vae/decode")
    async def decode(run_id: int, body: DecodeRequest) -> dict[str, Any]:
        return view(run_id).decode(z=body.z, points=body.points)

    @api.post("/vae/interpolate")
    async def interpolate(run_id: int, body: PairRequest) -> dict[str, Any]:
        return view(run_id).interpolate(body.a, body.b, body.steps)

    @api.post("/vae/sample")
    async def sample(run_id: int, body: SampleRequest) -> dict[str, Any]:
        return view(run_id).sample(body.n, body.temperature, body.seed)


__all__ = ["add_routes"]
