"""Camtrap DP 1.0: the official example (tests/data/camtrap-dp, CC0 data from tdwg/camtrap-dp 1.0.2) imports with
every row and field kept and exports to an equivalent package that validates against the official schemas."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.camtrap import validate
from econet.hub.db import open_hub
from econet.hub.export import export_dataset
from econet.hub.ingest import import_path

# row counts of the example, as given in the package's SOURCE.md (tdwg/camtrap-dp example/)
EXPECTED = {"deployments": 4, "media": 423, "observations": 549}


def _typed_rows(folder: Path, table: str) -> list[dict]:
    """Rows as frictionless reads them with the official table schema (typed values)."""
    from frictionless import Package, system
    from econet.hub.camtrap import _local_descriptor
    descriptor = json.loads((folder / "datapackage.json").read_text())
    with system.use_context(trusted=True):
        package = Package(_local_descriptor(descriptor), basepath=str(folder))
        return [dict(r) for r in package.get_resource(table).read_rows()]


def test_import_keeps_every_row_and_reimport_adds_nothing(db_url, camtrap_example):
    r = import_path(db_url, camtrap_example, dataset="mica", org="INBO", country="BE")
    assert r["added"]["deployments"] == EXPECTED["deployments"]
    assert r["added"]["media"] == EXPECTED["media"]
    assert r["added"]["observations"] == EXPECTED["observations"]
    engine = open_hub(db_url)
    with engine.connect() as c:
        ds = c.execute(select(m.Dataset.__table__).where(m.Dataset.name == "mica")).one()
        assert ds.license == "CC0-1.0" and ds.media_license == "http://creativecommons.org/licenses/by/4.0/"
        assert ds.coordinate_precision == 0.001 and ds.citation.startswith("Desmet P")
        # provenance: every observation knows its batch and original row; times are UTC with the offset kept
        o = c.execute(select(m.Observation.__table__).where(m.Observation.occurrence_key == "705e6036")).one()
        assert (o.batch_id, o.source_row) == (r["batch"], 2)
        d = c.execute(select(m.Deployment.__table__).where(m.Deployment.deployment_key == "00a2c20d")).one()
        assert str(d.start_utc) == "2020-05-30 02:57:37" and d.start_offset_min == 120
        assert d.country_code == "NL"  # 51.496 N 4.774 E lies in the Netherlands (Natural Earth)
        before = {t: c.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (m.Observation, m.Media, m.Deployment, m.ImportBatch)}
    again = import_path(db_url, camtrap_example, dataset="mica", org="INBO")
    assert again["added"] == {} and again["batch"] is None
    with engine.connect() as c:
        after = {t: c.execute(select(func.count()).select_from(t)).scalar_one() for t in before}
    assert after == before


def test_round_trip_is_equal_field_by_field_and_valid(db_url, camtrap_example, tmp_path):
    import_path(db_url, camtrap_example, dataset="mica", org="INBO")
    out = tmp_path / "out"
    export_dataset(db_url, "camtrap-dp", out, dataset="mica")
    descriptor = json.loads((out / "datapackage.json").read_text())
    validate(descriptor, out, out / "datapackage.json")  # official profile + table schemas, offline
    original = json.loads((camtrap_example / "datapackage.json").read_text())
    assert descriptor == original  # metadata, including the custom inline `individuals` resource
    for table, n in EXPECTED.items():
        a, b = _typed_rows(camtrap_example, table), _typed_rows(out, table)
        assert len(a) == len(b) == n
        for ra, rb in zip(a, b):
            assert ra == rb
        with open(camtrap_example / f"{table}.csv", newline="", encoding="utf-8-sig") as fa, \
                open(out / f"{table}.csv", newline="", encoding="utf-8") as fb:
            assert list(csv.reader(fa))[0] == list(csv.reader(fb))[0]  # same columns, same order


def test_malformed_package_names_file_row_field_and_changes_nothing(db_url, camtrap_example, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(camtrap_example, bad)
    lines = (bad / "observations.csv").read_text().splitlines()
    cells = lines[10].split(",")
    cells[10] = "-3"  # count must be >= 1
    lines[10] = ",".join(cells)
    (bad / "observations.csv").write_text("\n".join(lines) + "\n")
    import_path(db_url, camtrap_example, dataset="first", org="INBO")
    engine = open_hub(db_url)
    with engine.connect() as c:
        n = c.execute(select(func.count()).select_from(m.Observation)).scalar_one()
    with pytest.raises(EconetError) as err:
        import_path(db_url, bad, dataset="second", org="INBO")
    e = err.value
    assert e.path.endswith("observations.csv") and e.row == 11 and e.field == "count"
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(m.Observation)).scalar_one() == n
        assert c.execute(select(func.count()).select_from(m.Dataset)).scalar_one() == 1


def test_missing_required_metadata_is_refused(tmp_path, camtrap_example):
    bad = tmp_path / "bad"
    shutil.copytree(camtrap_example, bad)
    d = json.loads((bad / "datapackage.json").read_text())
    del d["project"]["captureMethod"]
    (bad / "datapackage.json").write_text(json.dumps(d))
    with pytest.raises(EconetError, match="captureMethod"):
        import_path(f"sqlite:///{tmp_path / 'h.db'}", bad, dataset="x", org="y")


def test_zipped_package_imports(tmp_path, camtrap_example):
    import zipfile
    z = tmp_path / "mica.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in camtrap_example.glob("*"):
            if f.suffix in (".csv", ".json"):
                zf.write(f, f"mica/{f.name}")
    r = import_path(f"sqlite:///{tmp_path / 'h.db'}", z, dataset="mica", org="INBO")
    assert r["format"] == "camtrap-dp" and r["added"]["observations"] == EXPECTED["observations"]
