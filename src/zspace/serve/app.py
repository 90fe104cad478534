"""The FastAPI app of ``zspace serve``: the static page, the run list, the routes of every family in the registry.

Runs are addressed by their position on the command line (``/api/runs/0/...``): a request
never names a path, and the static files are read into memory when the app is built, so
nothing a request carries ever reaches the filesystem. Before any route, a request with a
foreign ``Host`` or a body over ``MAX_BODY_BYTES`` is refused (:mod:`zspace.serve.guards`).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from zspace import families
from zspace.errors import ZspaceError
from zspace.serve.errors import RequestError
from zspace.serve.guards import RequestGuard, allowed_hosts
from zspace.serve.runs import LoadedRun
from zspace.serve.schemas import MAX_BODY_BYTES

STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _static_files() -> dict[str, tuple[bytes, str]]:
    """name -> (content, media type) of every file shipped in ``zspace/serve/static``."""
    files = {}
    for entry in resources.files("zspace.serve").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in STATIC_TYPES:
            files[entry.name] = (entry.read_bytes(), STATIC_TYPES[suffix])
    return files


def _describe_error(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    return f"{where or 'body'}: {err.get('msg', 'invalid')}"


class Runs:
    """The runs given on the command line, looked up by id and family for each request."""

    def __init__(self, runs: list[LoadedRun]) -> None:
        self.runs = runs

    def view(self, run_id: int, family: str) -> Any:
        if not 0 <= run_id < len(self.runs):
            raise RequestError(f"no run {run_id}: this server has runs 0..{len(self.runs) - 1}", status=404)
        run = self.runs[run_id]
        if run.family != family:
            raise RequestError(f"run {run_id} ({run.name}) is a {run.family} run, not {family}", status=404)
        return run.view


def create_app(runs: list[LoadedRun], *, host: str = "127.0.0.1") -> FastAPI:
    """The app serving ``runs`` (already loaded: models load once, at start-up) on ``host``.

    Requests are served under the loopback names and ``host`` only (any name if ``host`` is
    every interface, ``0.0.0.0``).
    """
    app = FastAPI(title="zspace serve", docs_url=None, redoc_url=None)
    app.add_middleware(RequestGuard, hosts=allowed_hosts(host), max_body_bytes=MAX_BODY_BYTES)
    registry = Runs(runs)
    static = _static_files()

    @app.exception_handler(RequestError)
    async def request_error(_: Request, err: RequestError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=err.status)

    @app.exception_handler(ZspaceError)
    async def zspace_error(_: Request, err: ZspaceError) -> JSONResponse:  # a family refused the input
        return JSONResponse({"detail": str(err)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": "; ".join(_describe_error(e) for e in err.errors()[:5])}, status_code=422)

    @app.get("/")
    async def index() -> Response:
        content, media_type = static["index.html"]
        return Response(content, media_type=media_type)

    @app.get("/favicon.ico")
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/{name}")
    async def static_file(name: str) -> Response:
        if name not in static:
            raise RequestError(f"no static file {name!r}", status=404)
        content, media_type = static[name]
        return Response(content, media_type=media_type)

    @app.get("/api/runs")
    async def list_runs() -> list[dict[str, Any]]:
        return [{"id": i, "name": r.name, "family": r.family, "info": r.view.info()} for i, r in enumerate(runs)]

    api = APIRouter(prefix="/api/runs/{run_id}")
    for family in families.all_families():  # every family's routes, so a run id of another family gets a clear 404
        if family.serve_routes is not None:
            families.resolve(family.serve_routes).add_routes(api, registry)
    app.include_router(api)
    return app


__all__ = ["Runs", "create_app"]
