"""What the atlas draws from hub records and demo tables: pure functions (view rows or files in, JSON-ready
dicts out) used by the atlas routes (econet.api.routers.atlas). They never see more than the rows given: the
routes pass the caller's view rows (econet.hub.sharing.view_rows), so generalized records stay generalized."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np

#: Cluster cell size on screen (pixels of a 256-pixel Web Mercator tile pyramid).
CLUSTER_PX = 60
#: From this zoom on, every record is drawn on its own (unless more than MAX_POINTS are in view).
CLUSTER_MAX_ZOOM = 13
MAX_POINTS = 5000
#: Properties of a view row a map point carries (never locality or source rows).
POINT_PROPS = ("hub_id", "dataset", "scientific_name", "accepted_name", "time_utc", "country_code", "individual",
               "count", "coordinate_uncertainty_m", "coordinate_precision", "data_generalizations",
               "information_withheld")
_R = 6378137.0


class ViewIndex:
    """A caller's view of the records, held as arrays for the map: positions (as the view locates them), the
    generalized flag, species and dataset codes, and each record's point properties (compact tuples).

    Built once per view and rules version (the atlas route keeps a few), then every pan only selects the
    bounding box and clusters with numpy: milliseconds for 100,000 records instead of re-reading them."""

    def __init__(self, rows: Iterable[dict]):
        lon, lat, gen, sp, ds, recs = [], [], [], [], [], []
        species: dict[str, int] = {}
        datasets: dict[str, int] = {}
        for r in rows:  # records without a location are kept (dashboards count them) but never drawn
            located = r.get("lon") is not None and r.get("lat") is not None
            lon.append(float(r["lon"]) if located else np.nan)
            lat.append(float(r["lat"]) if located else np.nan)
            gen.append(bool(r.get("data_generalizations")))
            sp.append(species.setdefault(r.get("accepted_name") or r.get("scientific_name") or "?", len(species)))
            ds.append(datasets.setdefault(r["dataset"], len(datasets)))
            recs.append(tuple(r.get(k) for k in POINT_PROPS))
        self.lon, self.lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        self.generalized = np.asarray(gen, dtype=bool)
        self.species_code = np.asarray(sp, dtype=np.int64)
        self.dataset_code = np.asarray(ds, dtype=np.int64)
        self.species = list(species)
        self.datasets = list(datasets)
        self.records = recs
        lat_c = np.clip(self.lat, -85.05112878, 85.05112878)
        self.x = _R * np.radians(self.lon)
        self.y = _R * np.log(np.tan(np.pi / 4 + np.radians(lat_c) / 2))

    def __len__(self) -> int:
        return len(self.records)

    def select(self, bbox=None) -> np.ndarray:
        """Indices of the records inside bbox (west, south, east, north), all when None."""
        if bbox is None:
            return np.flatnonzero(np.isfinite(self.lon) & np.isfinite(self.lat))
        w, s, e, n = bbox
        return np.flatnonzero((self.lon >= w) & (self.lon <= e) & (self.lat >= s) & (self.lat <= n))

    def rows(self) -> Iterable[dict]:
        """Every record of the view as a dict of its point properties, position and accepted name."""
        for i, rec in enumerate(self.records):
            d = dict(zip(POINT_PROPS, rec))
            located = np.isfinite(self.lon[i])
            d.update(lon=float(self.lon[i]) if located else None, lat=float(self.lat[i]) if located else None,
                     accepted_name=self.species[self.species_code[i]])
            yield d

    def feature(self, i: int) -> dict:
        props = dict(zip(POINT_PROPS, self.records[i]))
        props["generalized"] = bool(self.generalized[i])
        props["species"] = self.species[self.species_code[i]]
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [self.lon[i], self.lat[i]]},
                "properties": props}


def cluster(rows: Iterable[dict] | ViewIndex, zoom: float, *, bbox=None, cell_px: int = CLUSTER_PX,
            max_zoom: int = CLUSTER_MAX_ZOOM) -> dict[str, Any]:
    """Records gathered on a screen grid at `zoom`: a cell of one record is that record; a cell of many is a
    cluster at its members' mean position with the count, the number generalized and the commonest species.
    From `max_zoom` on, records are drawn one by one when at most MAX_POINTS are in view."""
    index = rows if isinstance(rows, ViewIndex) else ViewIndex(rows)
    sel = index.select(bbox)
    if (zoom >= max_zoom and len(sel) <= MAX_POINTS) or len(sel) == 0:
        return {"clustered": False, "total": int(len(sel)), "features": [index.feature(i) for i in sel]}
    cell = 2 * math.pi * _R / (256 * 2 ** max(0.0, float(zoom))) * cell_px
    ix = np.floor(index.x[sel] / cell).astype(np.int64)
    iy = np.floor(index.y[sel] / cell).astype(np.int64)
    key = (ix - ix.min()) * (int(iy.max() - iy.min()) + 1) + (iy - iy.min())   # one integer per grid cell
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    n_cells = len(counts)
    lon = np.bincount(inverse, weights=index.lon[sel], minlength=n_cells) / counts
    lat = np.bincount(inverse, weights=index.lat[sel], minlength=n_cells) / counts
    n_gen = np.bincount(inverse, weights=index.generalized[sel], minlength=n_cells).astype(int)
    n_sp = max(1, len(index.species))
    pair, pair_n = np.unique(inverse * n_sp + index.species_code[sel], return_counts=True)
    top: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for key, k in zip(pair.tolist(), pair_n.tolist()):
        top[key // n_sp].append((-k, key % n_sp))
    first = np.full(n_cells, -1, dtype=np.int64)
    first[inverse[::-1]] = sel[::-1]          # a member of each cell (the single record of one-record cells)
    features = []
    for c in range(n_cells):
        if counts[c] == 1:
            features.append(index.feature(int(first[c])))
            continue
        best = sorted(top[c])[:3]
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [round(float(lon[c]), 3), round(float(lat[c]), 3)]},
                         "properties": {"cluster": True, "point_count": int(counts[c]), "generalized_count": int(n_gen[c]),
                                        "generalized": bool(n_gen[c] > 0),
                                        "species": [index.species[code] for _, code in best],
                                        "species_counts": [-k for k, _ in best]}})
    return {"clustered": True, "total": int(len(sel)), "features": features}


def tracks(rows: Iterable[dict]) -> list[dict]:
    """Each individual's detections joined in time order (a line per individual, as the view locates them),
    and its border crossings: consecutive detections in different countries (a segment from the last
    detection on one side to the first on the other)."""
    by: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("individual") and r.get("lon") is not None and r.get("lat") is not None and r.get("time_utc"):
            by[(r["dataset"], r["individual"])].append(r)
    out = []
    for (dataset, ind), recs in sorted(by.items()):
        recs.sort(key=lambda r: (str(r["time_utc"]), r["hub_id"]))
        species = recs[0].get("accepted_name") or recs[0].get("scientific_name")
        generalized = any(r.get("data_generalizations") for r in recs)
        coords = [[r["lon"], r["lat"]] for r in recs]
        countries = sorted({r["country_code"] for r in recs if r.get("country_code")})
        if len(coords) >= 2:
            out.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                        "properties": {"kind": "track", "individual": ind, "dataset": dataset, "species": species,
                                       "detections": len(recs), "first": recs[0]["time_utc"],
                                       "last": recs[-1]["time_utc"], "countries": ";".join(countries),
                                       "generalized": generalized}})
        for a, b in zip(recs, recs[1:]):
            ca, cb = a.get("country_code"), b.get("country_code")
            if ca and cb and ca != cb:
                out.append({"type": "Feature",
                            "geometry": {"type": "LineString", "coordinates": [[a["lon"], a["lat"]], [b["lon"], b["lat"]]]},
                            "properties": {"kind": "crossing", "individual": ind, "dataset": dataset,
                                           "species": species, "from": ca, "to": cb, "direction": f"{ca}→{cb}",
                                           "after": a["time_utc"], "before": b["time_utc"],
                                           "generalized": bool(a.get("data_generalizations")
                                                               or b.get("data_generalizations"))}})
    return out


def detections_over_time(rows: Iterable[dict], *, top: int = 8) -> dict[str, Any]:
    """Records per month for each (species, country) pair, the `top` commonest pairs (the rest summed)."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    months: set[str] = set()
    for r in rows:
        t = r.get("time_utc")
        if not t:
            continue
        month = str(t)[:7]
        months.add(month)
        key = (r.get("accepted_name") or r.get("scientific_name") or "?", r.get("country_code") or "?")
        counts[key][month] += 1
    axis = sorted(months)
    totals = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    series = [{"species": s, "country": c, "counts": [by.get(m, 0) for m in axis], "total": sum(by.values())}
              for (s, c), by in totals[:top]]
    rest = totals[top:]
    if rest:
        series.append({"species": "other", "country": "", "total": sum(sum(by.values()) for _, by in rest),
                       "counts": [sum(by.get(m, 0) for _, by in rest) for m in axis]})
    return {"months": axis, "series": series}


# ----------------------------------------------------------------------------------- demo output tables
def _csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _num(v) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def protconn_table(demo: Path | None) -> list[dict]:
    """ProtConn (%) per country and dispersal distance from the demo's protconn.csv."""
    if demo is None:
        return []
    return [{"country": r["region"], "distance_km": (_num(r["distance_m"]) or 0) / 1000.0,
             "protconn": _num(r["ProtConn"]), "prot": _num(r["Prot"]), "trans": _num(r.get("ProtConn_Trans"))}
            for r in _csv(demo / "protconn.csv")]


CRANES = ("grus", "antigone", "leucogeranus")


def crane_sites(demo: Path | None) -> list[dict]:
    """Site importance for cranes: each site's mean peak count as a share (%) of the crane's flyway population
    (1% is Ramsar criterion 6), from the demo's waterbird_site_species.csv; largest shares first."""
    if demo is None:
        return []
    out = []
    for r in _csv(demo / "waterbird_site_species.csv"):
        if not (r.get("species") or "").lower().startswith(CRANES):
            continue
        share = _num(r.get("share_pct"))
        if share is not None:
            out.append({"site": r.get("site_name") or r.get("site_id"), "species": r["species"],
                        "season": r.get("season"), "country": r.get("country"), "share_pct": round(share, 2),
                        "criterion6": str(r.get("criterion6")).lower() == "true"})
    return sorted(out, key=lambda d: -d["share_pct"])


def glacier_series(demo: Path | None, *, top: int = 8) -> dict[str, Any]:
    """Cumulative mass balance (m w.e.) per year of the glaciers with the longest records."""
    if demo is None:
        return {"years": [], "series": []}
    rows = _csv(demo / "glacier_mass_balance.csv")
    by: dict[str, dict[int, float]] = defaultdict(dict)
    country = {}
    for r in rows:
        y, v = _num(r.get("year")), _num(r.get("cumulative_mwe"))
        if y is None or v is None:
            continue
        by[r["name"]][int(y)] = v
        country[r["name"]] = r.get("country")
    names = sorted(by, key=lambda n: (-len(by[n]), n))[:top]
    years = sorted({y for n in names for y in by[n]})
    trends = {r["name"]: _num(r.get("ts_slope_mwe_per_yr")) for r in _csv(demo / "glacier_trends.csv")}
    return {"years": years, "series": [{"glacier": n, "country": country[n], "trend_mwe_per_yr": trends.get(n),
                                        "cumulative_mwe": [by[n].get(y) for y in years]} for n in names]}
