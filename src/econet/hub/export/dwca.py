"""Darwin Core Archive export for GBIF: occurrence core (occurrence.txt), meta.xml and eml.xml in one zip.

Camera-trap records follow camtrapdp's `write_dwc()` conventions: only observations of animals, one
observation level (event-level where the package has them, else media-level), basisOfRecord
MachineObservation, eventDate start/end, parentEventID = deployment, samplingProtocol "camera trap",
samplingEffort = deployment start/end. `dataGeneralizations` and `informationWithheld` are written (empty
unless the dataset's coordinates were generalized) so the sharing rules can fill them.
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from econet.atomic import atomic_path
from econet.hub import models as m
from econet.hub.ingest.base import format_time
from econet.hub.query import ObservationFilter, select_ids

TERMS = ["occurrenceID", "basisOfRecord", "eventID", "parentEventID", "eventDate", "samplingProtocol",
         "samplingEffort", "scientificName", "taxonRank", "kingdom", "vernacularName", "individualCount",
         "organismID", "sex", "lifeStage", "behavior", "occurrenceStatus", "decimalLatitude", "decimalLongitude",
         "geodeticDatum", "coordinateUncertaintyInMeters", "coordinatePrecision", "countryCode", "locality",
         "datasetName", "institutionCode", "rightsHolder", "license", "bibliographicCitation",
         "dataGeneralizations", "informationWithheld", "occurrenceRemarks"]
DWC = "http://rs.tdwg.org/dwc/terms/"
DC = {"license": "http://purl.org/dc/terms/license", "rightsHolder": "http://purl.org/dc/terms/rightsHolder",
      "bibliographicCitation": "http://purl.org/dc/terms/bibliographicCitation"}


def term_uri(t: str) -> str:
    return DC.get(t, DWC + t)


def meta_xml(terms=TERMS) -> str:
    fields = "\n".join(f'    <field index="{i}" term="{term_uri(t)}"/>' for i, t in enumerate(terms))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">
  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="1" rowType="http://rs.tdwg.org/dwc/terms/Occurrence">
    <files>
      <location>occurrence.txt</location>
    </files>
    <id index="0"/>
{fields}
  </core>
</archive>
"""


def eml_xml(ds, org: str, bounds, tmin, tmax) -> str:
    today = dt.date.today().isoformat()
    title = escape(ds.title or ds.name)
    para = lambda s: f"<para>{escape(s)}</para>" if s else "<para/>"  # noqa: E731
    cov = ""
    if bounds and bounds[0] is not None:
        w, s, e, n = bounds
        cov += f"""
      <geographicCoverage>
        <geographicDescription>Bounding box of the records</geographicDescription>
        <boundingCoordinates>
          <westBoundingCoordinate>{w}</westBoundingCoordinate>
          <eastBoundingCoordinate>{e}</eastBoundingCoordinate>
          <northBoundingCoordinate>{n}</northBoundingCoordinate>
          <southBoundingCoordinate>{s}</southBoundingCoordinate>
        </boundingCoordinates>
      </geographicCoverage>"""
    if tmin:
        cov += f"""
      <temporalCoverage>
        <rangeOfDates>
          <beginDate><calendarDate>{tmin.date().isoformat()}</calendarDate></beginDate>
          <endDate><calendarDate>{(tmax or tmin).date().isoformat()}</calendarDate></endDate>
        </rangeOfDates>
      </temporalCoverage>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1" xmlns:dc="http://purl.org/dc/terms/"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="eml://ecoinformatics.org/eml-2.1.1 http://rs.gbif.org/schema/eml-gbif-profile/1.2/eml.xsd"
  packageId="econet:{escape(ds.name)}" system="econet" scope="system" xml:lang="en">
  <dataset>
    <title xml:lang="en">{title}</title>
    <creator><organizationName>{escape(org)}</organizationName></creator>
    <metadataProvider><organizationName>{escape(org)}</organizationName></metadataProvider>
    <pubDate>{today}</pubDate>
    <language>en</language>
    <abstract>{para(ds.description)}</abstract>
    <intellectualRights>{para(ds.license)}</intellectualRights>
    <coverage>{cov}
    </coverage>
    <contact><organizationName>{escape(org)}</organizationName></contact>
  </dataset>
  <additionalMetadata>
    <metadata>
      <gbif>
        <dateStamp>{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}</dateStamp>
        <hierarchyLevel>dataset</hierarchyLevel>
        <citation>{escape(ds.citation or '')}</citation>
      </gbif>
    </metadata>
  </additionalMetadata>
</eml:eml>
"""


def _camera_level(conn, dataset_id) -> str | None:
    """'event' when a camera dataset has event-level observations, else 'media' (camtrapdp::write_dwc)."""
    O = m.Observation
    n = conn.execute(select(func.count()).select_from(O).where(O.dataset_id == dataset_id,
                                                               O.record_type == "camera")).scalar_one()
    if not n:
        return None
    rows = conn.execute(select(O.attributes).where(O.dataset_id == dataset_id, O.record_type == "camera")
                        .limit(5000)).scalars()
    return "event" if any((a or {}).get("observationLevel", "event") == "event" for a in rows) else "media"


def export(conn, dataset_id: int, out: str | Path, *, filters: ObservationFilter | None = None,
           progress=None) -> int:
    """Write the dataset's occurrences as a DwC-A zip at `out`; return the number of occurrences."""
    ds = conn.execute(select(m.Dataset.__table__).where(m.Dataset.id == dataset_id)).one()
    org = conn.execute(select(m.Organization.name).where(m.Organization.id == ds.organization_id)).scalar()
    O, T, D, E = m.Observation, m.Taxon, m.Deployment, m.SamplingEvent
    f = filters or ObservationFilter()
    where, spatial = select_ids(conn, f)
    level = _camera_level(conn, dataset_id)
    vern = dict(conn.execute(select(m.VernacularName.taxon_id, m.VernacularName.name)
                             .where(m.VernacularName.language == "en")).all())
    q = (select(O, T.rank, T.kingdom, D.deployment_key, D.start_utc, D.start_offset_min, D.end_utc,
                D.end_offset_min, E.event_key, E.parent_event_key, E.protocol, E.effort)
         .join(T, T.id == O.taxon_id, isouter=True).join(D, D.id == O.deployment_id, isouter=True)
         .join(E, E.id == O.event_id, isouter=True)
         .where(O.dataset_id == dataset_id, and_(*where)).order_by(O.id).execution_options(yield_per=5000))
    session = Session(bind=conn)
    generalized = f"coordinates rounded to {ds.coordinate_precision:g} degree" if ds.coordinate_precision else ""
    n = 0
    bounds = conn.execute(select(func.min(O.lon), func.min(O.lat), func.max(O.lon), func.max(O.lat))
                          .where(O.dataset_id == dataset_id)).one()
    tmin, tmax = conn.execute(select(func.min(O.time_utc), func.max(O.time_utc))
                              .where(O.dataset_id == dataset_id)).one()
    with atomic_path(out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            with z.open("occurrence.txt", "w") as raw:
                import io
                fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                w = csv.writer(fh, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
                w.writerow(TERMS)
                for r in session.execute(q):
                    o = r[0]
                    attrs = o.attributes or {}
                    if o.record_type == "camera":
                        if o.observation_type != "animal" or attrs.get("observationLevel", "event") != level:
                            continue
                    if spatial is not None and not spatial.contains([o.lon], [o.lat])[0]:
                        continue
                    rec = _record(o, r, attrs, ds, org, vern, generalized)
                    w.writerow([_clean(rec.get(t)) for t in TERMS])
                    n += 1
                    if progress and n % 10000 == 0:
                        progress(n, None, "occurrences")
                fh.flush()
                fh.detach()
            z.writestr("meta.xml", meta_xml())
            z.writestr("eml.xml", eml_xml(ds, org, bounds, tmin, tmax))
    return n


def _clean(v) -> str:
    if v is None:
        return ""
    s = str(v)
    return s.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _num(v):
    if v is None:
        return None
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _record(o, r, attrs, ds, org, vern, generalized) -> dict:
    start = format_time(o.time_utc, o.time_offset_min) if o.time_utc else None
    end = format_time(o.time_end_utc, o.time_offset_min) if o.time_end_utc else None
    rec = {"occurrenceID": o.occurrence_key or f"{ds.name}:{o.id}",
           "basisOfRecord": o.basis_of_record or "HumanObservation",
           "eventDate": f"{start}/{end}" if start and end and end != start else start,
           "scientificName": o.scientific_name, "taxonRank": r.rank, "kingdom": r.kingdom,
           "vernacularName": vern.get(o.taxon_id), "individualCount": o.count, "organismID": o.individual_key,
           "sex": o.sex, "lifeStage": o.life_stage, "behavior": o.behaviour,
           "occurrenceStatus": "absent" if o.count == 0 else "present",
           "decimalLatitude": _num(o.lat), "decimalLongitude": _num(o.lon),
           "geodeticDatum": "EPSG:4326" if o.lat is not None else None,
           "coordinateUncertaintyInMeters": _num(o.coordinate_uncertainty_m),
           "coordinatePrecision": _num(ds.coordinate_precision), "countryCode": o.country_code,
           "locality": o.locality, "datasetName": ds.title or ds.name, "institutionCode": org,
           "rightsHolder": org, "license": ds.license, "bibliographicCitation": ds.citation,
           "dataGeneralizations": generalized or None, "informationWithheld": None,
           "eventID": r.event_key, "parentEventID": r.parent_event_key, "samplingProtocol": r.protocol,
           "samplingEffort": r.effort, "occurrenceRemarks": attrs.get("observationComments")}
    if o.record_type == "camera":
        rec.update({"basisOfRecord": "MachineObservation", "eventID": attrs.get("eventID") or o.media_key,
                    "parentEventID": r.deployment_key, "samplingProtocol": "camera trap",
                    "samplingEffort": f"{format_time(r.start_utc, r.start_offset_min)}/"
                                      f"{format_time(r.end_utc, r.end_offset_min)}" if r.start_utc else None})
    return rec
