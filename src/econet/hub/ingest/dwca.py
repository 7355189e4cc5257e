"""Darwin Core Archive import: occurrence core, or event core with an occurrence extension, read through meta.xml.

Archives are zip files (or folders) with meta.xml; members are extracted safely (no paths outside the
folder, size-capped). Terms the hub models go to columns; every other term is kept verbatim in attributes
under its Darwin Core name.
"""

from __future__ import annotations

import csv
import io
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.ingest.base import Ingest, chunks, integer, number, text, to_utc

FORMAT = "dwca"
NS = "{http://rs.tdwg.org/dwc/text/}"
MAX_UNPACKED = 20 * 1024 ** 3
OCCURRENCE = "http://rs.tdwg.org/dwc/terms/Occurrence"
EVENT = "http://rs.tdwg.org/dwc/terms/Event"


@dataclass
class FileSpec:
    row_type: str
    location: str
    delimiter: str = ","
    quote: str = '"'
    header_lines: int = 0
    encoding: str = "utf-8"
    id_index: int | None = None
    fields: dict[int, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)


def detect(path: Path) -> bool:
    if path.is_dir():
        return (path / "meta.xml").is_file()
    if path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return any(n.rsplit("/", 1)[-1] == "meta.xml" for n in z.namelist())
    return path.name == "meta.xml"


def _unescape(s: str | None, default: str) -> str:
    if s is None:
        return default
    return s.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r")


def _spec(el, meta_path: Path) -> FileSpec:
    loc = el.find(f"{NS}files/{NS}location")
    if loc is None or not (loc.text or "").strip():
        raise EconetError("meta.xml: a core/extension without <files><location>", path=meta_path)
    s = FileSpec(row_type=el.get("rowType", ""), location=loc.text.strip(),
                 delimiter=_unescape(el.get("fieldsTerminatedBy"), ","),
                 quote=_unescape(el.get("fieldsEnclosedBy"), '"'),
                 header_lines=int(el.get("ignoreHeaderLines", "0") or 0),
                 encoding=el.get("encoding", "UTF-8"))
    idel = el.find(f"{NS}id") if el.find(f"{NS}id") is not None else el.find(f"{NS}coreid")
    if idel is not None and idel.get("index") is not None:
        s.id_index = int(idel.get("index"))
    for f in el.findall(f"{NS}field"):
        term = f.get("term", "").rstrip("/").rsplit("/", 1)[-1]
        if f.get("index") is not None:
            s.fields[int(f.get("index"))] = term
        elif f.get("default") is not None:
            s.defaults[term] = f.get("default")
    return s


def read_meta(folder: Path) -> tuple[FileSpec, list[FileSpec]]:
    meta = folder / "meta.xml"
    try:
        root = ET.parse(meta).getroot()
    except ET.ParseError as exc:
        raise EconetError(f"meta.xml is not valid XML: {exc}", path=meta) from None
    core = root.find(f"{NS}core")
    if core is None:
        raise EconetError("meta.xml has no <core>", path=meta)
    return _spec(core, meta), [_spec(e, meta) for e in root.findall(f"{NS}extension")]


def _extract(zpath: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zpath) as z:
        total = 0
        for info in z.infolist():
            name = info.filename
            if name.startswith("/") or ".." in Path(name).parts:
                raise EconetError(f"unsafe path in archive: {name!r}", path=zpath)
            total += info.file_size
            if total > MAX_UNPACKED:
                raise EconetError("archive unpacks to more than 20 GB", path=zpath)
        z.extractall(dest)
    metas = list(dest.rglob("meta.xml"))
    if not metas:
        raise EconetError("no meta.xml in the archive", path=zpath)
    return metas[0].parent


def _records(folder: Path, spec: FileSpec):
    """(line, {term: value}) per data row of one archive file."""
    path = folder / spec.location
    if not path.is_file():
        raise EconetError(f"file named in meta.xml is missing: {spec.location}", path=folder / "meta.xml")
    quote = spec.quote or None
    with open(path, newline="", encoding=spec.encoding.lower().replace("utf-8", "utf-8-sig")) as fh:
        reader = csv.reader(fh, delimiter=spec.delimiter, quotechar=quote or '"',
                            quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE)
        for _ in range(spec.header_lines):
            next(reader, None)
        try:
            for values in reader:
                if not any(values):
                    continue
                rec = dict(spec.defaults)
                for i, term in spec.fields.items():
                    if i < len(values):
                        rec[term] = values[i]
                rec["__id"] = values[spec.id_index] if spec.id_index is not None and spec.id_index < len(values) else None
                yield reader.line_num, rec, path
        except UnicodeDecodeError:
            raise EconetError(f"not {spec.encoding} text", path=path) from None
        except csv.Error as exc:
            raise EconetError(f"cannot parse: {exc}", path=path, row=reader.line_num) from None


def event_date(v: str | None, path, line, field="eventDate"):
    """DwC eventDate (date, date-time or interval start/end) -> (start UTC, end UTC, offset)."""
    s = text(v)
    if s is None:
        return None, None, None
    parts = s.split("/")
    try:
        a, off = to_utc(parts[0])
        b = None
        if len(parts) == 2 and parts[1]:
            b_text = parts[1]
            if len(b_text) < len(parts[0]) and "T" not in b_text and len(parts[0]) == 10:
                b_text = parts[0][: len(parts[0]) - len(b_text)] + b_text
            b, _ = to_utc(b_text)
    except ValueError:
        raise EconetError(f"not an ISO 8601 date or interval: {s!r}", path=path, row=line, field=field) from None
    return a, b, off


MODELLED = {"occurrenceID", "eventID", "parentEventID", "basisOfRecord", "scientificName", "individualCount",
            "eventDate", "decimalLatitude", "decimalLongitude", "coordinateUncertaintyInMeters", "countryCode",
            "organismID", "sex", "lifeStage", "behavior", "locality", "samplingProtocol", "samplingEffort",
            "sampleSizeValue", "sampleSizeUnit", "__id"}


def load(ing: Ingest, path: Path, **_options) -> dict:
    with tempfile.TemporaryDirectory(prefix="econet-dwca-") as tmp:
        folder = path if path.is_dir() else (path.parent if path.name == "meta.xml" else _extract(path, Path(tmp)))
        core, extensions = read_meta(folder)
        events: dict[str, tuple] = {}
        if core.row_type == EVENT:
            _events(ing, folder, core, events)
            occ = next((e for e in extensions if e.row_type == OCCURRENCE), None)
            if occ is not None:
                _occurrences(ing, folder, occ, events, core_is_event=True)
        elif core.row_type == OCCURRENCE:
            _occurrences(ing, folder, core, events, core_is_event=False)
        else:
            raise EconetError(f"core row type {core.row_type!r} is not supported (Occurrence or Event)",
                              path=folder / "meta.xml")
        meta = {"source_format": FORMAT}
        eml = folder / "eml.xml"
        if eml.is_file():
            meta.update(_eml(eml))
        return meta


def _eml(path: Path) -> dict:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return {}
    def find(tag):
        el = root.find(f".//{tag}")
        return " ".join("".join(el.itertext()).split()) if el is not None else None
    return {"title": find("title"), "description": find("abstract"), "citation": find("citation"),
            "license": find("intellectualRights")}


def _events(ing: Ingest, folder: Path, spec: FileSpec, events: dict) -> None:
    for part in chunks(_records(folder, spec)):
        pl = ing.places([number(r.get("decimalLongitude"), path=p, row=ln, field="decimalLongitude") for ln, r, p in part],
                        [number(r.get("decimalLatitude"), path=p, row=ln, field="decimalLatitude") for ln, r, p in part],
                        [text(r.get("countryCode")) for _, r, _ in part], rows=[ln for ln, _, _ in part],
                        path=folder / spec.location)
        rows = []
        for i, (line, r, p) in enumerate(part):
            key = text(r.get("eventID")) or text(r.get("__id"))
            if key is None:
                raise EconetError("event without eventID", path=p, row=line, field="eventID")
            a, b, off = event_date(r.get("eventDate"), p, line)
            extra = {k: v for k, v in r.items() if k not in MODELLED and v != ""}
            rows.append({"event_key": key, "parent_event_key": text(r.get("parentEventID")),
                         "protocol": text(r.get("samplingProtocol")), "start_utc": a, "end_utc": b,
                         "offset_min": off, "effort": text(r.get("samplingEffort")),
                         "sample_size_value": number(r.get("sampleSizeValue"), path=p, row=line, field="sampleSizeValue"),
                         "sample_size_unit": text(r.get("sampleSizeUnit")), "locality": text(r.get("locality")),
                         "coordinate_uncertainty_m": number(r.get("coordinateUncertaintyInMeters"), path=p, row=line,
                                                            field="coordinateUncertaintyInMeters"),
                         "source_row": line, "row_hash": ing.row_hash("dwc-event", list(r.values())),
                         "attributes": extra or None, **{c: pl[c][i] for c in pl}})
        ing.insert(m.SamplingEvent, rows)
        ing.tick(len(part), "events")
    from sqlalchemy import select
    E = m.SamplingEvent
    for r in ing.conn.execute(select(E.id, E.event_key, E.lon, E.lat, E.start_utc, E.offset_min, E.locality,
                                     E.coordinate_uncertainty_m, E.country_code)
                              .where(E.dataset_id == ing.dataset_id)):
        events[r.event_key] = r


def _occurrences(ing: Ingest, folder: Path, spec: FileSpec, events: dict, core_is_event: bool) -> None:
    for part in chunks(_records(folder, spec)):
        lon, lat, cc, evs = [], [], [], []
        for line, r, p in part:
            ev_key = text(r.get("__id")) if core_is_event else text(r.get("eventID"))
            ev = events.get(ev_key) if ev_key else None
            if core_is_event and ev is None:
                raise EconetError(f"occurrence refers to unknown event {ev_key!r}", path=p, row=line, field="coreid")
            evs.append(ev)
            x = number(r.get("decimalLongitude"), path=p, row=line, field="decimalLongitude")
            y = number(r.get("decimalLatitude"), path=p, row=line, field="decimalLatitude")
            if x is None and ev is not None:
                x, y = ev.lon, ev.lat
            lon.append(x)
            lat.append(y)
            cc.append(text(r.get("countryCode")) or (ev.country_code if ev is not None else None))
        pl = ing.places(lon, lat, cc, rows=[ln for ln, _, _ in part], path=folder / spec.location)
        taxa = [ing.taxa.match(text(r.get("scientificName"))) for _, r, _ in part]
        inds = ing.individual_ids([text(r.get("organismID")) for _, r, _ in part], taxa,
                                  [text(r.get("sex")) for _, r, _ in part])
        rows = []
        for i, (line, r, p) in enumerate(part):
            ev = evs[i]
            a, b, off = event_date(r.get("eventDate"), p, line)
            if a is None and ev is not None:
                a, off = ev.start_utc, ev.offset_min
            unc = number(r.get("coordinateUncertaintyInMeters"), path=p, row=line, field="coordinateUncertaintyInMeters")
            status = (text(r.get("occurrenceStatus")) or "").lower()
            cnt = integer(r.get("individualCount"), path=p, row=line, field="individualCount")
            if cnt is None and status == "absent":
                cnt = 0
            extra = {k: v for k, v in r.items() if k not in MODELLED and v != ""}
            ind = text(r.get("organismID"))
            rows.append({"record_type": "occurrence", "occurrence_key": text(r.get("occurrenceID")) or
                         (None if core_is_event else text(r.get("__id"))),
                         "event_id": ev.id if ev is not None else None,
                         "basis_of_record": text(r.get("basisOfRecord")),
                         "observation_type": "animal", "taxon_id": taxa[i],
                         "scientific_name": text(r.get("scientificName")), "count": cnt, "time_utc": a,
                         "time_end_utc": b, "time_offset_min": off, "individual_key": ind,
                         "individual_id": inds.get(ind), "sex": text(r.get("sex")),
                         "life_stage": text(r.get("lifeStage")), "behaviour": text(r.get("behavior")),
                         "locality": text(r.get("locality")) or (ev.locality if ev is not None else None),
                         "coordinate_uncertainty_m": unc if unc is not None else (
                             ev.coordinate_uncertainty_m if ev is not None else None),
                         "source_row": line, "row_hash": ing.row_hash("dwc-occurrence", list(r.values())),
                         "attributes": extra or None, **{c: pl[c][i] for c in pl}})
        ing.insert(m.Observation, rows)
        ing.tick(len(part), "occurrences")
