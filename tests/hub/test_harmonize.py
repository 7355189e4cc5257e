"""Harmonization on import: taxon names, times to UTC with the offset kept, CRS and units, duplicate links across
partners, and provenance (dataset, batch, original row)."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from pyproj import Transformer
from sqlalchemy import select

from econet.hub import models as m
from econet.hub.db import open_hub
from econet.hub.ingest import import_path
from econet.hub.taxonomy import canonical


def _write(tmp_path, name, csv_text, mapping_text):
    (tmp_path / name).write_text(textwrap.dedent(csv_text).lstrip())
    mp = tmp_path / (name + ".yaml")
    mp.write_text(textwrap.dedent(mapping_text))
    return tmp_path / name, mp


PATROL = """
    id;species;when;E;N;acc_km;n;animal
    p1;panthera TIGRIS altaica (Temminck, 1844);12.03.2021 14:30;681000;4772000;0.5;1;T-07
    p2;Uncia uncia;12.03.2021 15:00;681100;4772100;0.5;1;
    p3;Panthera pardus orientalsi;13.03.2021 06:10;682000;4773000;1;1;L-02
    p4;Meles leucurus Hodgson, 1847;13.03.2021 07:00;682500;4773500;1;2;
"""
PATROL_MAP = """
    record_type: observation
    delimiter: ";"
    crs: EPSG:32652
    date_format: "%d.%m.%Y %H:%M"
    timezone: Asia/Vladivostok
    columns: {id: occurrence_id, species: scientific_name, when: time, E: x, N: y, acc_km: coordinate_uncertainty,
              n: count, animal: individual}
    units: {coordinate_uncertainty: km}
"""


def test_names_times_coordinates_units(db_url, tmp_path):
    path, mp = _write(tmp_path, "patrol.csv", PATROL, PATROL_MAP)
    report = import_path(db_url, path, dataset="patrols", org="Land of the Leopard NP", country="RU", mapping=mp)
    assert report["added"]["observations"] == 4
    assert report["taxon_reviews"] == [{"name": "Panthera pardus orientalsi",
                                        "proposed": "Panthera pardus orientalis", "rows": 1}]
    engine = open_hub(db_url)
    with engine.connect() as c:
        O, T = m.Observation, m.Taxon
        rows = {r.occurrence_key: r for r in c.execute(
            select(O.__table__, T.scientific_name.label("accepted"), T.status)
            .join(T, T.id == O.taxon_id, isouter=True))}
        assert rows["p1"].accepted == "Panthera tigris altaica"  # case and author string ignored
        assert rows["p2"].accepted == "Panthera uncia"           # synonym -> accepted name
        assert rows["p3"].taxon_id is None                       # misspelling: not changed, queued for review
        assert rows["p3"].scientific_name == "Panthera pardus orientalsi"
        assert (rows["p4"].accepted, rows["p4"].status) == ("Meles leucurus", "provisional")
        # local time in Vladivostok (UTC+10) -> UTC, offset kept
        assert rows["p1"].time_utc == dt.datetime(2021, 3, 12, 4, 30) and rows["p1"].time_offset_min == 600
        # UTM 52N -> WGS84, checked with an independent transformer
        lon, lat = Transformer.from_crs(32652, 4326, always_xy=True).transform(681000, 4772000)
        assert rows["p1"].lon == pytest.approx(lon, abs=1e-9) and rows["p1"].lat == pytest.approx(lat, abs=1e-9)
        assert rows["p1"].coordinate_uncertainty_m == 500.0
        assert rows["p1"].x is not None and rows["p1"].country_code == "RU"  # 43.08 N 131.22 E: Primorye, Russia
        # provenance
        assert rows["p3"].source_row == 4 and rows["p3"].batch_id == report["batch"]
        ds = c.execute(select(m.Dataset.id).where(m.Dataset.name == "patrols")).scalar()
        assert {r.dataset_id for r in rows.values()} == {ds}


def test_canonical_names():
    assert canonical("Panthera tigris altaica Temminck, 1844") == "Panthera tigris altaica"
    assert canonical("URSUS ARCTOS") == "Ursus arctos"
    assert canonical("Ursus arctos subsp. arctos") == "Ursus arctos arctos"


CAMERA = """
    id,species,time,lon,lat,animal
    {p}1,Panthera tigris altaica,{t1},131.20000,43.10000,{a1}
    {p}2,Panthera tigris altaica,{t2},131.30000,43.20000,{a2}
    {p}3,Capreolus pygargus,{t1},131.20000,43.10000,
"""
CAMERA_MAP = """
    columns: {id: occurrence_id, species: scientific_name, time: time, lon: lon, lat: lat, animal: individual}
"""


def test_same_animal_reported_by_two_partners_is_linked_not_dropped(db_url, tmp_path):
    a, mp = _write(tmp_path, "a.csv", CAMERA.format(p="a", t1="2022-01-05T03:00:00+08:00",
                                                    t2="2022-01-06T03:00:00+08:00", a1="", a2="PTA-1"), CAMERA_MAP)
    # partner B: same tiger 10 min later and ~80 m away; a different known tiger next day at the same place
    b, _ = _write(tmp_path, "b.csv", CAMERA.format(p="b", t1="2022-01-05T05:10:00+10:00",
                                                   t2="2022-01-06T05:00:00+10:00", a1="", a2="Amba"), CAMERA_MAP)
    b.write_text(b.read_text().replace("131.20000,43.10000", "131.20100,43.10000"))
    import_path(db_url, a, dataset="wwf-cn", org="WWF China", mapping=mp)
    report = import_path(db_url, b, dataset="lol-ru", org="Land of the Leopard", mapping=mp)
    assert report["added"]["observations"] == 3
    engine = open_hub(db_url)
    with engine.connect() as c:
        links = c.execute(select(m.RecordLink.__table__)).all()
        keys = dict(c.execute(select(m.Observation.id, m.Observation.occurrence_key)).all())
    # tiger a1/b1 (10 min, 81 m) and roe deer a3/b3 are linked; the two different known tigers are not
    pairs = {tuple(sorted((keys[r.record_a], keys[r.record_b]))) for r in links}
    assert pairs == {("a1", "b1"), ("a3", "b3")}
    tiger = next(r for r in links if {keys[r.record_a], keys[r.record_b]} == {"a1", "b1"})
    assert tiger.seconds_apart == 600 and 70 < tiger.distance_m < 90 and "same taxon" in tiger.reason
    assert len(keys) == 6  # nothing dropped
