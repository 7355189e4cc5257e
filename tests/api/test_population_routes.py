"""REST: GET /api/v1/genetic-samples and POST /api/v1/analyses kinds scr, occupancy, genetics, crossings, rai on the
caller's view; runs stored as Jobs readable by their caller and the admin (or anyone for anonymous runs)."""

from __future__ import annotations

import json

import pytest

from econet.hub import sharing_sample as S


def bearer(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def make_app(db):
    from econet.api.app import create_app
    app = create_app(db)
    app.state.db, app.state.hub_engine = db, None
    return app

SECRETS = [f"{s['lon']:.4f}" for s in S.SECRET_SITES] + [f"{s['lat']:.4f}" for s in S.SECRET_SITES]


def _leaks(resp) -> list[str]:
    text = resp.text
    return [c for c in SECRETS if c in text] + [s["locality"] for s in S.SECRET_SITES if s["locality"] in text]


def test_genetic_samples_follow_the_sharing_rules(client, sample_hub):
    t = sample_hub["tokens"]
    owner = client.get("/api/v1/genetic-samples", headers=bearer(t["owner_viewer"])).json()
    partner = client.get("/api/v1/genetic-samples", headers=bearer(t["partner_viewer"]))
    outsider = client.get("/api/v1/genetic-samples", headers=bearer(t["outsider_admin"])).json()
    assert partner.status_code == 200 and not _leaks(partner)
    p = partner.json()
    by_owner = {s["sample"]: s for s in owner["samples"]}
    assert set(by_owner) == {k for k, *_ in S.GENETIC_SAMPLES}
    assert by_owner["PPO-S1"]["lon"] == pytest.approx(S.SECRET_SITES[0]["lon"])
    # leopard scats rounded to 0.1 degree for the partner; the tiger (withheld in Russia) left out
    assert {s["sample"] for s in p["samples"]} == {"PPO-S1", "PPO-S2", "PPO-S3"}
    assert all(s["lon"] == round(S.SECRET_SITES[0]["lon"], 1) and s["data_generalizations"] for s in p["samples"])
    assert outsider["count"] == 0  # leopard-cams is shared with the named partner only
    assert client.get("/api/v1/genetic-samples", params={"taxon": "Panthera pardus orientalis"},
                      headers=bearer(t["owner_viewer"])).json()["count"] == 3
    assert client.get("/api/v1/genetic-samples", params={"dataset": "no-such"},
                      headers=bearer(t["owner_viewer"])).status_code == 404


def test_genetics_and_crossings_runs_on_the_partners_view(client, sample_hub):
    t = sample_hub["tokens"]
    r = client.post("/api/v1/analyses", json={"kind": "genetics", "dataset": "leopard-cams", "max_mismatch": 0},
                    headers=bearer(t["partner_viewer"]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["generalized_input"] and body["view"]["user"] == "partner_viewer" and not _leaks(r)
    res = body["result"]
    assert res["input"]["samples"] == 3  # the withheld tiger scat is not analysed
    assert res["match"]["n_unique"] == 2  # PPO-S1 and PPO-S2 share a genotype
    r2 = client.post("/api/v1/analyses", json={"kind": "crossings", "dataset": "leopard-cams"},
                     headers=bearer(t["partner_viewer"]))
    assert r2.status_code == 201 and not _leaks(r2)
    assert [s["n_individuals"] for s in r2.json()["result"]["summary"]] == [1]  # PPO-F12 (tiger withheld)
    # the run is the partner's: the owner's viewer cannot read it, the admin can
    jid = body["id"]
    assert client.get(f"/api/v1/analyses/{jid}", headers=bearer(t["owner_viewer"])).status_code == 404
    assert client.get(f"/api/v1/analyses/{jid}", headers=bearer(t["partner_viewer"])).status_code == 200
    assert client.get(f"/api/v1/analyses/{jid}", headers=bearer(t["admin"])).status_code == 200


def test_scr_without_deployments_is_a_clear_422(client, sample_hub):
    r = client.post("/api/v1/analyses", json={"kind": "scr", "dataset": "leopard-cams"},
                    headers=bearer(sample_hub["tokens"]["owner_viewer"]))
    assert r.status_code == 422 and "deployments" in r.json()["detail"]


@pytest.fixture(scope="module")
def tiger_client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from econet.hub import accounts, sharing, tiger_sim
    from econet.hub.db import dispose_all, open_hub
    from econet.hub.ingest import import_path
    folder = tmp_path_factory.mktemp("tiger")
    db = f"sqlite:///{folder / 'hub.db'}"
    tiger_sim.simulate_package(folder / "pkg", grid=6, days=60, D_per_100km2=2.0, seed=5)
    import_path(db, folder / "pkg", dataset="tiger-api", org="Tiger owner (test)")
    with open_hub(db).begin() as conn:
        sharing.set_sharing(conn, "tiger-api", visibility="public")
        sharing.set_sensitive(conn, tiger_sim.TAXON, "RU", "0.1")
        sharing.set_sensitive(conn, tiger_sim.TAXON, "CN", "0.1")
        accounts.add_user(conn, "tiger-admin", "correct horse battery", admin=True)
        token = accounts.create_token(conn, "tiger-admin", name="t", days=1)["token"]
    with TestClient(make_app(db)) as c:
        yield c, token, folder
    dispose_all()


def test_scr_rest_anonymous_is_generalized_admin_exact(tiger_client):
    import pandas as pd
    client, token, folder = tiger_client
    body = {"kind": "scr", "dataset": "tiger-api", "taxon": "Panthera tigris altaica", "spacing_m": 2000}
    anon = client.post("/api/v1/analyses", json=body)
    admin = client.post("/api/v1/analyses", json=body, headers=bearer(token))
    assert anon.status_code == 201 and admin.status_code == 201, anon.text
    a, x = anon.json(), admin.json()
    assert a["generalized_input"] and not x["generalized_input"]
    assert a["view"]["kind"] == "anonymous" and x["view"]["kind"] == "admin"
    for k in ("D", "g0", "sigma"):
        assert set(a["result"]["fit"][k]) >= {"estimate", "se", "lcl", "ucl"}
    assert a["result"]["input"]["detector_locations"] < x["result"]["input"]["detector_locations"]
    deps = pd.read_csv(folder / "pkg" / "deployments.csv")
    exact = [f"{v:.5f}" for v in list(deps["longitude"]) + list(deps["latitude"])]
    assert not [c for c in exact if c in anon.text]
    # an anonymous run is readable by anyone; the admin's (exact) run by no anonymous caller
    assert client.get(f"/api/v1/analyses/{a['id']}").status_code == 200
    assert client.get(f"/api/v1/analyses/{x['id']}").status_code == 404
    assert json.loads(client.get(f"/api/v1/analyses/{x['id']}", headers=bearer(token)).text)["result"]["fit"]
    r = client.post("/api/v1/analyses", json={"kind": "occupancy", "dataset": "tiger-api", "occasion_days": 10},
                    headers=bearer(token))
    assert r.status_code == 201 and r.json()["result"]["fit"]["n_sites"] == len(deps)
    r = client.post("/api/v1/analyses", json={"kind": "rai", "dataset": "tiger-api"})
    assert r.status_code == 201 and not [c for c in exact if c in r.text]
