"""GET /api/v1/health: is the app up, which version, is the atlas built, which demo folder is served."""

from __future__ import annotations

from fastapi import APIRouter, Request

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health")
def health(request: Request) -> dict:
    """Liveness and what the app serves (never the database password: only its backend)."""
    from econet import __version__
    from econet.web import atlas_built
    state = request.app.state
    db = state.db_url
    return {"status": "ok", "version": __version__,
            "database": db.split(":", 1)[0].split("+", 1)[0] if db else None,
            "demo_dir": state.catalog.demo_dir is not None,
            "atlas_built": atlas_built(), "layers": len(state.catalog.layers)}
