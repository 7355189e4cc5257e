"""The econet web app: the REST API under /api/v1 (one router per resource), OpenAPI at /openapi.json, docs at
/docs, and the atlas page at / served from the npm-built static assets (a notice page when they are not built)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from econet.errors import EconetError

log = logging.getLogger("econet.api")


def create_app(db_url: str | None = None, demo_dir: Path | None = None) -> FastAPI:
    """Build the app. `db_url` is the hub database (kept for the hub's routers); `demo_dir` is an `econet demo`
    output folder whose layers (PA footprints, current.tif, resistance.tif, ...) the atlas shows."""
    from econet import __version__
    from econet.api.catalog import LayerCatalog
    from econet.api.routers import health, layers
    from econet.web import STATIC_DIR, index_html

    app = FastAPI(title="econet", version=__version__, openapi_url="/openapi.json", docs_url="/docs",
                  redoc_url=None,
                  description="Transboundary conservation: connectivity, observation hub, analytics, web atlas.")
    app.state.db_url = db_url
    app.state.db = db_url  # the name the hub's routers (econet.api.hub_routes) read
    app.state.catalog = LayerCatalog(demo_dir)
    from econet.api import hub_routes
    from econet.api.auth import rule  # every route declares its access rule (tests/api/test_permissions.py)
    app.include_router(health.router, dependencies=[rule("public")])  # no hub records: demo layers only
    app.include_router(layers.router, dependencies=[rule("public")])
    hub_routes.include(app)

    @app.exception_handler(EconetError)
    async def _bad_input(request: Request, exc: EconetError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False, dependencies=[rule("public")])
    def atlas() -> HTMLResponse:
        html, built = index_html()
        return HTMLResponse(html, status_code=200 if built else 503)

    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    return app


def app_from_env() -> FastAPI:
    """Factory for worker processes (`econet serve --workers N`): the app for $ECONET_DB and $ECONET_DEMO_DIR."""
    import os
    demo = os.environ.get("ECONET_DEMO_DIR")
    return create_app(db_url=os.environ.get("ECONET_DB"), demo_dir=Path(demo) if demo else None)
