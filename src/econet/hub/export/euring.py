"""EURING exchange-code export: the hub's ring encounters back out as the lines the EURING reader imports.

Records are written as EURING 2000+ (pipe-separated); a EURING 2000 record is converted to 2000+, and a 2020
record stays 2020 where 2000+ could not hold it (decimal latitude/longitude, letter accuracy codes), so a
re-import gives every decoded field back. With `version="2020"` every record is written as EURING 2020.

Through the caller's view: datasets it may not see and withheld records are left out; a generalized record
has its Geographical Co-ordinates (and 2020 Latitude/Longitude) rounded to the sharing grid, its Accuracy of
Co-ordinates code set to the smallest EURING radius that holds the rounding, and Place Name removed, as
the EURING code allows (Place Code, a country/region, stays).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection

from econet.atomic import atomic_path
from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.export._view import accepted_names, area_test, record_where, scoped_datasets
from econet.hub.query import ObservationFilter

VERSIONS = {"2000+": "euring2000plus", "2020": "euring2020"}
#: EURING Accuracy of Co-ordinates codes by radius (m), smallest first (EURING 2020 manual, field 26)
ACCURACY_CODES = (("0", 1000.0), ("1", 5000.0), ("2", 10000.0), ("3", 20000.0), ("4", 50000.0),
                  ("5", 100000.0), ("6", 500000.0), ("7", 1000000.0))


def accuracy_code(radius_m: float) -> str:
    """The smallest EURING accuracy code whose circle holds `radius_m`."""
    for code, r in ACCURACY_CODES:
        if radius_m <= r:
            return code
    return "7"


def _dms(lat: float, lon: float) -> str:
    """EURING Geographical Co-ordinates (+DDMMSS+DDDMMSS), rounded to the second."""
    def part(v: float, width: int) -> str:
        s = round(abs(v) * 3600)
        return f"{'-' if v < 0 else '+'}{s // 3600:0{width}d}{s % 3600 // 60:02d}{s % 60:02d}"
    return part(lat, 2) + part(lon, 3)


def encode(raw: str, version: str = "2000+", generalized: dict | None = None) -> str:
    """One EURING line in `version` (2000+ falls back to 2020 where it would lose data), generalized when
    `generalized` (the view row: lon, lat, coordinate_uncertainty_m) is given."""
    from euring import EuringRecord
    rec = EuringRecord.decode(raw)
    if generalized is not None:
        lat, lon = generalized.get("lat"), generalized.get("lon")
        fields = {k: v.get("value") for k, v in rec.to_dict()["fields"].items()}
        if lat is not None and lon is not None:
            coords = fields.get("geographical_coordinates") or ""
            if coords and set(coords) != {"."}:
                rec.set("geographical_coordinates", _dms(lat, lon))
            if fields.get("latitude") not in (None, ""):
                rec.set("latitude", f"{lat:.4f}")
                rec.set("longitude", f"{lon:.4f}")
            rec.set("accuracy_of_coordinates", accuracy_code(float(generalized.get("coordinate_uncertainty_m") or 0)))
        if fields.get("place_name"):
            rec.set("place_name", "")
    target = VERSIONS[version]
    if rec.format == target:
        return rec.serialize()
    try:
        return rec.export(target)
    except ValueError:  # 2000+ cannot hold this 2020 record without loss: keep it in 2020
        if version == "2000+" and rec.format == "euring2020":
            return rec.serialize()
        raise


def export_euring(conn: Connection, view, out: str | Path, f: ObservationFilter | None = None, *,
                  version: str = "2000+", progress=None) -> dict:
    """Write the ring encounters the view may see as EURING lines (one per record) to `out`, atomically."""
    from econet.hub import sharing
    if version not in VERSIONS:
        raise EconetError(f"EURING version must be one of {', '.join(VERSIONS)}", field="version")
    f = f or ObservationFilter()
    rules = sharing.load_rules(conn, view)
    datasets = scoped_datasets(rules, f)
    names = accepted_names(conn)
    R = m.RingEncounter
    where = record_where(conn, f, taxon_col=R.taxon_id, time_col=R.date, country_col=R.country_code,
                         lon_col=R.lon, lat_col=R.lat)
    if f.individual:
        where.append(R.individual_id.in_(select(m.Individual.id).where(m.Individual.individual_key == f.individual)))
    inside = area_test(f)
    q = (select(R.id, R.dataset_id, R.raw, R.taxon_id, R.lon, R.lat, R.country_code, R.coordinate_uncertainty_m,
                R.attributes).where(R.dataset_id.in_(list(datasets)), *where).order_by(R.id)
         .execution_options(yield_per=5000))
    n = generalized = left_out = 0
    used = set()
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for r in conn.execute(q) if datasets else ():
            if inside is not None and not inside(r.lon, r.lat):
                continue
            d = datasets[r.dataset_id]
            row = {"dataset": d.name, "country_code": r.country_code, "accepted_name": names.get(r.taxon_id),
                   "lon": r.lon, "lat": r.lat, "coordinate_uncertainty_m": r.coordinate_uncertainty_m,
                   "locality": (r.attributes or {}).get("place_name")}
            seen = next(sharing.apply_rules(rules, [row]), None)
            if seen is None:
                left_out += 1
                continue
            g = seen if seen.get("data_generalizations") else None
            fh.write(encode(r.raw, version, g) + "\n")
            n += 1
            generalized += g is not None
            used.add(d.name)
            if progress and n % 10000 == 0:
                progress(n, None, "ring encounters")
    sharing.audit(conn, view, "export", f"euring:{','.join(sorted(used)) or 'nothing'}",
                  {"records": n, "out": str(out)}, rules=rules, rows=[{"dataset": u} for u in used])
    return {"format": "euring", "version": version, "files": [str(out)], "records": n, "generalized": generalized,
            "withheld": left_out, "view": view.describe(), "datasets": _terms(rules, used)}


def _terms(rules, used) -> list[dict]:
    return [{"dataset": rules.datasets[u].name, "owner": rules.datasets[u].owner_name,
             "license": rules.datasets[u].license, "citation": rules.datasets[u].citation} for u in sorted(used)]
