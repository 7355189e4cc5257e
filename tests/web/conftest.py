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


#: The demo steps the atlas tests need (about 30 s): region, circuit, ProtConn/corridors, coverage, waterbirds.
DEMO_STEPS = ("10_region", "20_circuit", "25_protconn_corridors", "90_coverage_services", "80_waterbirds")
#: A SIMULATED collared red deer seen by cameras on both sides of the border (a public dataset): tracks, crossings.
TRACK = [("2023-03-01", 130.95, 42.95, "CN"), ("2023-03-02", 131.02, 42.98, "CN"), ("2023-03-03", 131.20, 43.05, "RU"),
         ("2023-03-04", 131.26, 43.10, "RU"), ("2023-03-06", 131.00, 43.00, "CN")]


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The demo steps of DEMO_STEPS run once in a temporary folder."""
    from econet.demo import DemoContext
    out = tmp_path_factory.mktemp("atlas-demo")
    ctx = DemoContext(out=out, db_url="sqlite://", quiet=True)
    for name in DEMO_STEPS:
        importlib.import_module(f"econet.demo.steps.{name}").run(ctx)
    return out


@pytest.fixture(scope="session")
def hub(tmp_path_factory) -> dict:
    """The SIMULATED multi-partner hub of econet.hub.sharing_sample (every role has the password
    'correct horse battery'; the Amur leopard is sensitive in Russia) plus a public dataset with a collared deer's track."""
    import csv

    from econet.hub import sharing
    from econet.hub import sharing_sample as S
    from econet.hub.ingest import import_path
    folder = tmp_path_factory.mktemp("atlas-hub")
    db = f"sqlite:///{folder / 'hub.db'}"
    built = S.build(db, folder)
    path = folder / "collar-cams.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "species", "date", "lon", "lat", "country", "locality", "n", "animal"])
        for i, (day, lon, lat, cc) in enumerate(TRACK):
            w.writerow([f"cc-{i + 1}", "Cervus canadensis", day, lon, lat, cc, "", 1, "CCA-T1"])
    import_path(built["engine"], path, dataset="collar-cams", org=S.ALLIANCE, fmt="csv", mapping=folder / "mapping.yaml")
    with built["engine"].begin() as conn:
        sharing.set_sharing(conn, "collar-cams", visibility="public")
    return {"db": db, "password": "correct horse battery", "secret": S.SECRET_SITES[0], "owner": S.OWNER,
            "folder": folder, **built}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(demo_dir, hub):
    """The app served by uvicorn on 127.0.0.1 at a free port (in a thread); yields the base URL."""
    import httpx
    import uvicorn

    from econet.api.app import create_app
    port = _free_port()
    config = uvicorn.Config(create_app(db_url=hub["db"], demo_dir=demo_dir), host="127.0.0.1", port=port, log_level="warning")
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


@pytest.fixture(scope="module")
def page(browser, server):
    """The atlas page (English), loaded and ready, one per test module; no script error while it is used."""
    pg = browser.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{server}/?lang=en")
    pg.wait_for_function("window.__atlas && (window.__atlas.ready || window.__atlas.error)", timeout=90_000)
    assert pg.evaluate("window.__atlas.error || null") is None
    assert not errors, errors
    yield pg
    assert not errors, errors
    pg.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
