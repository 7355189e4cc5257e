"""Movebank tracking data into the hub: the event table (GPS fixes) and its reference data (tag deployments).

Streamed: the event CSV is read in chunks (`analytics.tracks.iter_movebank`) and each chunk is inserted
through the shared `Ingest` path, with the flags a row decides alone (no location, marked outlier, outside
the deployment window); afterwards each individual touched by the import is cleaned as a whole
(`analytics.tracks.sequence_flags`: duplicates and impossible speeds) with one individual in memory at a
time. Every fix is stored; `flag` says why a fix is not used ('' = good). A re-import adds nothing: each
fix's key is a content hash (identical rows in one file stay distinct by their occurrence count).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, update

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.ingest.base import Ingest, SqliteText, _nan_none

FORMAT = "movebank"
HASHED = ("individual", "timestamp", "lon", "lat", "tag", "sensor", "event_id", "visible", "manual_outlier",
          "algorithm_outlier")


def detect(path: Path) -> bool:
    if not path.is_file() or path.suffix.lower() != ".csv":
        return False
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.readline()
    return "location-long" in head and "individual-local-identifier" in head


class _Occurrences:
    """How often each 64-bit content hash was seen so far in this file (sorted arrays: 16 bytes per row)."""

    def __init__(self):
        self.keys = np.empty(0, dtype=np.uint64)
        self.counts = np.empty(0, dtype=np.int64)

    def number(self, h: np.ndarray) -> np.ndarray:
        """Occurrence number (0 = first) of each hash of a chunk, counting earlier chunks."""
        order = np.argsort(h, kind="stable")
        sh = h[order]
        first = np.r_[True, sh[1:] != sh[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(sh)), 0))
        rank = np.arange(len(sh)) - start
        pos = np.searchsorted(self.keys, sh)
        hit = (pos < len(self.keys)) & (self.keys[np.minimum(pos, len(self.keys) - 1)] == sh) if len(self.keys) \
            else np.zeros(len(sh), bool)
        prev = np.where(hit, self.counts[np.minimum(pos, max(len(self.keys) - 1, 0))] if len(self.keys) else 0, 0)
        occ = np.empty(len(h), dtype=np.int64)
        occ[order] = prev + rank
        u, c = np.unique(sh, return_counts=True)
        allk = np.concatenate([self.keys, u])
        allc = np.concatenate([self.counts, c])
        k2, inv = np.unique(allk, return_inverse=True)
        self.counts = np.bincount(inv.ravel(), weights=allc, minlength=len(k2)).astype(np.int64)
        self.keys = k2
        return occ


def _hashes(chunk: pd.DataFrame, occ: _Occurrences) -> list[str]:
    cols = [c for c in HASHED if c in chunk.columns]
    # values hashed by content (labels by their text, not their category codes): stable across chunks
    h = pd.util.hash_pandas_object(chunk[cols], index=False, categorize=False).to_numpy(np.uint64)
    n = occ.number(h)
    return [f"{a:016x}" if k == 0 else f"{a:016x}.{k}" for a, k in zip(h.tolist(), n.tolist())]


def load(ing: Ingest, path: Path, *, reference: str | Path | None = None, max_speed_kmh=None,
         species: str | None = None, chunksize: int = 50_000, **_options) -> dict:
    from econet.analytics import tracks as tr

    ref = tr.read_reference(reference) if reference else None
    deployments = _deployments(ing, ref, Path(reference) if reference else None)
    occ = _Occurrences()
    touched: set[int] = set()
    for chunk in tr.iter_movebank(path, species=species, chunksize=chunksize):
        if chunk.empty:
            continue
        chunk, flag = tr.row_flags(chunk, ref)
        names = chunk["species"].astype("string")
        taxa = {nm: ing.taxa.match(nm) for nm in names.dropna().unique().tolist() if nm != "unknown"}
        keys = chunk["individual"].astype("string").fillna("").to_numpy(object)
        if (keys == "").any():
            i = int(np.flatnonzero(keys == "")[0])
            raise EconetError("fix without an individual", path=path, row=int(chunk.index[i]) + 2,
                              field="individual-local-identifier")
        tids = [taxa.get(nm) for nm in names.fillna("unknown").tolist()]
        inds = ing.individual_ids(keys.tolist(), tids)
        ind_ids = [inds[k] for k in keys.tolist()]
        touched.update(set(ind_ids))
        tags = chunk["tag"].astype("string").fillna("").to_numpy(object)
        lon, lat = chunk["lon"].to_numpy(float), chunk["lat"].to_numpy(float)
        cols = {"individual_id": ind_ids, "taxon_id": tids,
                "deployment_id": [deployments.get((k, t)) or deployments.get((k, "")) for k, t in zip(keys, tags)],
                "tag_key": [t or None for t in tags.tolist()],
                "sensor": chunk["sensor"].astype("string").tolist() if "sensor" in chunk.columns else [None] * len(chunk),
                "event_key": chunk["event_id"].astype("string").tolist() if "event_id" in chunk.columns
                else [None] * len(chunk),
                "flag": flag.tolist(), "source_row": (chunk.index.to_numpy() + 2).tolist(),
                "row_hash": _hashes(chunk, occ), **_places(ing, lon, lat)}
        for c in ("sensor", "event_key"):
            cols[c] = [None if v is pd.NA or v is None else v for v in cols[c]]
        ts = chunk["timestamp"].dt.tz_convert(None)
        if ing.sqlite:
            cols["time_utc"] = SqliteText(ts.dt.strftime("%Y-%m-%d %H:%M:%S.%f").where(ts.notna(), None).tolist())
        else:
            cols["time_utc"] = [None if pd.isna(v) else v for v in ts.dt.to_pydatetime().tolist()]
        ing.insert_columns(m.Fix, cols)
        ing.tick(len(chunk), "fixes")
    flagged = clean_individuals(ing.conn, sorted(touched), max_speed_kmh=max_speed_kmh, progress=ing.progress)
    if flagged:
        ing.notes.append("fixes flagged by the sequence cleaning: "
                         + ", ".join(f"{k}: {v}" for k, v in sorted(flagged.items())))
    return {"source_format": "movebank"}


def _places(ing: Ingest, lon: np.ndarray, lat: np.ndarray) -> dict:
    """lon, lat, x, y, country_code (+ WKB on SQLite) of a chunk of fixes (every fix is its own place)."""
    from econet.hub.spatial import country_of, to_equal_area
    x, y = to_equal_area(lon, lat)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = {"lon": _nan_none(lon), "lat": _nan_none(lat), "x": _nan_none(x), "y": _nan_none(y),
           "country_code": country_of(lon, lat).tolist()}
    if ing.sqlite:
        out["geom"] = [m.point_wkb(a, b) if k else None for a, b, k in zip(lon.tolist(), lat.tolist(), ok.tolist())]
    return out


def _deployments(ing: Ingest, ref: pd.DataFrame | None, path: Path | None) -> dict[tuple[str, str], int]:
    """Store the reference data's deployments; (individual key, tag) -> deployment id ((key, '') when the
    animal has one deployment)."""
    if ref is None or ref.empty:
        return {}
    if "individual" not in ref.columns or ref["individual"].isna().all():
        raise EconetError("the reference data need animal-id to be stored in the hub", path=path, field="animal-id")
    r = ref.reset_index(drop=True)
    keys = r["individual"].astype("string").fillna("").tolist()
    names = r["species"].astype("string").tolist() if "species" in r.columns else [None] * len(r)
    tids = [ing.taxa.match(n) if isinstance(n, str) else None for n in names]
    inds = ing.individual_ids(keys, tids)
    rows = []
    for i, k in enumerate(keys):
        if not k:
            continue
        tag = r["tag"].iloc[i] if "tag" in r.columns else None
        on, off = r["deploy_on"].iloc[i], r["deploy_off"].iloc[i]
        rows.append({"individual_id": inds[k], "tag_key": None if pd.isna(tag) else str(tag),
                     "sensor": None, "deploy_on": None if pd.isna(on) else on.tz_convert(None).to_pydatetime(),
                     "deploy_off": None if pd.isna(off) else off.tz_convert(None).to_pydatetime(),
                     "source_row": i + 2, "row_hash": ing.row_hash("deployment", [k, tag, on, off])})
    ing.insert(m.TagDeployment, rows)
    T = m.TagDeployment
    out: dict[tuple[str, str], int] = {}
    per_ind: dict[str, list[int]] = {}
    back = {v: k for k, v in inds.items()}
    for did, iid, tag in ing.conn.execute(select(T.id, T.individual_id, T.tag_key).where(T.dataset_id == ing.dataset_id)):
        k = back.get(iid)
        if k is None:
            continue
        out[(k, tag or "")] = did
        per_ind.setdefault(k, []).append(did)
    for k, ids in per_ind.items():
        if len(ids) == 1:
            out.setdefault((k, ""), ids[0])
    return out


def clean_individuals(conn, individual_ids, *, max_speed_kmh=None, progress=None) -> dict[str, int]:
    """Recompute the duplicate and speed flags of these individuals' fixes, one individual in memory at a
    time; returns the number of fixes now flagged per flag."""
    from econet.analytics.tracks import sequence_flags

    F, I, T = m.Fix, m.Individual, m.Taxon
    counts: dict[str, int] = {}
    for n, iid in enumerate(individual_ids):
        rows = conn.execute(select(F.id, F.time_utc, F.lon, F.lat, F.flag)
                            .where(F.individual_id == iid, F.flag.in_(("", "duplicate", "speed")))
                            .order_by(F.time_utc, F.id)).all()
        if not rows:
            continue
        sp = conn.execute(select(T.scientific_name).join(I, I.taxon_id == T.id).where(I.id == iid)).scalar()
        ids, times, lon, lat, old = (list(c) for c in zip(*rows))
        d = pd.DataFrame({"id": ids, "timestamp": times, "lon": np.array(lon, dtype=float),
                          "lat": np.array(lat, dtype=float), "old": old})
        d["timestamp"] = pd.to_datetime(d["timestamp"], utc=True)
        d["individual"] = iid
        d["species"] = sp or "unknown"
        new = sequence_flags(d, pd.Series("", index=d.index, dtype=object), max_speed_kmh)
        changed = d.loc[new.to_numpy() != d["old"].to_numpy(), "id"].tolist()
        if changed:
            conn.execute(update(F).where(F.id == bindparam("fid")).values(flag=bindparam("f"))
                         .execution_options(synchronize_session=False),
                         [{"fid": i, "f": f} for i, f in zip(changed, new[new.to_numpy() != d["old"].to_numpy()])])
        for k, v in new[new != ""].value_counts().items():
            counts[k] = counts.get(k, 0) + int(v)
        if progress:
            progress(n + 1, len(individual_ids), "cleaning tracks")
    return counts
