"""Helpers of the real-browser tests: the app on a loopback port in a thread, Debian's Chromium via Playwright.

Playwright's own browser download is never used (it needs the network): Chromium comes from
Debian (``apt-get install chromium``, which ``.ci/run`` does when it is missing).
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("ZSPACE_CHROMIUM", "/usr/bin/chromium")
# As the machine notes say: no sandbox as root, and no background connections (the network is closed).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def require_chromium() -> None:
    """Skip locally when Chromium or Playwright is missing; in CI (``CI`` set) either is a failure."""
    missing = None
    if importlib.util.find_spec("playwright") is None:
        missing = "playwright is not installed: pip install -e '.[browser]'"
    elif not (shutil.which(CHROMIUM) or os.path.isfile(CHROMIUM)):
        missing = f"{CHROMIUM} not found: apt-get install -y chromium (or set ZSPACE_CHROMIUM)"
    if missing and os.environ.get("CI"):
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)


@contextmanager
def serving(app) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def browser_page(width: int = 1400, height: int = 950) -> Iterator:
    """A Playwright page in headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.errors = errors  # type: ignore[attr-defined]
            yield page
        finally:
            browser.close()


def canvas_pixels(page, selector: str) -> bytes:
    """RGBA bytes of a canvas in the page (sent as base64: a JSON array of numbers is ~100x slower)."""
    encoded = page.evaluate(
        """(s) => {
            const c = document.querySelector(s), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let text = '';
            for (let i = 0; i < d.length; i += 8192) text += String.fromCharCode.apply(null, d.subarray(i, i + 8192));
            return btoa(text);
        }""",
        selector,
    )
    return base64.b64decode(encoded)


def wait_for_change(page, selector: str, before: bytes, timeout_s: float = 20.0) -> bytes:
    """The canvas's pixels once they differ from ``before`` (polls; fails after timeout_s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = canvas_pixels(page, selector)
        if now != before:
            return now
        page.wait_for_timeout(50)
    raise AssertionError(f"{selector} did not change within {timeout_s} s")
