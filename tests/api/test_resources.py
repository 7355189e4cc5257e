"""The resources do what docs/api.md says: imports with progress and report, analyses on the caller's view,
tokens, sharing terms, grants, audit, paging and filters, license and citation with downloads."""

from __future__ import annotations

import csv
import io

import pytest

from econet.hub import sharing_sample as S


def bearer(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from fastapi.testclient import TestClient
    from econet.hub.db import dispose_all
    import importlib.util, pathlib
    spec = importlib.util.spec_from_file_location("api_conftest", pathlib.Path(__file__).with_name("conftest.py"))
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    folder = tmp_path_factory.mktemp("resources")
    db = f"sqlite:///{folder / 'hub.db'}"
    built = S.build(db, folder)
    with TestClient(conf.make_app(db)) as c:
        yield c, built["tokens"], built
    dispose_all()


def test_import_progress_and_report(api):
    c, t, _ = api
    body = ("id,species,date,lon,lat,country,locality,n,animal\n"
            "n1,Sus scrofa,2024-02-01,131.3,43.3,RU,Feeding site 4,3,\n"
            "n2,Cervus nippon,2024-02-02,131.31,43.31,RU,Feeding site 5,1,\n")
    r = c.post("/api/v1/imports", headers=bearer(t["owner_contributor"]),
               files={"file": ("winter.csv", body.encode(), "text/csv"),
                      "mapping": ("m.yaml", S.MAPPING.encode(), "text/yaml")},
               data={"dataset": "winter-feeding", "organization": S.OWNER})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "done" and job["report"]["added"]["observations"] == 2
    got = c.get(f"/api/v1/imports/{job['id']}", headers=bearer(t["owner_contributor"])).json()
    assert got["status"] == "done" and got["done"] == 2 and got["report"]["source"] == "winter.csv"
    assert c.get(f"/api/v1/imports/{job['id']}", headers=bearer(t["partner_manager"])).status_code == 404
    assert [j["id"] for j in c.get("/api/v1/imports", headers=bearer(t["owner_contributor"])).json()["imports"]] \
        == [job["id"]]
    # the new dataset is the owner's only (default visibility)
    names = lambda tok: {d["name"] for d in c.get("/api/v1/datasets", headers=bearer(tok)).json()["datasets"]}
    assert "winter-feeding" in names(t["owner_viewer"]) and "winter-feeding" not in names(t["partner_viewer"])


def test_sharing_terms_grants_and_audit_over_the_api(api):
    c, t, _ = api
    r = c.put("/api/v1/datasets/private-stations/sharing", headers=bearer(t["partner_manager"]),
              json={"visibility": "public"})
    assert r.status_code in (400, 403, 404)
    r = c.put("/api/v1/datasets/private-stations/sharing", headers=bearer(t["owner_viewer"]),
              json={"visibility": "public"})
    assert r.status_code == 403
    r = c.put("/api/v1/datasets/private-stations/sharing", headers=bearer(t["owner_manager"]),
              json={"visibility": "partners", "partners": [S.PARTNER], "license": "CC-BY-4.0"})
    assert r.status_code == 200 and r.json()["partners"] == [S.PARTNER]
    rows = c.get("/api/v1/observations", params={"dataset": "private-stations", "format": "json"},
                 headers=bearer(t["partner_viewer"])).json()["observations"]
    assert [o["lon"] for o in rows] == [S.PRIVATE_SITE["lon"]]
    g = c.post("/api/v1/grants", headers=bearer(t["owner_manager"]),
               json={"grantee": S.PARTNER, "taxon": "Panthera pardus orientalis", "owner": S.OWNER, "note": "DLA 7"})
    assert g.status_code == 201
    leo = lambda: next(o for o in c.get("/api/v1/observations", params={"format": "json",
                                                                         "taxon": "Panthera pardus orientalis"},
                                        headers=bearer(t["partner_viewer"])).json()["observations"])
    assert leo()["lon"] == S.SECRET_SITES[0]["lon"]
    listed = c.get("/api/v1/grants", headers=bearer(t["partner_viewer"])).json()["grants"]
    assert [x["note"] for x in listed] == ["DLA 7"]
    assert c.delete(f"/api/v1/grants/{g.json()['id']}", headers=bearer(t["partner_manager"])).status_code == 400
    assert c.delete(f"/api/v1/grants/{g.json()['id']}", headers=bearer(t["owner_manager"])).status_code == 200
    assert leo()["lon"] == 131.1
    log = c.get("/api/v1/audit", headers=bearer(t["owner_manager"])).json()["entries"]
    assert any(e["actor"] == "partner_viewer" and e["action"] == "read" for e in log)
    assert any(e["action"] == "grant" for e in log)
    assert c.get("/api/v1/audit", headers=bearer(t["partner_viewer"])).status_code == 403
    assert c.get("/api/v1/audit").status_code == 401


def test_analyses_use_and_report_the_view(api):
    c, t, _ = api
    owner = c.post("/api/v1/analyses", headers=bearer(t["owner_viewer"]), json={"kind": "summary"}).json()
    partner = c.post("/api/v1/analyses", headers=bearer(t["partner_viewer"]), json={"kind": "summary"}).json()
    anon = c.post("/api/v1/analyses", json={"kind": "summary"}).json()
    assert owner["view"]["user"] == "owner_viewer" and partner["view"]["user"] == "partner_viewer"
    assert owner["result"]["by_taxon"].get("Panthera tigris altaica") == 1
    assert "Panthera tigris altaica" not in partner["result"]["by_taxon"]  # withheld
    assert partner["generalized_input"] and partner["result"]["generalized_records"] >= 3
    # the export to the partner holds exactly the analysed records
    exp = c.get("/api/v1/exports/observations", params={"format": "csv"}, headers=bearer(t["partner_viewer"]))
    assert len(list(csv.DictReader(io.StringIO(exp.text)))) == partner["records"]
    # results from exact data go only to the caller (and the admin); anonymous runs to anyone
    assert c.get(f"/api/v1/analyses/{owner['id']}", headers=bearer(t["partner_viewer"])).status_code == 404
    assert c.get(f"/api/v1/analyses/{owner['id']}").status_code == 404
    assert c.get(f"/api/v1/analyses/{owner['id']}", headers=bearer(t["owner_viewer"])).status_code == 200
    assert c.get(f"/api/v1/analyses/{owner['id']}", headers=bearer(t["admin"])).status_code == 200
    assert c.get(f"/api/v1/analyses/{anon['id']}", headers=bearer(t["partner_viewer"])).status_code == 200
    grid = c.post("/api/v1/analyses", headers=bearer(t["partner_viewer"]), json={"kind": "grid", "cell_km": 5}).json()
    assert grid["result"]["occupied_cells"]["Panthera pardus orientalis"] == 1


def test_tokens_over_the_api(api):
    c, t, _ = api
    new = c.post("/api/v1/users/me/tokens", headers=bearer(t["alliance_viewer"]), json={"name": "gis", "days": 2})
    assert new.status_code == 201
    tok = new.json()["token"]
    assert c.get("/api/v1/users/me", headers=bearer(tok)).json()["username"] == "alliance_viewer"
    listed = c.get("/api/v1/users/me/tokens", headers=bearer(tok)).json()["tokens"]
    assert tok not in str(listed) and any(x["name"] == "gis" for x in listed)
    assert c.delete(f"/api/v1/users/me/tokens/{new.json()['id']}", headers=bearer(t["partner_viewer"])).status_code == 400
    assert c.delete(f"/api/v1/users/me/tokens/{new.json()['id']}", headers=bearer(tok)).status_code == 200
    assert c.get("/api/v1/users/me", headers=bearer(tok)).status_code == 401
    assert c.get("/api/v1/users", headers=bearer(t["outsider_admin"])).status_code == 403
    assert c.get("/api/v1/users", headers=bearer(t["admin"])).status_code == 200


def test_filters_paging_formats_and_terms(api):
    c, t, _ = api
    h = bearer(t["owner_viewer"])
    page1 = c.get("/api/v1/observations", params={"limit": 3}, headers=h).json()
    page2 = c.get("/api/v1/observations", params={"limit": 3, "after": page1["next_after"]}, headers=h).json()
    ids1, ids2 = [f["id"] for f in page1["features"]], [f["id"] for f in page2["features"]]
    assert len(ids1) == 3 and ids2 and max(ids1) < min(ids2)
    poly = "POLYGON((131.1 43.2, 131.2 43.2, 131.2 43.3, 131.1 43.3, 131.1 43.2))"
    inside = c.get("/api/v1/observations", params={"polygon": poly, "format": "json"}, headers=h).json()
    assert {o["scientific_name"] for o in inside["observations"]} == {"Panthera pardus orientalis", "Capreolus pygargus"}
    box = c.get("/api/v1/observations", params={"bbox": "130.9,42.9,131.0,43.0", "format": "json"}).json()
    assert [o["scientific_name"] for o in box["observations"]] == ["Grus japonensis"]
    assert box["datasets"][0]["license"] == "CC-BY-NC-4.0"
    ind = c.get("/api/v1/individuals", headers=bearer(t["partner_viewer"])).json()["individuals"]
    names = [i["individual"] for i in ind]  # (other capabilities add individuals to the sample, e.g. rings)
    assert "PPO-F12" in names and "PTA-M3" not in names  # the withheld tiger's individual is not listed
    assert c.get("/api/v1/individuals/PTA-M3", headers=bearer(t["partner_viewer"])).status_code == 404
    assert c.get("/api/v1/individuals/PTA-M3", headers=h).status_code == 200
    r = c.get("/api/v1/exports/observations", params={"format": "geojson", "dataset": "crane-counts"})
    assert r.headers["x-econet-license"] == "crane-counts: CC-BY-NC-4.0" and "crane-counts" in r.headers["x-econet-citation"]
    assert r.json()["features"][0]["properties"]["scientific_name"] == "Grus japonensis"
    assert c.get("/api/v1/observations", params={"dataset": "private-stations"}).status_code == 400
    assert c.get("/api/v1/datasets/private-stations").status_code == 404
    assert c.get("/api/v1/observations/1").status_code == 404  # the leopard record, not public
    one = c.get("/api/v1/observations/1", headers=bearer(t["partner_viewer"])).json()
    assert one["geometry"]["coordinates"] == [131.1, 43.2] and one["view"]["user"] == "partner_viewer"
