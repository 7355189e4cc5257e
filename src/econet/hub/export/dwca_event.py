"""Darwin Core Archive with an Event core and an Occurrence extension (GBIF sampling-event data).

Events come from three places in the hub:
- sampling events (surveys, patrols, transects: imported from Event-core archives or CSV), with their own
  protocol, effort, sample size and parent event;
- camera-trap deployments: one event per deployment (samplingProtocol "camera trap", eventDate
  deploymentStart/deploymentEnd, sampleSizeValue the deployment's length in days, sampleSizeUnit "day"),
  with the animal observations of one observation level (as camtrapdp's write_dwc chooses) as occurrences;
- waterbird counts: one event per site, date and method (samplingProtocol "waterbird site count", one
  visit), every count an occurrence, a zero count with occurrenceStatus "absent" and individualCount 0.

Everything goes through the caller's view (`econet.hub.sharing`): datasets it may not see, withheld and
embargoed records are left out; generalized records carry dataGeneralizations / informationWithheld. An
event is shown no more precisely than the least precise record in it (an event that held a withheld record:
1 degree, as for sites), so the event row never gives away where a sensitive species was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.engine import Connection

from econet.atomic import atomic_path
from econet.hub import models as m
from econet.hub.export._view import accepted_names, area_test, coarsen, coarsest, record_where, scoped_datasets
from econet.hub.export.dwca import _clean, _num, eml_xml, term_uri
from econet.hub.ingest.base import format_time
from econet.hub.query import ObservationFilter

EVENT_TERMS = ["eventID", "parentEventID", "eventType", "eventDate", "samplingProtocol", "sampleSizeValue",
               "sampleSizeUnit", "samplingEffort", "locationID", "locality", "countryCode", "decimalLatitude",
               "decimalLongitude", "geodeticDatum", "coordinateUncertaintyInMeters", "coordinatePrecision",
               "datasetName", "institutionCode", "rightsHolder", "license", "bibliographicCitation",
               "dataGeneralizations", "informationWithheld", "eventRemarks"]
OCCURRENCE_TERMS = ["eventID", "occurrenceID", "basisOfRecord", "eventDate", "scientificName", "verbatimIdentification",
                    "taxonRank", "kingdom", "individualCount", "occurrenceStatus", "organismID", "sex", "lifeStage",
                    "behavior", "decimalLatitude", "decimalLongitude", "geodeticDatum",
                    "coordinateUncertaintyInMeters", "coordinatePrecision", "countryCode", "locality",
                    "dataGeneralizations", "informationWithheld", "occurrenceRemarks"]
WITHHELD_STEP = 1.0  # an event that held a withheld record is shown on the 1-degree grid (as a site is)
REASON = "sampling event holding a generalized or withheld record"


def meta_xml() -> str:
    attrs = ('encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" '
             'ignoreHeaderLines="1"')

    def block(tag: str, row_type: str, location: str, id_tag: str, terms: list[str], first: int) -> str:
        fields = "\n".join(f'    <field index="{i}" term="{term_uri(t)}"/>' for i, t in enumerate(terms) if i >= first)
        return (f'  <{tag} {attrs} rowType="http://rs.tdwg.org/dwc/terms/{row_type}">\n'
                f"    <files>\n      <location>{location}</location>\n    </files>\n"
                f'    <{id_tag} index="0"/>\n{fields}\n  </{tag}>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">\n'
            + block("core", "Event", "event.txt", "id", EVENT_TERMS, 0) + "\n"
            + block("extension", "Occurrence", "occurrence.txt", "coreid", OCCURRENCE_TERMS, 1) + "\n</archive>\n")


def _when(utc, offset_min) -> str | None:
    """ISO 8601 in the source's offset; a date alone where the source gave one (midnight, no offset)."""
    if utc is not None and offset_min is None and utc.time() == dt.time():
        return utc.date().isoformat()
    return format_time(utc, offset_min)


def _date_range(a: str | None, b: str | None) -> str | None:
    return f"{a}/{b}" if a and b and b != a else a


def _event_row(d, key, **kw) -> dict:
    return {"dataset": d.name, "key": key, "parent": None, "type": None, "date": None, "protocol": None,
            "size_value": None, "size_unit": None, "effort": None, "location_id": None, "locality": None,
            "country_code": None, "lon": None, "lat": None, "coordinate_uncertainty_m": None,
            "accepted_name": None, "remarks": None, "occurrences": [], "steps": [], **kw}


class _Collector:
    """Events (with their occurrence rows, as the view sees them) of the scoped datasets."""

    def __init__(self, conn: Connection, rules, datasets: dict, f: ObservationFilter):
        self.conn, self.rules, self.datasets, self.f = conn, rules, datasets, f
        self.events: dict[tuple, dict] = {}
        self.inside = area_test(f)
        self.names = accepted_names(conn)
        self.left_out = 0
        tx = m.Taxon
        self.taxa = {r.id: (r.rank, r.kingdom) for r in conn.execute(select(tx.id, tx.rank, tx.kingdom))}

    def view(self, row: dict) -> dict | None:
        from econet.hub.sharing import apply_rules
        return next(apply_rules(self.rules, [row]), None)

    def sampling_events(self) -> None:
        E, S = m.SamplingEvent, m.Site
        q = (select(E, S.site_key).join(S, S.id == E.site_id, isouter=True)
             .where(E.dataset_id.in_(list(self.datasets))).order_by(E.id))
        for r in m_rows(self.conn, q):
            e, site_key = r[0], r[1]
            d = self.datasets[e.dataset_id]
            self.events[("event", e.id)] = _event_row(
                d, e.event_key, parent=e.parent_event_key, type="Survey",
                date=_date_range(_when(e.start_utc, e.offset_min), _when(e.end_utc, e.offset_min)),
                protocol=e.protocol, size_value=e.sample_size_value, size_unit=e.sample_size_unit, effort=e.effort,
                location_id=site_key, locality=e.locality, country_code=e.country_code, lon=e.lon, lat=e.lat,
                coordinate_uncertainty_m=e.coordinate_uncertainty_m)

    def deployments(self) -> None:
        Dp, S = m.Deployment, m.Site
        q = (select(Dp, S.site_key, S.name).join(S, S.id == Dp.site_id, isouter=True)
             .where(Dp.dataset_id.in_(list(self.datasets))).order_by(Dp.id))
        for r in m_rows(self.conn, q):
            dp, site_key, site_name = r
            d = self.datasets[dp.dataset_id]
            days = ((dp.end_utc - dp.start_utc).total_seconds() / 86400
                    if dp.start_utc and dp.end_utc else None)
            self.events[("deployment", dp.id)] = _event_row(
                d, dp.deployment_key, type="Camera deployment",
                date=_date_range(_when(dp.start_utc, dp.start_offset_min), _when(dp.end_utc, dp.end_offset_min)),
                protocol="camera trap", size_value=round(days, 4) if days is not None else None,
                size_unit="day" if days is not None else None,
                effort=f"1 camera for {days:.2f} days" if days is not None else None,
                location_id=site_key, locality=site_name or (dp.attributes or {}).get("locationName"),
                country_code=dp.country_code, lon=dp.lon, lat=dp.lat,
                coordinate_uncertainty_m=dp.coordinate_uncertainty_m,
                remarks=(dp.attributes or {}).get("deploymentComments"))

    def observations(self) -> None:
        """Observations of a sampling event or a camera deployment, as the view sees them."""
        from econet.hub.export.dwca import _camera_level
        from econet.hub.sharing import view_rows
        O = m.Observation
        levels = {i: _camera_level(self.conn, i) for i in self.datasets}
        side = {}
        q = (select(O.id, O.event_id, O.deployment_id, O.record_type, O.observation_type, O.attributes,
                    O.time_utc, O.time_end_utc, O.time_offset_min, O.basis_of_record, O.taxon_id, O.dataset_id)
             .where(O.dataset_id.in_(list(self.datasets)), (O.event_id.isnot(None)) | (O.deployment_id.isnot(None))))
        for r in self.conn.execute(q):
            if r.record_type == "camera":
                level = (r.attributes or {}).get("observationLevel", "event")
                if r.observation_type != "animal" or level != levels.get(r.dataset_id):
                    continue
            key = ("event", r.event_id) if r.event_id is not None else ("deployment", r.deployment_id)
            if key in self.events:  # only what the archive needs of the row (memory: one small tuple each)
                side[r.id] = (key, _source_terms(r), self.taxa.get(r.taxon_id, (None, None)))
        if not side:
            return
        from dataclasses import replace
        from econet.hub.query import observation_rows
        only_datasets = ObservationFilter(dataset=sorted(d.name for d in self.datasets.values()))
        chosen = None  # ids the filter selects (None: all of them)
        if selective(self.f):
            chosen = {r["hub_id"] for r in observation_rows(self.conn, replace(self.f, dataset=only_datasets.dataset))
                      if r["hub_id"] in side}
        seen = set()
        for row in view_rows(self.conn, self.rules.view, only_datasets, rules=self.rules):
            hit = side.get(row["hub_id"])
            if hit is None:
                continue
            seen.add(row["hub_id"])
            key, (basis, date, remarks), (rank, kingdom) = hit
            ev = self.events[key]
            ev["steps"].append(row["coordinate_precision"])
            if chosen is None or row["hub_id"] in chosen:
                ev["occurrences"].append({**row, "occurrence_key": row["occurrence_id"] or f"{ev['dataset']}:"
                                          f"{row['hub_id']}", "basis": basis, "date": date, "rank": rank,
                                          "kingdom": kingdom, "remarks": remarks})
        # records of an event the view does not get (withheld): the event is shown on the coarse grid
        for hub_id, (key, *_) in side.items():
            if hub_id not in seen:
                self.events[key]["steps"].append(WITHHELD_STEP)
                self.left_out += chosen is None or hub_id in chosen

    def waterbird_counts(self) -> None:
        W, S = m.WaterbirdCount, m.Site
        where = record_where(self.conn, self.f, taxon_col=W.taxon_id, time_col=W.date, country_col=S.country_code,
                             lon_col=S.lon, lat_col=S.lat)
        mine = W.dataset_id.in_(list(self.datasets))
        chosen = None  # every count shapes its event's precision; the filter chooses the occurrences written
        if selective(self.f):
            chosen = set(self.conn.execute(select(W.id).join(S, S.id == W.site_id, isouter=True)
                                           .where(mine, *where)).scalars())
        # the site rule for counts (not in observations, so not in the sharing rules' site cells): every visit
        # of a site is shown as coarsely as its least precise count ever was
        site_steps: dict[tuple, list] = {}
        site_events: dict[tuple, set] = {}
        q = (select(W, S.site_key, S.name, S.lon, S.lat, S.country_code, S.coordinate_uncertainty_m)
             .join(S, S.id == W.site_id, isouter=True).where(mine).order_by(W.site_id, W.date, W.id))
        for r in m_rows(self.conn, q):
            w = r[0]
            site_key, site_name, lon, lat, cc, unc = r[1:]
            if self.inside is not None and not self.inside(lon, lat):
                continue
            d = self.datasets[w.dataset_id]
            site = (w.dataset_id, site_key)
            site_events.setdefault(site, set())
            key = ("count", w.dataset_id, site_key, w.date, w.method)
            site_events[site].add(key)
            ev = self.events.get(key)
            if ev is None:
                ev = self.events[key] = _event_row(
                    d, ":".join(str(x) for x in (site_key or "site", w.date.isoformat(), w.method) if x),
                    type="Site count", date=w.date.isoformat(),
                    protocol=f"waterbird site count ({w.method or 'method not recorded'})", size_value=1,
                    size_unit="site visit",
                    effort=f"one count of the whole site; coverage {w.coverage or 'not recorded'}",
                    location_id=site_key, locality=site_name, country_code=cc, lon=lon, lat=lat,
                    coordinate_uncertainty_m=unc, remarks=f"observers: {w.observers}" if w.observers else None)
            row = {"hub_id": w.id, "occurrence_id": f"{ev['key']}:{w.scientific_name}", "dataset": d.name,
                   "scientific_name": w.scientific_name, "accepted_name": self.names.get(w.taxon_id),
                   "count": w.count, "lon": lon, "lat": lat, "coordinate_uncertainty_m": unc, "country_code": cc,
                   "locality": site_name, "individual": None, "sex": None, "life_stage": None, "behaviour": None}
            seen = self.view(row)
            if seen is None:
                site_steps.setdefault(site, []).append(WITHHELD_STEP)
                self.left_out += chosen is None or w.id in chosen
                continue
            ev["steps"].append(seen["coordinate_precision"])
            site_steps.setdefault(site, []).append(seen["coordinate_precision"])
            if chosen is not None and w.id not in chosen:
                continue
            rank, kingdom = self.taxa.get(w.taxon_id, (None, None))
            ev["occurrences"].append({**seen, "occurrence_key": row["occurrence_id"], "basis": "HumanObservation",
                                      "date": w.date.isoformat(), "rank": rank, "kingdom": kingdom, "remarks": None})
        for site, keys in site_events.items():
            step = coarsest(*site_steps.get(site, ()))
            for k in keys:
                self.events[k]["steps"].append(step)


def _source_terms(r) -> tuple:
    """(basisOfRecord, eventDate, occurrenceRemarks) of an observation row as its source gave them."""
    start = _when(r.time_utc, r.time_offset_min)
    end = _when(r.time_end_utc, r.time_offset_min) if r.time_end_utc else None
    basis = "MachineObservation" if r.record_type == "camera" else (r.basis_of_record or "HumanObservation")
    return basis, _date_range(start, end), (r.attributes or {}).get("observationComments")


def selective(f: ObservationFilter) -> bool:
    """Whether the filter selects records (beyond naming datasets)."""
    return any((f.taxon, f.start, f.end, f.country, f.bbox, f.polygon is not None, f.border, f.individual, f.year))


def m_rows(conn, q):
    from sqlalchemy.orm import Session
    return Session(bind=conn).execute(q.execution_options(yield_per=5000))


def export_events(conn: Connection, view, out: str | Path, f: ObservationFilter | None = None, *,
                  progress=None) -> dict:
    """Write the sampling events the view may see, with their occurrences, as an Event-core DwC-A zip."""
    from econet.hub import sharing
    f = f or ObservationFilter()
    rules = sharing.load_rules(conn, view)
    datasets = scoped_datasets(rules, f)
    c = _Collector(conn, rules, datasets, f)
    if datasets:
        c.sampling_events()
        c.deployments()
        c.observations()
        c.waterbird_counts()
        if progress:
            progress(len(c.events), len(c.events), "events")
    events = _finish(c)
    prefix = len({e["dataset"] for e in events}) > 1
    n_occ = 0
    used = sorted({e["dataset"] for e in events})
    with atomic_path(out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            with _table(z, "event.txt", EVENT_TERMS) as w:
                for e in events:
                    w.writerow([_clean(v) for v in _event_terms(e, rules, prefix)])
            with _table(z, "occurrence.txt", OCCURRENCE_TERMS) as w:
                for e in events:
                    for o in e["occurrences"]:
                        w.writerow([_clean(v) for v in _occurrence_terms(e, o, prefix)])
                        n_occ += 1
            z.writestr("meta.xml", meta_xml())
            z.writestr("eml.xml", _eml(conn, rules, used, events))
            z.writestr("citation.txt", sharing.citation_text(rules, used))
    sharing.audit(conn, view, "export", f"dwca-event:{','.join(used) or 'nothing'}",
                  {"events": len(events), "records": n_occ, "out": str(out)}, rules=rules,
                  rows=[{"dataset": u} for u in used])
    return {"format": "dwca-event", "files": [str(out)], "events": len(events), "records": n_occ,
            "generalized_events": sum(1 for e in events if e.get("data_generalizations")),
            "withheld": c.left_out, "view": view.describe(),
            "datasets": [{"dataset": u, "owner": rules.datasets[u].owner_name, "license": rules.datasets[u].license,
                          "citation": rules.datasets[u].citation} for u in used]}


def _finish(c: _Collector) -> list[dict]:
    """Events in the archive: those with a place in the filter's area and, when the filter selects records,
    at least one selected record; each generalized to its least precise record."""
    out = []
    for e in c.events.values():
        if selective(c.f) and not e["occurrences"]:
            continue
        if c.inside is not None and not c.inside(e["lon"], e["lat"]):
            continue
        own = c.view(e)  # the event's place itself (a site where a sensitive species was recorded)
        if own is None:
            continue
        step = coarsest(own["coordinate_precision"], *e["steps"])
        g = coarsen(own, step, REASON)
        if step is not None:
            g["occurrences"] = [coarsen(o, step, REASON) for o in e["occurrences"]]
        out.append(g)
    return out


class _table:
    """A tab-separated member of the zip with a header line (no quoting: tabs and newlines are blanked)."""

    def __init__(self, z, name, terms):
        self.z, self.name, self.terms = z, name, terms

    def __enter__(self):
        self.raw = self.z.open(self.name, "w")
        self.fh = io.TextIOWrapper(self.raw, encoding="utf-8", newline="")
        w = csv.writer(self.fh, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
        w.writerow(self.terms)
        return w

    def __exit__(self, *exc):
        self.fh.flush()
        self.fh.detach()
        self.raw.close()


def _key(e_or_dataset, key, prefix: bool):
    if key is None:
        return None
    return f"{e_or_dataset}:{key}" if prefix else key


def _event_terms(e: dict, rules, prefix: bool) -> list:
    d = rules.datasets[e["dataset"]]
    v = {"eventID": _key(e["dataset"], e["key"], prefix), "parentEventID": _key(e["dataset"], e["parent"], prefix),
         "eventType": e["type"], "eventDate": e["date"], "samplingProtocol": e["protocol"],
         "sampleSizeValue": _num(e["size_value"]), "sampleSizeUnit": e["size_unit"], "samplingEffort": e["effort"],
         "locationID": e["location_id"], "locality": e["locality"], "countryCode": e["country_code"],
         "decimalLatitude": _num(e["lat"]), "decimalLongitude": _num(e["lon"]),
         "geodeticDatum": "EPSG:4326" if e["lat"] is not None else None,
         "coordinateUncertaintyInMeters": _num(e["coordinate_uncertainty_m"]),
         "coordinatePrecision": _num(e.get("coordinate_precision")), "datasetName": d.name,
         "institutionCode": d.owner_name, "rightsHolder": d.owner_name, "license": d.license,
         "bibliographicCitation": d.citation, "dataGeneralizations": e.get("data_generalizations"),
         "informationWithheld": e.get("information_withheld"), "eventRemarks": e["remarks"]}
    return [v[t] for t in EVENT_TERMS]


def _occurrence_terms(e: dict, o: dict, prefix: bool) -> list:
    count = o.get("count")
    v = {"eventID": _key(e["dataset"], e["key"], prefix), "occurrenceID": o["occurrence_key"],
         "basisOfRecord": o["basis"], "eventDate": o["date"],
         "scientificName": o.get("accepted_name") or o.get("scientific_name"),
         "verbatimIdentification": o.get("scientific_name"), "taxonRank": o["rank"], "kingdom": o["kingdom"],
         "individualCount": count, "occurrenceStatus": "absent" if count == 0 else "present",
         "organismID": o.get("individual"), "sex": o.get("sex"), "lifeStage": o.get("life_stage"),
         "behavior": o.get("behaviour"), "decimalLatitude": _num(o.get("lat")), "decimalLongitude": _num(o.get("lon")),
         "geodeticDatum": "EPSG:4326" if o.get("lat") is not None else None,
         "coordinateUncertaintyInMeters": _num(o.get("coordinate_uncertainty_m")),
         "coordinatePrecision": _num(o.get("coordinate_precision")), "countryCode": o.get("country_code"),
         "locality": o.get("locality"), "dataGeneralizations": o.get("data_generalizations"),
         "informationWithheld": o.get("information_withheld"), "occurrenceRemarks": o["remarks"]}
    return [v[t] for t in OCCURRENCE_TERMS]


def _eml(conn, rules, used: list[str], events: list[dict]) -> str:
    """EML for the archive: the dataset's own metadata when it holds one dataset, else the hub export's."""
    lons = [e["lon"] for e in events if e["lon"] is not None]
    lats = [e["lat"] for e in events if e["lat"] is not None]
    bounds = (min(lons), min(lats), max(lons), max(lats)) if lons else None
    dates = sorted(e["date"][:10] for e in events if e["date"])
    t0 = dt.datetime.fromisoformat(dates[0]) if dates else None
    t1 = dt.datetime.fromisoformat(dates[-1]) if dates else None
    if len(used) == 1:
        ds = conn.execute(select(m.Dataset.__table__).where(m.Dataset.name == used[0])).one()
        return eml_xml(ds, rules.datasets[used[0]].owner_name, bounds, t0, t1)
    ds = SimpleNamespace(name="econet-sampling-events", title="Sampling events from the econet hub",
                         description="Sampling events of " + ", ".join(used) + " (see citation.txt for each "
                         "dataset's license and citation).", license="see citation.txt", citation=None)
    return eml_xml(ds, "econet hub", bounds, t0, t1)
