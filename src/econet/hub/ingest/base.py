"""The import machinery every format shares: one transaction per import, provenance, hashing, harmonization.

A format module provides ``FORMAT`` (name), ``detect(path) -> bool`` and ``load(ingest, path, **options)``;
it streams its rows through an `Ingest`, which
- hashes each source row (content hash, unique per dataset) so that a re-import adds nothing,
- converts coordinates to WGS84 plus the hub's equal-area copy and finds the country,
- converts times to UTC keeping the original offset,
- matches names to the taxonomy (close misspellings queued for review),
- inserts in chunks through `hub.bulk` (rows already present are skipped), inside the caller's single
  transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.bulk import BulkWriter, StorageText
from econet.hub.taxonomy import TaxonMatcher

CHUNK = 5000


# --------------------------------------------------------------------------- time

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def parse_offset(text: str | None) -> int | None:
    """'+08:00' / '-0430' / 'Z' / 'UTC' -> minutes; IANA names are resolved per value by `to_utc`."""
    if text is None or text == "":
        return None
    t = str(text).strip()
    if t.upper() in ("Z", "UTC", "GMT"):
        return 0
    mo = _OFFSET.match(t)
    if not mo:
        return None
    sign = -1 if mo.group(1) == "-" else 1
    return sign * (int(mo.group(2)) * 60 + int(mo.group(3)))


def to_utc(value: str, fmt: str | None = None, tz: str | None = None) -> tuple[dt.datetime, int | None]:
    """Parse a timestamp; return (naive UTC datetime, original offset in minutes or None if unknown).

    ISO 8601 by default (with 'Z' or an offset); `fmt` is a strptime format; `tz` is the zone for times
    written without an offset (an offset like '+10:00' or an IANA name like 'Asia/Vladivostok'). Times with
    neither are taken as UTC and their offset recorded as unknown (None).
    """
    text = value.strip()
    if fmt:
        d = dt.datetime.strptime(text, fmt)
    else:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            d = dt.datetime.fromisoformat(text)
        else:
            d = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    if d.tzinfo is None and tz:
        off = parse_offset(tz)
        if off is not None:
            d = d.replace(tzinfo=dt.timezone(dt.timedelta(minutes=off)))
        else:
            from zoneinfo import ZoneInfo
            d = d.replace(tzinfo=ZoneInfo(tz))
    if d.tzinfo is None:
        return d, None
    off = d.utcoffset()
    minutes = int(off.total_seconds() // 60) if off is not None else None
    return d.astimezone(dt.timezone.utc).replace(tzinfo=None), minutes


def format_time(utc: dt.datetime | None, offset_min: int | None) -> str | None:
    """ISO 8601 in the original offset ('Z' for UTC) - the inverse of `to_utc`."""
    if utc is None:
        return None
    if offset_min is None or offset_min == 0:
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    tz = dt.timezone(dt.timedelta(minutes=offset_min))
    return utc.replace(tzinfo=dt.timezone.utc).astimezone(tz).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- values

def text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s if s != "" else None


def number(v: Any, *, path=None, row=None, field=None) -> float | None:
    s = text(v)
    if s is None or s.lower() in ("na", "nan"):
        return None
    try:
        return float(s.replace(",", ".")) if s.count(",") == 1 and "." not in s else float(s)
    except ValueError:
        raise EconetError(f"not a number: {s!r}", path=path, row=row, field=field) from None


def integer(v: Any, *, path=None, row=None, field=None) -> int | None:
    f = number(v, path=path, row=row, field=field)
    if f is None:
        return None
    if f != int(f):
        raise EconetError(f"not a whole number: {v!r}", path=path, row=row, field=field)
    return int(f)


def boolean(v: Any, *, path=None, row=None, field=None) -> bool | None:
    s = text(v)
    if s is None:
        return None
    low = s.lower()
    if low in ("true", "1", "yes", "y", "t"):
        return True
    if low in ("false", "0", "no", "n", "f"):
        return False
    raise EconetError(f"not true/false: {s!r}", path=path, row=row, field=field)


def row_digest(parts: Iterable[Any]) -> bytes:
    s = "\x1f".join(["\x00" if p is None else p if isinstance(p, str) else str(p) for p in parts])
    return hashlib.blake2b(s.encode("utf-8"), digest_size=16).digest()


# --------------------------------------------------------------------------- the import

@dataclass
class Counts:
    read: int = 0
    added: dict[str, int] = field(default_factory=dict)


class Ingest:
    """One import of one source into one dataset, inside the caller's transaction."""

    def __init__(self, conn: Connection, dataset_id: int, batch_id: int, source: str,
                 progress: Callable[..., None] | None = None):
        self.conn, self.dataset_id, self.batch_id, self.source = conn, dataset_id, batch_id, source
        self.progress = progress or (lambda *a, **k: None)
        self.taxa = TaxonMatcher(conn, dataset_id, batch_id)
        self.sqlite = conn.dialect.name == "sqlite"
        self.counts = Counts()
        self.notes: list[str] = []
        self._seen: dict[int, int] = {}
        self.bulk = BulkWriter(conn, dataset_id, batch_id)

    # -- hashing: identical content -> identical key; identical rows within one file stay distinct
    def row_hash(self, kind: str, parts: Sequence[Any]) -> str:
        d = row_digest([kind, *parts])
        k = int.from_bytes(d[:8], "little")
        n = self._seen.get(k, 0)
        self._seen[k] = n + 1
        if n:
            d = row_digest([d.hex(), n])
        return d.hex()

    def row_hashes(self, kind: str, rows: Sequence[Sequence[str]]) -> list[str]:
        """`row_hash` of a chunk of rows of strings (CSV values): the same keys, without per-value checks."""
        blake, seen, sep = hashlib.blake2b, self._seen, "\x1f"
        prefix = kind + sep
        out = []
        for values in rows:
            d = blake((prefix + sep.join(values)).encode("utf-8"), digest_size=16).digest()
            k = int.from_bytes(d[:8], "little")
            n = seen.get(k, 0)
            seen[k] = n + 1
            if n:
                d = row_digest([d.hex(), n])
            out.append(d.hex())
        return out

    # -- bulk loads (hub.bulk)
    def defer_indexes(self, table: type, expected_rows: int) -> bool:
        """SQLite: build the table's secondary indexes once at the end of a load that will double it."""
        return self.bulk.defer_indexes(table, expected_rows)

    def finish(self) -> None:
        """End of the source: wait for queued chunks, build deferred indexes (same transaction)."""
        self.bulk.finish()

    # -- places
    def places(self, lon: Sequence[float | None], lat: Sequence[float | None],
               country: Sequence[str | None] | None = None, *, rows: Sequence[int] | None = None,
               path=None) -> dict[str, list]:
        """Columns lon, lat, x, y, country_code (+ geom on SQLite) for a chunk; checks ranges."""
        lo = np.array(lon, dtype=float)  # None -> NaN
        la = np.array(lat, dtype=float)
        bad = (np.abs(la) > 90) | (np.abs(lo) > 180)
        if bad.any():
            i = int(np.argmax(bad))
            fld = "latitude" if abs(la[i]) > 90 else "longitude"
            raise EconetError(f"coordinate out of range ({lo[i]}, {la[i]}): expected WGS84 degrees "
                              "(set `crs` in the mapping for projected coordinates)", path=path or self.source,
                              row=rows[i] if rows is not None else None, field=fld)
        from econet.hub.spatial import to_equal_area
        x, y = to_equal_area(lo, la)
        cc = self._countries(lo, la)
        if country is not None:
            given = np.array([(c or "").upper()[:2] or None for c in country], dtype=object)
            cc = np.where(given != None, given, cc)  # noqa: E711  - the record's own country wins
        ok = np.isfinite(lo) & np.isfinite(la)
        out = {"lon": _nan_none(lo), "lat": _nan_none(la), "x": _nan_none(x), "y": _nan_none(y),
               "country_code": list(cc)}
        if self.sqlite:
            out["geom"] = [m.point_wkb(a, b) if k else None for a, b, k in zip(lo, la, ok)]
        return out

    def _per_place(self, name: str, a: np.ndarray, b: np.ndarray, compute: Callable) -> list:
        """compute(a, b) -> tuple of per-point values, evaluated once per distinct place (camera stations and
        sites repeat) and remembered for the whole import; returns one value tuple per point."""
        known = self.__dict__.setdefault(name, {})
        z = a + 1j * b
        uniq, inverse = np.unique(z, return_inverse=True)
        keys = uniq.tolist()
        miss = [i for i, k in enumerate(keys) if k not in known]
        if miss:
            if len(known) > 1_000_000:
                known.clear()
            idx = np.array(miss)
            for k, v in zip((keys[i] for i in miss), zip(*compute(uniq.real[idx], uniq.imag[idx]))):
                known[k] = v
        vals = [known[k] for k in keys]
        return [vals[i] for i in inverse.ravel().tolist()]

    def _countries(self, lo: np.ndarray, la: np.ndarray) -> np.ndarray:
        """`spatial.country_of` per distinct place."""
        from econet.hub.spatial import country_of
        vals = self._per_place("_country_cache", lo, la, lambda a, b: (country_of(a, b),))
        return np.array([v[0] for v in vals], dtype=object)

    def _borders(self, x: Sequence[float | None], y: Sequence[float | None]) -> tuple[list, list, list]:
        """(border_pair, border_distance_m, border_distance2_m) of observations at equal-area x/y, computed
        per distinct place."""
        from econet.hub.spatial import nearest_border

        def compute(a, b):
            pair, dist, dist2 = nearest_border(a, b)
            return (pair.tolist(), [None if d != d else d for d in dist.tolist()],
                    [None if d != d else d for d in dist2.tolist()])
        vals = self._per_place("_border_cache", np.array(x, dtype=float), np.array(y, dtype=float), compute)
        return [v[0] for v in vals], [v[1] for v in vals], [v[2] for v in vals]

    def _add_borders(self, t: Table, cols: dict[str, list], n: int) -> None:
        if t.name == "observations" and "border_pair" not in cols:
            cols["border_pair"], cols["border_distance_m"], cols["border_distance2_m"] = self._borders(
                cols.get("x") or [None] * n, cols.get("y") or [None] * n)

    # -- inserts
    def insert(self, table: Table | type, rows: list[dict]) -> None:
        """Insert a chunk of dict rows; rows already present (same content hash or key) are skipped."""
        if not rows:
            return
        t = table.__table__ if hasattr(table, "__table__") else table
        if t.name == "observations" and any("border_pair" not in r for r in rows):
            pairs, dists, dists2 = self._borders([r.get("x") for r in rows], [r.get("y") for r in rows])
            for r, p, d, d2 in zip(rows, pairs, dists, dists2):
                if "border_pair" not in r:
                    r["border_pair"], r["border_distance_m"], r["border_distance2_m"] = p, d, d2
        self.bulk.insert_rows(t, rows)

    def insert_columns(self, table: type, cols: dict[str, list]) -> None:
        """Insert a chunk given as columns (same length lists); the fast path of large imports."""
        t = table.__table__
        cols = dict(cols)
        self._add_borders(t, cols, len(next(iter(cols.values()))))
        self.bulk.insert_columns(t, cols)

    def key_map(self, table: type, key_column: str) -> dict[str, int]:
        """source key -> id for this dataset (after inserting, to resolve references)."""
        col = getattr(table, key_column)
        with self.bulk.exclusive() as conn:
            return {k: i for i, k in conn.execute(select(table.id, col).where(table.dataset_id == self.dataset_id))}

    def individual_ids(self, keys: Iterable[str | None], taxon_ids: Iterable[int | None] | None = None,
                       sex: Iterable[str | None] | None = None) -> dict[str, int]:
        """Create (if new) the individuals named in a chunk; return key -> id for the dataset."""
        wanted: dict[str, tuple] = {}
        for k, t, s in zip(keys, taxon_ids or repeat(None), sex or repeat(None)):
            if k and k not in wanted:
                wanted[k] = (t, s)
        if not wanted:
            return {}
        known = getattr(self, "_individuals", None)
        if known is None:
            known = self._individuals = self.key_map(m.Individual, "individual_key")
        new = [k for k in wanted if k not in known]
        if new:
            self.insert(m.Individual, [{"individual_key": k, "taxon_id": wanted[k][0], "sex": wanted[k][1],
                                        "row_hash": row_digest(["individual", k]).hex()} for k in new])
            self._individuals = known = self.key_map(m.Individual, "individual_key")
        return known

    def tick(self, n: int, description: str | None = None) -> None:
        self.counts.read += n
        self.progress(self.counts.read, None, description)


#: a column already in storage text (timestamps converted per chunk); see hub.bulk
SqliteText = StorageText


def _nan_none(a: np.ndarray) -> list:
    a = np.asarray(a, dtype=float)
    out = a.tolist()
    bad = ~np.isfinite(a)
    if bad.any():
        for i in np.flatnonzero(bad).tolist():
            out[i] = None
    return out


def chunks(iterable: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    buf: list[Any] = []
    for item in iterable:
        buf.append(item)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf
