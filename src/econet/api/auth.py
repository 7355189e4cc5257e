"""Who is calling, and the access rule every route declares.

`Authorization: Bearer <token>` identifies a user (tokens from `econet tokens create` or POST
/api/v1/auth/token); no header means anonymous. A bad, expired or revoked token is refused with 401 (never
silently treated as anonymous). Every route declares its rule with `dependencies=[rule("...")]`:

- ``public``: anyone; data still passes through the caller's sharing view
- ``user``: signed in
- ``contributor`` / ``data_manager``: signed in with at least that role in some organization (the endpoint
  checks the organization concerned)
- ``admin``: the hub's admin

The permission test (tests/api/test_permissions.py) walks `app.routes` and fails on any route without one.
"""

from __future__ import annotations

import os
from typing import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from econet.errors import EconetError
from econet.hub.sharing import View

RULES = ("public", "user", "contributor", "data_manager", "admin")
_bearer = HTTPBearer(auto_error=False, description="API token: `econet tokens create` or POST /api/v1/auth/token")


def engine_of(request: Request):
    """The hub Engine of the app (app.state.hub_engine, else app.state.db / $ECONET_DB)."""
    from econet.hub.db import open_hub
    state = request.app.state
    engine = getattr(state, "hub_engine", None)
    if engine is None:
        engine = open_hub(getattr(state, "db", None) or getattr(state, "db_url", None) or os.environ.get("ECONET_DB"))
        state.hub_engine = engine
    return engine


async def get_view(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> View:
    """The caller's sharing view: anonymous without a token, else the token's user (401 when invalid).
    Async: an anonymous caller costs no worker thread; a token is looked up in one query on a worker thread."""
    cached = getattr(request.state, "econet_view", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization")
    if header and creds is None:
        raise HTTPException(401, "malformed Authorization header (expected: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    if creds is None:
        view = View.anonymous()
    else:
        from starlette.concurrency import run_in_threadpool
        p = await run_in_threadpool(_principal, request, creds.credentials)
        if p is None:
            raise HTTPException(401, "invalid, expired or revoked token", headers={"WWW-Authenticate": "Bearer"})
        view = View.for_principal(p)
    request.state.econet_view = view
    return view


def _principal(request: Request, token: str):
    from econet.hub import accounts
    with engine_of(request).connect() as conn:  # one query (token, user, roles); nothing written
        return accounts.token_principal(conn, token)


def rule(name: str) -> Depends:
    """The access rule a route declares (checked here, and by the permission test)."""
    if name not in RULES:
        raise ValueError(f"unknown access rule {name!r}")

    async def check(view: View = Depends(get_view)) -> View:  # no I/O: run on the event loop, not a thread
        from econet.hub.accounts import role_rank
        if name == "public":
            return view
        if view.kind == "anonymous":
            raise HTTPException(401, "sign in: send Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": "Bearer"})
        if name == "admin" and not view.is_admin:
            raise HTTPException(403, "only the hub admin may do this")
        if name in ("contributor", "data_manager") and not view.is_admin:
            if not any(role_rank(r) >= role_rank(name) for _, r in view.orgs):
                raise HTTPException(403, f"needs the {name.replace('_', ' ')} role in an organization")
        return view

    check.econet_rule = name
    check.__name__ = f"rule_{name}"
    return Depends(check)


def route_rule(route) -> str | None:
    """The rule a route declares, or None (used by the permission test)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    stack = list(dependant.dependencies)
    while stack:
        d = stack.pop()
        r = getattr(d.call, "econet_rule", None)
        if r:
            return r
        stack.extend(d.dependencies)
    return None


def api_routes(app) -> list[dict]:
    """Every route the app actually serves (included routers expanded): path, methods, rule, kind.

    kind: "api" (an endpoint; must declare a rule), "docs" (OpenAPI schema and documentation pages) or
    "static" (a mounted folder of front-end files).
    """
    from fastapi import routing as fr
    from starlette.routing import Mount
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    out = []
    contexts = fr.iter_route_contexts(app.routes) if hasattr(fr, "iter_route_contexts") else app.routes
    for rc in contexts:
        eff = getattr(rc, "_effective_route", rc)
        original = getattr(rc, "original_route", rc)
        path = getattr(rc, "path", None) or getattr(original, "path", "")
        if isinstance(original, Mount) and type(getattr(original, "app", None)).__name__.endswith("StaticFiles"):
            kind = "static"
        elif path in docs:
            kind = "docs"
        else:
            kind = "api"
        r = route_rule(eff) if getattr(eff, "dependant", None) is not None else route_rule(original)
        out.append({"path": path, "methods": set(getattr(rc, "methods", None) or ()), "rule": r, "kind": kind,
                    "route": original})
    return out


class EconetRoute(APIRoute):
    """Turns EconetError into a one-line 400 and any other failure into a 500 that leaks nothing."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def wrapped(request: Request):
            try:
                return await handler(request)
            except EconetError as exc:
                return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=400)
            except RequestValidationError as exc:  # say what is wrong, without echoing the input back
                errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid")} for e in exc.errors()]
                return JSONResponse({"detail": errors}, status_code=422)
            except (HTTPException, StarletteHTTPException):
                raise
            except Exception:  # noqa: BLE001 - never a traceback or SQL to the client
                import logging
                logging.getLogger("econet.api").exception("request failed: %s %s", request.method, request.url.path)
                return JSONResponse({"detail": "internal error"}, status_code=500)

        return wrapped


def router(**kw):
    from fastapi import APIRouter
    return APIRouter(route_class=EconetRoute, **kw)
