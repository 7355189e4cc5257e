"""The one insertion path (hub.bulk): pipelined chunks keep order, line numbers and atomicity; deferred
indexes come back; PostgreSQL's COPY paths (direct on a first load, staged after) add each row once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.db import open_hub
from econet.hub.ingest import import_path
from econet.hub.simulate import write_csv

O = m.Observation


def _obs(url, *cols):
    with open_hub(url).connect() as c:
        return c.execute(select(*cols).order_by(O.id)).all()


def _indexes(url, table="observations") -> set[str]:
    engine = open_hub(url)
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            q = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
        else:
            q = "SELECT indexname FROM pg_indexes WHERE tablename = :t"
        return set(c.execute(text(q), {"t": table}).scalars())


def test_chunks_keep_source_order_and_line_numbers_across_the_pipeline(db_url, tmp_path):
    """12,000 rows (three chunks written while the next is parsed), with a blank line and a quoted value that
    spans two lines: ids follow the file, and every row keeps the line it ends on."""
    mapping = write_csv(tmp_path / "s.csv", 12000, n_stations=40)
    lines = (tmp_path / "s.csv").read_text().splitlines()
    # row 7001 (line 7002): a remark with a line break; then a blank line
    cells = lines[7001].split(",")
    cells[-1] = '"first line\nsecond line"'
    lines[7001] = ",".join(cells)
    lines.insert(7002, "")
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    r = import_path(db_url, tmp_path / "s.csv", dataset="s", org="WWF", mapping=mapping)
    assert r["added"]["observations"] == 12000
    rows = _obs(db_url, O.occurrence_key, O.source_row, O.attributes)
    assert [k for k, _, _ in rows] == [f"sim-{i}" for i in range(1, 12001)]
    rec = {k: (line, a) for k, line, a in rows}
    assert rec["sim-7000"][0] == 7001 and rec["sim-7001"][0] == 7003  # the record ends on its second line
    assert rec["sim-7002"][0] == 7005  # after the blank line
    assert rec["sim-7001"][1] == {"remarks": "first line\nsecond line"}
    assert rec["sim-12000"][1] == {"remarks": "SIMULATED record (econet demo)"}


def test_bad_value_in_a_late_chunk_rolls_back_chunks_already_written(db_url, tmp_path):
    mapping = write_csv(tmp_path / "s.csv", 11000, n_stations=40)
    lines = (tmp_path / "s.csv").read_text().splitlines()
    cells = lines[10500].split(",")
    cells[7] = "two"  # column n (count) of data row 10500, line 10501
    lines[10500] = ",".join(cells)
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(EconetError) as err:
        import_path(db_url, tmp_path / "bad.csv", dataset="s", org="WWF", mapping=mapping)
    assert (err.value.row, err.value.field) == (10501, "n") and "not a number" in err.value.message
    with open_hub(db_url).connect() as c:
        assert c.execute(select(func.count()).select_from(O)).scalar_one() == 0
        assert c.execute(select(func.count()).select_from(m.ImportBatch)).scalar_one() == 0


def test_deferred_indexes_come_back_after_a_load_and_after_a_failed_one(db_url, tmp_path, monkeypatch):
    """A load that doubles the table drops the secondary indexes and builds them at the end (thresholds
    lowered for the test; PostgreSQL's is 1,000,000 rows), in the import's transaction."""
    import econet.hub.bulk as bulk
    monkeypatch.setattr(bulk, "SQLITE_DEFER_MIN", 1000)
    monkeypatch.setattr(bulk, "PG_DEFER_MIN", 1000)
    mapping = write_csv(tmp_path / "s.csv", 6000, n_stations=40)
    open_hub(db_url)
    before = _indexes(db_url)
    assert {"ix_obs_taxon_time", "ix_obs_border"} <= before
    lines = (tmp_path / "s.csv").read_text().splitlines()
    (tmp_path / "bad.csv").write_text("\n".join(lines[:-1] + [lines[-1].replace("+10:00", "+10:00x").replace("+08:00", "+08:00x")]) + "\n")
    with pytest.raises(EconetError, match="row 6001"):
        import_path(db_url, tmp_path / "bad.csv", dataset="s", org="WWF", mapping=mapping)
    assert _indexes(db_url) == before
    r = import_path(db_url, tmp_path / "s.csv", dataset="s", org="WWF", mapping=mapping)
    assert r["added"]["observations"] == 6000 and _indexes(db_url) == before
    engine = open_hub(db_url)
    with engine.connect() as c:  # the rebuilt indexes answer queries (and are valid on PostgreSQL)
        if engine.dialect.name == "postgresql":
            assert c.execute(text("SELECT count(*) FROM pg_index WHERE NOT indisvalid")).scalar() == 0
        n = c.execute(select(func.count()).select_from(O).where(O.border_pair == "CN-RU",
                                                               O.border_distance_m <= 10000)).scalar_one()
    assert 0 < n < 6000


@pytest.mark.postgres
def test_pg_copy_direct_then_staged_adds_each_row_once(db_url, tmp_path):
    """First load of a dataset: COPY straight into the table; a second file overlapping the first goes
    through the stage and adds only its new rows; the same file again adds nothing."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL COPY paths")
    mapping = write_csv(tmp_path / "a.csv", 3000, n_stations=40)
    lines = (tmp_path / "a.csv").read_text().splitlines()
    (tmp_path / "b.csv").write_text("\n".join(lines[:1] + lines[1001:] + [
        ln.replace("sim-", "new-") for ln in lines[1:501]]) + "\n")  # 2,000 known + 500 new rows
    r = import_path(db_url, tmp_path / "a.csv", dataset="d", org="WWF", mapping=mapping)
    assert r["added"]["observations"] == 3000
    r = import_path(db_url, tmp_path / "b.csv", dataset="d", org="WWF", mapping=mapping)
    assert r["added"]["observations"] == 500
    r = import_path(db_url, tmp_path / "b.csv", dataset="d", org="WWF", mapping=mapping)
    assert r["added"] == {}
    keys = [k for (k,) in _obs(db_url, O.occurrence_key)]
    assert len(keys) == len(set(keys)) == 3500
