"""The atlas's data routes through FastAPI's TestClient on the SIMULATED multi-partner hub (conftest `hub`):
what the map and dashboards get follows the caller's view exactly; the layer catalog serves only its
allow-list of public demo files; `econet demo --serve`'s logins."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from econet.web import mapdata


@pytest.fixture(scope="module")
def client(hub, tmp_path_factory):
    from econet.api.app import create_app
    demo = tmp_path_factory.mktemp("atlas-api-demo")
    (demo / "protconn.csv").write_text(
        "region,distance_m,Prot,ProtConn,ProtConn_Trans\nCHN,10000,2.6,1.6,0.0\nRUS,10000,9.1,5.8,0.2\n"
        "RUS,30000,9.1,6.0,0.4\n", encoding="utf-8")
    (demo / "glacier_mass_balance.csv").write_text(
        "name,country,year,cumulative_mwe\nA,KG,2000,-0.5\nA,KG,2001,-1.1\nB,KZ,2001,-0.2\n", encoding="utf-8")
    (demo / "glacier_trends.csv").write_text("name,ts_slope_mwe_per_yr,lon,lat\nA,-0.6,71.5,39.6\n", encoding="utf-8")
    with TestClient(create_app(db_url=hub["db"], demo_dir=demo), raise_server_exceptions=False) as c:
        yield c


def _sign_in(client, user, hub):
    r = client.post("/api/v1/auth/token", data={"username": user, "password": hub["password"]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _leopard(features):
    return [f for f in features if f["properties"].get("species") == "Panthera pardus orientalis"]


def test_sensitive_record_generalized_for_partner_exact_for_owner(client, hub):
    secret = hub["secret"]
    bbox = {"bbox": "130.5,42.5,132.5,44.5", "zoom": 14}
    partner = client.get("/api/v1/atlas/observations", params=bbox, headers=_sign_in(client, "partner_viewer", hub))
    owner = client.get("/api/v1/atlas/observations", params=bbox, headers=_sign_in(client, "owner_manager", hub))
    anonymous = client.get("/api/v1/atlas/observations", params=bbox)
    assert partner.status_code == owner.status_code == anonymous.status_code == 200
    (p,) = _leopard(partner.json()["features"])
    (o,) = _leopard(owner.json()["features"])
    assert p["properties"]["generalized"] is True and "0.1 degree" in p["properties"]["data_generalizations"]
    assert p["geometry"]["coordinates"] == [round(secret["lon"], 1), round(secret["lat"], 1)]
    assert o["properties"]["generalized"] is False and o["properties"]["data_generalizations"] is None
    assert o["geometry"]["coordinates"] == pytest.approx([secret["lon"], secret["lat"]])
    for text in (f"{secret['lon']:.4f}"[:-1], f"{secret['lat']:.4f}"[:-1], "Kedrovaya"):
        assert text not in partner.text and text not in anonymous.text
    assert not _leopard(anonymous.json()["features"])  # the leopard dataset is shared with the partner only
    # the withheld tiger reaches no one but the owner side
    assert not [f for f in partner.json()["features"] if f["properties"]["species"] == "Panthera tigris altaica"]


def test_clusters_keep_every_record_and_mark_generalized_ones(client, hub):
    h = _sign_in(client, "partner_viewer", hub)
    exact = client.get("/api/v1/atlas/observations", params={"zoom": 14}, headers=h).json()
    coarse = client.get("/api/v1/atlas/observations", params={"zoom": 3}, headers=h).json()
    assert not exact["clustered"] and coarse["clustered"]
    count = sum(f["properties"].get("point_count", 1) for f in coarse["features"])
    assert count == coarse["total"] == exact["total"] == len(exact["features"])
    gen_exact = sum(f["properties"]["generalized"] for f in exact["features"])
    gen_coarse = sum(f["properties"]["generalized_count"] if f["properties"].get("cluster")
                     else f["properties"]["generalized"] for f in coarse["features"])
    assert gen_exact == gen_coarse >= 2  # the leopard and the roe deer at its site
    assert any(f["properties"].get("cluster") for f in coarse["features"])


def test_tracks_and_crossings_follow_detections(client):
    body = client.get("/api/v1/atlas/tracks").json()
    tracks = [f for f in body["features"] if f["properties"]["kind"] == "track"]
    crossings = [f for f in body["features"] if f["properties"]["kind"] == "crossing"]
    (deer,) = [f for f in tracks if f["properties"]["individual"] == "CCA-T1"]
    assert len(deer["geometry"]["coordinates"]) == 5 and deer["properties"]["countries"] == "CN;RU"
    assert [c["properties"]["direction"] for c in crossings if c["properties"]["individual"] == "CCA-T1"] \
        == ["CN→RU", "RU→CN"]
    assert body["crossings"] == len(crossings)


def test_dashboard_counts_are_the_view(client, hub):
    h = _sign_in(client, "owner_manager", hub)
    d = client.get("/api/v1/atlas/dashboard", headers=h).json()
    obs = client.get("/api/v1/observations", params={"format": "json", "limit": 10000}, headers=h).json()
    timed = sum(1 for r in obs["observations"] if r["time_utc"])
    assert d["records"] == obs["count"]
    assert sum(sum(s["counts"]) for s in d["detections"]["series"]) == timed
    anon = client.get("/api/v1/atlas/dashboard").json()
    assert anon["records"] < d["records"] and anon["view"]["kind"] == "anonymous"
    assert {(r["country"], r["distance_km"]) for r in d["protconn"]} == {("CHN", 10), ("RUS", 10), ("RUS", 30)}
    assert d["glaciers"]["years"] == [2000, 2001]
    a = next(s for s in d["glaciers"]["series"] if s["glacier"] == "A")
    assert a["cumulative_mwe"] == [-0.5, -1.1] and a["trend_mwe_per_yr"] == -0.6


def test_cluster_positions_are_member_means():
    rows = [{"hub_id": i, "lon": 131.0 + 0.001 * i, "lat": 43.0, "dataset": "d", "accepted_name": "A"}
            for i in range(10)] + [{"hub_id": 99, "lon": 135.0, "lat": 47.0, "dataset": "d", "accepted_name": "B",
                                    "data_generalizations": "rounded"}]
    out = mapdata.cluster(rows, zoom=6)
    (c,) = [f for f in out["features"] if f["properties"].get("cluster")]
    (single,) = [f for f in out["features"] if not f["properties"].get("cluster")]
    assert c["properties"]["point_count"] == 10 and c["properties"]["generalized_count"] == 0
    assert c["geometry"]["coordinates"] == [round(131.0045, 3), 43.0]
    assert single["properties"]["generalized"] is True and single["properties"]["hub_id"] == 99


# ------------------------------------------------------------------------------------------ the layer catalog
@pytest.fixture()
def crowded_demo(tmp_path):
    """A demo folder holding public outputs and files the catalog must never serve (hub records)."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point
    pts = gpd.GeoDataFrame({"scientific_name": ["Panthera pardus orientalis"]},
                           geometry=[Point(131.123457, 43.234568)], crs=4326)
    pts.to_file(tmp_path / "within_10km_of_border.gpkg", layer="observations")
    pts.to_file(tmp_path / "observations_export.gpkg", layer="obs")
    paths = gpd.GeoDataFrame({"from": [1], "to": [2], "crosses_border": [True]},
                             geometry=[LineString([(131.0, 43.0), (131.3, 43.2)])], crs=4326)
    paths.to_file(tmp_path / "corridors.gpkg", layer="paths")
    (tmp_path / "waterbird_sites_ranked.csv").write_text(
        "rank,site_id,site_name,country,criteria,n_populations_1pct,populations_1pct,max_share_pct,"
        "max_share_population,waterbirds_mean_max,critical,lon,lat\n"
        "1,khanka,Lake Khanka,RU,Ramsar 6,2,a;b,12.5,a,30000,True,132.4,44.9\n", encoding="utf-8")
    return tmp_path


def test_catalog_serves_only_its_allow_list(crowded_demo):
    from econet.api.app import create_app
    with TestClient(create_app(demo_dir=crowded_demo), raise_server_exceptions=False) as c:
        layers = {l["name"]: l for l in c.get("/api/v1/layers").json()["layers"]}
        assert "corridor_paths" in layers and "bird_sites" in layers
        assert not {"within_10km_of_border", "observations_export"} & set(layers)
        for name in ("within_10km_of_border", "observations_export", "observations_export.obs"):
            assert c.get(f"/api/v1/layers/{name}").status_code == 404
        body = c.get("/api/v1/layers").text + c.get("/api/v1/layers/corridor_paths").text
        assert "131.12346" not in body
        sites = c.get("/api/v1/layers/bird_sites").json()
        assert sites["features"][0]["geometry"]["coordinates"] == [132.4, 44.9]
        assert sites["features"][0]["properties"]["site_name"] == "Lake Khanka"


def test_pinch_points_are_current_inside_corridors(tmp_path):
    from affine import Affine

    from econet.api.catalog import LayerCatalog
    from econet.demo.region import DEMO_BOUNDS
    from econet.geo.crs import equal_area_crs
    from econet.geo.raster import Raster, write_raster
    crs = equal_area_crs(DEMO_BOUNDS)
    t = Affine(5000, 0, -250000, 0, -5000, 250000)
    current = np.full((100, 100), 2.0)
    corridor = np.full((100, 100), np.nan)
    corridor[40:60, :] = 1.0
    write_raster(tmp_path / "current.tif", Raster(current, t, crs), dtype="float32")
    write_raster(tmp_path / "corridors.tif", Raster(corridor, t, crs), dtype="float32")
    src = LayerCatalog(tmp_path).renderer("pinch_points").source
    assert np.isfinite(src.data).sum() == 20 * 100
    assert np.isnan(src.data[:40]).all() and (src.data[40:60] == 2.0).all()


def test_demo_logins_get_the_demo_password(tmp_path):
    from econet.hub import accounts
    from econet.hub.db import open_hub
    from econet.web.demo_logins import DEMO_PASSWORD, DEMO_USERS, set_demo_passwords
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = open_hub(db)
    with engine.begin() as conn:
        for name, (org, _) in DEMO_USERS.items():
            accounts.add_org(conn, org, country="RU")
            accounts.add_user(conn, name, None)
            accounts.set_role(conn, name, org, "viewer")
    logins = set_demo_passwords(db)
    assert {l["username"] for l in logins} == set(DEMO_USERS)
    assert all(l["organization"] == DEMO_USERS[l["username"]][0] for l in logins)
    with engine.begin() as conn:
        assert all(accounts.login(conn, n, DEMO_PASSWORD) is not None for n in DEMO_USERS)
    assert json.dumps(logins)


def test_map_index_follows_sharing_changes(client, hub):
    """The map's cached view index is rebuilt when sharing terms change: no stale record is drawn."""
    from econet.hub import sharing
    from econet.hub import sharing_sample as S
    h = _sign_in(client, "partner_viewer", hub)
    before = client.get("/api/v1/atlas/observations", params={"zoom": 14}, headers=h).json()
    assert _leopard(before["features"])
    try:
        with hub["engine"].begin() as conn:
            sharing.set_sharing(conn, "leopard-cams", visibility="owner")
        after = client.get("/api/v1/atlas/observations", params={"zoom": 14}, headers=h).json()
        assert not _leopard(after["features"]) and after["total"] < before["total"]
    finally:
        with hub["engine"].begin() as conn:
            sharing.set_sharing(conn, "leopard-cams", visibility="partners", partners=[S.PARTNER])
    again = client.get("/api/v1/atlas/observations", params={"zoom": 14}, headers=h).json()
    assert again["total"] == before["total"]
