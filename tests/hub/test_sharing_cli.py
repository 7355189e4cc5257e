"""`econet orgs add`, `econet users add`, `econet tokens create`, `econet sharing ...` and
`econet hub export --as-user/--token` (the caller's view)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from econet.hub import sharing_sample as S


def econet(*args, db, ok=True):
    r = subprocess.run([sys.executable, "-m", "econet.cli.main", *args, "--db", db], capture_output=True, text=True)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def test_admin_commands_and_view_export(tmp_path):
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    S.build(db, tmp_path)
    econet("orgs", "add", "Daurian Steppe Reserve", "--country", "RU", db=db)
    econet("users", "add", "ranger1", "--password", "steppe eagle 2024", "--org", "Daurian Steppe Reserve",
           "--role", "data manager", db=db)
    r = econet("tokens", "create", "ranger1", "--days", "7", "--format", "json", db=db)
    tok = json.loads(r.stdout)
    assert tok["token"].startswith("ecn_") and tok["user"] == "ranger1"
    listed = json.loads(econet("tokens", "list", "--user", "ranger1", "--format", "json", db=db).stdout)
    assert listed[0]["state"] == "active" and tok["token"] not in json.dumps(listed)
    users = json.loads(econet("users", "list", "--format", "json", db=db).stdout)
    assert "Daurian Steppe Reserve:data_manager" in next(u for u in users if u["username"] == "ranger1")["roles"]
    # sharing settings from the CLI, then exports through views
    econet("sharing", "set", "leopard-cams", "--visibility", "public", db=db)
    econet("sharing", "sensitive", "add", "Panthera pardus orientalis", "RU", "0.01", "--reason", "dens", db=db)
    out = tmp_path / "ranger.csv"
    econet("hub", "export", str(out), "--format", "csv", "--token", tok["token"], db=db)
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    leo = next(r for r in rows if r["scientific_name"] == "Panthera pardus orientalis")
    assert (leo["lon"], leo["lat"], leo["locality"]) == ("131.12", "43.23", "")
    assert "0.01 degree" in leo["data_generalizations"]
    assert not any(r["scientific_name"] == "Panthera tigris altaica" for r in rows)
    assert S.SECRET_SITES[0]["locality"] not in out.read_text()
    owner_out = tmp_path / "owner.csv"
    econet("hub", "export", str(owner_out), "--format", "csv", "--as-user", "owner_viewer", db=db)
    assert S.SECRET_SITES[0]["locality"] in owner_out.read_text()
    econet("sharing", "grant", "--to", "Daurian Steppe Reserve", "--dataset", "leopard-cams", db=db)
    grants = json.loads(econet("sharing", "grants", "--format", "json", db=db).stdout)
    econet("hub", "export", str(out), "--format", "csv", "--token", tok["token"], db=db)
    assert S.SECRET_SITES[0]["locality"] in out.read_text()
    econet("sharing", "revoke", str(grants[0]["id"]), db=db)
    econet("hub", "export", str(out), "--format", "csv", "--token", tok["token"], db=db)
    assert S.SECRET_SITES[0]["locality"] not in out.read_text()
    econet("tokens", "revoke", str(tok["id"]), db=db)
    r = econet("hub", "export", str(out), "--format", "csv", "--token", tok["token"], db=db, ok=False)
    assert r.returncode == 2 and "invalid, expired or revoked token" in r.stderr and "Traceback" not in r.stderr
    audit = json.loads(econet("sharing", "audit", "--format", "json", db=db).stdout)
    assert audit[0]["action"] == "export"
    r = econet("users", "add", "x", "--password", "short", db=db, ok=False)
    assert r.returncode == 2 and "8 characters" in r.stderr
    r = econet("sharing", "sensitive", "add", "Panthera pardus orientalis", "RU", "0.5", db=db, ok=False)
    assert r.returncode == 2 and "category" in r.stderr
