"""Hub test fixtures: every hub test runs on SQLite and, where a server is reachable, on PostgreSQL+PostGIS."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


def _pg_base() -> str | None:
    return os.environ.get("ECONET_TEST_PG_URL")


_PG_OK: dict[str, str | None] = {}


def _pg_reason(url: str) -> str | None:
    """None when the server answers and has PostGIS, else why not."""
    if url in _PG_OK:
        return _PG_OK[url]
    from sqlalchemy import create_engine, text
    try:
        e = create_engine(url)
        with e.connect() as c:
            c.execute(text("SELECT postgis_version()"))
        e.dispose()
        _PG_OK[url] = None
    except Exception as exc:  # unreachable, no PostGIS, bad credentials
        _PG_OK[url] = f"PostgreSQL at ECONET_TEST_PG_URL not usable: {str(exc).splitlines()[0][:150]}"
    return _PG_OK[url]


@pytest.fixture(scope="session")
def pg_database():
    """A throwaway database with PostGIS for this test session (so nothing else in the server is touched)."""
    base = _pg_base()
    if not base:
        pytest.skip("ECONET_TEST_PG_URL is not set (run .ci/start-postgres; .ci/run sets it)")
    reason = _pg_reason(base)
    if reason:
        pytest.skip(reason)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    name = "econet_hubtest_" + uuid.uuid4().hex[:10]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    e = create_engine(url, isolation_level="AUTOCOMMIT")
    with e.connect() as c:
        c.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    e.dispose()
    yield url
    from econet.hub.db import dispose_all
    dispose_all()
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh, empty hub database URL on each back end (PostgreSQL: a new schema in the session's database)."""
    from econet.hub.db import dispose_all
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        dispose_all()
        return
    base = request.getfixturevalue("pg_database")
    from sqlalchemy import create_engine, text
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{base}?options=-csearch_path%3D{schema},public"
    dispose_all()
    with admin.connect() as c:
        c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def camtrap_example() -> Path:
    return DATA / "camtrap-dp"


@pytest.fixture
def euring_dir() -> Path:
    return DATA / "euring"
