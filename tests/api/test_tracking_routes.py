"""The tracks, waterbirds, rings and glaciers routes on the sample hub (econet.hub.sharing_sample): each caller
gets what the sharing rules give them - a sensitive leopard's whole track rounded, a withheld tiger left out, an
embargoed collar hidden, a sensitive crane's nest generalized - and the atlas gets GeoJSON with clear names."""

from __future__ import annotations

from econet.hub import sharing_sample as S
from tests.api.conftest import bearer


def _fixes(client, token=None, **params):
    r = client.get("/api/v1/tracks/fixes", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_fixes_per_role(client, sample_hub):
    tokens = sample_hub["tokens"]
    anon = _fixes(client)
    assert anon["view"]["kind"] == "anonymous"
    inds = {f["properties"]["individual"] for f in anon["features"]}
    assert inds == {"PPO-F12"}  # the tiger is withheld, the embargoed collar hidden
    assert all(f["properties"]["coordinate_precision"] == 0.1 and f["properties"]["data_generalizations"]
               for f in anon["features"])
    assert {tuple(f["geometry"]["coordinates"]) for f in anon["features"]} == {(131.1, 43.2), (131.4, 43.4)}
    owner = _fixes(client, tokens["owner_viewer"])
    assert {f["properties"]["individual"] for f in owner["features"]} == {"PPO-F12", "PTA-M3", "CPY-1"}
    den = [f for f in owner["features"] if f["geometry"]["coordinates"] == [S.SECRET_SITES[0]["lon"],
                                                                              S.SECRET_SITES[0]["lat"]]]
    assert len(den) == 1 and den[0]["properties"]["data_generalizations"] is None
    # paging by hub_id
    first = _fixes(client, tokens["owner_viewer"], limit=4)
    assert first["count"] == 4 and first["next_after"] == first["features"][-1]["id"]
    rest = _fixes(client, tokens["owner_viewer"], limit=100, after=first["next_after"])
    assert [f["id"] for f in first["features"] + rest["features"]] == [f["id"] for f in owner["features"]]


def test_tracks_lines_one_animal_and_crossings(client, sample_hub):
    tokens = sample_hub["tokens"]
    r = client.get("/api/v1/tracks", headers=bearer(tokens["owner_viewer"])).json()
    lines = {f["properties"]["individual"]: f for f in r["features"]}
    assert lines["PPO-F12"]["geometry"]["type"] == "LineString" and lines["PPO-F12"]["properties"]["n_fixes"] == 3
    assert lines["PPO-F12"]["properties"]["countries"] == ["CN", "RU"]
    one = client.get("/api/v1/tracks/PTA-M3/fixes", headers=bearer(tokens["owner_viewer"])).json()
    assert one["count"] == 2 and one["individual"] == "PTA-M3"
    assert client.get("/api/v1/tracks/PTA-M3/fixes").status_code == 404  # withheld: as if absent
    cx = client.get("/api/v1/tracks/crossings", params={"border": "CN-RU"}, headers=bearer(tokens["owner_viewer"]))
    assert cx.status_code == 200, cx.text
    body = cx.json()
    assert body["view"]["user"] == "owner_viewer" and body["generalized_input"] is False
    assert body["count"] == 1 and body["features"][0]["properties"]["direction"] == "CN→RU"
    anon = client.get("/api/v1/tracks/crossings", params={"border": "CN-RU"}).json()
    assert anon["generalized_input"] is True and anon["count"] == 1
    s = client.get("/api/v1/tracks/summary").json()
    assert [d["dataset"] for d in s["datasets"]] == ["leopard-collars"]


def test_waterbird_and_ring_routes_generalize_the_crane_nest(client, sample_hub):
    tokens = sample_hub["tokens"]
    anon = client.get("/api/v1/waterbirds/counts").json()
    assert anon["count"] == 6 and {f["properties"]["site_id"] for f in anon["features"]} == {"cell 131.2,43.3"}
    assert all(f["properties"]["site_name"] is None for f in anon["features"])
    own = client.get("/api/v1/waterbirds/counts", headers=bearer(tokens["owner_viewer"])).json()
    assert {f["properties"]["site_name"] for f in own["features"]} == {S.CRANE_NEST["locality"]}
    sites = client.get("/api/v1/waterbirds/sites").json()
    assert sites["generalized_input"] is True and sites["features"][0]["properties"]["site_id"] == "cell 131.2,43.3"
    assert "Ramsar 6" in sites["features"][0]["properties"]["criteria"]
    enc = client.get("/api/v1/rings/encounters").json()
    assert enc["count"] == 1 and enc["features"][0]["geometry"]["coordinates"] == [131.2, 43.3]
    assert enc["features"][0]["properties"]["place_code"] is None
    assert client.get("/api/v1/rings/recoveries").json()["count"] == 0  # one encounter: nothing to link


def test_glacier_routes_follow_dataset_visibility(client, sample_hub):
    tokens = sample_hub["tokens"]
    assert client.get("/api/v1/glaciers").json()["count"] == 0
    assert client.get("/api/v1/glaciers/990001/series").status_code == 404
    own = client.get("/api/v1/glaciers", headers=bearer(tokens["owner_viewer"])).json()
    g = own["features"][0]
    assert g["properties"]["wgms_id"] == 990001 and g["properties"]["trend"] == "losing mass"
    assert g["properties"]["n_years"] == 8 and g["properties"]["ts_slope_mwe_per_yr"] == -0.02
    series = client.get("/api/v1/glaciers/990001/series", headers=bearer(tokens["owner_viewer"])).json()
    assert [v["value"] for v in series["series"]["annual_balance"]["values"]][:2] == [-300.0, -320.0]
