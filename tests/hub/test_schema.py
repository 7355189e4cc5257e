"""Schema: Alembic migrations create the same tables as the models, on both back ends, and re-run cleanly."""

from __future__ import annotations

from sqlalchemy import inspect, text

from econet.hub import models as m
from econet.hub.db import current_revision, head_revision, init_hub, open_hub


def test_init_creates_every_table_and_is_repeatable(db_url):
    info = init_hub(db_url)
    assert info["revision"] == head_revision()
    engine = open_hub(db_url)
    tables = set(inspect(engine).get_table_names())
    assert set(m.Base.metadata.tables) <= tables
    # sharing terms the next issue needs are in the schema
    cols = {c["name"] for c in inspect(engine).get_columns("datasets")}
    assert {"organization_id", "license", "citation", "visibility", "embargo_until", "shared_with"} <= cols
    assert {"taxon_id", "country_code", "category"} <= {c["name"] for c in inspect(engine).get_columns("sensitive_taxa")}
    assert "audit_log" in tables
    again = init_hub(db_url)
    assert again["revision"] == info["revision"] == current_revision(engine)


def test_models_match_migration(db_url):
    """Autogenerate finds nothing to change: the migration builds exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    engine = open_hub(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    # geometry columns are dialect-specific (WKB blob / PostGIS), spatial index tables are ours
    diff = [d for d in diff if "rtree" not in str(d) and "geom" not in str(d) and "spatial_ref_sys" not in str(d)
            and "topology" not in str(d) and "layer" not in str(d)]
    if engine.dialect.name == "postgresql":  # observations partitioned by time (migration 0006, by design)
        diff = [d for d in diff if not _partitioning(d)]
    assert diff == []


def _partitioning(d) -> bool:
    """A difference migration 0006 makes on purpose: the partitions, the id index, the key with time_utc."""
    import re
    s = str(d)
    if re.search(r"observations_(y\d{4}|before_\d{4}|default)\b", s) or "ix_observations_id'" in s:
        return True
    return d[0] in ("remove_constraint", "add_constraint") and "table=<observations>" in s and "row_hash" in s


def test_spatial_index_present(db_url):
    engine = open_hub(db_url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
            assert {f"{t}_rtree" for t in m.SPATIAL_TABLES} <= names
        else:
            idx = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%gist%'"))}
            assert {f"ix_{t}_geom" for t in m.SPATIAL_TABLES} <= idx


def test_border_columns_are_filled_for_rows_already_in_the_hub(db_url, tmp_path):
    """Migration 0003 computes the nearest border of observations imported before it, as an import does."""
    from alembic import command
    from sqlalchemy import select
    from econet.hub.db import _alembic_config
    from econet.hub.ingest import import_path
    from econet.hub.simulate import write_csv
    mapping = write_csv(tmp_path / "s.csv", 300, n_stations=50)
    import_path(db_url, tmp_path / "s.csv", dataset="s", org="o", mapping=mapping)
    engine = open_hub(db_url)
    O = m.Observation
    with engine.connect() as c:
        before = c.execute(select(O.id, O.border_pair, O.border_distance_m).order_by(O.id)).all()
    assert {r.border_pair for r in before} >= {"CN-RU"}
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002")
    with engine.begin() as conn:
        assert "border_pair" not in {c["name"] for c in inspect(conn).get_columns("observations")}
        command.upgrade(_alembic_config(conn), "head")
    with engine.connect() as c:
        after = c.execute(select(O.id, O.border_pair, O.border_distance_m).order_by(O.id)).all()
    assert [(r.id, r.border_pair) for r in after] == [(r.id, r.border_pair) for r in before]
    assert all(a.border_distance_m == b.border_distance_m or abs(a.border_distance_m - b.border_distance_m) < 1e-6
               for a, b in zip(after, before))
