"""The hub's REST resources (issue 4): `include(app)` adds every router below to a FastAPI app."""

from __future__ import annotations

import importlib

MODULES = ("users", "organizations", "datasets", "observations", "individuals", "sites", "imports", "exports",
           "analyses", "audit")


def include(app) -> None:
    for name in MODULES:
        app.include_router(importlib.import_module(f"econet.api.routers.{name}").router)


def bare_app(db: str | None = None, **limits):
    """A FastAPI app holding only the hub routes (tests; `econet.api.app.create_app` is the full service)."""
    from fastapi import FastAPI
    app = FastAPI(title="econet hub API", version="1")
    app.state.db = db
    for k, v in limits.items():
        setattr(app.state, k, v)
    include(app)
    return app


def app_from_env():
    """Factory for `uvicorn --factory econet.api.hub_routes:app_from_env` (database from $ECONET_DB)."""
    import os
    return bare_app(os.environ.get("ECONET_DB"))
