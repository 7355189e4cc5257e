"""Fixtures for the atlas tests: a demo output folder, a running server, and a headless chromium page.

Browser tests use Python Playwright driving Debian's chromium (/usr/bin/chromium, never a downloaded browser);
they skip with the reason when chromium, the playwright package or the built atlas assets are absent.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("ECONET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The demo's region and circuit steps run once in a temporary folder (about 20 s)."""
    from econet.demo import DemoContext
    out = tmp_path_factory.mktemp("atlas-demo")
    ctx = DemoContext(out=out, db_url="sqlite://", quiet=True)
    for name in ("10_region", "20_circuit"):
        importlib.import_module(f"econet.demo.steps.{name}").run(ctx)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(demo_dir):
    """The app served by uvicorn on 127.0.0.1 at a free port (in a thread); yields the base URL."""
    import httpx
    import uvicorn

    from econet.api.app import create_app
    port = _free_port()
    config = uvicorn.Config(create_app(demo_dir=demo_dir), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        pytest.fail("the app did not start")
    yield base
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium through Playwright (skips with the reason where absent)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright; no browser download needed)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"chromium not found at {CHROMIUM} (CI installs Debian's chromium with apt)")
    from econet.web import atlas_built
    if not atlas_built():
        pytest.skip("the atlas assets are not built (run `make web`; needs npm)")
    profile = tempfile.mkdtemp(prefix="econet-chromium-")
    with sync_playwright() as p:
        b = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 860})
        try:
            yield b
        finally:
            b.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
