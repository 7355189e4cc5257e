"""`econet registry` and `econet watch` from the command line (issue 9): import, show, link, export, watch
lists, rules, alerts, SMTP settings; bad input exits 2 with one line and changes nothing."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace

import pytest

AGREEMENTS = Path(str(files("econet"))) / "data" / "registry" / "agreements.json"


@pytest.fixture
def run(tmp_path, capsys):
    """econet.cli.main.main in-process: exit code, stdout, and stdout + stderr."""
    from econet.cli.main import main
    db = f"sqlite:///{tmp_path / 'hub.db'}"

    def call(*args, code=0):
        with pytest.raises(SystemExit) as e:
            main([*args, "--db", db])
        got = capsys.readouterr()
        assert e.value.code == code, got.out + got.err
        return SimpleNamespace(stdout=got.out, output=got.out + got.err)
    yield call
    from econet.hub.db import dispose_all
    dispose_all()


def test_registry_commands(run, tmp_path):
    out = json.loads(run("registry", "import", str(AGREEMENTS), "--format", "json").stdout)
    assert out["records"] == 13
    run("orgs", "add", "Land of the Leopard NP", "--country", "RU")
    run("registry", "add", "lotl-winter-survey", "--kind", "activity", "--title", "Winter track survey",
        "--start", "2024-02", "--parent", "leopard-parks-mou-2019", "--keeper", "Land of the Leopard NP",
        "--detail", "type=survey", "--detail", "where=Barsovy ridge", "--party", "Land of the Leopard NP",
        "--pa", "land of the leopard national park", "--source", "Field report <https://example.org/report>")
    shown = json.loads(run("registry", "show", "lotl-winter-survey", "--format", "json").stdout)
    assert shown["parent"] == "leopard-parks-mou-2019" and shown["details"] == {"type": "survey", "where": "Barsovy ridge"}
    assert shown["links"] == [{"kind": "pa", "target": "Land of the Leopard National Park", "note": None}]
    assert shown["sources"] == [{"title": "Field report", "url": "https://example.org/report"}]
    assert shown["parties"][0]["organization"] == "Land of the Leopard NP"
    mou = json.loads(run("registry", "show", "leopard-parks-mou-2019", "--format", "json").stdout)
    assert "lotl-winter-survey" in [r["key"] for r in mou["done_under"]]
    page = json.loads(run("registry", "pa", "Land of the Leopard National Park", "--format", "json").stdout)
    assert "lotl-winter-survey" in [r["key"] for r in page["activities"]]
    run("registry", "cooperate", "Sokhondo Nature Reserve (Sokhondinsky)", "Onon-Balj National Park",
        "snow leopard monitoring", "--status", "proposed")
    coop = json.loads(run("registry", "cooperation", "--pa", "Onon-Balj National Park", "--format", "json").stdout)
    assert "snow leopard monitoring" in {r["field"] for r in coop}
    run("registry", "export", str(tmp_path / "reg"), "--format", "csv")
    assert (tmp_path / "reg" / "records.csv").read_text(encoding="utf-8").count("\n") == 15
    # bad input: one line, exit 2, nothing changed
    bad = run("registry", "add", "x-bad", "--kind", "treaty", "--title", "x", code=2)
    assert "kind must be one of" in bad.output and "Traceback" not in bad.output
    run("registry", "link", "dipa-1994", "--dataset", "nope", code=2)
    listed = json.loads(run("registry", "list", "--format", "json").stdout)
    assert len(listed) == 14 and "x-bad" not in {r["key"] for r in listed}


def test_watch_commands(run, tmp_path):
    run("orgs", "add", "Hunchun Tiger-Leopard NR", "--country", "CN")
    run("watch", "add", "Hunchun Tiger-Leopard NR", "invasive", "Ondatra zibethicus", "--risk", "high",
        "--distance", "3000")
    run("watch", "add", "Hunchun Tiger-Leopard NR", "area", "border strip", "--area-kind", "border", "--border",
        "CN-RU", "--width", "5000")
    items = json.loads(run("watch", "list", "--format", "json").stdout)
    assert {i["name"] for i in items} == {"Ondatra zibethicus", "border strip"}
    (tmp_path / "m.yaml").write_text("record_type: observation\ncolumns: {id: occurrence_id, species: scientific_name, "
                                     "date: time, lon: lon, lat: lat}\n")
    (tmp_path / "r.csv").write_text("id,species,date,lon,lat\nm1,Ondatra zibethicus,2022-05-14,131.1,43.0\n")
    run("hub", "import", str(tmp_path / "r.csv"), "--dataset", "muskrats", "--org", "Hunchun Tiger-Leopard NR",
        "--mapping", str(tmp_path / "m.yaml"))
    got = json.loads(run("watch", "alerts", "--format", "json").stdout)
    assert [a["rule"] for a in got] == ["invasive_near_area"] and got[0]["record"]["lon"] == 131.1
    assert json.loads(run("watch", "run", "--format", "json").stdout)["new_alerts"] == 0
    summary = json.loads(run("watch", "alerts", "--summary", "--format", "json").stdout)
    assert summary == [{"organization": "Hunchun Tiger-Leopard NR", "rule": "invasive_near_area", "alerts": 1}]
    assert "not configured" in run("watch", "smtp").stdout
    run("watch", "smtp", "--host", "127.0.0.1", "--port", "2525", "--from", "alerts@econet.example")
    shown = json.loads(run("watch", "smtp", "--format", "json").stdout)
    assert shown["host"] == "127.0.0.1" and shown["port"] == 2525 and shown["password_env"] is None
    assert "must be an e-mail" in run("watch", "smtp", "--host", "x", "--from", "nobody", code=2).output
    run("watch", "remove", "Hunchun Tiger-Leopard NR", "area", "nothing", code=2)
