"""Bad input and interruptions: clear errors naming file, row and field; one transaction per import (the
database is exactly as before on error); a process killed mid-import leaves no partial batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.db import dispose_all, open_hub
from econet.hub.ingest import import_path
from econet.hub.simulate import write_csv


def _counts(url):
    engine = open_hub(url)
    with engine.connect() as c:
        return {t.__tablename__: c.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (m.Observation, m.ImportBatch, m.Individual, m.Dataset, m.Taxon, m.TaxonReview)}


@pytest.mark.parametrize("bad, field, message", [
    ("2021-13-45T10:00:00+08:00", "local_time", "not a date/time"),
    ("abc", "n", "not a number"),
])
def test_bad_value_names_file_row_field_and_rolls_back(db_url, tmp_path, bad, field, message):
    mapping = write_csv(tmp_path / "good.csv", 200)
    import_path(db_url, tmp_path / "good.csv", dataset="first", org="WWF", mapping=mapping)
    before = _counts(db_url)
    lines = (tmp_path / "good.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [ln.split(",") for ln in lines[1:]]
    rows = [[v.replace("sim-", "other-") if i == 0 else v for i, v in enumerate(r)] for r in rows]
    rows[149][header.index(field)] = bad  # line 151 of the file
    (tmp_path / "bad.csv").write_text("\n".join([lines[0]] + [",".join(r) for r in rows]) + "\n")
    with pytest.raises(EconetError) as err:
        import_path(db_url, tmp_path / "bad.csv", dataset="second", org="Other org", mapping=mapping)
    e = err.value
    assert (e.path, e.row, e.field) == (str(tmp_path / "bad.csv"), 151, field) and message in e.message
    assert _counts(db_url) == before  # rows of the first 149 lines, the batch, dataset and org: all rolled back


def test_bad_mapping_is_refused(tmp_path):
    (tmp_path / "m.yaml").write_text("columns: {a: scientific_nam}\n")
    (tmp_path / "d.csv").write_text("a\nx\n")
    with pytest.raises(EconetError) as err:
        import_path(f"sqlite:///{tmp_path / 'h.db'}", tmp_path / "d.csv", dataset="d", org="o",
                    mapping=tmp_path / "m.yaml")
    assert err.value.field == "a" and "scientific_nam" in err.value.message


def test_csv_reimport_adds_nothing(db_url, tmp_path):
    mapping = write_csv(tmp_path / "s.csv", 500)
    first = import_path(db_url, tmp_path / "s.csv", dataset="s", org="WWF", mapping=mapping)
    assert first["added"]["observations"] == 500
    before = _counts(db_url)
    second = import_path(db_url, tmp_path / "s.csv", dataset="s", org="WWF", mapping=mapping)
    assert second["added"] == {} and _counts(db_url) == before


KILLED = textwrap.dedent("""
    import sys
    from econet.hub.ingest import import_path
    def progress(done, total=None, description=None):
        print(done, flush=True)
    import_path(sys.argv[1], sys.argv[2], dataset="big", org="WWF", mapping=sys.argv[3], progress=progress)
    print("finished", flush=True)
""")


def _indexes(url) -> set[str]:
    from sqlalchemy import inspect
    return {i["name"] for i in inspect(open_hub(url)).get_indexes("observations")}


def test_killed_import_leaves_no_partial_batch(db_url, tmp_path):
    # 60,000 rows: on SQLite the import drops the secondary indexes to build them at the end (a large import
    # into an empty table); the kill must leave them in place too
    mapping = write_csv(tmp_path / "big.csv", 60000)
    open_hub(db_url)  # schema exists before the child starts
    indexes = _indexes(db_url)
    assert {"ix_obs_taxon_time", "ix_obs_border"} <= indexes
    dispose_all()
    proc = subprocess.Popen([sys.executable, "-c", KILLED, db_url, str(tmp_path / "big.csv"), str(mapping)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = 0
    deadline = time.time() + 240
    while time.time() < deadline:  # wait until rows have been written inside the open transaction
        line = proc.stdout.readline()
        if not line:
            break
        if line.strip().isdigit() and int(line) >= 10000:
            done = int(line)
            break
    assert done >= 10000, proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    counts = _counts(db_url)
    assert counts["observations"] == 0 and counts["import_batches"] == 0 and counts["datasets"] == 0
    assert _indexes(db_url) == indexes
    # the database is usable and the same import then succeeds in full
    small = write_csv(tmp_path / "small.csv", 300)
    r = import_path(db_url, tmp_path / "small.csv", dataset="big", org="WWF", mapping=small)
    assert r["added"]["observations"] == 300


MEASURE = textwrap.dedent("""
    import resource, sys
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    open_hub(sys.argv[1])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import_path(sys.argv[1], sys.argv[2], dataset="m", org="WWF", mapping=sys.argv[3])
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
""")


def test_import_memory_does_not_grow_with_file_size(tmp_path):
    """Streaming: 8x more rows must not need (much) more memory (chunks of 5,000 rows; only 16-byte row
    hashes are kept per row)."""
    grown = {}
    for n in (10000, 80000):
        mapping = write_csv(tmp_path / f"m{n}.csv", n)
        r = subprocess.run([sys.executable, "-c", MEASURE, f"sqlite:///{tmp_path / f'm{n}.db'}",
                            str(tmp_path / f"m{n}.csv"), str(mapping)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        grown[n] = float(r.stdout.strip().splitlines()[-1])
    # loading the file whole would add ~100 MB for 70,000 more rows; streaming adds a few MB of hashes
    assert grown[80000] - grown[10000] < 40, grown


def test_large_import_rebuilds_indexes_and_a_failed_one_keeps_them(db_url, tmp_path):
    """A large import into a small table builds the secondary indexes at the end (SQLite); a large import that
    fails leaves the indexes (and everything else) exactly as before."""
    mapping = write_csv(tmp_path / "big.csv", 60000)
    open_hub(db_url)
    indexes = _indexes(db_url)
    lines = (tmp_path / "big.csv").read_text().splitlines()
    bad = lines[:-1] + [lines[-1].replace("+10:00", "+10:00x").replace("+08:00", "+08:00x")]
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n")
    with pytest.raises(EconetError, match="row 60001"):
        import_path(db_url, tmp_path / "bad.csv", dataset="big", org="WWF", mapping=mapping)
    assert _indexes(db_url) == indexes and _counts(db_url)["observations"] == 0
    r = import_path(db_url, tmp_path / "big.csv", dataset="big", org="WWF", mapping=mapping)
    assert r["added"]["observations"] == 60000
    assert _indexes(db_url) == indexes
