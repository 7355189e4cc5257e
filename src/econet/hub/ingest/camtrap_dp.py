"""Camtrap DP 1.0 import: validated offline, every row and every field kept (unmapped fields verbatim).

deployments -> sites (locationID) + deployments; media -> media; observations -> observations (place from
the deployment). The package metadata is stored verbatim on the dataset (including custom resources such
as the example's inline `individuals`) together with each table's column order, so the export gives back
an equivalent package.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.camtrap import (DEPLOYMENT_FIELDS, MEDIA_FIELDS, MISSING, OBSERVATION_FIELDS, TABLES, is_camtrap,
                                validate)
from econet.hub.ingest.base import Ingest, boolean, chunks, integer, number, to_utc

FORMAT = "camtrap-dp"


def descriptor_path(path: Path) -> Path | None:
    if path.is_dir() and (path / "datapackage.json").is_file():
        return path / "datapackage.json"
    if path.name == "datapackage.json" and path.is_file():
        return path
    return None


def detect(path: Path) -> bool:
    if path.suffix.lower() == ".zip" and path.is_file():
        import zipfile
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as z:
            return any(n.rsplit("/", 1)[-1] == "datapackage.json" for n in z.namelist())
    p = descriptor_path(path)
    if p is None:
        return False
    try:
        return is_camtrap(json.loads(p.read_text(encoding="utf-8-sig")))
    except (OSError, ValueError):
        return False


def _open_table(path: Path):
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _rows(path: Path):
    """(line number, header, raw dict with missing values as None) for each data row."""
    with _open_table(path) as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise EconetError("empty table (no header)", path=path) from None
        for values in reader:
            line = reader.line_num
            if len(values) != len(header):
                raise EconetError(f"{len(values)} values for {len(header)} columns", path=path, row=line)
            yield line, header, values


def _split(header, values, fields, path, line):
    """(mapped values by hub column, verbatim extras) of one row."""
    mapped, extra = {}, {}
    for name, raw in zip(header, values):
        v = None if raw in MISSING else raw
        spec = fields.get(name)
        if spec is None:
            if v is not None:
                extra[name] = raw
            continue
        col, kind = spec
        if v is None:
            mapped[col] = None
        elif kind == "num":
            mapped[col] = number(v, path=path, row=line, field=name)
        elif kind == "int":
            mapped[col] = integer(v, path=path, row=line, field=name)
        elif kind == "bool":
            mapped[col] = boolean(v, path=path, row=line, field=name)
        elif kind == "time":
            try:
                mapped[col] = to_utc(v)
            except ValueError:
                raise EconetError(f"not an ISO 8601 date-time: {v!r}", path=path, row=line, field=name) from None
        else:
            mapped[col] = v
    return mapped, extra


def load(ing: Ingest, path: Path, *, validate_package: bool = True, **options) -> dict:
    if path.suffix.lower() == ".zip":
        import tempfile
        import zipfile
        with tempfile.TemporaryDirectory(prefix="econet-camtrap-") as tmp:
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise EconetError(f"unsafe path in archive: {name!r}", path=path)
                z.extractall(tmp)
            found = next(Path(tmp).rglob("datapackage.json"), None)
            if found is None:
                raise EconetError("no datapackage.json in the archive", path=path)
            return load(ing, found.parent, validate_package=validate_package, **options)
    dp = descriptor_path(path)
    if dp is None:
        raise EconetError("no datapackage.json found", path=path)
    base = dp.parent
    try:
        descriptor = json.loads(dp.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise EconetError(f"not valid JSON: {exc}", path=dp) from None
    if validate_package:
        validate(descriptor, base, dp)
    resources = {r.get("name"): r for r in descriptor.get("resources", [])}
    columns: dict[str, list[str]] = {}

    # deployments (small): sites first, then deployments
    dep_rows = []
    for line, header, values in _rows(base / resources["deployments"]["path"]):
        columns["deployments"] = header
        mapped, extra = _split(header, values, DEPLOYMENT_FIELDS, base / resources["deployments"]["path"], line)
        dep_rows.append((line, values, mapped, extra))
    sites: dict[str, str | None] = {}
    site_places: dict[str, tuple] = {}
    for _, _, mp, _ in dep_rows:
        if mp.get("site_key") and mp["site_key"] not in sites:
            sites[mp["site_key"]] = mp.get("site_name")
            site_places[mp["site_key"]] = (mp.get("lon"), mp.get("lat"))
    if sites:
        keys = list(sites)
        pl = ing.places([site_places[k][0] for k in keys], [site_places[k][1] for k in keys])
        ing.insert(m.Site, [{"site_key": k, "name": sites[k], "row_hash": ing.row_hash("site", [k, sites[k]]),
                             **{c: pl[c][i] for c in pl}} for i, k in enumerate(keys)])
    site_ids = ing.key_map(m.Site, "site_key")
    pl = ing.places([r[2].get("lon") for r in dep_rows], [r[2].get("lat") for r in dep_rows],
                    rows=[r[0] for r in dep_rows], path=base / resources["deployments"]["path"])
    out = []
    for i, (line, values, mp, extra) in enumerate(dep_rows):
        start, end = mp.get("start") or (None, None), mp.get("end") or (None, None)
        out.append({"deployment_key": mp["deployment_key"], "site_id": site_ids.get(mp.get("site_key")),
                    "start_utc": start[0], "start_offset_min": start[1], "end_utc": end[0],
                    "end_offset_min": end[1], "camera_id": mp.get("camera_id"),
                    "camera_model": mp.get("camera_model"),
                    "coordinate_uncertainty_m": mp.get("coordinate_uncertainty_m"),
                    "source_row": line, "row_hash": ing.row_hash("deployments", values), "attributes": extra or None,
                    **{c: pl[c][i] for c in pl}})
    ing.insert(m.Deployment, out)
    ing.tick(len(dep_rows), "deployments")
    dep = {}
    from sqlalchemy import select
    for r in ing.conn.execute(select(m.Deployment.id, m.Deployment.deployment_key, m.Deployment.lon, m.Deployment.lat,
                                     m.Deployment.x, m.Deployment.y, m.Deployment.country_code,
                                     m.Deployment.coordinate_uncertainty_m, m.Deployment.site_id, m.Deployment.geom)
                              .where(m.Deployment.dataset_id == ing.dataset_id)):
        dep[r.deployment_key] = r
    site_names = {sid: sites.get(k) for k, sid in site_ids.items()}

    # media
    mpath = base / resources["media"]["path"]
    for chunk in chunks(_rows(mpath)):
        rows = []
        for line, header, values in chunk:
            columns["media"] = header
            mp, extra = _split(header, values, MEDIA_FIELDS, mpath, line)
            d = dep.get(mp["deployment_key"])
            if d is None:
                raise EconetError(f"unknown deploymentID {mp['deployment_key']!r}", path=mpath, row=line,
                                  field="deploymentID")
            t = mp.get("time") or (None, None)
            rows.append({"media_key": mp["media_key"], "deployment_id": d.id, "capture_method": mp.get("capture_method"),
                         "time_utc": t[0], "time_offset_min": t[1], "file_path": mp.get("file_path"),
                         "file_public": mp.get("file_public"), "file_name": mp.get("file_name"),
                         "media_type": mp.get("media_type"), "source_row": line,
                         "row_hash": ing.row_hash("media", values), "attributes": extra or None})
        ing.insert(m.Media, rows)
        ing.tick(len(chunk), "media")

    # observations
    opath = base / resources["observations"]["path"]
    for chunk in chunks(_rows(opath)):
        parsed = []
        for line, header, values in chunk:
            columns["observations"] = header
            mp, extra = _split(header, values, OBSERVATION_FIELDS, opath, line)
            d = dep.get(mp["deployment_key"])
            if d is None:
                raise EconetError(f"unknown deploymentID {mp['deployment_key']!r}", path=opath, row=line,
                                  field="deploymentID")
            mp["taxon_id"] = ing.taxa.match(mp.get("scientific_name"))
            parsed.append((line, values, mp, extra, d))
        inds = ing.individual_ids([p[2].get("individual_key") for p in parsed], [p[2]["taxon_id"] for p in parsed],
                                  [p[2].get("sex") for p in parsed])
        rows = []
        for line, values, mp, extra, d in parsed:
            t, te = mp.get("time") or (None, None), mp.get("time_end") or (None, None)
            rows.append({"record_type": "camera", "occurrence_key": mp["occurrence_key"], "deployment_id": d.id,
                         "media_key": mp.get("media_key"), "observation_type": mp.get("observation_type"),
                         "basis_of_record": "MachineObservation", "taxon_id": mp["taxon_id"],
                         "scientific_name": mp.get("scientific_name"), "count": mp.get("count"),
                         "time_utc": t[0], "time_offset_min": t[1], "time_end_utc": te[0],
                         "individual_key": mp.get("individual_key"), "individual_id": inds.get(mp.get("individual_key")),
                         "sex": mp.get("sex"), "life_stage": mp.get("life_stage"), "behaviour": mp.get("behaviour"),
                         "locality": site_names.get(d.site_id), "lon": d.lon, "lat": d.lat, "x": d.x, "y": d.y,
                         "geom": d.geom, "country_code": d.country_code,
                         "coordinate_uncertainty_m": d.coordinate_uncertainty_m, "source_row": line,
                         "row_hash": ing.row_hash("observations", values), "attributes": extra or None})
        ing.insert(m.Observation, rows)
        ing.tick(len(chunk), "observations")

    meta = {k: v for k, v in descriptor.items()}
    meta["_econet"] = {"columns": columns, "camtrap_dp_version": meta.get("profile")}
    licenses = descriptor.get("licenses") or []
    data_lic = next((x.get("name") or x.get("path") for x in licenses if x.get("scope") == "data"), None)
    media_lic = next((x.get("name") or x.get("path") for x in licenses if x.get("scope") == "media"), None)
    return {"title": descriptor.get("title"), "description": descriptor.get("description"),
            "license": data_lic, "media_license": media_lic, "citation": descriptor.get("bibliographicCitation"),
            "coordinate_precision": descriptor.get("coordinatePrecision"), "source_format": FORMAT,
            "source_metadata": meta}
