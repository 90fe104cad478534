"""Routes of the VAE view: ``/api/runs/{id}/vae/...``.

The handlers are ``async``: a decode of a small MLP takes about 0.1 ms, less than a hop to
the thread pool would cost, so it runs on the event loop itself. They return a ready
``JSONResponse``: the payloads are plain lists of floats, and FastAPI's generic encoder
would walk them element by element again (measured: it was most of a decode request's time).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from zspace.serve.schemas import DecodeRequest, PairRequest, SampleRequest


def add_routes(api: APIRouter, runs: Any) -> None:
    def view(run_id: int) -> Any:
        return runs.view(run_id, "vae")

    @api.get("/vae/map")
    async def latent_map(run_id: int) -> JSONResponse:
        return JSONResponse(view(run_id).latent_map())

    @api.post("/vae/decode")
    async def decode(run_id: int, body: DecodeRequest) -> JSONResponse:
        return JSONResponse(view(run_id).decode(z=body.z, points=body.points))

    @api.post("/vae/interpolate")
    async def interpolate(run_id: int, body: PairRequest) -> JSONResponse:
        return JSONResponse(view(run_id).interpolate(body.a, body.b, body.steps))

    @api.post("/vae/sample")
    async def sample(run_id: int, body: SampleRequest) -> JSONResponse:
        return JSONResponse(view(run_id).sample(body.n, body.temperature, body.seed))


__all__ = ["add_routes"]
