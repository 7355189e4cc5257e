"""API test fixtures: the sample multi-partner hub (econet.hub.sharing_sample) behind the app's routes."""

from __future__ import annotations

import pytest


def make_app(db: str, **limits):
    """The service app (econet.api.app.create_app) when present, else the hub routes on a bare app."""
    try:
        from econet.api.app import create_app
    except ImportError:
        create_app = None
    if create_app is not None:
        import inspect
        params = inspect.signature(create_app).parameters
        app = create_app(db) if params else create_app()
        app.state.db = db
        app.state.hub_engine = None
        for k, v in limits.items():
            setattr(app.state, k, v)
        from econet.api.auth import api_routes
        if any(r["path"].startswith("/api/v1/observations") for r in api_routes(app)):
            return app
    from econet.api.hub_routes import bare_app
    return bare_app(db, **limits)


@pytest.fixture(scope="module")
def sample_hub(tmp_path_factory):
    from econet.hub import sharing_sample
    from econet.hub.db import dispose_all
    folder = tmp_path_factory.mktemp("sharing")
    db = f"sqlite:///{folder / 'hub.db'}"
    built = sharing_sample.build(db, folder)
    yield {"db": db, **built}
    dispose_all()


@pytest.fixture(scope="module")
def client(sample_hub):
    from fastapi.testclient import TestClient
    app = make_app(sample_hub["db"], max_upload_bytes=200_000, max_unzipped_bytes=5_000_000)
    with TestClient(app) as c:
        yield c


def bearer(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}
