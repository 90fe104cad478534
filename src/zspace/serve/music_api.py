"""Routes of the MusicVAE view: ``/api/runs/{id}/music/...``.

Decoding runs an LSTM step by step (milliseconds to a second), so these handlers are plain
``def``: FastAPI runs them in its thread pool and the event loop stays free. The MIDI upload
is the raw request body (``Content-Type: audio/midi``), read in chunks and cut off at
``MAX_UPLOAD_BYTES``, so an oversized upload is refused without ever being held whole.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from zspace.serve.errors import RequestError
from zspace.serve.schemas import MAX_ABS_Z, Body, Code, Seed, Steps, Temperature

MAX_UPLOAD_BYTES = 1 << 20  # 1 MiB: a 16-bar melody is a few kB; a whole symphony fits
MIDI_TYPES = ("audio/midi", "audio/x-midi", "application/octet-stream")
Strength = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_Z, le=MAX_ABS_Z)]
MAX_TOKEN = 1 << 12  # above every encoding's class count (drums: 512 patterns)


class Decoding(Body):
    temperature: Temperature = 1.0
    greedy: bool = True
    seed: Seed = 0


class MusicSampleRequest(Body):
    n: Annotated[int, Field(ge=1, le=16)] = 4
    temperature: Temperature = 1.0
    seed: Seed = 0


class MusicDecodeRequest(Decoding):
    z: Annotated[list[Code], Field(min_length=1, max_length=16)]


class MusicInterpolateRequest(Decoding):
    a: Code
    b: Code
    steps: Steps = 7


class AttributeRequest(Decoding):
    z: Code
    strengths: Annotated[dict[Annotated[str, Field(max_length=64)], Strength], Field(max_length=16)]


Token = Annotated[int, Field(ge=0, le=MAX_TOKEN)]  # the view checks each track's own range
Step = Annotated[list[Token], Field(min_length=1, max_length=8)]  # one class index per track
Window = Annotated[list[Step], Field(min_length=1, max_length=512)]  # n_steps of them (the view checks n)


class MidiRequest(Body):
    """Windows (n, n_steps, n_tracks) of class indices, played one after another."""

    windows: Annotated[list[Window], Field(min_length=1, max_length=32)]
    qpm: Annotated[float, Field(allow_inf_nan=False, ge=20.0, le=400.0)] = 120.0


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(f"upload of {declared} bytes is over the {limit}-byte limit", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(f"upload is over the {limit}-byte limit", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def add_routes(api: APIRouter, runs: Any) -> None:
    def view(run_id: int) -> Any:
        return runs.view(run_id, "music")

    @api.post("/music/sample")
    def sample(run_id: int, body: MusicSampleRequest) -> dict[str, Any]:
        return view(run_id).sample(body.n, body.temperature, body.seed)

    @api.post("/music/decode")
    def decode(run_id: int, body: MusicDecodeRequest) -> dict[str, Any]:
        return view(run_id).decode(body.z, body.temperature, body.greedy, body.seed)

    @api.post("/music/interpolate")
    def interpolate(run_id: int, body: MusicInterpolateRequest) -> dict[str, Any]:
        return view(run_id).interpolate(body.a, body.b, body.steps, body.temperature, body.greedy, body.seed)

    @api.post("/music/attributes")
    def attributes(run_id: int, body: AttributeRequest) -> dict[str, Any]:
        return view(run_id).with_attributes(body.z, body.strengths, body.temperature, body.greedy, body.seed)

    @api.post("/music/encode")
    async def encode(run_id: int, request: Request) -> dict[str, Any]:
        music = view(run_id)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in MIDI_TYPES:
            raise RequestError(f"send the MIDI file as the body with Content-Type audio/midi, not {media_type!r}", status=415)
        content = await read_limited(request, MAX_UPLOAD_BYTES)
        if not content:
            raise RequestError("the upload is empty: send a .mid file as the request body")
        return await run_in_threadpool(music.encode_midi, content)

    @api.post("/music/midi")
    def midi(run_id: int, body: MidiRequest) -> Response:
        content = view(run_id).midi_bytes(body.windows, body.qpm)
        return Response(content, media_type="audio/midi", headers={"Content-Disposition": 'attachment; filename="zspace.mid"'})


__all__ = ["MAX_UPLOAD_BYTES", "add_routes"]
