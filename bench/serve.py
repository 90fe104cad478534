"""Loopback load test of `zspace serve`: the VAE decode endpoint under concurrent clients.

The server runs as its own process (`python -m zspace serve RUN`), as a user starts it; this
process is the load: ``--clients`` asyncio clients over keep-alive connections, each sending
one decode of one code (what a cursor over the map sends), until ``--requests`` have been
sent or ``--duration-s`` has passed. Latency is measured per request at the client (send to
full response), so it includes the client's own overhead on the same cores.

    python bench/serve.py --json-out docs/benchmarks/vae.json --json-key serve

Without ``--run`` it trains the digits-2d VAE for a few epochs first (seconds). Goal (issue
16): p95 < 50 ms with 20 clients on 2 CPU cores, no failed request.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_common` beside this file, also when imported by path
from _common import command_line, emit_json, parse_args
from _results import write_result


@dataclass
class Args:
    """Load test of the decode endpoint of zspace serve."""

    run: str | None = None  # a VAE run directory; default: train digits-2d for --epochs into a temp dir
    epochs: int = 5
    clients: int = 20
    requests: int = 4000  # upper bound on requests sent (after the warm-up)
    duration_s: float = 30.0  # upper bound on the measured phase
    warmup: int = 200
    seed: int = 0
    quick: bool = False
    json_out: str | None = None
    json_key: str | None = None  # the entry of --json-out this run replaces (vae.json: "serve")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_demo_vae(directory: Path, epochs: int) -> Path:
    from zspace.core.config import override
    from zspace.vae import PRESETS, train

    train(override(PRESETS["digits-2d"], {"train.epochs": epochs, "train.tensorboard": False}), directory)
    return directory


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, in clock ticks


def _start_server(run: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "zspace", "serve", str(run), "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


class _Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for this test.

    A hand-written client keeps the load generator's own CPU cost per request small (the
    server and the clients share the same cores); general clients cost about 1 ms a request.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader, self.writer, self.host = reader, writer, f"127.0.0.1:{port}"

    @classmethod
    async def open(cls, port: int) -> _Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port), port)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.writer.write(head.encode() + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def _wait_ready(port: int, server: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode}): {server.stderr.read()[-2000:]}")
        try:
            connection = await _Connection.open(port)
            status, _ = await connection.request("GET", "/api/runs")
            connection.close()
            if status == 200:
                return
        except OSError:  # not listening yet
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout_s} s")


async def _load(port: int, server: subprocess.Popen, args: Args, latent_dim: int) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    bodies = [
        json.dumps({"z": [z]}).encode() for z in rng.standard_normal((args.warmup + args.requests, latent_dim)).round(4).tolist()
    ]
    await _wait_ready(port, server)
    path = "/api/runs/0/vae/decode"
    latencies: list[float] = []
    failures: list[str] = []
    next_index = 0

    async def worker(connection: _Connection, stop: int, deadline: float, record: bool) -> None:
        nonlocal next_index
        while next_index < stop and time.perf_counter() < deadline:
            body = bodies[next_index]
            next_index += 1
            start = time.perf_counter()
            try:
                status, content = await connection.request("POST", path, body)
                error = None if status == 200 and content.startswith(b'{"z":') else f"HTTP {status}"
            except (OSError, asyncio.IncompleteReadError, ValueError) as err:  # a failed request is a result
                error = f"{type(err).__name__}: {err}"
            if record:
                latencies.append(time.perf_counter() - start)
                if error:
                    failures.append(error)

    connections = [await _Connection.open(port) for _ in range(args.clients)]
    await asyncio.gather(*(worker(c, args.warmup, float("inf"), False) for c in connections))
    load_before = os.getloadavg()
    cpu_before = _cpu_seconds(server.pid)
    started = time.perf_counter()
    deadline = started + args.duration_s
    await asyncio.gather(*(worker(c, args.warmup + args.requests, deadline, True) for c in connections))
    wall = time.perf_counter() - started
    cpu_after = _cpu_seconds(server.pid)
    for c in connections:
        c.close()
    ms = np.asarray(latencies) * 1e3
    return {
        "requests": len(ms), "failures": len(failures), "failure_examples": failures[:5], "wall_s": round(wall, 3),
        "requests_per_s": round(len(ms) / wall, 1), "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2), "loadavg_1min_before": round(load_before[0], 2),
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
        # CPU the server spent per request: what the latency costs when the cores are not shared.
        "server_cpu_ms_per_request": None if cpu_before is None else round((cpu_after - cpu_before) * 1e3 / max(len(ms), 1), 3),
    }  # fmt: skip


def _decode_only_ms(run: Path) -> float:
    """Median in-process time of one decode of one code (no HTTP): the model's share of a request."""
    import torch

    from zspace.vae import load_model

    torch.set_num_threads(1)
    model = load_model(run)
    z = torch.randn(1, model.config.latent_dim)
    times = []
    with torch.no_grad():
        for _ in range(300):
            start = time.perf_counter()
            _ = model.decode(z).mean  # the decoder mean, as the endpoint computes
            times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1e3, 4)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv)
    if args.quick:
        args.requests, args.warmup, args.duration_s, args.epochs = 500, 50, 10.0, 1
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run) if args.run else _train_demo_vae(Path(tmp) / "digits", args.epochs)
        latent_dim = json.loads((run / "config.json").read_text())["model"]["latent_dim"]
        port = _free_port()
        server = _start_server(run, port)
        try:
            measured = asyncio.run(_load(port, server, args, latent_dim))
        finally:
            server.terminate()
            server.wait(timeout=30)
        decode_ms = _decode_only_ms(run)
    result = {
        "benchmark": "serve",
        "command": command_line(__file__, argv),
        "endpoint": "POST /api/runs/0/vae/decode, one 2-D code per request" if latent_dim == 2 else "POST decode, one code",
        "run": args.run or f"digits-2d trained {args.epochs} epochs",
        "clients": args.clients,
        "cpu_count": os.cpu_count(),
        "decode_only_ms": decode_ms,
        **measured,
        "goal": "p95 < 50 ms, no failed request",
        "goal_met": measured["p95_ms"] < 50 and measured["failures"] == 0,
    }
    print(f"{'clients':>8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'failed':>7} {'load':>6}")
    print(
        f"{args.clients:>8} {result['requests']:>9} {result['requests_per_s']:>8} {result['p50_ms']:>8} "
        f"{result['p95_ms']:>8} {result['p99_ms']:>8} {result['failures']:>7} {result['loadavg_1min_before']:>6}"
    )
    write_result(args.json_out, result, args.json_key)
    emit_json(result)
    return result


if __name__ == "__main__":
    main()
