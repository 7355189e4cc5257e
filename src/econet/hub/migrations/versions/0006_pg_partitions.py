"""PostgreSQL at scale: observations partitioned by time (issue 10)

PostgreSQL only (SQLite is unchanged). `observations` becomes a table partitioned by RANGE (time_utc):
one partition per year from 2000 to 2030 (`observations_y2000` ...), one before 2000
(`observations_before_2000`) and a default partition (`observations_default`) for NULL times and later
years. Every index is a partitioned index (one per partition, GiST on geom included), so a query with a
time range reads only its years and the API is unchanged.

PostgreSQL requires a partitioned table's primary key and unique indexes to hold the partition key, so:
- `id` keeps its sequence (ids stay unique by construction) and gets a plain index for id lookups, no
  primary-key constraint;
- the content-hash key is UNIQUE (dataset_id, row_hash, time_utc) NULLS NOT DISTINCT; the importer's
  anti-join on (dataset_id, row_hash) (hub.bulk) keeps "a re-import adds nothing" exact even if a row's
  time were re-interpreted;
- no foreign key may reference observations (none does: record links keep plain ids).
Rows already in the table are copied over; downgrade restores the plain table.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

FIRST_YEAR, LAST_YEAR = 2000, 2030
UNIQUE = "observations_dataset_id_row_hash_key"


def partitions() -> list[tuple[str, str]]:
    """(name, FOR VALUES clause) of the partitions this migration creates."""
    out = [("observations_before_2000", f"FROM (MINVALUE) TO ('{FIRST_YEAR}-01-01')")]
    out += [(f"observations_y{y}", f"FROM ('{y}-01-01') TO ('{y + 1}-01-01')") for y in range(FIRST_YEAR, LAST_YEAR + 1)]
    out.append(("observations_default", "DEFAULT"))
    return out


def _definitions(conn, table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(name, CREATE INDEX) of the table's indexes that are not constraints, and (name, FK definition)."""
    idx = conn.execute(sa.text(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = CAST(:t AS regclass) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"), {"t": table}).all()
    fks = conn.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) "
        "AND contype = 'f'"), {"t": table}).all()
    return [tuple(r) for r in idx], [tuple(r) for r in fks]


def _index_sql(definition: str, old: str) -> str:
    """An index definition of table `old` rewritten for the new `observations` table."""
    import re
    return re.sub(rf"ON (ONLY )?(\S+\.)?{old} ", "ON observations ", definition, count=1)


def _rebuild(conn, partitioned: bool) -> None:
    """Move observations into a new table (partitioned or plain) with the same columns, indexes and keys."""
    old = "observations_unpartitioned" if partitioned else "observations_partitioned"
    referencing = conn.execute(sa.text(
        "SELECT conrelid::regclass::text FROM pg_constraint WHERE confrelid = CAST('observations' AS regclass) "
        "AND contype = 'f'")).scalars().all()
    if referencing:
        raise RuntimeError(f"cannot re-partition observations: foreign keys from {', '.join(referencing)}")
    conn.execute(sa.text(f"ALTER TABLE observations RENAME TO {old}"))
    indexes, fks = _definitions(conn, old)
    seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": old}).scalar()
    cols = [r[0] for r in conn.execute(sa.text(
        "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"), {"t": old})]
    like = f"(LIKE {old} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)"
    if partitioned:
        conn.execute(sa.text(f"CREATE TABLE observations {like} PARTITION BY RANGE (time_utc)"))
        for name, bounds in partitions():
            values = bounds if bounds == "DEFAULT" else f"FOR VALUES {bounds}"
            conn.execute(sa.text(f"CREATE TABLE {name} PARTITION OF observations {values}"))
    else:
        conn.execute(sa.text(f"CREATE TABLE observations {like}"))
    if seq:
        conn.execute(sa.text(f"ALTER SEQUENCE {seq} OWNED BY observations.id"))
    quoted = ", ".join(f'"{c}"' for c in cols)
    conn.execute(sa.text(f"INSERT INTO observations ({quoted}) SELECT {quoted} FROM {old} ORDER BY id"))
    conn.execute(sa.text(f"DROP TABLE {old}"))
    if partitioned:
        conn.execute(sa.text(f"ALTER TABLE observations ADD CONSTRAINT {UNIQUE} "
                             "UNIQUE NULLS NOT DISTINCT (dataset_id, row_hash, time_utc)"))
        conn.execute(sa.text("CREATE INDEX ix_observations_id ON observations (id)"))
    else:
        conn.execute(sa.text("ALTER TABLE observations ADD PRIMARY KEY (id)"))
        conn.execute(sa.text(f"ALTER TABLE observations ADD CONSTRAINT {UNIQUE} UNIQUE (dataset_id, row_hash)"))
    for name, definition in indexes:
        if name == "ix_observations_id":
            continue
        conn.execute(sa.text(_index_sql(definition, old)))
    for name, definition in fks:
        conn.execute(sa.text(f"ALTER TABLE observations ADD CONSTRAINT {name} {definition}"))
    conn.execute(sa.text("ANALYZE observations"))


def _is_partitioned(conn) -> bool:
    return bool(conn.execute(sa.text(
        "SELECT 1 FROM pg_partitioned_table WHERE partrelid = CAST('observations' AS regclass)")).scalar())


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql" and not _is_partitioned(conn):
        _rebuild(conn, partitioned=True)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql" and _is_partitioned(conn):
        _rebuild(conn, partitioned=False)
