"""What every request passes before a route sees it: its ``Host`` header, and the size of its body.

- **Host**: a page on another site can make the browser resolve its own name to 127.0.0.1 (DNS
  rebinding) and then read this server's answers as same-origin. Its requests still carry that
  name in ``Host``, so only the loopback names and the host the server is bound to are served.
  A server bound to every interface (``0.0.0.0``, ``::``) is reachable by any name on purpose and
  checks none.
- **Body size**: a body longer than ``max_body_bytes`` is refused with 413 before it is parsed,
  from its ``Content-Length`` or, for a chunked body, as soon as the bytes read pass the limit.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
ANY_INTERFACE = frozenset({"0.0.0.0", "::", ""})


def allowed_hosts(bound_host: str) -> frozenset[str] | None:
    """The ``Host`` names served for a server bound to ``bound_host``; None: any (bound to every interface)."""
    host = bound_host.strip().lower()
    if host in ANY_INTERFACE:
        return None
    return LOOPBACK_NAMES | {f"[{host.strip('[]')}]" if ":" in host else host}


def host_name(header: str) -> str:
    """The name in a ``Host`` header, port removed: ``127.0.0.1:8000`` -> ``127.0.0.1``, ``[::1]:80`` -> ``[::1]``."""
    host = header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class RequestGuard:
    """ASGI middleware: refuse a foreign ``Host`` (400) and a body over ``max_body_bytes`` (413), as JSON."""

    def __init__(self, app: Any, *, hosts: frozenset[str] | None, max_body_bytes: int) -> None:
        self.app, self.hosts, self.limit = app, hosts, max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        name = host_name(headers.get("host", ""))
        if self.hosts is not None and name not in self.hosts:
            refused = f"Host {name!r} is not this server's name; open it as http://127.0.0.1:PORT/ (or the --host it was given)"
            await JSONResponse({"detail": refused}, status_code=400)(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            refused = f"a request body of {declared} bytes is over the {self.limit}-byte limit"
            await JSONResponse({"detail": refused}, status_code=413)(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Any) -> Any:
        received = 0

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # raised inside the route's body read: FastAPI answers it as 413 JSON
                raise HTTPException(413, f"the request body is over the {self.limit}-byte limit")
            return message

        return limited_receive


__all__ = ["LOOPBACK_NAMES", "RequestGuard", "allowed_hosts", "host_name"]
