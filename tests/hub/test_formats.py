"""EURING, WGMS, genotypes and Darwin Core Archive import/export."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from sqlalchemy import func, select

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.db import open_hub
from econet.hub.export import export_dataset
from econet.hub.ingest import import_path
from econet.hub.ingest.euring import decode


# Expected decodings from ../shared/conformance/euring/SOURCE.md (records from observation/euring's fixtures;
# Speek et al. 2001 and EURING 2020 manual examples).
def test_euring2000_examples_decode(euring_dir):
    lines = (euring_dir / "euring2000_examples.txt").read_text().split()
    a, b = decode(lines[0])["fields"], decode(lines[1])["fields"]
    assert decode(lines[0])["format"] == "EURING2000"
    assert (a["ringing_scheme"], a["primary_identification_method"], a["identification_number"]) == \
        ("DER", "A0", "CD...52065")
    assert (a["species_mentioned"], a["date"], a["place_code"], a["geographical_coordinates"]) == \
        ("18770", "08101971", "DECK", "+502400+0074200")
    assert (a["accuracy_of_coordinates"], a["condition"], a["circumstances"], a["euring_code_identifier"]) == \
        ("0", "8", "20", "3")
    assert (a["derived_data_distance"], a["derived_data_direction"], a["derived_data_elapsed_time"]) == \
        ("00000", "000", "00000")
    assert (b["metal_ring_information"], b["date"], b["place_code"], b["geographical_coordinates"]) == \
        ("4", "12071976", "SV55", "+584200+0134800")
    assert (b["condition"], b["circumstances"], b["euring_code_identifier"]) == ("1", "01", "3")
    assert (b["derived_data_distance"], b["derived_data_direction"], b["derived_data_elapsed_time"]) == \
        ("01002", "023", "01739")


def test_euring2000plus_and_2020_examples_decode(euring_dir):
    plus = decode((euring_dir / "euring2000plus_examples.psv").read_text().strip())
    f = plus["fields"]
    assert plus["format"] == "EURING2000+"
    assert (f["ringing_scheme"], f["identification_number"], f["species_mentioned"], f["date"]) == \
        ("ESA", "Z.....6408", "12430", "11082006")
    assert (f["place_code"], f["geographical_coordinates"], f["condition"], f["circumstances"]) == \
        ("ES14", "+420500-0044500", "0", "99")
    assert (f["euring_code_identifier"], f["derived_data_distance"], f["derived_data_direction"],
            f["derived_data_elapsed_time"], f["wing_length"]) == ("4", "00280", "241", "00097", "63.5")
    assert plus["lat"] == pytest.approx(42.0833, abs=1e-4) and plus["lon"] == pytest.approx(-4.75)
    recs = [decode(ln) for ln in (euring_dir / "euring2020_examples.psv").read_text().splitlines() if ln.strip()]
    assert [r["format"] for r in recs] == ["EURING2020"] * 3
    assert [(r["lat"], r["lon"]) for r in recs] == [(50.4, 7.7), (58.7, 13.8), (42.0833, -4.75)]


def test_euring_import_joins_ringing_and_recovery(db_url, euring_dir):
    r = import_path(db_url, euring_dir / "euring2000_examples.txt", dataset="rings", org="Vogelwarte", fmt="euring")
    assert r["added"] == {"individuals": 1, "observations": 2, "ring_encounters": 2}
    with open_hub(db_url).connect() as c:
        enc = c.execute(select(m.RingEncounter.__table__).order_by(m.RingEncounter.date)).all()
        assert [str(e.date) for e in enc] == ["1971-10-08", "1976-07-12"]
        assert enc[0].individual_id == enc[1].individual_id
        assert (enc[1].lat, enc[1].lon) == pytest.approx((58.7, 13.8))
        assert enc[0].attributes["euring_code_identifier"] == "3"


def test_euring_bad_record_names_line_and_field(tmp_path, euring_dir):
    lines = (euring_dir / "euring2000_examples.txt").read_text().split()
    bad = lines[1][:44] + "3207X976" + lines[1][52:]
    (tmp_path / "bad.txt").write_text(lines[0] + "\n" + bad + "\n")
    with pytest.raises(EconetError) as err:
        import_path(f"sqlite:///{tmp_path / 'h.db'}", tmp_path / "bad.txt", dataset="r", org="o", fmt="euring")
    assert err.value.row == 2 and err.value.field == "Date"


def test_wgms_oggm_mass_balance(db_url, shared):
    folder = shared / "data" / "glaciers" / "wgms_oggm"
    r = import_path(db_url, folder, dataset="wgms", org="WGMS", fmt="wgms")
    # expected: every non-empty balance/area cell of the 31 mbdata files, every profile cell
    want = 0
    for f in sorted((folder / "mbdata").glob("*.csv")):
        for row in csv.DictReader(open(f)):
            want += sum(1 for k in ("AREA", "WINTER_BALANCE", "SUMMER_BALANCE", "ANNUAL_BALANCE") if row[k])
    for f in sorted((folder / "mb_profiles").glob("*.csv")):
        for row in list(csv.reader(open(f)))[1:]:
            want += sum(1 for v in row[1:] if v)
    assert r["added"]["glacier_observations"] == want
    with open_hub(db_url).connect() as c:
        G, GO = m.Glacier, m.GlacierObservation
        assert c.execute(select(func.count()).select_from(G)).scalar_one() == 31
        ts = c.execute(select(G.__table__).where(G.wgms_id == 817)).one()
        assert (ts.name, ts.country_code, ts.rgi_id) == ("TS.TUYUKSUYSKIY", "KZ", "RGI60-13.08624")
        assert ts.glims_id  # from OGGM's rgi_wgms_links table
        v = c.execute(select(GO.value, GO.unit).where(GO.glacier_id == ts.id, GO.variable == "annual_balance",
                                                       GO.year == 1957)).one()
        assert tuple(v) == (-150.0, "mm w.e.")  # first row of mbdata_WGMS-00817.csv


def test_wgms_fog_front_variation_table(db_url, tmp_path):
    (tmp_path / "FRONT_VARIATION.csv").write_text(
        "POLITICAL_UNIT,NAME,WGMS_ID,YEAR,SURVEY_DATE,REFERENCE_DATE,FRONT_VARIATION,FRONT_VAR_UNC,"
        "QUALITATIVE_VARIATION,SURVEY_PLATFORM_METHOD,INVESTIGATOR\n"
        "KZ,TS.TUYUKSUYSKIY,817,2010,20100915,20090915,-12.5,2,,tG,A. Kokarev\n"
        "KZ,TS.TUYUKSUYSKIY,817,2011,20119999,20100915,-9,,,tG,A. Kokarev\n")
    r = import_path(db_url, tmp_path / "FRONT_VARIATION.csv", dataset="fog", org="WGMS", fmt="wgms")
    assert r["added"]["glacier_observations"] == 2
    with open_hub(db_url).connect() as c:
        rows = c.execute(select(m.GlacierObservation.__table__).order_by(m.GlacierObservation.year)).all()
        assert [(x.variable, x.value, x.unit, x.uncertainty, x.period_start, x.period_end, x.method) for x in rows] == [
            ("front_variation", -12.5, "m", 2.0, "20090915", "20100915", "tG"),
            ("front_variation", -9.0, "m", None, "20100915", "20119999", "tG")]


def test_genotypes_genepop(db_url, shared):
    r = import_path(db_url, shared / "reference" / "adegenet_nancycats" / "nancycats.gen", dataset="cats",
                    org="adegenet")
    # adegenet's nancycats: 237 cats genotyped at 9 microsatellite loci
    assert r["added"] == {"genetic_samples": 237, "genotypes": 237 * 9}


def test_dwca_round_trip(db_url, camtrap_example, tmp_path):
    import_path(db_url, camtrap_example, dataset="mica", org="INBO")
    out = tmp_path / "mica.zip"
    res = export_dataset(db_url, "dwca", out, dataset="mica")
    with zipfile.ZipFile(out) as z:
        assert set(z.namelist()) == {"occurrence.txt", "meta.xml", "eml.xml"}
        occ = list(csv.DictReader(io.TextIOWrapper(z.open("occurrence.txt"), encoding="utf-8"), delimiter="\t"))
    # camtrapdp::write_dwc: animal observations at event level only (the example has 36 event-level rows)
    with open(camtrap_example / "observations.csv", encoding="utf-8-sig") as fh:
        src = [r for r in csv.DictReader(fh) if r["observationLevel"] == "event" and r["observationType"] == "animal"]
    assert res["records"] == len(occ) == len(src)
    by_id = {r["occurrenceID"]: r for r in occ}
    for s in src:
        o = by_id[s["observationID"]]
        assert (o["scientificName"], o["individualCount"], o["basisOfRecord"]) == \
            (s["scientificName"], s["count"], "MachineObservation")
        assert o["eventDate"] == f"{s['eventStart']}/{s['eventEnd']}" or o["eventDate"] == s["eventStart"]
        assert o["dataGeneralizations"] == "coordinates rounded to 0.001 degree"
    back = import_path(db_url, out, dataset="mica-gbif", org="GBIF")
    assert back["added"]["observations"] == len(src)
    # the same events from two datasets are linked as duplicates, not dropped
    assert back["duplicate_links"] >= len(src)
    with open_hub(db_url).connect() as c:
        ds = c.execute(select(m.Dataset.__table__).where(m.Dataset.name == "mica-gbif")).one()
        assert ds.license == "CC0-1.0" and ds.title.startswith("Sample from: MICA")
        audit = c.execute(select(m.AuditEntry.__table__)).all()  # the export was logged (append-only log)
        assert [(a.action, a.target) for a in audit] == [("export", "dwca:mica")]
        assert audit[0].details["records"] == len(src)


def test_dwca_event_core_with_occurrences(db_url, tmp_path):
    folder = tmp_path / "dwca"
    folder.mkdir()
    (folder / "event.txt").write_text(
        "eventID\teventDate\tsamplingProtocol\tsampleSizeValue\tsampleSizeUnit\tdecimalLatitude\tdecimalLongitude\t"
        "countryCode\tlocality\n"
        "ev1\t2023-01-15/2023-01-16\tIWC waterbird count\t2\tday\t42.95\t131.05\tRU\tKhasan lakes\n")
    (folder / "occurrence.txt").write_text(
        "eventID\toccurrenceID\tscientificName\tindividualCount\toccurrenceStatus\n"
        "ev1\to1\tGrus japonensis\t14\tpresent\n"
        "ev1\to2\tGrus monacha\t\tabsent\n")
    (folder / "meta.xml").write_text("""<archive xmlns="http://rs.tdwg.org/dwc/text/">
  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="1"
        rowType="http://rs.tdwg.org/dwc/terms/Event">
    <files><location>event.txt</location></files><id index="0"/>
    <field index="0" term="http://rs.tdwg.org/dwc/terms/eventID"/>
    <field index="1" term="http://rs.tdwg.org/dwc/terms/eventDate"/>
    <field index="2" term="http://rs.tdwg.org/dwc/terms/samplingProtocol"/>
    <field index="3" term="http://rs.tdwg.org/dwc/terms/sampleSizeValue"/>
    <field index="4" term="http://rs.tdwg.org/dwc/terms/sampleSizeUnit"/>
    <field index="5" term="http://rs.tdwg.org/dwc/terms/decimalLatitude"/>
    <field index="6" term="http://rs.tdwg.org/dwc/terms/decimalLongitude"/>
    <field index="7" term="http://rs.tdwg.org/dwc/terms/countryCode"/>
    <field index="8" term="http://rs.tdwg.org/dwc/terms/locality"/>
  </core>
  <extension encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="1"
        rowType="http://rs.tdwg.org/dwc/terms/Occurrence">
    <files><location>occurrence.txt</location></files><coreid index="0"/>
    <field index="1" term="http://rs.tdwg.org/dwc/terms/occurrenceID"/>
    <field index="2" term="http://rs.tdwg.org/dwc/terms/scientificName"/>
    <field index="3" term="http://rs.tdwg.org/dwc/terms/individualCount"/>
    <field index="4" term="http://rs.tdwg.org/dwc/terms/occurrenceStatus"/>
  </extension>
</archive>""")
    r = import_path(db_url, folder, dataset="cranes", org="Khanka reserve")
    assert r["added"] == {"sampling_events": 1, "observations": 2}
    with open_hub(db_url).connect() as c:
        ev = c.execute(select(m.SamplingEvent.__table__)).one()
        assert (ev.protocol, ev.sample_size_value, ev.sample_size_unit) == ("IWC waterbird count", 2.0, "day")
        obs = {o.occurrence_key: o for o in c.execute(select(m.Observation.__table__))}
        assert obs["o1"].count == 14 and obs["o2"].count == 0  # absence kept as a zero count
        assert obs["o1"].event_id == ev.id and obs["o1"].lat == 42.95 and obs["o1"].locality == "Khasan lakes"
