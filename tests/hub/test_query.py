"""Spatial and attribute queries give exactly the rows a brute-force check selects, on SQLite (R*Tree + shapely)
and PostgreSQL (PostGIS GiST), for simulated camera-trap records on both sides of the China-Russia border."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import select

from econet.hub import models as m
from econet.hub.db import open_hub
from econet.hub.ingest import import_path
from econet.hub.query import ObservationFilter, count, observation_rows
from econet.hub.simulate import write_csv
from econet.hub.spatial import border, country_of, project, to_equal_area

N = 3000


@pytest.fixture
def hub(db_url, tmp_path):
    mapping = write_csv(tmp_path / "sim.csv", N, n_stations=400)
    import_path(db_url, tmp_path / "sim.csv", dataset="sim", org="WWF China", mapping=mapping)
    engine = open_hub(db_url)
    with engine.connect() as c:
        rows = c.execute(select(m.Observation.id, m.Observation.lon, m.Observation.lat, m.Observation.country_code,
                                m.Observation.taxon_id, m.Observation.time_utc)).all()
    return engine, rows


def _ids(engine, f):
    with engine.connect() as c:
        return {r["hub_id"] for r in observation_rows(c, f)}


def test_bbox(hub):
    engine, rows = hub
    box = (130.8, 42.9, 131.2, 43.4)
    want = {r.id for r in rows if box[0] <= r.lon <= box[2] and box[1] <= r.lat <= box[3]}
    assert 0 < len(want) < N
    assert _ids(engine, ObservationFilter(bbox=box)) == want


def test_polygon(hub):
    engine, rows = hub
    poly = shapely.Polygon([(130.6, 42.6), (131.4, 42.8), (130.9, 43.7)])
    want = {r.id for r in rows if poly.intersects(shapely.Point(r.lon, r.lat))}
    assert 0 < len(want) < N
    assert _ids(engine, ObservationFilter(polygon=poly)) == want


def test_within_10_km_of_the_border(hub):
    engine, rows = hub
    line = border("CN", "RU")
    lx = project(line)
    x, y = to_equal_area([r.lon for r in rows], [r.lat for r in rows])
    d = shapely.distance(lx, shapely.points(x, y))
    got = _ids(engine, ObservationFilter(border=("CN", "RU"), border_distance_m=10000))
    ids = np.array([r.id for r in rows])
    sure_in, sure_out = set(ids[d < 9950]), set(ids[d > 10050])  # the buffer is a polygon: 50 m slack
    assert sure_in and sure_out
    assert sure_in <= got and not (got & sure_out)


def test_country_and_species_year(hub):
    engine, rows = hub
    cc = country_of([r.lon for r in rows], [r.lat for r in rows])
    assert [r.country_code for r in rows] == list(cc)
    for code in ("CN", "RU"):
        assert _ids(engine, ObservationFilter(country=code)) == {r.id for r, c in zip(rows, cc) if c == code}
    with engine.connect() as c:
        tiger = c.execute(select(m.Taxon.id).where(m.Taxon.scientific_name == "Panthera tigris altaica")).scalar()
        f = ObservationFilter(taxon="Panthera tigris", country="RU", year=2020)  # species includes subspecies
        want = {r.id for r in rows if r.taxon_id == tiger and r.country_code == "RU" and r.time_utc.year == 2020}
        assert want and count(c, f) == len(want)
        assert _ids(engine, f) == want


def test_points_on_box_edges_are_not_lost(db_url, tmp_path):
    """The R*Tree keeps 32-bit floats (rounded outwards): a point 1e-7 degree inside a query box must be found,
    one 1e-7 degree outside must not."""
    (tmp_path / "e.csv").write_text("id,species,time,lon,lat\n"
                                    "in,Sus scrofa,2021-01-01T00:00:00Z,131.0000001,43.0000001\n"
                                    "out,Sus scrofa,2021-01-01T00:00:00Z,130.9999999,43.0000001\n")
    (tmp_path / "e.yaml").write_text("columns: {id: occurrence_id, species: scientific_name, time: time, "
                                     "lon: lon, lat: lat}\n")
    import_path(db_url, tmp_path / "e.csv", dataset="edge", org="o", mapping=tmp_path / "e.yaml")
    engine = open_hub(db_url)
    with engine.connect() as c:
        got = [r["occurrence_id"] for r in observation_rows(c, ObservationFilter(bbox=(131.0, 43.0, 131.1, 43.1)))]
        poly = shapely.box(131.0, 43.0, 131.1, 43.1)
        got_poly = [r["occurrence_id"] for r in observation_rows(c, ObservationFilter(polygon=poly))]
        assert got == got_poly == ["in"]
        assert count(c, ObservationFilter(polygon=poly)) == 1
