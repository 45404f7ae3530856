"""Helpers for browser tests: the real app under uvicorn in a thread, and Debian's Chromium.

Playwright cannot download its own browsers here, so it drives the distribution's Chromium
(installed by scripts/install-system-packages.sh).
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import zxingcpp
from fastapi import FastAPI
from PIL import Image

from privacy_waybill.api.app import create_app
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
# Without --disable-background-networking Chromium keeps trying to reach Google services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 10.0


def browser_skip_reason() -> str | None:
    """Why browser tests cannot run here, or None. Under CI nothing is a reason: they must run."""
    if os.environ.get("CI") or CHROMIUM.exists():
        return None
    return f"{CHROMIUM} is missing: run scripts/install-system-packages.sh (as root) to install Debian's chromium"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: FastAPI, port: int, **config: Any) -> Iterator[str]:
    """Run `app` on 127.0.0.1:`port` in a daemon thread; yields its base URL.

    `config` overrides uvicorn settings; by default access logs are off (quiet tests).
    """
    settings: dict[str, Any] = {"log_level": "warning", "access_log": False, **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **settings))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)


def decode_qr(png: bytes) -> str | None:
    """What an independent reader (zxing-cpp) finds in a screenshot of a QR code."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None


@contextmanager
def served_runtime(home: Path) -> Iterator[tuple[str, Runtime]]:
    """A fresh platform in `home` (SQLite), its app served on a free loopback port: (base URL,
    runtime). Label and pass links point at that port."""
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PWB_HOME", str(home))
        env.setenv("PWB_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        env.delenv("PWB_MASTER_SECRET", raising=False)
        env.delenv("PWB_DATABASE_URL", raising=False)
        settings = Settings()
        initialise(settings)
        rt = open_runtime(settings)
    try:
        with serve(create_app(rt), port) as base_url:
            yield base_url, rt
    finally:
        rt.close()
