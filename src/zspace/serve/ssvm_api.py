"""Routes of the latent SSVM view: ``/api/runs/{id}/structured/...``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path


def add_routes(api: APIRouter, runs: Any) -> None:
    def view(run_id: int) -> Any:
        return runs.view(run_id, "structured")

    @api.get("/structured/examples")
    def examples(run_id: int) -> dict[str, Any]:
        return view(run_id).examples()

    @api.get("/structured/examples/{index}")
    def example(run_id: int, index: Annotated[int, Path(ge=0, le=10**9)]) -> dict[str, Any]:
        return view(run_id).example(index)


__all__ = ["add_routes"]
