"""The proof of issue 4: every route of the app x every role x every sharing setting leaks nothing.

Routes come from `app.routes` (not a hand-kept list): a route without a declared access rule fails
`test_every_route_declares_a_rule`, and every route is called by every role under every setting, its
response body (unzipped for archives) searched for the exact coordinates (lon/lat and equal-area x/y) and
locality text of sensitive, withheld, private and embargoed records.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from fastapi.routing import APIRoute

from econet.api.auth import RULES, api_routes
from econet.hub import sharing_sample as S



def bearer(token):
    return {"Authorization": f"Bearer {token}"} if token else {}

ROLES = [None, "admin", "owner_manager", "owner_viewer", "owner_contributor", "partner_viewer", "partner_manager",
         "alliance_viewer", "outsider_admin"]
OWNER_SIDE = {"admin", "owner_manager", "owner_viewer", "owner_contributor"}
ALLIANCE_SIDE = OWNER_SIDE | {"partner_viewer", "partner_manager", "alliance_viewer"}
PATH_VALUES = {"name": "leopard-cams", "hub_id": "1", "key": "PPO-F12", "token_id": "999999", "org_id": "1",
               "grant_id": "999999", "run_id": "1", "job_id": "1", "animal": "PPO-F12", "wgms_id": "990001",
               "record": S.REGISTRY_KEYS["parties"], "pa": "Land of the Leopard National Park", "alert_id": "1"}
WALK_SITE = {"lon": 131.288881, "lat": 43.377773, "locality": "Walk upload station Lazovsky"}
WALK_CSV = ("id,species,date,lon,lat,country,locality,n,animal\n"
            f"w1,Sus scrofa,2023-05-01,{WALK_SITE['lon']},{WALK_SITE['lat']},RU,{WALK_SITE['locality']},1,\n")
BODIES = {
    ("POST", "/api/v1/users"): {"username": "walk-user", "password": "long enough pw"},
    ("POST", "/api/v1/users/me/tokens"): {"name": "walk", "days": 1},
    ("POST", "/api/v1/organizations"): {"name": "Walk Org", "country": "MN"},
    ("PUT", "/api/v1/organizations/{org_id}/members"): {"username": "owner_viewer", "role": "viewer"},
    ("PUT", "/api/v1/datasets/{name}/sharing"): {"license": "CC-BY-NC-4.0"},
    ("POST", "/api/v1/grants"): {"grantee": S.ALLIANCE, "dataset": "crane-counts"},
    ("PUT", "/api/v1/sensitive-taxa"): {"taxon": "Panthera pardus orientalis", "country": "RU", "category": "0.1"},
    ("POST", "/api/v1/analyses"): {"kind": "grid", "cell_km": 1},
    ("POST", "/api/v1/registry/records"): {"key": "walk-record", "kind": "project", "title": "Walk project",
                                           "visibility": "parties", "keeper": S.OWNER,
                                           "links": [{"kind": "dataset", "target": "leopard-cams"}]},
    ("POST", "/api/v1/registry/records/{record}/links"): {"kind": "dataset", "target": "private-stations"},
    ("POST", "/api/v1/watch"): {"organization": S.PARTNER, "kind": "sensitive", "name": "Panthera tigris altaica"},
    ("POST", "/api/v1/alerts/read"): {},
}
# setting name -> (leopard-cams sharing, grants to the partner)
SETTINGS = {
    "partners": ({"visibility": "partners", "partners": [S.PARTNER]}, []),
    "public": ({"visibility": "public"}, []),
    "alliance": ({"visibility": "alliance"}, []),
    "owner": ({"visibility": "owner"}, []),
    "public-embargoed": ({"visibility": "public", "embargo_until": "2099-01-01"}, []),
    "partners+taxon-grant": ({"visibility": "partners", "partners": [S.PARTNER]},
                             [{"taxon": "Panthera pardus orientalis", "owner": S.OWNER}]),
    "public+dataset-grant": ({"visibility": "public"}, [{"dataset": "leopard-cams"}]),
}


def secrets_of(site: dict) -> list[str]:
    from econet.hub.spatial import to_equal_area
    x, y = to_equal_area([site["lon"]], [site["lat"]])
    return [repr(site["lon"]), repr(site["lat"]), site["locality"], f"{float(x[0]):.2f}", f"{float(y[0]):.2f}"]


def forbidden(role: str | None, setting: str) -> dict[str, list[str]]:
    """What this role must never receive under this setting: label -> strings."""
    out = {}
    leopard, tiger = S.SECRET_SITES
    if role not in OWNER_SIDE:
        out["private"] = secrets_of(S.PRIVATE_SITE)
        out["embargoed"] = secrets_of(S.EMBARGO_SITE)
        out["walk upload (owner only)"] = secrets_of(WALK_SITE)
        partner_exact_leopard = role in ("partner_viewer", "partner_manager") and "grant" in setting
        partner_exact_all = role in ("partner_viewer", "partner_manager") and setting == "public+dataset-grant"
        if not partner_exact_leopard:
            out["leopard den"] = secrets_of(leopard)
        if not partner_exact_all:
            out["tiger kill (withheld)"] = secrets_of(tiger)
        out["crane nest (sensitive in CN)"] = secrets_of(S.CRANE_NEST)
    if role not in ALLIANCE_SIDE:
        out["alliance-only"] = secrets_of(S.ALLIANCE_SITE)
    return out


def app_routes(app) -> list[dict]:
    """The app's actual routes (econet.api.auth.api_routes expands included routers)."""
    return [r for r in api_routes(app) if r["kind"] == "api"]


def test_every_route_declares_a_rule(client):
    routes = app_routes(client.app)
    assert len(routes) >= 20
    missing = [f"{sorted(r['methods'])} {r['path']}" for r in routes if r["rule"] not in RULES]
    assert not missing, f"routes without an access rule (econet.api.auth.rule): {missing}"


def test_a_route_without_a_rule_fails_the_check():
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/api/v1/sneaky")
    def sneaky():
        return {}

    assert [r["rule"] for r in app_routes(app)] == [None]


def _body_text(resp) -> str:
    if resp.headers.get("content-type", "").startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(resp.content)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return resp.text + " " + " ".join(f"{k}: {v}" for k, v in resp.headers.items())


def _call(client, route: dict, method: str, token: str | None):
    path = re.sub(r"\{(\w+)(:\w+)?\}", lambda mt: PATH_VALUES.get(mt.group(1), "1"), route["path"])
    h = bearer(token)
    if route["path"] == "/api/v1/imports" and method == "POST":
        files = {"file": ("walk.csv", WALK_CSV.encode(), "text/csv"),
                 "mapping": ("mapping.yaml", S.MAPPING.encode(), "text/yaml")}
        return client.post(path, headers=h, files=files, data={"dataset": "walk-upload", "organization": S.OWNER})
    if route["path"] == "/api/v1/auth/token":
        return client.post(path, data={"username": "partner_viewer", "password": "correct horse battery"})
    body = BODIES.get((method, route["path"]))
    if method in ("POST", "PUT", "PATCH"):
        return client.request(method, path, headers=h, json=body if body is not None else {})
    if route["path"].startswith("/api/v1/exports/observations"):
        return [client.get(path, headers=h, params={"format": f}) for f in ("csv", "geojson", "dwca")]
    if route["path"] == "/api/v1/observations":
        return [client.get(path, headers=h, params={"format": f}) for f in ("geojson", "json", "csv")]
    return client.request(method, path, headers=h)


def _apply(sample_hub, setting: str) -> None:
    from sqlalchemy import update
    from econet.hub import models as m, sharing
    terms, grants = SETTINGS[setting]
    with sample_hub["engine"].begin() as conn:
        conn.execute(update(m.AccessGrant).values(revoked_at=m.utcnow()))  # start from no grants
        sharing.bump_generation(conn)
        sharing.set_sharing(conn, "leopard-cams", visibility=terms["visibility"], partners=terms.get("partners", []),
                            embargo_until=terms.get("embargo_until"), clear_embargo="embargo_until" not in terms)
        for g in grants:
            sharing.grant(conn, to=S.PARTNER, owner=g.get("owner"), dataset=g.get("dataset"), taxon=g.get("taxon"))


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_no_route_leaks_under_any_setting(client, sample_hub, setting):
    _apply(sample_hub, setting)
    tokens = sample_hub["tokens"]
    calls = 0
    for route in app_routes(client.app):
        for method in sorted(route["methods"] - {"HEAD", "OPTIONS"}):
            for role in ROLES:
                resps = _call(client, route, method, tokens.get(role) if role else None)
                for resp in resps if isinstance(resps, list) else [resps]:
                    calls += 1
                    where = f"{method} {route['path']} as {role or 'anonymous'} under {setting}"
                    assert resp.status_code < 500, f"{where}: {resp.status_code} {resp.text[:300]}"
                    text = _body_text(resp)
                    for label, strings in forbidden(role, setting).items():
                        for s in strings:
                            assert s not in text, f"{where} leaks {label} ({s!r})"
    assert calls > 200
    _authorized_get_what_they_may(client, tokens, setting)


def _rows(client, token):
    r = client.get("/api/v1/observations", params={"format": "json"}, headers=bearer(token))
    assert r.status_code == 200
    return {(o["dataset"], o["scientific_name"]): o for o in r.json()["observations"]}


def _authorized_get_what_they_may(client, tokens, setting):
    leopard_key = ("leopard-cams", "Panthera pardus orientalis")
    # the owner and the admin always see everything exactly
    for role in ("owner_viewer", "admin"):
        rows = _rows(client, tokens[role])
        assert rows[leopard_key]["lon"] == S.SECRET_SITES[0]["lon"]
        assert rows[leopard_key]["locality"] == S.SECRET_SITES[0]["locality"]
        assert ("private-stations", "Capreolus pygargus") in rows and ("embargoed-survey", "Sus scrofa") in rows
    partner = _rows(client, tokens["partner_viewer"])
    anonymous = _rows(client, None)
    alliance = _rows(client, tokens["alliance_viewer"])
    outsider = _rows(client, tokens["outsider_admin"])
    assert ("alliance-plots", "Cervus canadensis") in alliance and ("alliance-plots", "Cervus canadensis") not in outsider
    visible_to = {"partners": {"partner"}, "public": {"partner", "anonymous", "alliance", "outsider"},
                  "alliance": {"partner", "alliance"}, "owner": set(), "public-embargoed": set(),
                  "partners+taxon-grant": {"partner"},
                  "public+dataset-grant": {"partner", "anonymous", "alliance", "outsider"}}[setting]
    for who, rows in (("partner", partner), ("anonymous", anonymous), ("alliance", alliance), ("outsider", outsider)):
        if who not in visible_to:
            assert not any(k[0] == "leopard-cams" for k in rows), (who, setting)
            continue
        leo = rows[leopard_key]
        exact = who == "partner" and "grant" in setting
        if exact:
            assert leo["lon"] == S.SECRET_SITES[0]["lon"] and leo["data_generalizations"] is None
        else:
            assert (leo["lon"], leo["lat"]) == (131.1, 43.2)
            assert leo["coordinate_precision"] == 0.1 and leo["locality"] is None
            assert "0.1 degree" in leo["data_generalizations"] and leo["information_withheld"]
            # the roe deer at the den is generalized too (site rule); the elk on the road is not
            assert rows[("leopard-cams", "Capreolus pygargus")]["lon"] == 131.1
            assert rows[("leopard-cams", "Cervus canadensis")]["lon"] == 131.05
        tiger = ("leopard-cams", "Panthera tigris altaica")
        if who == "partner" and setting == "public+dataset-grant":
            assert rows[tiger]["lon"] == S.SECRET_SITES[1]["lon"]
        else:
            assert tiger not in rows  # withheld: not in the view at all
            assert rows[("leopard-cams", "Sus scrofa")]["lon"] == 131.0  # at the kill site: 1 degree
