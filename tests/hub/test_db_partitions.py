"""PostgreSQL at scale (migration 0006): observations partitioned by year of time_utc, same API, dedup exact."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from econet.hub import models as m
from econet.hub.db import open_hub
from econet.hub.ingest import import_path
from econet.hub.query import ObservationFilter, count, observation_rows
from econet.hub.simulate import write_csv

O = m.Observation
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("partitioning is PostgreSQL only (SQLite keeps one table)")
    return db_url


def _per_partition(conn) -> dict[str, int]:
    rows = conn.execute(text("SELECT tableoid::regclass::text, count(*) FROM observations GROUP BY 1")).all()
    return {name.split(".")[-1]: n for name, n in rows}


def test_rows_go_to_their_year_and_queries_are_unchanged(pg_url, tmp_path):
    mapping = write_csv(tmp_path / "s.csv", 2000, n_stations=40)  # 2018-2023
    (tmp_path / "undated.csv").write_text("record_id,species,local_time,longitude,latitude\n"
                                          "u1,Panthera tigris altaica,,131.2,43.3\n"
                                          "u2,Lynx lynx,1987-05-01T10:00:00+10:00,131.3,43.4\n")
    (tmp_path / "undated.yaml").write_text("columns: {record_id: occurrence_id, species: scientific_name, "
                                           "local_time: time, longitude: lon, latitude: lat}\n")
    import_path(pg_url, tmp_path / "s.csv", dataset="s", org="WWF", mapping=mapping)
    import_path(pg_url, tmp_path / "undated.csv", dataset="u", org="WWF", mapping=tmp_path / "undated.yaml")
    engine = open_hub(pg_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE oid = 'observations'::regclass")).scalar() == "p"
        parts = _per_partition(c)
        years = {int(k[-4:]): n for k, n in parts.items() if k.startswith("observations_y")}
        assert set(years) == {2018, 2019, 2020, 2021, 2022, 2023} and sum(years.values()) == 2000
        assert parts["observations_default"] == 1 and parts["observations_before_2000"] == 1
        # the GiST index exists on every partition
        gist = c.execute(text("SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'observations_%' "
                              "AND indexdef LIKE '%USING gist (geom)%'")).scalar()
        assert gist == c.execute(text("SELECT count(*) FROM pg_inherits "
                                      "WHERE inhparent = 'observations'::regclass")).scalar()
        # id lookups, a time range pruned to one partition, the same counts as filtering in Python
        some = c.execute(select(O.id, O.time_utc).order_by(O.id).offset(1234).limit(1)).one()
        assert c.execute(select(O.time_utc).where(O.id == some.id)).scalar_one() == some.time_utc
        plan = "\n".join(c.execute(text("EXPLAIN SELECT count(*) FROM observations WHERE time_utc >= "
                                        "'2021-03-01' AND time_utc < '2021-04-01'")).scalars())
        assert "observations_y2021" in plan and "observations_y2020" not in plan
        rows = list(observation_rows(c, ObservationFilter()))
        n2021 = sum(1 for r in rows if r["time_utc"] and r["time_utc"].startswith("2021-03"))
        assert count(c, ObservationFilter(start="2021-03-01", end="2021-03-31")) == n2021 > 0
        assert len(rows) == 2002 and [r["occurrence_id"] for r in rows][:3] == ["sim-1", "sim-2", "sim-3"]


def test_reimport_with_other_times_adds_nothing(pg_url, tmp_path):
    """The unique key holds time_utc (partitioning); the import's anti-join on (dataset_id, row_hash) still
    makes a re-import of the same rows add nothing when their times are read differently (other zone)."""
    (tmp_path / "p.csv").write_text("id,species,t,lon,lat\n" + "".join(
        f"p{i},Sus scrofa,2021-0{1 + i % 9}-1{i % 10}T0{i % 10}:00:00,131.{i % 10},43.{i % 7}\n" for i in range(300)))
    (tmp_path / "a.yaml").write_text("timezone: '+10:00'\ncolumns: {id: occurrence_id, species: scientific_name, "
                                     "t: time, lon: lon, lat: lat}\n")
    (tmp_path / "b.yaml").write_text((tmp_path / "a.yaml").read_text().replace("+10:00", "+08:00"))
    r = import_path(pg_url, tmp_path / "p.csv", dataset="p", org="WWF", mapping=tmp_path / "a.yaml")
    assert r["added"]["observations"] == 300
    r = import_path(pg_url, tmp_path / "p.csv", dataset="p", org="WWF", mapping=tmp_path / "b.yaml")
    assert r["added"] == {}
    with open_hub(pg_url).connect() as c:
        assert c.execute(select(func.count()).select_from(O)).scalar_one() == 300


def test_downgrade_and_upgrade_keep_rows_and_ids(pg_url, tmp_path):
    from alembic import command
    from econet.hub.db import _alembic_config
    mapping = write_csv(tmp_path / "s.csv", 500, n_stations=20)
    import_path(pg_url, tmp_path / "s.csv", dataset="s", org="WWF", mapping=mapping)
    engine = open_hub(pg_url)
    with engine.connect() as c:
        before = c.execute(select(O.id, O.row_hash, O.time_utc).order_by(O.id)).all()
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0005")
    with engine.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE oid = 'observations'::regclass")).scalar() == "r"
        assert c.execute(select(O.id, O.row_hash, O.time_utc).order_by(O.id)).all() == before
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    with engine.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE oid = 'observations'::regclass")).scalar() == "p"
        assert c.execute(select(O.id, O.row_hash, O.time_utc).order_by(O.id)).all() == before
    r = import_path(pg_url, tmp_path / "s.csv", dataset="s", org="WWF", mapping=mapping)
    assert r["added"] == {}  # new ids continue the sequence; nothing new here
