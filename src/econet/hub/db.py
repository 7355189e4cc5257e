"""Opening the hub database: one SQLite file (default) or PostgreSQL+PostGIS; schema by Alembic migrations.

`open_hub(url)` returns an Engine whose schema is at the newest migration (migrating on first use);
`init_hub(url)` does the same explicitly (the `econet hub init` command).
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine

from econet.errors import EconetError

MIGRATIONS = Path(__file__).with_name("migrations")
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def normalize_url(url: str | None) -> str:
    """Accept a bare path as an SQLite file; map postgresql:// to the psycopg 3 driver."""
    from econet.cli.options import default_db
    url = url or default_db()
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-262144")  # 256 MB: keeps the indexes of ~1M records in memory
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def _pg_session(dbapi_conn, _record) -> None:
    """No JIT: it adds about a second of compilation to the hub's short, index-driven queries."""
    with dbapi_conn.cursor() as cur:
        cur.execute("SET jit = off")
    dbapi_conn.commit()


def make_engine(url: str | None) -> Engine:
    """An Engine for the URL (no migration)."""
    url = normalize_url(url)
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, future=True)
            event.listen(engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling would defer BEGIN; take control so one import = one transaction
            event.listen(engine, "connect", lambda c, r: setattr(c, "isolation_level", None))
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        else:
            engine = create_engine(url, future=True, pool_pre_ping=True)
            event.listen(engine, "connect", _pg_session)
    except Exception as exc:  # bad URL or missing driver
        raise EconetError(f"cannot open database {url!r}: {exc}") from None
    return engine


def _alembic_config(connection):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations up to head on this engine."""
    from alembic import command
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # serialize concurrent first-use migrations
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
            command.upgrade(_alembic_config(conn), "head")
    except EconetError:
        raise
    except Exception as exc:
        raise EconetError(f"cannot prepare the hub database {engine.url!r}: {_short(exc)}") from None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def open_hub(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The Engine for a hub database, migrated to the newest schema on first use (cached per URL)."""
    url = normalize_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            try:
                if migrate and current_revision(engine) != head_revision():
                    upgrade(engine)
            except EconetError:
                engine.dispose()
                raise
            except Exception as exc:
                engine.dispose()
                raise EconetError(f"cannot open database {url!r}: {_short(exc)}") from None
            _engines[url] = engine
    return engine


def init_hub(url: str | None = None) -> dict:
    """Create or upgrade the schema; return what the database holds now (back end, revision)."""
    engine = open_hub(url)
    upgrade(engine)
    return {"database": engine.url.render_as_string(hide_password=True), "backend": engine.dialect.name,
            "revision": current_revision(engine), "tables": len(inspect(engine).get_table_names())}


def dispose_all() -> None:
    """Close every cached engine (tests, forked workers)."""
    with _lock:
        for e in _engines.values():
            e.dispose()
        _engines.clear()


def _run_autocommit(url: str, sql: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE, CREATE EXTENSION)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.exec_driver_sql(sql)
    finally:
        engine.dispose()


def create_postgis_database(server_url: str, name: str) -> str:
    """Create database `name` with PostGIS on the server of `server_url`; return its URL (benchmarks, tests)."""
    from sqlalchemy.engine import make_url
    server_url = normalize_url(server_url)
    _run_autocommit(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    _run_autocommit(url, "CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` (closing its connections) on the server of `server_url`."""
    _run_autocommit(normalize_url(server_url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def is_sqlite(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "sqlite"
