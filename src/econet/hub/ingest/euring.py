"""EURING exchange code 2000 (fixed width), 2000+ and 2020 (pipe-separated) ring encounters, decoded with the
`euring` package (Observation.org). One record per line.

Each line becomes a ring encounter (every decoded field kept, raw code too), the ringed bird an individual
(scheme + ring number, so ringing and recoveries of one bird join up), and an observation (record type
'ring') so that ring data appear in queries and exports with everything else.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.ingest.base import Ingest, chunks

FORMAT = "euring"
#: EURING "Accuracy of Co-ordinates" codes 0-7 -> radius in metres (EURING 2020 manual, field 26)
ACCURACY_M = {"0": 1000.0, "1": 5000.0, "2": 10000.0, "3": 20000.0, "4": 50000.0, "5": 100000.0,
              "6": 500000.0, "7": 1000000.0}
SEX = {"M": "male", "F": "female"}


def detect(path: Path) -> bool:
    if not path.is_file() or path.suffix.lower() not in (".txt", ".psv", ".euring", ".dat", ".csv"):
        return False
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            first = next((ln.rstrip("\r\n") for ln in fh if ln.strip()), "")
    except OSError:
        return False
    if "|" in first:
        return first.count("|") >= 32 and len(first.split("|")[0]) == 3
    return len(first) == 94 and first[:3].isalpha() and first[:3].isupper()


def decode(line: str, path: Path | str | None = None, row: int | None = None) -> dict:
    """Decode one EURING record into {format, fields{key: value}, lon, lat}; EconetError names the field."""
    import euring
    rec = euring.EuringRecord.decode(line)
    d = rec.to_dict()
    errors = (d.get("errors") or {})
    ferr = errors.get("fields") or []
    rerr = errors.get("record") or []
    if ferr:
        e = ferr[0]
        raise EconetError(f"EURING: {e.get('message')}", path=path, row=row, field=e.get("field") or e.get("key"))
    if rerr:
        e = rerr[0]
        msg = e.get("message") if isinstance(e, dict) else str(e)
        raise EconetError(f"EURING: {msg}", path=path, row=row)
    fields = {k: v.get("value") for k, v in d["fields"].items()}
    lat = lon = None
    if fields.get("latitude") not in (None, "") and fields.get("longitude") not in (None, ""):
        lat, lon = float(fields["latitude"]), float(fields["longitude"])
    else:
        coords = fields.get("geographical_coordinates") or ""
        if coords and set(coords) != {"."}:
            from euring.codes import parse_geographical_coordinates
            try:
                p = parse_geographical_coordinates(coords)
                lat, lon = float(p["lat"]), float(p["lng"])
            except Exception:
                raise EconetError(f"EURING: bad coordinates {coords!r}", path=path, row=row,
                                  field="Geographical Co-ordinates") from None
    return {"format": rec.display_format, "fields": fields, "lon": lon, "lat": lat}


def _date(fields, path, row):
    s = fields.get("date") or ""
    try:
        d = dt.date(int(s[4:8]), int(s[2:4]), int(s[0:2]))
    except ValueError:
        raise EconetError(f"EURING: bad date {s!r}", path=path, row=row, field="Date") from None
    t = fields.get("time") or ""
    when = dt.datetime(d.year, d.month, d.day)
    if t.isdigit() and len(t) == 4:
        when = when.replace(hour=int(t[:2]), minute=int(t[2:]))
    return d, when


def _species_name(code: str | None) -> str | None:
    if not code:
        return None
    from euring.codes import lookup_species
    try:
        name = lookup_species(code)
    except Exception:
        return None
    return name if name and "unknown" not in name.lower() else None


def _lines(path: Path):
    with open(path, encoding="utf-8-sig", errors="strict") as fh:
        try:
            for i, ln in enumerate(fh, start=1):
                ln = ln.rstrip("\r\n")
                if ln.strip():
                    yield i, ln
        except UnicodeDecodeError:
            raise EconetError("not UTF-8 text", path=path) from None


def load(ing: Ingest, path: Path, **_options) -> dict:
    formats = set()
    for part in chunks(_lines(path), 2000):
        decoded = []
        for line, raw in part:
            rec = decode(raw, path, line)
            formats.add(rec["format"])
            f = rec["fields"]
            d, when = _date(f, path, line)
            code = f.get("species_concluded") or f.get("species_mentioned")
            name = _species_name(code)
            decoded.append((line, raw, rec, f, d, when, code, name, ing.taxa.match(name)))
        pl = ing.places([r[2]["lon"] for r in decoded], [r[2]["lat"] for r in decoded],
                        rows=[r[0] for r in decoded], path=path)
        keys = [f"{r[3]['ringing_scheme']}:{r[3]['identification_number']}" for r in decoded]
        inds = ing.individual_ids(keys, [r[8] for r in decoded], [SEX.get(r[3].get("sex_concluded") or "")
                                                                  for r in decoded])
        rings, obs = [], []
        for i, (line, raw, rec, f, d, when, code, name, tid) in enumerate(decoded):
            place = {c: pl[c][i] for c in pl}
            unc = ACCURACY_M.get(f.get("accuracy_of_coordinates") or "")
            common = {"source_row": line, "attributes": f, **place, "coordinate_uncertainty_m": unc}
            rings.append({"euring_format": rec["format"], "scheme": f["ringing_scheme"],
                          "ring": f["identification_number"], "species_code": code, "taxon_id": tid, "date": d,
                          "time_utc": when, "place_code": f.get("place_code"), "condition": f.get("condition"),
                          "circumstances": f.get("circumstances"), "sex": f.get("sex_concluded"),
                          "age": f.get("age_concluded"), "raw": raw, "individual_id": inds.get(keys[i]),
                          "row_hash": ing.row_hash("euring", [raw]), **common})
            obs.append({"record_type": "ring", "occurrence_key": f"{keys[i]}:{f.get('date')}:{line}",
                        "basis_of_record": "HumanObservation", "observation_type": "animal",
                        "taxon_id": tid, "scientific_name": name or (f"EURING {code}" if code else None), "count": 1,
                        "time_utc": when, "time_offset_min": None, "individual_key": keys[i],
                        "individual_id": inds.get(keys[i]), "sex": SEX.get(f.get("sex_concluded") or ""),
                        "locality": f.get("place_name") or f.get("place_code"),
                        "row_hash": ing.row_hash("euring-observation", [raw]), **common})
        ing.insert(m.RingEncounter, rings)
        ing.insert(m.Observation, obs)
        ing.tick(len(part), "ring encounters")
    return {"source_format": "euring:" + ",".join(sorted(formats))}
