"""Linking the same animal or event reported by two partners: both records stay, a link says why.

Two observations from different datasets are linked when they have the same taxon, lie within
`window_s` seconds and `distance_m` metres of each other (equal-area distance), and - where both name an
individual - are the same individual (same identity). The link records the reason with the measured gap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, insert, select
from sqlalchemy.engine import Connection

from econet.hub import models as m

O = m.Observation
_COLS = (O.id, O.dataset_id, O.taxon_id, O.time_utc, O.x, O.y, O.individual_id)


def _identities(conn: Connection, ids) -> dict[int, int]:
    ids = [int(i) for i in set(ids) if i is not None and not pd.isna(i)]
    out: dict[int, int] = {}
    for i in range(0, len(ids), 900):
        for iid, ident in conn.execute(select(m.Individual.id, m.Individual.identity_id)
                                       .where(m.Individual.id.in_(ids[i:i + 900]))):
            out[iid] = ident or iid
    return out


def _pairs(new: pd.DataFrame, cand: pd.DataFrame, window_s: float, distance_m: float) -> pd.DataFrame:
    """Pairs (new, candidate) of the same taxon within the time window and distance, without a cross join:
    per taxon, candidates sorted by time and each new record's window found by binary search."""
    out = []
    cand = cand.sort_values(["taxon_id", "time_utc"])
    for taxon, a in new.groupby("taxon_id", sort=False):
        b = cand[cand.taxon_id == taxon]
        if b.empty:
            continue
        ta = a.time_utc.to_numpy("datetime64[ns]").astype("int64") / 1e9
        tb = b.time_utc.to_numpy("datetime64[ns]").astype("int64") / 1e9
        lo = np.searchsorted(tb, ta - window_s, side="left")
        hi = np.searchsorted(tb, ta + window_s, side="right")
        n = hi - lo
        if not n.sum():
            continue
        ia = np.repeat(np.arange(len(a)), n)
        ib = np.concatenate([np.arange(x, y) for x, y in zip(lo, hi) if y > x])
        dist = np.hypot(b.x.to_numpy()[ib] - a.x.to_numpy()[ia], b.y.to_numpy()[ib] - a.y.to_numpy()[ia])
        keep = dist <= distance_m
        if not keep.any():
            continue
        ia, ib = ia[keep], ib[keep]
        out.append(pd.DataFrame({
            "id": a.id.to_numpy()[ia], "id_b": b.id.to_numpy()[ib],
            "individual_id": a.individual_id.to_numpy()[ia], "individual_id_b": b.individual_id.to_numpy()[ib],
            "secs": np.abs(tb[ib] - ta[ia]), "dist": dist[keep]}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def link_duplicates(conn: Connection, batch_id: int, *, window_s: float = 3600.0, distance_m: float = 500.0,
                    chunk: int = 20000) -> int:
    """Link the batch's observations to matching ones of other datasets; return the number of links made."""
    import datetime as dt
    win = dt.timedelta(seconds=window_s)
    base = (select(*_COLS).where(O.batch_id == batch_id, O.taxon_id.is_not(None), O.time_utc.is_not(None),
                                 O.x.is_not(None)).order_by(O.taxon_id, O.time_utc))
    ds = conn.execute(select(m.ImportBatch.dataset_id).where(m.ImportBatch.id == batch_id)).scalar_one()
    others = conn.execute(select(O.id).where(O.dataset_id != ds, O.taxon_id.is_not(None)).limit(1)).first()
    if others is None:
        return 0
    made = 0
    stream = conn.execute(base.execution_options(stream_results=True, yield_per=chunk))
    for part in stream.partitions(chunk):  # one ordered pass over the batch, never re-sorted
        new = pd.DataFrame(part, columns=[c.key for c in _COLS])
        taxa = [int(t) for t in new.taxon_id.unique()]
        cand = pd.DataFrame(conn.execute(select(*_COLS).where(
            O.taxon_id.in_(taxa), O.dataset_id != ds,
            O.time_utc >= new.time_utc.min() - win, O.time_utc <= new.time_utc.max() + win,
            O.x.is_not(None))).all(), columns=[c.key for c in _COLS])
        if cand.empty:
            continue
        pairs = _pairs(new, cand, window_s, distance_m)
        if pairs.empty:
            continue
        ident = _identities(conn, list(pairs.individual_id) + list(pairs.individual_id_b))
        rows = []
        for r in pairs.itertuples(index=False):
            ia = ident.get(int(r.individual_id)) if pd.notna(r.individual_id) else None
            ib = ident.get(int(r.individual_id_b)) if pd.notna(r.individual_id_b) else None
            if ia is not None and ib is not None and ia != ib:
                continue  # two different known animals
            reason = (f"same taxon, {r.secs / 60:.0f} min and {r.dist:.0f} m apart"
                      f"{', same individual' if ia is not None and ia == ib else ''} "
                      f"(window {window_s / 60:.0f} min, {distance_m:.0f} m)")
            a, b = sorted((int(r.id), int(r.id_b)))
            rows.append({"table_name": "observations", "record_a": a, "record_b": b, "kind": "duplicate",
                         "reason": reason, "distance_m": float(r.dist), "seconds_apart": float(r.secs),
                         "created_at": m.utcnow()})
        if rows:
            if conn.dialect.name == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as ins
            else:
                from sqlalchemy.dialects.postgresql import insert as ins
            conn.execute(ins(m.RecordLink).on_conflict_do_nothing(), rows)
            made += len(rows)
    return made


def links_of(conn: Connection, observation_id: int) -> list[dict]:
    L = m.RecordLink
    q = select(L).where(and_(L.table_name == "observations"),
                        (L.record_a == observation_id) | (L.record_b == observation_id))
    return [{"other": r.record_b if r.record_a == observation_id else r.record_a, "kind": r.kind,
             "reason": r.reason, "distance_m": r.distance_m, "seconds_apart": r.seconds_apart}
            for r in conn.execute(q).scalars()]
