"""The hub's REST resources (issue 4): `include(app)` adds every router below to a FastAPI app."""

from __future__ import annotations

import importlib
import pkgutil

#: routers the full app adds itself (no hub records: demo layers and health)
NOT_HUB = {"health", "layers"}


def modules() -> list[str]:
    """Every router module of econet.api.routers (a new resource needs no registration here)."""
    from econet.api import routers
    return sorted(m.name for m in pkgutil.iter_modules(routers.__path__)
                  if not m.name.startswith("_") and m.name not in NOT_HUB)


def include(app) -> None:
    for name in modules():
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
