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


def _border_distance(rows, a="CN", b="RU"):
    x, y = to_equal_area([r.lon for r in rows], [r.lat for r in rows])
    return shapely.distance(project(border(a, b)), shapely.points(x, y))


def test_border_query_uses_stored_distances_and_is_exact(hub):
    """Within d of a border = equal-area distance to the border line <= d, exactly (no polygon slack); rows
    whose stored border columns are missing (imported before they existed) are still found."""
    engine, rows = hub
    d = _border_distance(rows)
    ids = np.array([r.id for r in rows])
    for dist in (2500.0, 10000.0):
        want = set(ids[d <= dist].tolist())
        assert 0 < len(want) < N
        f = ObservationFilter(border=("RU", "CN"), border_distance_m=dist)
        assert _ids(engine, f) == want
        with engine.connect() as c:
            assert count(c, f) == len(want)
    with engine.begin() as c:  # forget the stored columns of a third of the rows
        c.execute(m.Observation.__table__.update().where(m.Observation.id % 3 == 0)
                  .values(border_pair=None, border_distance_m=None))
    want = set(ids[d <= 10000].tolist())
    f = ObservationFilter(border=("CN", "RU"), border_distance_m=10000)
    assert _ids(engine, f) == want
    with engine.connect() as c:
        assert count(c, f) == len(want)
        assert count(c, ObservationFilter(border=("CN", "RU"), border_distance_m=10000, country="RU")) == \
            len(want & {r.id for r in rows if r.country_code == "RU"})


def test_border_query_near_a_tripoint(db_url, tmp_path):
    """Near the China-North Korea-Russia tripoint a record's nearest border may be another pair's while it is
    still within d of the China-Russia border: it must be found (tested exactly), and no other one."""
    from econet.hub.spatial import nearest_border
    lon, lat = np.meshgrid(np.linspace(130.45, 130.85, 21), np.linspace(42.25, 42.65, 21))
    lon, lat = lon.ravel(), lat.ravel()
    lines = ["id,species,time,lon,lat"] + [f"p{i},Sus scrofa,2021-01-01T00:00:00Z,{a:.5f},{b:.5f}"
                                           for i, (a, b) in enumerate(zip(lon, lat))]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "t.yaml").write_text("columns: {id: occurrence_id, species: scientific_name, time: time, "
                                     "lon: lon, lat: lat}\n")
    import_path(db_url, tmp_path / "t.csv", dataset="tri", org="o", mapping=tmp_path / "t.yaml")
    engine = open_hub(db_url)
    with engine.connect() as c:
        rows = c.execute(select(m.Observation.id, m.Observation.lon, m.Observation.lat,
                                m.Observation.border_pair)).all()
    d = _border_distance(rows)
    x, y = to_equal_area([r.lon for r in rows], [r.lat for r in rows])
    pair, _, second = nearest_border(x, y)
    assert [r.border_pair for r in rows] == pair.tolist()
    other = (pair != "CN-RU") & (d <= 10000)
    assert other.any()  # records whose nearest border is CN-KP or KP-RU but within 10 km of CN-RU
    assert (second[other] <= d[other] + 1e-6).all()
    want = {r.id for r, k in zip(rows, d <= 10000) if k}
    f = ObservationFilter(border=("CN", "RU"), border_distance_m=10000)
    assert _ids(engine, f) == want
    with engine.connect() as c:
        assert count(c, f) == len(want)
