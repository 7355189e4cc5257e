"""Ring recoveries: read EURING (2000, 2000+, 2020) and national CSV encounters, link the encounters of one
ring into movements with ellipsoidal distance, direction and elapsed time (checked against EURING fields
31-33), and build a flyway network (sites or grid cells as nodes, movements as edges, flows between
countries per species and season) for GeoPackage export and a map.

Encounter table columns (what :func:`read_euring` returns and :func:`read_encounters_csv` expects after
mapping): ring_id, species, date, lat, lon; optional scheme, place_code, country, site_id, condition,
circumstances, metal_ring_information, euring_distance_km, euring_direction_deg, euring_elapsed_days.

This is a thin adapter over the ``euring`` package until the hub's EURING importer lands.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from econet.errors import EconetError

#: EURING field 5 (Metal Ring Information) codes meaning the ring was fitted at this encounter.
RING_FITTED = {"1", "2", "3"}

_SEASON_BY_MONTH = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
                    6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}


# ------------------------------------------------------------------------------------------------ reading
def _dms(value: str, width: int) -> float:
    from euring import euring_dms_to_float

    return float(euring_dms_to_float(value))


def _int_or_nan(v: str) -> float:
    v = (v or "").strip()
    if not v or set(v) <= {"-", "."}:
        return np.nan
    try:
        return float(int(v))
    except ValueError:
        return np.nan


def _lookup(code: str, kind: str) -> str:
    """Scientific name of a EURING species code, or country of a place code ('' when unknown)."""
    from euring import codes

    try:
        if kind == "species":
            return str(codes.lookup_species(code) or "")
        return str((codes.lookup_place_details(code) or {}).get("country", ""))
    except Exception:  # unknown or malformed code: the raw code stays in its own column
        return ""


def decode_euring_line(line: str, *, where: str | None = None, lineno: int | None = None) -> dict:
    """One EURING record (2000 fixed width, 2000+ or 2020 pipe-delimited) as a flat dict of the fields
    econet uses. Bad records raise EconetError naming the line and field."""
    from euring import EuringRecord

    text = line.rstrip("\r\n")
    try:
        rec = EuringRecord.decode(text)
    except Exception as exc:  # the library raises its own exceptions for unreadable text
        raise EconetError(f"not a EURING record ({exc})", path=where, row=lineno) from None
    if rec.errors.get("record"):
        raise EconetError(f"not a EURING record ({rec.errors['record'][0]['message']})", path=where, row=lineno)
    f = {k: (v.get("value") or "") for k, v in rec.fields.items()}
    for key in ("ringing_scheme", "identification_number", "date"):
        if not f.get(key, "").strip():
            raise EconetError("required EURING field is empty", path=where, row=lineno, field=key)
    try:
        date = pd.to_datetime(f["date"], format="%d%m%Y")
    except ValueError:
        raise EconetError(f"not a EURING date (DDMMYYYY): {f['date']!r}", path=where, row=lineno,
                          field="date") from None
    lat = lon = np.nan
    if f.get("latitude", "").strip() and f.get("longitude", "").strip():
        lat, lon = float(f["latitude"]), float(f["longitude"])
    else:
        coords = f.get("geographical_coordinates", "")
        if coords and not set(coords) <= {"."}:
            try:
                lat = _dms(coords[:7], 2)
                lon = _dms(coords[7:], 3)
            except Exception:
                raise EconetError(f"cannot read coordinates {coords!r}", path=where, row=lineno,
                                  field="geographical_coordinates") from None
    if not (np.isfinite(lat) and np.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        raise EconetError("encounter has no usable coordinates", path=where, row=lineno,
                          field="geographical_coordinates")
    place = f.get("place_code", "")
    species = f.get("species_concluded") or f.get("species_mentioned", "")
    return {
        "ring_id": f"{f['ringing_scheme']}|{f['identification_number']}",
        "scheme": f["ringing_scheme"], "ring": f["identification_number"],
        "identification_method": f.get("primary_identification_method", ""),
        "species": species, "species_name": _lookup(species, "species"),
        "date": date, "date_accuracy": f.get("accuracy_of_date", ""),
        "lat": lat, "lon": lon, "coordinate_accuracy": f.get("accuracy_of_coordinates", ""),
        "place_code": place, "country": place[:2] if len(place) >= 2 else "",
        "country_name": _lookup(place, "place"),
        "condition": f.get("condition", ""), "circumstances": f.get("circumstances", ""),
        "metal_ring_information": f.get("metal_ring_information", ""),
        "age": f.get("age_concluded", ""), "sex": f.get("sex_concluded", ""),
        "euring_distance_km": _int_or_nan(f.get("derived_data_distance", "")),
        "euring_direction_deg": _int_or_nan(f.get("derived_data_direction", "")),
        "euring_elapsed_days": _int_or_nan(f.get("derived_data_elapsed_time", "")),
        "format": rec.format, "source_line": lineno,
    }


def read_euring(source: str | Path | Iterable[str]) -> pd.DataFrame:
    """Encounters from a EURING file (any of the three formats, mixed allowed) or from lines of text.
    Blank lines and lines starting with '#' are skipped."""
    where = None
    if isinstance(source, (str, Path)) and Path(source).exists():
        where = str(source)
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            lines = Path(source).read_text(encoding="latin-1").splitlines()
    elif isinstance(source, (str, Path)):
        if "\n" not in str(source) and not ("|" in str(source) or len(str(source)) >= 90):
            raise EconetError("file not found", path=source)
        lines = str(source).splitlines()
    else:
        lines = list(source)
    rows = [decode_euring_line(line, where=where, lineno=i + 1)
            for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise EconetError("no EURING records found", path=where)
    return pd.DataFrame(rows)


#: The columns a national CSV must provide (after mapping) to be linked.
CSV_REQUIRED = ("ring_id", "species", "date", "lat", "lon")


def read_encounters_csv(path: str | Path, mapping: Mapping[str, str] | str | Path | None = None, *,
                        date_format: str | None = None) -> pd.DataFrame:
    """Encounters from a national CSV format. ``mapping`` maps econet's column names to the file's
    (``{"ring_id": "RingNo", "date": "Datum", ...}``), as a dict or a JSON/YAML file; unmapped names are
    taken as they are. Required after mapping: ring_id, species, date, lat, lon."""
    p = Path(path)
    if not p.is_file():
        raise EconetError("file not found", path=p)
    if isinstance(mapping, (str, Path)):
        mp = Path(mapping)
        if not mp.is_file():
            raise EconetError("mapping file not found", path=mp)
        import yaml

        try:
            mapping = yaml.safe_load(mp.read_text(encoding="utf-8")) or {}
        except Exception as exc:
            raise EconetError(f"cannot read mapping ({exc})", path=mp) from None
        if not isinstance(mapping, dict):
            raise EconetError("mapping must be a table of econet_name: file_column", path=mp)
    mapping = dict(mapping or {})
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise EconetError(f"cannot read CSV ({exc})", path=p) from None
    df = pd.DataFrame(index=raw.index)
    for ours in set(CSV_REQUIRED) | set(mapping) | set(raw.columns):
        theirs = mapping.get(ours, ours)
        if theirs in raw.columns:
            df[ours] = raw[theirs]
    missing = [c for c in CSV_REQUIRED if c not in df.columns]
    if missing:
        raise EconetError(f"missing column(s) {', '.join(missing)} (map them with a mapping file)",
                          path=p, field=missing[0])
    for c in ("lat", "lon"):
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() | (v.abs() > (90 if c == "lat" else 180))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise EconetError(f"not a {'latitude' if c == 'lat' else 'longitude'}: {df[c].iloc[i]!r}",
                              path=p, row=i + 2, field=mapping.get(c, c))
        df[c] = v
    d = pd.to_datetime(df["date"], format=date_format, errors="coerce")
    if d.isna().any():
        i = int(np.flatnonzero(d.isna().to_numpy())[0])
        raise EconetError(f"not a date: {df['date'].iloc[i]!r}", path=p, row=i + 2,
                          field=mapping.get("date", "date"))
    df["date"] = d
    for c in ("euring_distance_km", "euring_direction_deg", "euring_elapsed_days"):
        df[c] = pd.to_numeric(df[c], errors="coerce") if c in df.columns else np.nan
    for c in ("country", "metal_ring_information", "condition", "circumstances"):
        if c not in df.columns:
            df[c] = ""
    df["source_line"] = np.arange(2, len(df) + 2)
    return df


# ------------------------------------------------------------------------------------------------ geometry
def rhumb_bearing(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Constant-heading (loxodrome) direction from point 1 to point 2 on the sphere, degrees 0-360."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians((np.asarray(lon2, float) - np.asarray(lon1, float) + 540.0) % 360.0 - 180.0)
    dpsi = np.log(np.tan(np.pi / 4 + p2 / 2) / np.tan(np.pi / 4 + p1 / 2))
    return np.degrees(np.arctan2(dl, dpsi)) % 360.0


def geodesic(lat1, lon1, lat2, lon2) -> tuple[np.ndarray, np.ndarray]:
    """Ellipsoidal (WGS84, Karney's algorithm via pyproj.Geod) distance in km and initial azimuth 0-360."""
    from pyproj import Geod

    g = Geod(ellps="WGS84")
    az, _, dist = g.inv(np.asarray(lon1, float), np.asarray(lat1, float),
                        np.asarray(lon2, float), np.asarray(lat2, float))
    return np.asarray(dist) / 1000.0, np.asarray(az) % 360.0


def _angle_diff(a, b):
    return np.abs((np.asarray(a, float) - np.asarray(b, float) + 180.0) % 360.0 - 180.0)


# ------------------------------------------------------------------------------------------------ linking
def _is_ringing(row) -> bool:
    return str(row.get("metal_ring_information", "")) in RING_FITTED


def link_encounters(encounters: pd.DataFrame, *, mode: str = "ringing",
                    distance_tolerance_km: float = 2.0, distance_tolerance_rel: float = 0.006,
                    direction_tolerance_deg: float = 1.5) -> pd.DataFrame:
    """Link the encounters of each ring into movements.

    ``mode="ringing"`` (EURING's convention for fields 31-33): from the ringing encounter (the one where a
    metal ring was fitted, field 5 = 1/2/3, else the earliest) to every later encounter.
    ``mode="consecutive"``: between successive encounters (legs of a life history).

    Distance and initial azimuth are on the WGS84 ellipsoid; ``rhumb_deg`` is the constant-heading
    direction; elapsed time in days. Where the later encounter carries EURING fields 31-33, they are
    compared: distance within max(``distance_tolerance_km``, ``distance_tolerance_rel`` x distance) (EURING
    distances are whole km and may come from a spherical formula), direction within
    ``direction_tolerance_deg`` of the rhumb or the geodesic direction, elapsed time exactly.
    """
    if mode not in ("ringing", "consecutive"):
        raise EconetError(f"unknown linking mode {mode!r} (use 'ringing' or 'consecutive')")
    need = [c for c in ("ring_id", "date", "lat", "lon") if c not in encounters.columns]
    if need:
        raise EconetError(f"encounters: missing column(s) {', '.join(need)}", field=need[0])
    enc = encounters.assign(_lat=encounters["lat"].round(4), _lon=encounters["lon"].round(4))
    # the same encounter read from two files (e.g. the EURING2000 and 2020 copies) counts once
    enc = enc.drop_duplicates(subset=["ring_id", "date", "_lat", "_lon"]).drop(columns=["_lat", "_lon"])
    pairs = []
    for ring, g in enc.groupby("ring_id", sort=True):
        g = g.sort_values("date", kind="stable")
        recs = g.to_dict("records")
        if len(recs) < 2:
            continue
        if mode == "ringing":
            ringing = next((r for r in recs if _is_ringing(r)), recs[0])
            for r in recs:
                if r is ringing or r["date"] < ringing["date"]:
                    continue
                pairs.append((ring, ringing, r))
        else:
            for a, b in zip(recs[:-1], recs[1:]):
                pairs.append((ring, a, b))
    cols = ["ring_id", "species", "from_date", "to_date", "from_lat", "from_lon", "to_lat", "to_lon",
            "from_country", "to_country", "distance_km", "azimuth_deg", "rhumb_deg", "elapsed_days",
            "season", "condition", "circumstances", "euring_distance_km", "euring_direction_deg",
            "euring_elapsed_days", "distance_diff_km", "direction_diff_deg", "elapsed_diff_days",
            "euring_check"]
    if not pairs:
        return pd.DataFrame(columns=cols)
    a = pd.DataFrame([p[1] for p in pairs]).reset_index(drop=True)
    b = pd.DataFrame([p[2] for p in pairs]).reset_index(drop=True)
    dist, az = geodesic(a["lat"], a["lon"], b["lat"], b["lon"])
    rh = rhumb_bearing(a["lat"], a["lon"], b["lat"], b["lon"])
    same = dist < 1e-9
    rh = np.where(same, np.nan, rh)
    az = np.where(same, np.nan, az)
    elapsed = (pd.to_datetime(b["date"]) - pd.to_datetime(a["date"])).dt.days.to_numpy()
    out = pd.DataFrame({
        "ring_id": [p[0] for p in pairs],
        "species": b.get("species", pd.Series([""] * len(b))).where(lambda s: s.astype(str) != "",
                                                                    a.get("species")),
        "from_date": a["date"], "to_date": b["date"],
        "from_lat": a["lat"], "from_lon": a["lon"], "to_lat": b["lat"], "to_lon": b["lon"],
        "from_country": a.get("country", ""), "to_country": b.get("country", ""),
        "distance_km": dist, "azimuth_deg": az, "rhumb_deg": rh, "elapsed_days": elapsed,
        "season": pd.to_datetime(b["date"]).dt.month.map(_SEASON_BY_MONTH),
        "condition": b.get("condition", ""), "circumstances": b.get("circumstances", ""),
    })
    if "species_name" in b.columns:
        out.insert(2, "species_name", b["species_name"].to_numpy())
    for c in ("from_site", "to_site"):
        src = a if c == "from_site" else b
        if "site_id" in src.columns:
            out[c] = src["site_id"].to_numpy()
    for c in ("euring_distance_km", "euring_direction_deg", "euring_elapsed_days"):
        out[c] = pd.to_numeric(b[c], errors="coerce").to_numpy() if c in b.columns else np.nan
    if mode == "consecutive":  # EURING 31-33 refer to the ringing place; not comparable for later legs
        first_leg = np.zeros(len(out), bool)
        for i, p in enumerate(pairs):
            first_leg[i] = _is_ringing(p[1])
        for c in ("euring_distance_km", "euring_direction_deg", "euring_elapsed_days"):
            out.loc[~first_leg, c] = np.nan
    out["distance_diff_km"] = out["distance_km"] - out["euring_distance_km"]
    out["direction_diff_deg"] = np.fmin(_angle_diff(out["rhumb_deg"], out["euring_direction_deg"]),
                                        _angle_diff(out["azimuth_deg"], out["euring_direction_deg"]))
    out["elapsed_diff_days"] = out["elapsed_days"] - out["euring_elapsed_days"]
    # EURING writes 00000/000/00000 for "not calculated"; only non-zero derived data are compared
    has = (out["euring_distance_km"].fillna(0) > 0) | (out["euring_elapsed_days"].fillna(0) > 0)
    tol = np.maximum(distance_tolerance_km, distance_tolerance_rel * out["distance_km"])
    ok_d = out["distance_diff_km"].abs() <= tol
    ok_a = (out["direction_diff_deg"] <= direction_tolerance_deg) | out["euring_direction_deg"].isna()
    ok_t = out["elapsed_diff_days"].abs() <= 0
    out["euring_check"] = np.where(~has, "n/a", np.where(ok_d & ok_a & ok_t, "ok", "mismatch"))
    extra = [c for c in ("species_name", "from_site", "to_site") if c in out.columns]
    return out[[c for c in cols if c in out.columns] + extra]


# ------------------------------------------------------------------------------------------------ network
def _cell_key(lon, lat, cell: float):
    ix = np.floor(np.asarray(lon, float) / cell).astype(int)
    iy = np.floor(np.asarray(lat, float) / cell).astype(int)
    return ix, iy


def flyway_network(movements: pd.DataFrame, *, cell_deg: float = 1.0, use_sites: bool = True,
                   countries=None, country_column: str = "iso_a2") -> dict[str, pd.DataFrame]:
    """A flyway network from movements: nodes are sites (``from_site``/``to_site`` when present and
    ``use_sites``) or grid cells of ``cell_deg`` degrees; edges join the node of the earlier encounter to
    the node of the later one, counted per species and season; country flows count movements between
    countries per species and season.

    Countries come from ``countries`` (a GeoDataFrame with ``country_column``) by point-in-polygon when
    given, else from the encounters' country (the EURING place-code country, e.g. 'DE', 'SV')."""
    if cell_deg <= 0:
        raise EconetError("cell size must be positive", field="cell_deg")
    mv = movements.copy()
    if countries is not None:
        import geopandas as gpd

        if country_column not in countries.columns:
            raise EconetError(f"countries layer has no '{country_column}' column", field=country_column)
        c = countries.to_crs(4326)[[country_column, "geometry"]]
        for end in ("from", "to"):
            pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(mv[f"{end}_lon"], mv[f"{end}_lat"]), crs=4326)
            j = gpd.sjoin(pts, c, how="left", predicate="intersects")
            j = j[~j.index.duplicated()]
            mv[f"{end}_country"] = j[country_column].reindex(pts.index).fillna(mv[f"{end}_country"]).to_numpy()
    sites = use_sites and {"from_site", "to_site"} <= set(mv.columns)
    ends = []
    for end in ("from", "to"):
        if sites:
            key = mv[f"{end}_site"].astype(str)
        else:
            ix, iy = _cell_key(mv[f"{end}_lon"], mv[f"{end}_lat"], cell_deg)
            key = pd.Series([f"c{x}_{y}" for x, y in zip(ix, iy)], index=mv.index)
        mv[f"{end}_node"] = key
        ends.append(pd.DataFrame({"node_id": key, "lon": mv[f"{end}_lon"], "lat": mv[f"{end}_lat"],
                                  "country": mv[f"{end}_country"]}))
    allpts = pd.concat(ends, ignore_index=True)
    nodes = allpts.groupby("node_id").agg(n_encounters=("lon", "size"),
                                          country=("country", lambda s: s.mode().iloc[0] if len(s.mode()) else ""))
    if sites:
        xy = allpts.groupby("node_id")[["lon", "lat"]].mean()
    else:
        parts = nodes.index.str[1:].str.split("_", expand=True)
        ix = np.array([int(p[0]) for p in parts]) if len(nodes) else np.array([])
        iy = np.array([int(p[1]) for p in parts]) if len(nodes) else np.array([])
        xy = pd.DataFrame({"lon": (ix + 0.5) * cell_deg, "lat": (iy + 0.5) * cell_deg}, index=nodes.index)
    nodes = nodes.join(xy).reset_index()
    edge_keys = ["from_node", "to_node", "species", "season"]
    edges = mv.groupby(edge_keys, dropna=False).agg(
        n_movements=("ring_id", "size"), n_rings=("ring_id", "nunique"),
        median_distance_km=("distance_km", "median"), median_elapsed_days=("elapsed_days", "median"),
        from_country=("from_country", "first"), to_country=("to_country", "first")).reset_index()
    xy = nodes.set_index("node_id")[["lon", "lat"]]
    edges = edges.join(xy.rename(columns={"lon": "from_lon", "lat": "from_lat"}), on="from_node")
    edges = edges.join(xy.rename(columns={"lon": "to_lon", "lat": "to_lat"}), on="to_node")
    flows = mv.groupby(["species", "season", "from_country", "to_country"], dropna=False).agg(
        n_movements=("ring_id", "size"), n_rings=("ring_id", "nunique"),
        median_distance_km=("distance_km", "median")).reset_index()
    flows["cross_border"] = flows["from_country"].astype(str) != flows["to_country"].astype(str)
    return {"nodes": nodes, "edges": edges, "country_flows": flows, "movements": mv}


def network_layers(network: Mapping[str, pd.DataFrame], densify: int = 32) -> dict:
    """GeoDataFrames (EPSG:4326) for the network: nodes (points), edges and movements (geodesic lines,
    densified so that they draw as great-circle arcs)."""
    import geopandas as gpd
    from pyproj import Geod
    from shapely.geometry import LineString

    g = Geod(ellps="WGS84")

    def line(lon1, lat1, lon2, lat2):
        if lon1 == lon2 and lat1 == lat2:
            return LineString([(lon1, lat1), (lon2, lat2)])
        mid = g.npts(lon1, lat1, lon2, lat2, densify)
        return LineString([(lon1, lat1), *mid, (lon2, lat2)])

    nodes = network["nodes"]
    out = {"nodes": gpd.GeoDataFrame(nodes, geometry=gpd.points_from_xy(nodes["lon"], nodes["lat"]), crs=4326)}
    e = network["edges"]
    out["edges"] = gpd.GeoDataFrame(e, geometry=[line(*r) for r in e[["from_lon", "from_lat", "to_lon", "to_lat"]]
                                                 .itertuples(index=False)], crs=4326)
    m = network["movements"].copy()
    for c in ("from_date", "to_date"):
        m[c] = pd.to_datetime(m[c]).dt.strftime("%Y-%m-%d")
    out["movements"] = gpd.GeoDataFrame(m, geometry=[line(*r) for r in m[["from_lon", "from_lat", "to_lon", "to_lat"]]
                                                     .itertuples(index=False)], crs=4326)
    return out


def write_network_gpkg(network: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write nodes, edges and movements as layers of one GeoPackage (atomically)."""
    from econet.geo.vector import write_gpkg

    return write_gpkg(path, network_layers(network))


def plot_network(network: Mapping[str, pd.DataFrame], path: str | Path, basemap=None,
                 title: str | None = None) -> Path:
    """A map (PNG): nodes sized by encounters, edges as geodesic arcs with width by number of movements,
    cross-border edges in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from econet.atomic import atomic_path

    layers = network_layers(network)
    fig, ax = plt.subplots(figsize=(9, 7))
    if basemap is not None:
        basemap.to_crs(4326).plot(ax=ax, color="#f2efe9", edgecolor="#999999", linewidth=0.6)
    e = layers["edges"]
    if len(e):
        cross = e["from_country"].astype(str) != e["to_country"].astype(str)
        widths = 0.8 + 1.5 * np.log1p(e["n_movements"].to_numpy(float))
        for geom, w, c in zip(e.geometry, widths, cross):
            xs, ys = geom.xy
            ax.plot(xs, ys, color="#c0392b" if c else "#2c7fb8", linewidth=w, alpha=0.7, zorder=2)
    n = layers["nodes"]
    ax.scatter(n["lon"], n["lat"], s=20 + 10 * n["n_encounters"], c="#333333", zorder=3)
    import re

    for _, r in n.iterrows():   # label sites (grid-cell ids like c115_50 are not worth printing)
        if not re.fullmatch(r"c-?\d+_-?\d+", str(r["node_id"])):
            ax.annotate(str(r["node_id"]), (r["lon"], r["lat"]), xytext=(5, 3), textcoords="offset points",
                        fontsize=7, zorder=4)
    ax.plot([], [], color="#c0392b", label="cross-border movements")
    ax.plot([], [], color="#2c7fb8", label="within one country")
    ax.legend(loc="best", fontsize=8)
    if len(n):
        pad = 2.0
        ax.set_xlim(n["lon"].min() - pad, n["lon"].max() + pad)
        ax.set_ylim(n["lat"].min() - pad, n["lat"].max() + pad)
        ax.set_aspect(1.0 / max(math.cos(math.radians(float(n["lat"].mean()))), 0.2))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title or "Flyway network from ring recoveries")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(path)
