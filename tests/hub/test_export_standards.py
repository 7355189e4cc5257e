"""Exports in the standards GBIF and the ringing schemes use, through the caller's view: Darwin Core Archive
with an Event core (sampling events, camera deployments, waterbird counts) and EURING exchange-code lines."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
import zipfile

import pytest
from sqlalchemy import select

from econet.hub import models as m, sharing, sharing_sample as S
from econet.hub.export import export_dataset, export_for_view
from econet.hub.ingest import import_path
from econet.hub.ingest.euring import decode
from econet.hub.query import ObservationFilter
from econet.hub.sharing import View

DEN = S.SECRET_SITES[0]
#: a SIMULATED winter snow-track survey of the owner: a season (parent) with three transect events
EVENTS = [  # eventID, parentEventID, eventDate, protocol, size, unit, lon, lat, locality
    ("WINTER-2023", "", "2023-01-01/2023-04-30", "snow-track survey season", "", "", 131.3, 43.4, "Survey area"),
    ("T1", "WINTER-2023", "2023-03-01/2023-03-05", "camera trap transect", "5", "day", DEN["lon"], DEN["lat"],
     DEN["locality"]),
    ("T2", "WINTER-2023", "2023-04-01", "snow-track transect", "12.5", "kilometre", 131.31, 43.31, "Transect 2"),
    ("T3", "WINTER-2023", "2023-04-02T08:00:00+10:00/2023-04-02T14:30:00+10:00", "snow-track transect", "8",
     "kilometre", 131.52, 43.61, "Transect 3"),
]
OCCURRENCES = [  # eventID, occurrenceID, scientificName, individualCount
    ("T1", "occ-1", "Panthera pardus orientalis", "1"), ("T1", "occ-2", "Capreolus pygargus", "2"),
    ("T2", "occ-3", "Sus scrofa", "3"), ("T2", "occ-4", "Cervus canadensis", "0"),
    ("T3", "occ-5", "Panthera tigris altaica", "1"), ("T3", "occ-6", "Sus scrofa", "1"),
]
EVENT_COLUMNS = ["eventID", "parentEventID", "eventDate", "samplingProtocol", "sampleSizeValue", "sampleSizeUnit",
                 "decimalLongitude", "decimalLatitude", "locality", "countryCode"]
OCCURRENCE_COLUMNS = ["eventID", "occurrenceID", "scientificName", "individualCount", "basisOfRecord"]


def _meta(tag, row_type, location, id_tag, columns, first):
    """A meta.xml block as a partner's tool writes it (comma-separated, quoted, header line)."""
    fields = "".join(f'<field index="{i}" term="http://rs.tdwg.org/dwc/terms/{c}"/>'
                     for i, c in enumerate(columns) if i >= first)
    return (f'<{tag} encoding="UTF-8" fieldsTerminatedBy="," linesTerminatedBy="\\n" fieldsEnclosedBy=\'"\' '
            f'ignoreHeaderLines="1" rowType="http://rs.tdwg.org/dwc/terms/{row_type}">'
            f'<files><location>{location}</location></files><{id_tag} index="0"/>{fields}</{tag}>')


EVENT_META = ('<?xml version="1.0" encoding="UTF-8"?><archive xmlns="http://rs.tdwg.org/dwc/text/">'
              + _meta("core", "Event", "event.csv", "id", EVENT_COLUMNS, 0)
              + _meta("extension", "Occurrence", "occurrence.csv", "coreid", OCCURRENCE_COLUMNS, 1) + "</archive>")
COUNTS = [  # site, site name, date, species, count, method, lon, lat, country
    ("tumen-marsh", "Tumen estuary marsh", "2023-01-15", "Grus japonensis", 14, "ground", 130.6, 42.4, "CN"),
    ("tumen-marsh", "Tumen estuary marsh", "2023-01-15", "Grus monacha", 0, "ground", 130.6, 42.4, "CN"),
    ("khanka-shore", "Lake Khanka shore", "2023-04-10", "Grus japonensis", 31, "boat", 132.43, 45.02, "RU"),
    ("khanka-shore", "Lake Khanka shore", "2023-05-10", "Anser cygnoid", 5, "boat", 132.43, 45.02, "RU"),
]
COUNT_MAPPING = """record_type: waterbird_count
columns: {site: site, name: site_name, date: date, species: scientific_name, n: count, method: method,
          lon: lon, lat: lat, cc: country_code, cover: coverage}
"""


def _write_event_archive(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.xml").write_text(EVENT_META)
    with open(folder / "event.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(EVENT_COLUMNS)
        for e in EVENTS:
            w.writerow([*e, "RU"])
    with open(folder / "occurrence.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(OCCURRENCE_COLUMNS)
        for o in OCCURRENCES:
            w.writerow([*o, "HumanObservation"])
    return folder


def _partners(db_url) -> dict:
    """The owner (a Russian park) and a named Chinese partner, a viewer in each, and the sample hub's sensitive
    taxa (Amur leopard: 0.1 degree in Russia; Amur tiger: withheld in Russia)."""
    from econet.hub import accounts
    from econet.hub.db import open_hub
    engine = open_hub(db_url)
    tokens = {}
    with engine.begin() as conn:
        accounts.add_org(conn, S.OWNER, country="RU")
        accounts.add_org(conn, S.PARTNER, country="CN")
        for user, org in (("owner_viewer", S.OWNER), ("partner_viewer", S.PARTNER)):
            accounts.add_user(conn, user, "correct horse battery")
            accounts.set_role(conn, user, org, "viewer")
            tokens[user] = accounts.create_token(conn, user, name="test", days=1)["token"]
        sharing.set_sensitive(conn, "Panthera pardus orientalis", "RU", "0.1", reason="poaching risk at dens")
        sharing.set_sensitive(conn, "Panthera tigris altaica", "RU", "withheld", reason="poaching risk at kills")
    return {"engine": engine, "tokens": tokens}


@pytest.fixture
def hub(db_url, tmp_path):
    h = _partners(db_url)
    e = h["engine"]
    import_path(e, _write_event_archive(tmp_path / "events"), dataset="snow-tracks", org=S.OWNER, fmt="dwca",
                dataset_meta={"license": "CC-BY-NC-4.0", "citation": "Land of the Leopard NP (2023). Snow tracks."})
    with open(tmp_path / "counts.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["site", "name", "date", "species", "n", "method", "lon", "lat", "cc", "cover"])
        for c in COUNTS:
            w.writerow([*c, "complete"])
    (tmp_path / "counts.yaml").write_text(COUNT_MAPPING)
    import_path(e, tmp_path / "counts.csv", dataset="crane-site-counts", org=S.PARTNER, fmt="csv",
                mapping=tmp_path / "counts.yaml", dataset_meta={"license": "CC-BY-4.0"})
    with e.begin() as conn:
        sharing.set_sharing(conn, "snow-tracks", visibility="partners", partners=[S.PARTNER])
        sharing.set_sharing(conn, "crane-site-counts", visibility="public")
    h["tmp"] = tmp_path
    return h


def _read_archive(path) -> dict:
    with zipfile.ZipFile(path) as z:
        out = {"meta": z.read("meta.xml").decode(), "eml": z.read("eml.xml").decode(),
               "text": "".join(z.read(n).decode() for n in z.namelist())}
        for name in ("event.txt", "occurrence.txt"):
            out[name] = list(csv.DictReader(io.StringIO(z.read(name).decode()), delimiter="\t",
                                            quoting=csv.QUOTE_NONE))
    return out


def _export(engine, who, fmt, out, **filters):
    with engine.begin() as conn:
        view = who if isinstance(who, View) else View.for_user(conn, who)
        return export_for_view(conn, view, fmt, out, ObservationFilter(**filters))


def test_event_core_archive_follows_the_sampling_event_guidelines(hub):
    res = _export(hub["engine"], "owner_viewer", "dwca-event", hub["tmp"] / "owner.zip", dataset="snow-tracks")
    a = _read_archive(hub["tmp"] / "owner.zip")
    root = ET.fromstring(a["meta"])
    ns = "{http://rs.tdwg.org/dwc/text/}"
    assert root.find(f"{ns}core").get("rowType") == "http://rs.tdwg.org/dwc/terms/Event"
    assert root.find(f"{ns}extension").get("rowType") == "http://rs.tdwg.org/dwc/terms/Occurrence"
    assert root.find(f"{ns}extension/{ns}coreid").get("index") == "0"
    ev = {e["eventID"]: e for e in a["event.txt"]}
    assert set(ev) == {"WINTER-2023", "T1", "T2", "T3"} and res["events"] == 4 and res["records"] == 6
    assert ev["T1"]["parentEventID"] == "WINTER-2023" and ev["T1"]["eventDate"] == "2023-03-01/2023-03-05"
    assert (ev["T2"]["samplingProtocol"], ev["T2"]["sampleSizeValue"], ev["T2"]["sampleSizeUnit"]) == \
        ("snow-track transect", "12.5", "kilometre")
    assert ev["T3"]["eventDate"] == "2023-04-02T08:00:00+10:00/2023-04-02T14:30:00+10:00"
    assert float(ev["T1"]["decimalLongitude"]) == DEN["lon"] and ev["T1"]["dataGeneralizations"] == ""
    occ = {o["occurrenceID"]: o for o in a["occurrence.txt"]}
    assert {o["eventID"] for o in occ.values()} <= set(ev)
    assert occ["occ-4"]["occurrenceStatus"] == "absent" and occ["occ-4"]["individualCount"] == "0"
    assert occ["occ-3"]["occurrenceStatus"] == "present" and occ["occ-1"]["eventID"] == "T1"
    assert "<title" in a["eml"] and "Snow tracks" in a["eml"]


def test_event_archive_round_trips_through_the_importer(hub):
    e = hub["engine"]
    export_dataset(e, "dwca-event", hub["tmp"] / "rt.zip", dataset="snow-tracks")
    import_path(e, hub["tmp"] / "rt.zip", dataset="snow-tracks-again", org=S.OWNER, fmt="dwca")
    E, O = m.SamplingEvent, m.Observation
    with e.connect() as conn:
        def events(name):
            ds = conn.execute(select(m.Dataset.id).where(m.Dataset.name == name)).scalar_one()
            return (sorted(tuple(r) for r in conn.execute(
                        select(E.event_key, E.parent_event_key, E.start_utc, E.end_utc, E.offset_min, E.protocol,
                               E.sample_size_value, E.sample_size_unit, E.lon, E.lat, E.country_code, E.locality)
                        .where(E.dataset_id == ds))),
                    sorted(tuple(r) for r in conn.execute(
                        select(O.occurrence_key, O.scientific_name, O.taxon_id, O.count, O.time_utc, O.time_end_utc,
                               O.lon, O.lat, O.basis_of_record).where(O.dataset_id == ds))))
        assert events("snow-tracks-again") == events("snow-tracks")
        assert len(events("snow-tracks")[1]) == 6


def test_partner_gets_generalized_events_and_no_withheld_records(hub):
    e = hub["engine"]
    res = _export(e, "partner_viewer", "dwca-event", hub["tmp"] / "partner.zip", dataset="snow-tracks")
    a = _read_archive(hub["tmp"] / "partner.zip")
    ev = {x["eventID"]: x for x in a["event.txt"]}
    occ = {o["occurrenceID"]: o for o in a["occurrence.txt"]}
    # the leopard (sensitive in RU, 0.1 degree) and the deer at its den: rounded, and so is their event
    assert (float(ev["T1"]["decimalLongitude"]), float(ev["T1"]["decimalLatitude"])) == (131.1, 43.2)
    assert "rounded to 0.1 degree" in ev["T1"]["dataGeneralizations"] and ev["T1"]["locality"] == ""
    assert ev["T1"]["coordinatePrecision"] == "0.1" and ev["T1"]["informationWithheld"]
    assert float(occ["occ-1"]["decimalLongitude"]) == 131.1 and occ["occ-1"]["dataGeneralizations"]
    # the tiger (withheld in RU) is not there; its event is shown on the 1-degree grid only
    assert "occ-5" not in occ and "Panthera tigris" not in a["text"] and res["withheld"] == 1
    assert (float(ev["T3"]["decimalLongitude"]), float(ev["T3"]["decimalLatitude"])) == (132.0, 44.0)
    # an event without sensitive records stays exact
    assert float(ev["T2"]["decimalLongitude"]) == 131.31 and ev["T2"]["dataGeneralizations"] == ""
    # nothing in the archive gives the den away
    assert str(DEN["lon"]) not in a["text"] and DEN["locality"] not in a["text"]
    # anonymous callers do not see the partners-only dataset at all
    with pytest.raises(Exception, match="unknown dataset"):
        _export(e, View.anonymous(), "dwca-event", hub["tmp"] / "anon.zip", dataset="snow-tracks")
    anon = _export(e, View.anonymous(), "dwca-event", hub["tmp"] / "anon.zip")
    names = {d["dataset"] for d in anon["datasets"]}
    assert "crane-site-counts" in names and "snow-tracks" not in names


def test_waterbird_counts_become_site_visits_with_absences(hub):
    res = _export(hub["engine"], View.anonymous(), "dwca-event", hub["tmp"] / "counts.zip",
                  dataset="crane-site-counts")
    a = _read_archive(hub["tmp"] / "counts.zip")
    ev = {x["eventID"]: x for x in a["event.txt"]}
    assert set(ev) == {"tumen-marsh:2023-01-15:ground", "khanka-shore:2023-04-10:boat",
                       "khanka-shore:2023-05-10:boat"} and res["records"] == 4
    t = ev["tumen-marsh:2023-01-15:ground"]
    assert (t["eventDate"], t["samplingProtocol"], t["sampleSizeValue"], t["sampleSizeUnit"], t["locationID"]) == \
        ("2023-01-15", "waterbird site count (ground)", "1", "site visit", "tumen-marsh")
    assert "coverage complete" in t["samplingEffort"] and t["countryCode"] == "CN"
    occ = {(o["eventID"], o["scientificName"]): o for o in a["occurrence.txt"]}
    assert occ[("tumen-marsh:2023-01-15:ground", "Grus monacha")]["occurrenceStatus"] == "absent"
    assert occ[("khanka-shore:2023-04-10:boat", "Grus japonensis")]["individualCount"] == "31"
    # a filter picks the occurrences (and the events holding them)
    assert float(ev["khanka-shore:2023-05-10:boat"]["decimalLongitude"]) == 132.43
    res = _export(hub["engine"], View.anonymous(), "dwca-event", hub["tmp"] / "c2.zip",
                  dataset="crane-site-counts", country="RU")
    assert (res["events"], res["records"]) == (2, 2)


def test_a_count_site_of_a_sensitive_species_is_generalized_on_every_visit(hub):
    with hub["engine"].begin() as conn:
        sharing.set_sensitive(conn, "Grus japonensis", "RU", "0.1", reason="test")
    _export(hub["engine"], View.anonymous(), "dwca-event", hub["tmp"] / "c3.zip", dataset="crane-site-counts",
            start="2023-05-01")
    a = _read_archive(hub["tmp"] / "c3.zip")
    ev = {x["eventID"]: x for x in a["event.txt"]}
    # the goose visit held no crane, but the crane was counted at the site: the site is not given away
    goose = ev["khanka-shore:2023-05-10:boat"]
    assert set(ev) == {"khanka-shore:2023-05-10:boat"} and goose["dataGeneralizations"]
    assert (float(goose["decimalLongitude"]), float(goose["decimalLatitude"])) == (132.4, 45.0)
    assert "132.43" not in a["text"] and "Lake Khanka shore" not in a["text"]


def test_camera_deployments_become_events(db_url, tmp_path, camtrap_example):
    import_path(db_url, camtrap_example, dataset="mica", org="INBO")
    res = export_dataset(db_url, "dwca-event", tmp_path / "mica.zip", dataset="mica")
    occ_core = export_dataset(db_url, "dwca", tmp_path / "mica-occ.zip", dataset="mica")
    a = _read_archive(tmp_path / "mica.zip")
    with open(camtrap_example / "deployments.csv", encoding="utf-8-sig") as fh:
        deps = {r["deploymentID"]: r for r in csv.DictReader(fh)}
    ev = {x["eventID"]: x for x in a["event.txt"]}
    assert set(ev) == set(deps) and res["events"] == len(deps)
    first = ev["00a2c20d"]
    assert first["samplingProtocol"] == "camera trap" and first["sampleSizeUnit"] == "day"
    assert first["eventDate"].split("/")[0].startswith(deps["00a2c20d"]["deploymentStart"][:19])
    import datetime as dt
    days = (dt.datetime.fromisoformat(deps["00a2c20d"]["deploymentEnd"])
            - dt.datetime.fromisoformat(deps["00a2c20d"]["deploymentStart"])).total_seconds() / 86400
    assert float(first["sampleSizeValue"]) == pytest.approx(days, abs=1e-4)
    # the same animal observations as the occurrence-core export (camtrapdp write_dwc's choice of level)
    assert res["records"] == occ_core["records"] > 0
    assert {o["basisOfRecord"] for o in a["occurrence.txt"]} == {"MachineObservation"}


# --------------------------------------------------------------------------- EURING

@pytest.fixture
def rings(db_url, tmp_path, euring_dir):
    h = _partners(db_url)
    e = h["engine"]
    for name in ("euring2000_examples.txt", "euring2000plus_examples.psv", "euring2020_examples.psv"):
        import_path(e, euring_dir / name, dataset="reed-rings", org=S.OWNER, fmt="euring")
    with e.begin() as conn:
        sharing.set_sharing(conn, "reed-rings", visibility="partners", partners=[S.PARTNER])
    h["tmp"] = tmp_path
    return h


def _fields(engine, dataset):
    R = m.RingEncounter
    with engine.connect() as conn:
        ds = conn.execute(select(m.Dataset.id).where(m.Dataset.name == dataset)).scalar_one()
        return sorted(((r.attributes, r.lon, r.lat, r.date) for r in conn.execute(
            select(R.attributes, R.lon, R.lat, R.date).where(R.dataset_id == ds))), key=lambda x: repr(x))


def test_euring_export_round_trips_for_the_owner(rings):
    e = rings["engine"]
    out = rings["tmp"] / "owner.psv"
    res = _export(e, "owner_viewer", "euring", out, dataset="reed-rings")
    lines = out.read_text().splitlines()
    assert res["records"] == len(lines) == 6 and res["generalized"] == 0
    # EURING 2000 records come back as 2000+; 2020 records with decimal co-ordinates stay 2020 (no loss)
    formats = sorted(decode(ln)["format"] for ln in lines)
    assert formats == ["EURING2000+"] * 3 + ["EURING2020"] * 3
    import_path(e, out, dataset="reed-rings-again", org=S.OWNER, fmt="euring")
    before, after = _fields(e, "reed-rings"), _fields(e, "reed-rings-again")
    assert [x[1:] for x in after] == [x[1:] for x in before]
    # every decoded value is back (EURING 2000 has no fields 34-60: absent there, empty in 2000+)
    filled = lambda fields: {k: v for k, v in fields.items() if v not in (None, "")}  # noqa: E731
    assert [filled(x[0]) for x in after] == [filled(x[0]) for x in before]


def test_euring_export_generalizes_for_a_partner(rings):
    e = rings["engine"]
    with e.begin() as conn:
        sharing.set_sensitive(conn, "Emberiza schoeniclus", "DE", "0.1", reason="test")
        sharing.set_sensitive(conn, "Emberiza schoeniclus", "SE", "withheld", reason="test")
    out = rings["tmp"] / "partner.psv"
    res = _export(e, "partner_viewer", "euring", out, dataset="reed-rings")
    recs = [decode(ln) for ln in out.read_text().splitlines()]
    # the two Swedish recoveries are withheld; the German ringings rounded; the Spanish record exact
    assert res["records"] == 4 and res["withheld"] == 2 and res["generalized"] == 2
    de = [r for r in recs if r["fields"]["place_code"] == "DECK"]
    assert len(de) == 2 and all((r["lon"], r["lat"]) == (7.7, 50.4) for r in de)  # 0.1-degree grid
    # rounding at 50 N adds 14,697 m to the 1,000 m of code 0: radius 20 km, code 3
    assert {r["fields"]["accuracy_of_coordinates"] for r in de} == {"3"}
    assert not any(r["fields"]["place_code"].startswith("SV") for r in recs)
    es = [r for r in recs if r["fields"]["ringing_scheme"] == "ESA"]
    assert {r["fields"]["accuracy_of_coordinates"] for r in es} == {"0"}
    # anonymous: the partners-only dataset is not there
    anon = _export(e, View.anonymous(), "euring", rings["tmp"] / "anon.psv")
    assert "reed-rings" not in {d["dataset"] for d in anon["datasets"]}
    assert not any(decode(ln)["fields"]["ringing_scheme"] in ("DER", "ESA")
                   for ln in (rings["tmp"] / "anon.psv").read_text().splitlines())


def test_euring_rounding_changes_the_coordinates_field(rings):
    e = rings["engine"]
    with e.begin() as conn:
        sharing.set_sensitive(conn, "Acrocephalus schoenobaenus", "ES", "1", reason="test")
    out = rings["tmp"] / "p.psv"
    _export(e, "partner_viewer", "euring", out, dataset="reed-rings", country="ES")
    recs = [decode(ln) for ln in out.read_text().splitlines()]
    assert len(recs) == 2
    for r in recs:
        assert (r["lon"], r["lat"]) == (-5.0, 42.0) and r["fields"]["accuracy_of_coordinates"] == "6"
        assert not r["fields"].get("place_name")


def _cli(*args):
    from econet.cli.main import main
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code


def test_cli_exports_both_formats(rings, tmp_path, capsys):
    url = rings["engine"].url.render_as_string(hide_password=False)
    assert _cli("hub", "export", str(tmp_path / "o.psv"), "--format", "euring", "--dataset", "reed-rings",
                "--db", url, "--quiet") == 0
    assert len((tmp_path / "o.psv").read_text().splitlines()) == 6
    assert _cli("hub", "export", str(tmp_path / "p.zip"), "--format", "dwca-event", "--as-user", "partner_viewer",
                "--db", url, "--quiet") == 0
    assert zipfile.ZipFile(tmp_path / "p.zip").namelist()[:2] == ["event.txt", "occurrence.txt"]
    capsys.readouterr()
    with rings["engine"].begin() as conn:
        sharing.set_sharing(conn, "reed-rings", visibility="owner")
    assert _cli("hub", "export", str(tmp_path / "x.psv"), "--format", "euring", "--as-user", "partner_viewer",
                "--dataset", "reed-rings", "--db", url) == 2
    err = capsys.readouterr().err
    assert "unknown dataset" in err and "Traceback" not in err and not (tmp_path / "x.psv").exists()


def test_rest_routes_give_each_caller_their_view(rings):
    from fastapi.testclient import TestClient
    from tests.api.conftest import bearer, make_app
    e = rings["engine"]
    with e.begin() as conn:
        sharing.set_sensitive(conn, "Emberiza schoeniclus", "DE", "0.1", reason="test")
    with TestClient(make_app(e.url.render_as_string(hide_password=False))) as c:
        owner = c.get("/api/v1/exports/euring", params={"dataset": "reed-rings"},
                      headers=bearer(rings["tokens"]["owner_viewer"]))
        partner = c.get("/api/v1/exports/euring", params={"dataset": "reed-rings"},
                        headers=bearer(rings["tokens"]["partner_viewer"]))
        assert owner.status_code == partner.status_code == 200
        assert "+502400+0074200" in owner.text and "+502400+0074200" in partner.text  # 50.4/7.7 is on the grid
        assert owner.headers["X-Econet-Records"] == partner.headers["X-Econet-Records"] == "6"
        lines = {decode(ln)["fields"]["place_code"]: decode(ln)["fields"] for ln in partner.text.splitlines()}
        assert lines["DECK"]["accuracy_of_coordinates"] == "3"
        assert c.get("/api/v1/exports/euring", params={"dataset": "reed-rings"}).status_code == 400  # hidden
        z = c.get("/api/v1/exports/dwca-event", headers=bearer(rings["tokens"]["partner_viewer"]))
        assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
        assert set(zipfile.ZipFile(io.BytesIO(z.content)).namelist()) >= {"event.txt", "occurrence.txt", "meta.xml"}
