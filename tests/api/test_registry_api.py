"""REST routes of the registry and the alerts (issue 9): reads by visibility, writes by role, the signed-in
user's alerts with generalized locations for a partner, mark read, watch lists, CSV/JSON export and import."""

from __future__ import annotations

import io
import json
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

OWNER, PARTNER = "Land of the Leopard NP", "Hunchun Tiger-Leopard NR"
LEOPARD = "Panthera pardus orientalis"
DEN = (131.3127, 43.2381, "Den under the cedar")
AGREEMENTS = Path(str(files("econet"))) / "data" / "registry" / "agreements.json"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from econet.api.routers import alerts as alerts_router, registry as registry_router
    from econet.hub import accounts, alerts, registry, sharing
    from econet.hub.db import dispose_all, open_hub
    from econet.hub.ingest import import_path
    tmp = tmp_path_factory.mktemp("registry_api")
    db = f"sqlite:///{tmp / 'hub.db'}"
    engine = open_hub(db)
    tokens = {}
    with engine.begin() as conn:
        accounts.add_org(conn, OWNER, country="RU")
        accounts.add_org(conn, PARTNER, country="CN")
        for user, org, role in (("owner_dm", OWNER, "data_manager"), ("partner_dm", PARTNER, "data_manager"),
                                ("partner_viewer", PARTNER, "viewer")):
            accounts.add_user(conn, user, None)
            accounts.set_role(conn, user, org, role)
            tokens[user] = accounts.create_token(conn, user, days=1)["token"]
        registry.import_file(conn, sharing.View.admin(), AGREEMENTS)
        for org in (OWNER, PARTNER):
            alerts.add_item(conn, sharing.View.admin(), org, "sensitive", LEOPARD)
    (tmp / "m.yaml").write_text("record_type: observation\ncolumns: {id: occurrence_id, species: scientific_name, "
                                "date: time, lon: lon, lat: lat, country: country_code, locality: locality}\n")
    (tmp / "cams.csv").write_text("id,species,date,lon,lat,country,locality\n"
                                  f"c1,{LEOPARD},2023-02-01,{DEN[0]},{DEN[1]},RU,{DEN[2]}\n")
    import_path(engine, tmp / "cams.csv", dataset="cams", org=OWNER, fmt="csv", mapping=tmp / "m.yaml")
    with engine.begin() as conn:
        sharing.set_sharing(conn, "cams", visibility="partners", partners=[PARTNER])
        sharing.set_sensitive(conn, LEOPARD, "RU", "0.1")
        alerts.run_all(conn)
    app = FastAPI()
    app.state.db = db
    app.include_router(registry_router.router)
    app.include_router(alerts_router.router)
    with TestClient(app) as client:
        yield {"client": client, "tokens": tokens, "engine": engine}
    dispose_all()


def h(api, user):
    return {"Authorization": f"Bearer {api['tokens'][user]}"} if user else {}


def test_every_route_declares_a_rule(api):
    from econet.api.auth import RULES, api_routes
    routes = [r for r in api_routes(api["client"].app) if r["kind"] == "api"]
    assert len(routes) >= 20 and all(r["rule"] in RULES for r in routes)


def test_registry_reads(api):
    c = api["client"]
    got = c.get("/api/v1/registry", params={"kind": "agreement"}).json()["records"]
    assert {"dipa-1994", "khanka-xingkai-1996"} <= {r["key"] for r in got}
    page = c.get("/api/v1/registry/pas/Khanka Nature Reserve (Khankaisky Zapovednik)").json()
    assert [r["key"] for r in page["agreements"]] == ["khanka-xingkai-1996"]
    dipa = c.get("/api/v1/registry/records/dipa-1994").json()
    assert dipa["start_date"] == "1994-03-29" and len(dipa["done_under"]) == 3
    coop = c.get("/api/v1/registry/cooperation", params={"pa": "Onon-Balj National Park"}).json()["cooperation"]
    assert {r["pa_b"] for r in coop} == {"Sokhondo Nature Reserve (Sokhondinsky)"}
    assert {r["status"] for r in coop} == {"proposed"}
    assert c.get("/api/v1/registry/records/no-such").status_code == 404


def test_registry_writes_by_role(api):
    c = api["client"]
    body = {"key": "api-joint-survey", "kind": "activity", "title": "Joint winter track survey", "visibility": "parties",
            "start_date": "2024-01", "details": {"type": "survey", "where": "Land of the Leopard"},
            "parties": [{"name": PARTNER, "organization": PARTNER, "role": "participant"}],
            "links": [{"kind": "dataset", "target": "cams"}, {"kind": "pa", "target": "Land of the Leopard National Park"}]}
    assert c.post("/api/v1/registry/records", json=body).status_code == 401
    assert c.post("/api/v1/registry/records", json=body, headers=h(api, "partner_viewer")).status_code == 403
    r = c.post("/api/v1/registry/records", json=body, headers=h(api, "owner_dm"))
    assert r.status_code == 201, r.text
    assert r.json()["record"]["keeper"] == OWNER
    # hidden from the public, shown to the party; the party's data manager may change it, links included
    assert c.get("/api/v1/registry/records/api-joint-survey").status_code == 404
    assert c.get("/api/v1/registry/records/api-joint-survey", headers=h(api, "partner_viewer")).status_code == 200
    r = c.post("/api/v1/registry/records/api-joint-survey/links", json={"kind": "record", "target": "dipa-1994"},
               headers=h(api, "partner_dm"))
    assert r.status_code == 200, r.text
    back = c.get("/api/v1/registry/records/dipa-1994", headers=h(api, "partner_viewer")).json()["linked_from"]
    assert [x["key"] for x in back] == ["landscapes-of-dauria", "api-joint-survey"]
    public = c.get("/api/v1/registry/records/dipa-1994").json()["linked_from"]
    assert [x["key"] for x in public] == ["landscapes-of-dauria"]  # the public does not see the parties' record
    bad = dict(body, key="api-bad", start_date="2024-13")
    r = c.post("/api/v1/registry/records", json=bad, headers=h(api, "owner_dm"))
    assert r.status_code == 400 and r.json()["field"] == "start_date"
    r = c.post("/api/v1/registry/records", json=dict(body, key="api-xss", title="<script>x</script>"),
               headers=h(api, "owner_dm"))
    assert r.status_code == 422
    assert "api-bad" not in {x["key"] for x in c.get("/api/v1/registry", headers=h(api, "owner_dm")).json()["records"]}


def test_export_and_import(api):
    c = api["client"]
    data = c.get("/api/v1/registry/export").json()
    assert len(data["records"]) >= 13 and data["links"]
    z = zipfile.ZipFile(io.BytesIO(c.get("/api/v1/registry/export", params={"format": "csv"}).content))
    assert sorted(z.namelist()) == ["cooperation.csv", "links.csv", "parties.csv", "records.csv"]
    assert "dipa-1994" in z.read("records.csv").decode()
    new = {"records": [{"key": "api-imported", "kind": "project", "title": "Imported", "keeper": OWNER}]}
    assert c.post("/api/v1/registry/import", json=new, headers=h(api, "partner_dm")).status_code == 400
    r = c.post("/api/v1/registry/import", json=new, headers=h(api, "owner_dm"))
    assert r.status_code == 200 and r.json()["records"] == 1


def test_my_alerts_are_generalized_for_the_partner(api):
    c = api["client"]
    assert c.get("/api/v1/alerts").status_code == 401
    owner = c.get("/api/v1/alerts", headers=h(api, "owner_dm")).json()["alerts"]
    partner_resp = c.get("/api/v1/alerts", headers=h(api, "partner_viewer"))
    partner = partner_resp.json()["alerts"]
    assert [a["rule"] for a in owner] == [a["rule"] for a in partner] == ["sensitive_new_site"]
    assert (owner[0]["record"]["lon"], owner[0]["record"]["lat"], owner[0]["record"]["locality"]) == DEN
    assert (partner[0]["record"]["lon"], partner[0]["record"]["lat"]) == (131.3, 43.2)
    assert partner[0]["generalized"] is True and partner[0]["record"]["locality"] is None
    for secret in (repr(DEN[0]), repr(DEN[1]), DEN[2]):
        assert secret not in partner_resp.text
    aid = partner[0]["id"]
    assert c.post(f"/api/v1/alerts/{aid}/read", headers=h(api, "partner_viewer")).json() == {"marked_read": 1}
    again = c.get("/api/v1/alerts", headers=h(api, "partner_viewer")).json()
    assert again["unread"] == 0 and again["alerts"][0]["read"] is True
    assert c.get("/api/v1/alerts", params={"unread": True}, headers=h(api, "partner_viewer")).json()["alerts"] == []
    assert c.get("/api/v1/alerts", headers=h(api, "owner_dm")).json()["unread"] == 1  # read per user
    assert c.post("/api/v1/alerts/999999/read", headers=h(api, "partner_viewer")).status_code == 400


def test_watch_lists_over_rest(api):
    c = api["client"]
    item = {"organization": PARTNER, "kind": "area", "name": "border strip", "area_kind": "border",
            "border": "CN-RU", "width_m": 5000}
    assert c.post("/api/v1/watch", json=item, headers=h(api, "partner_viewer")).status_code == 403
    assert c.post("/api/v1/watch", json=dict(item, organization=OWNER), headers=h(api, "partner_dm")).status_code == 400
    assert c.post("/api/v1/watch", json=item, headers=h(api, "partner_dm")).status_code == 201
    names = {i["name"] for i in c.get("/api/v1/watch", headers=h(api, "partner_viewer")).json()["items"]}
    assert names == {LEOPARD, "border strip"}
    r = c.post("/api/v1/watch/run", headers=h(api, "partner_dm"))
    assert r.status_code == 200 and r.json()["new_alerts"] == 0  # idempotent: nothing new
    assert c.delete("/api/v1/watch", params={"organization": PARTNER, "kind": "area", "name": "border strip"},
                    headers=h(api, "partner_dm")).json()["removed"] is True
    assert json.dumps(c.get("/api/v1/watch", headers=h(api, "owner_dm")).json()).count(PARTNER) == 0
