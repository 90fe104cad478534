"""Errors a request can cause; the app turns each into a JSON ``{"detail": message}`` with its status."""

from __future__ import annotations

from zspace.errors import ZspaceError


class RequestError(ZspaceError):
    """A request the server refuses; ``status`` is its HTTP status code (4xx)."""

    status = 422

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


def require(ok: bool, message: str, *, status: int = 422) -> None:
    """Raise a :class:`RequestError` with ``message`` unless ``ok``."""
    if not ok:
        raise RequestError(message, status=status)


__all__ = ["RequestError", "require"]
