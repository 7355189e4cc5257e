"""The `econet hub` commands as spelled in issue 3, and the mapping-file example of every record type."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from econet.hub import models as m
from econet.hub.db import head_revision, open_hub
from econet.hub.ingest import import_path

MAPPINGS = Path(__file__).resolve().parents[1] / "data" / "mappings"


def econet(*args, env=None):
    return subprocess.run([sys.executable, "-m", "econet.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_cli_init_import_export_stats(tmp_path, camtrap_example):
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    r = econet("hub", "init", "--db", db, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["revision"] == head_revision()
    r = econet("hub", "import", str(camtrap_example), "--dataset", "mica", "--org", "INBO", "--db", db, "-q",
               "--output", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"]["observations"] == 549
    for fmt, out in (("camtrap-dp", tmp_path / "cdp"), ("dwca", tmp_path / "m.zip"), ("csv", tmp_path / "m.csv"),
                     ("gpkg", tmp_path / "m.gpkg")):
        r = econet("hub", "export", "--dataset", "mica", "--format", fmt, str(out), "--db", db, "-q")
        assert r.returncode == 0, r.stderr
        assert out.exists()
    import geopandas as gpd
    g = gpd.read_file(tmp_path / "m.gpkg")
    assert len(g) == 549 and g.crs.to_epsg() == 4326
    r = econet("hub", "stats", "--db", db, "--format", "json")
    s = json.loads(r.stdout)
    assert s["tables"]["observations"] == 549 and s["datasets"][0]["dataset"] == "mica"


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    r = econet("hub", "import", str(tmp_path / "x.csv"), "--dataset", "d", "--org", "o", "--db", db)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]  # after the progress bar, one line naming the file
    assert last.startswith("error:") and "x.csv" in last and "--mapping" in last
    r = econet("hub", "export", "--format", "dwca", str(tmp_path / "o.zip"), "--dataset", "nope", "--db", db)
    assert r.returncode == 2 and "nope" in r.stderr


def test_cli_export_query_filters(tmp_path):
    from econet.hub.simulate import write_csv
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    mapping = write_csv(tmp_path / "sim.csv", 2000)
    import_path(db, tmp_path / "sim.csv", dataset="sim", org="WWF", mapping=mapping)
    r = econet("hub", "export", "--format", "csv", str(tmp_path / "q.csv"), "--taxon", "Panthera pardus",
               "--country", "RU", "--start", "2019-01-01", "--end", "2019-12-31", "--border", "CN-RU",
               "--distance", "20000", "--db", db, "-q")
    assert r.returncode == 0, r.stderr
    import csv
    rows = list(csv.DictReader(open(tmp_path / "q.csv")))
    assert rows and all(x["accepted_name"] == "Panthera pardus orientalis" and x["country_code"] == "RU"
                        and x["time_utc"].startswith("2019") for x in rows)


@pytest.mark.parametrize("name, table, n", [("waterbirds", m.WaterbirdCount, 3), ("glacier", m.GlacierObservation, 2),
                                            ("sites", m.Site, 2), ("events", m.SamplingEvent, 1),
                                            ("genotypes", m.Genotype, 4)])
def test_mapping_examples(db_url, name, table, n):
    r = import_path(db_url, MAPPINGS / f"{name}.csv", dataset=name, org="Amur partners",
                    mapping=MAPPINGS / f"{name}.yaml")
    assert r["added"][table.__tablename__] == n
    with open_hub(db_url).connect() as c:
        rows = c.execute(select(table.__table__)).all()
        if name == "waterbirds":
            assert [x.count for x in rows] == [23, 0, 1200]  # zero counts kept
            assert str(rows[0].date) == "2024-01-14" and rows[0].observers == "Ivanov, Li"
        if name == "glacier":
            assert [(x.value, x.unit) for x in rows] == [(-610.0, "mm w.e."), (-320.0, "mm w.e.")]
        if name == "sites":
            assert rows[0].country_code == "RU" and 131 < rows[0].lon < 132
        if name == "events":
            assert str(rows[0].start_utc) == "2024-01-31 22:00:00" and rows[0].offset_min == 600
