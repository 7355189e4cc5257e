"""Camtrap DP 1.0 export: deployments.csv, media.csv, observations.csv and datapackage.json (valid, offline-checked).

Values come from the hub's columns (times in their original offsets) and, for fields the hub does not model,
from the verbatim source values; a package imported from Camtrap DP comes back with the same columns in the
same order and its own metadata (custom resources included).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from econet.atomic import OutputSet
from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.camtrap import (BASE_URL, VERSION, field_types,
                                is_camtrap, schema)
from econet.hub.ingest.base import format_time

FILES = {"deployments": "deployments.csv", "media": "media.csv", "observations": "observations.csv"}


def _fmt(value, ftype: str) -> str:
    if value is None:
        return ""
    if ftype == "integer":
        return str(int(value))
    if ftype == "number":
        f = float(value)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    if ftype == "boolean":
        return "true" if value else "false"
    return str(value)


def _columns(meta: dict | None, table: str) -> list[str]:
    cols = ((meta or {}).get("_econet") or {}).get("columns", {}).get(table)
    return list(cols) if cols else [f["name"] for f in schema(table)["fields"]]


def _row(values: dict, attributes: dict | None, columns: list[str], types: dict[str, str]) -> list[str]:
    merged = dict(attributes or {})
    for k, v in values.items():
        merged[k] = _fmt(v, types.get(k, "string")) if not isinstance(v, str) else v
    return [merged.get(c, "") for c in columns]


def export(conn: Connection, dataset_id: int, out: str | Path, *, progress=None) -> list[Path]:
    """Write the dataset as a Camtrap DP package into folder `out` (all files or none)."""
    ds = conn.execute(select(m.Dataset.__table__).where(m.Dataset.id == dataset_id)).one()
    n_dep = conn.execute(select(func.count()).select_from(m.Deployment)
                         .where(m.Deployment.dataset_id == dataset_id)).scalar_one()
    if not n_dep:
        raise EconetError(f"dataset {ds.name!r} has no camera-trap deployments to export as Camtrap DP",
                          field="format")
    meta = ds.source_metadata if ds.source_metadata and is_camtrap(ds.source_metadata) else None
    out = Path(out)
    written = []
    from sqlalchemy.orm import Session
    session = Session(bind=conn)
    with OutputSet(out) as outputs:
        # deployments
        types = field_types("deployments")
        cols = _columns(meta, "deployments")
        D, S = m.Deployment, m.Site
        q = (select(D, S.site_key, S.name.label("site_name")).join(S, S.id == D.site_id, isouter=True)
             .where(D.dataset_id == dataset_id).order_by(D.source_row, D.id))
        dep_keys = {}
        with open(outputs.path(FILES["deployments"]), "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(cols)
            for r in session.execute(q):
                d = r[0]
                dep_keys[d.id] = d.deployment_key
                values = {"deploymentID": d.deployment_key, "latitude": d.lat, "longitude": d.lon,
                          "coordinateUncertainty": d.coordinate_uncertainty_m,
                          "deploymentStart": format_time(d.start_utc, d.start_offset_min),
                          "deploymentEnd": format_time(d.end_utc, d.end_offset_min),
                          "cameraID": d.camera_id, "cameraModel": d.camera_model,
                          "locationID": r.site_key, "locationName": r.site_name}
                w.writerow(_row(values, d.attributes, cols, types))
        written.append(out / FILES["deployments"])
        # media
        types = field_types("media")
        cols = _columns(meta, "media")
        with open(outputs.path(FILES["media"]), "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(cols)
            q = select(m.Media).where(m.Media.dataset_id == dataset_id).order_by(m.Media.source_row, m.Media.id)
            for md in session.execute(q).scalars():
                values = {"mediaID": md.media_key, "deploymentID": dep_keys.get(md.deployment_id),
                          "captureMethod": md.capture_method, "timestamp": format_time(md.time_utc, md.time_offset_min),
                          "filePath": md.file_path, "filePublic": md.file_public, "fileName": md.file_name,
                          "fileMediatype": md.media_type}
                w.writerow(_row(values, md.attributes, cols, types))
        written.append(out / FILES["media"])
        # observations
        types = field_types("observations")
        cols = _columns(meta, "observations")
        O = m.Observation
        taxa: dict[str, int] = {}
        tmin = tmax = None
        with open(outputs.path(FILES["observations"]), "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(cols)
            q = (select(O).where(O.dataset_id == dataset_id, O.deployment_id.is_not(None))
                 .order_by(O.source_row, O.id).execution_options(yield_per=5000))
            for i, o in enumerate(session.execute(q).scalars()):
                attrs = dict(o.attributes or {})
                attrs.setdefault("observationLevel", "event")
                values = {"observationID": o.occurrence_key or f"hub-{o.id}", "deploymentID": dep_keys.get(o.deployment_id),
                          "mediaID": o.media_key, "eventStart": format_time(o.time_utc, o.time_offset_min),
                          "eventEnd": format_time(o.time_end_utc or o.time_utc, o.time_offset_min),
                          "observationType": o.observation_type or ("animal" if o.scientific_name else "unknown"),
                          "scientificName": o.scientific_name, "count": o.count, "lifeStage": o.life_stage,
                          "sex": o.sex, "behavior": o.behaviour, "individualID": o.individual_key}
                w.writerow(_row(values, attrs, cols, types))
                if o.scientific_name:
                    taxa[o.scientific_name] = taxa.get(o.scientific_name, 0) + 1
                if o.time_utc:
                    tmin = o.time_utc if tmin is None or o.time_utc < tmin else tmin
                    tmax = o.time_utc if tmax is None or o.time_utc > tmax else tmax
                if progress and i % 5000 == 0:
                    progress(i, None, "observations")
        written.append(out / FILES["observations"])
        descriptor = _descriptor(conn, ds, meta, taxa, tmin, tmax)
        with open(outputs.path("datapackage.json"), "w", encoding="utf-8") as fh:
            json.dump(descriptor, fh, indent=2, ensure_ascii=False)
        written.append(out / "datapackage.json")
    return written


def _descriptor(conn, ds, meta, taxa, tmin, tmax) -> dict:
    resources_std = [{"name": t, "path": FILES[t], "profile": "tabular-data-resource", "format": "csv",
                      "mediatype": "text/csv", "encoding": "utf-8",
                      "schema": BASE_URL.format(version=VERSION, name=f"{t}-table-schema.json")} for t in FILES]
    if meta is not None:
        d = {k: v for k, v in meta.items() if k != "_econet"}
        extra = [r for r in d.get("resources", []) if r.get("name") not in FILES]
        old = {r.get("name"): r for r in d.get("resources", [])}
        res = []
        for r in resources_std:  # keep the source's schema version URLs and resource metadata
            o = dict(old.get(r["name"], {}))
            o.update({"path": r["path"], "format": "csv", "mediatype": "text/csv", "encoding": "utf-8"})
            o.setdefault("profile", r["profile"])
            o.setdefault("schema", r["schema"])
            o.setdefault("name", r["name"])
            res.append(o)
        d["resources"] = res + extra
        return d
    org = conn.execute(select(m.Organization.name).where(m.Organization.id == ds.organization_id)).scalar()
    D = m.Deployment
    b = conn.execute(select(func.min(D.lon), func.min(D.lat), func.max(D.lon), func.max(D.lat))
                     .where(D.dataset_id == ds.id)).one()
    ninds = conn.execute(select(func.count()).select_from(m.Individual)
                         .where(m.Individual.dataset_id == ds.id)).scalar_one()
    d = {"resources": resources_std,
         "profile": BASE_URL.format(version=VERSION, name="camtrap-dp-profile.json"),
         "name": "".join(c if c.isalnum() or c in "-._" else "-" for c in ds.name.lower()),
         "title": ds.title or ds.name,
         "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "contributors": [{"title": org, "role": "rightsHolder"}, {"title": org, "role": "publisher"}],
         "project": {"title": ds.title or ds.name, "samplingDesign": "opportunistic",
                     "captureMethod": ["activityDetection"], "individualAnimals": bool(ninds),
                     "observationLevel": ["event"]},
         "spatial": {"type": "Polygon", "coordinates": [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]],
                                                         [b[0], b[1]]]]},
         "temporal": {"start": (tmin or dt.datetime(1970, 1, 1)).date().isoformat(),
                      "end": (tmax or tmin or dt.datetime(1970, 1, 1)).date().isoformat()},
         "taxonomic": [{"scientificName": n} for n in sorted(taxa)]}
    if ds.description:
        d["description"] = ds.description
    if ds.citation:
        d["bibliographicCitation"] = ds.citation
    if ds.license and ds.media_license:
        d["licenses"] = [{"name": ds.license, "scope": "data"}, {"name": ds.media_license, "scope": "media"}]
    if ds.coordinate_precision:
        d["coordinatePrecision"] = ds.coordinate_precision
    return d
