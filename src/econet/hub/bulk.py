"""The hub's one insertion path: chunks of records (as columns) into a table, skipping rows already there.

Every importer writes through a `BulkWriter`, inside the import's single transaction:

- SQLite: `executemany` on the raw sqlite3 cursor (INSERT OR IGNORE: the unique (dataset_id, row_hash) key makes
  re-imports add nothing), then the R*Tree entries of the chunk's new rows in one INSERT ... SELECT; a load that
  will at least double a table drops its secondary indexes and builds them once at the end (`finish`).
- PostgreSQL: COPY (psycopg 3 ``cursor.copy``). A dataset's first load into a table is copied straight into
  it (under a savepoint; a duplicate key falls back to the staged path); otherwise rows are copied into a
  temporary stage and moved with INSERT ... SELECT ... ON CONFLICT DO NOTHING (observations also with an
  anti-join on (dataset_id, row_hash): on the time-partitioned table the unique key also holds time_utc).
- `pipeline()`: chunks are written by a background thread while the caller prepares the next one (both
  engines release the GIL while they work); `exclusive()` waits for the writer before other database work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import queue
import sys
import threading
from typing import Iterator

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from econet.hub import models as m

#: loads from which `defer_indexes` drops and rebuilds secondary indexes (when they also double the table)
SQLITE_DEFER_MIN, PG_DEFER_MIN = 50_000, 1_000_000
#: GIL switch interval (s) while a pipelined load runs (Python's default is 0.005)
SWITCH_INTERVAL = 0.0002
#: below this many rows a PostgreSQL chunk always takes the staged path (a savepoint costs more than it saves)
DIRECT_COPY_MIN = 1000


class StorageText(list):
    """A column already in SQLite's storage text (timestamps 'YYYY-MM-DD HH:MM:SS.ffffff', converted per
    chunk); PostgreSQL's COPY reads the same text."""


#: PostgreSQL loads from which `finish` refreshes the planner's statistics of the tables loaded
ANALYZE_MIN = 10_000


class BulkWriter:
    """Inserts of one import (one transaction on `conn`)."""

    def __init__(self, conn: Connection, dataset_id: int | None = None, batch_id: int | None = None):
        self.conn, self.dataset_id, self.batch_id = conn, dataset_id, batch_id
        self.sqlite = conn.dialect.name == "sqlite"
        self.attempted: dict[str, int] = {}
        self._deferred: list[str] = []
        self._stages: set[str] = set()
        self._fresh: dict[str, bool] = {}
        self._queue: queue.Queue | None = None
        self._piped: str | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ public API
    def insert_rows(self, table: Table | type, rows: list[dict]) -> None:
        """Insert a chunk given as dicts (keys may differ between rows; missing ones are NULL)."""
        if not rows:
            return
        keys = list(rows[0])
        if any(len(r) != len(keys) for r in rows):
            keys = list(dict.fromkeys(k for r in rows for k in r))
        self.insert_columns(table, {k: [r.get(k) for r in rows] for k in keys})

    def insert_columns(self, table: Table | type, cols: dict[str, list]) -> None:
        """Insert a chunk given as columns (same-length lists); rows already present are skipped.

        dataset_id and batch_id are filled in where the table has them. Pipelined: queued for the writer."""
        t = table.__table__ if hasattr(table, "__table__") else table
        n = len(next(iter(cols.values())))
        if not n:
            return
        cols = dict(cols)
        if "dataset_id" in t.c and self.dataset_id is not None:
            cols.setdefault("dataset_id", [self.dataset_id] * n)
        if "batch_id" in t.c:
            cols.setdefault("batch_id", [self.batch_id] * n)
        self.attempted[t.name] = self.attempted.get(t.name, 0) + n
        if self._queue is not None and t.name == self._piped:
            self._raise_pending()
            self._queue.put((t, cols))
        else:
            with self.exclusive():
                self._write(t, cols)

    @contextlib.contextmanager
    def pipeline(self, table: type) -> Iterator["BulkWriter"]:
        """Write the chunks of `table` on a background thread while the caller prepares the next one (other
        tables are written at once, after the queued chunks); joined, and errors raised, on exit."""
        if self._queue is not None:
            yield self
            return
        self._piped = table.__table__.name
        self._queue = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._work, name="econet-bulk-writer", daemon=True)
        # the writer needs the GIL between rows (executemany binds, COPY formats): hand it over more often
        # than every 5 ms while the parser is busy (measured: ~15% less wall time for a 200,000-row import)
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
        self._thread.start()
        try:
            yield self
        finally:
            q, self._queue = self._queue, None
            q.put(None)
            self._thread.join()
            self._thread = self._piped = None
            sys.setswitchinterval(interval)
        self._raise_pending()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[Connection]:
        """The connection, once every queued chunk is written (for lookups and small inserts in between)."""
        if self._queue is not None:
            self._queue.join()
            self._raise_pending()
        with self._lock:
            yield self.conn

    def defer_indexes(self, table: type, expected_rows: int) -> bool:
        """Drop the table's secondary (non-unique) indexes when this load will at least double the table, so
        `finish` builds them once by sorting instead of updating them row by row (an initial bulk load).

        Inside the import's transaction: a failed or killed import rolls the drop back. SQLite readers never
        see it; PostgreSQL readers of the table wait for the load to commit, so there it applies from
        `PG_DEFER_MIN` rows on."""
        if expected_rows < (SQLITE_DEFER_MIN if self.sqlite else PG_DEFER_MIN):
            return False
        t = table.__table__
        with self.exclusive(), self._cursor() as cur:
            existing = cur.execute(f"SELECT coalesce(max(id), 0) FROM {t.name}").fetchone()[0]
            if expected_rows < existing:
                return False
            if self.sqlite:
                rows = cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                   "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'", (t.name,)).fetchall()
            else:
                rows = cur.execute("SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i "
                                   "ON i.oid = x.indexrelid WHERE x.indrelid = CAST(%s AS regclass) "
                                   "AND NOT x.indisunique", (t.name,)).fetchall()
                rows = [(name, sql.replace(" ON ONLY ", " ON ", 1)) for name, sql in rows]
            for name, _sql in rows:
                cur.execute(f'DROP INDEX "{name}"')
        self._deferred.extend(sql for _name, sql in rows)
        return bool(rows)

    def finish(self) -> None:
        """End of the source: build the indexes `defer_indexes` dropped (same transaction)."""
        deferred, self._deferred = self._deferred, []
        if deferred:
            with self.exclusive(), self._cursor() as cur:
                if not self.sqlite:
                    cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
                for sql in deferred:
                    cur.execute(sql)
        if not self.sqlite and sum(self.attempted.values()) >= ANALYZE_MIN:
            # fresh statistics, else the planner takes a freshly loaded table for empty (pages of ~1 s)
            with self.exclusive(), self._cursor() as cur:
                for name in sorted(self.attempted):
                    cur.execute(f'ANALYZE "{name}"')

    # ------------------------------------------------------------------ the writer thread
    def _work(self) -> None:
        q = self._queue
        while True:
            item = q.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    with self._lock:
                        self._write(*item)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc
            finally:
                q.task_done()

    def _raise_pending(self) -> None:
        if self._error is not None:
            exc, self._error = self._error, None
            raise exc

    @contextlib.contextmanager
    def _cursor(self):
        cur = self.conn.connection.driver_connection.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def _write(self, t: Table, cols: dict[str, list]) -> None:
        if self.sqlite:
            self._write_sqlite(t, cols)
        else:
            self._write_pg(t, cols)

    # ------------------------------------------------------------------ SQLite
    def _write_sqlite(self, t: Table, cols: dict[str, list]) -> None:
        # columns empty in the whole chunk are left to their default: less to bind per row
        cols = {k: v for k, v in cols.items()
                if k in ("dataset_id", "batch_id") or any(x is not None for x in v)}
        names = list(cols)
        values = []
        for name, col in cols.items():
            f = _SQLITE_CONVERTERS.get(type(t.c[name].type).__name__)
            values.append(col if f is None or isinstance(col, StorageText)
                          else [None if x is None else f(x) for x in col])
        spatial = t.name in m.SPATIAL_TABLES and "lon" in cols
        with self._cursor() as cur:
            if spatial:
                before = cur.execute(f"SELECT coalesce(max(id), 0) FROM {t.name}").fetchone()[0]
            cur.executemany(f"INSERT OR IGNORE INTO {t.name} ({', '.join(_q(c) for c in names)}) "
                            f"VALUES ({', '.join('?' * len(names))})", zip(*values))
            if spatial:  # rows written with a batch_id are not indexed by the per-row trigger
                cur.execute(f"INSERT INTO {t.name}_rtree SELECT id, lon, lon, lat, lat FROM {t.name} "
                            "WHERE id > ? AND lon IS NOT NULL AND lat IS NOT NULL AND batch_id IS NOT NULL",
                            (before,))

    # ------------------------------------------------------------------ PostgreSQL
    def _write_pg(self, t: Table, cols: dict[str, list]) -> None:
        cols = {k: v for k, v in cols.items() if k != "geom"}  # generated from lon/lat by the server
        keys = list(cols)
        quoted = ", ".join(_q(k) for k in keys)
        rows = _pg_rows(t, cols)
        with self._cursor() as cur:
            if self._direct(t, cur, len(rows)):
                cur.execute("SAVEPOINT econet_bulk")
                try:
                    _copy(cur, t.name, quoted, rows)
                except Exception as exc:
                    if getattr(exc, "sqlstate", None) != "23505":  # unique_violation: take the staged path
                        raise
                    cur.execute("ROLLBACK TO SAVEPOINT econet_bulk")
                    self._fresh[t.name] = False
                else:
                    cur.execute("RELEASE SAVEPOINT econet_bulk")
                    return
            stage = f"_econet_stage_{t.name}"
            if stage not in self._stages:
                cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {t.name} INCLUDING DEFAULTS) "
                            "ON COMMIT DROP")
                self._stages.add(stage)
            else:
                cur.execute(f"TRUNCATE {stage}")
            _copy(cur, stage, quoted, rows)
            new = ""  # observations: the unique key also holds time_utc (partitions), so check the hash itself
            if t.name == "observations" and "row_hash" in cols and "dataset_id" in cols:
                new = (f" WHERE NOT EXISTS (SELECT 1 FROM {t.name} o WHERE o.dataset_id = s.dataset_id "
                       "AND o.row_hash = s.row_hash)")
            cur.execute(f"INSERT INTO {t.name} ({quoted}) SELECT {quoted} FROM {stage} s{new} "
                        "ON CONFLICT DO NOTHING")

    def _direct(self, t: Table, cur, n: int) -> bool:
        """COPY straight into the table: a large chunk of this dataset's first load into it."""
        if n < DIRECT_COPY_MIN or "row_hash" not in t.c or "dataset_id" not in t.c or self.dataset_id is None:
            return False
        fresh = self._fresh.get(t.name)
        if fresh is None:
            fresh = cur.execute(f"SELECT 1 FROM {t.name} WHERE dataset_id = %s LIMIT 1",
                                (self.dataset_id,)).fetchone() is None
            self._fresh[t.name] = fresh
        return fresh


def _pg_rows(t: Table, cols: dict[str, list]) -> list[tuple]:
    """Row tuples for COPY: JSON columns as JSON text."""
    values = []
    for name, col in cols.items():
        if type(t.c[name].type).__name__ == "JSON" and not isinstance(col, StorageText):
            col = [None if v is None else json_text(v) for v in col]
        values.append(col)
    return list(zip(*values))


def _copy(cur, table: str, quoted: str, rows: list[tuple]) -> None:
    with cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


_JSON_CACHE: dict = {}


def json_text(v) -> str:
    """JSON text (as stored in JSON columns) of a record's attributes; repeated small dicts (same remarks on every row) are cached."""
    key = None
    if isinstance(v, dict) and len(v) <= 4:
        try:
            key = tuple(v.items())
            hit = _JSON_CACHE.get(key)
            if hit is not None:
                return hit
        except TypeError:
            key = None
    out = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
    if key is not None:
        if len(_JSON_CACHE) > 10000:
            _JSON_CACHE.clear()
        _JSON_CACHE[key] = out
    return out


def _dt(v: dt.datetime | str) -> str:
    if isinstance(v, str):  # already in storage format (vectorised chunk conversion)
        return v
    return v.isoformat(" ", "microseconds")  # SQLAlchemy's SQLite DATETIME storage format


_SQLITE_CONVERTERS = {"JSON": json_text, "DateTime": _dt, "Date": lambda v: v.isoformat(), "Boolean": int}


def _q(col: str) -> str:
    return f'"{col}"'

