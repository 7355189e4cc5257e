"""/api/v1/observations pages: keyset cursor (`after`, `next_after`, `next`, Link header), the same rows as one
big page, the caller's view on every page, and license and citation with every format."""

from __future__ import annotations

import csv
import io

from econet.hub import sharing_sample as S


def bearer(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def _walk(client, token, **params):
    """Follow `next` links from the first page; returns the pages' bodies."""
    pages = []
    r = client.get("/api/v1/observations", params={"format": "json", **params}, headers=bearer(token))
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body)
        if body["next"] is None:
            assert "link" not in r.headers
            return pages
        assert r.headers["link"] == f'<{body["next"]}>; rel="next"'
        assert f"after={body['next_after']}" in body["next"]
        r = client.get(body["next"], headers=bearer(token))


def test_next_links_walk_the_whole_view(client, sample_hub):
    tokens = sample_hub["tokens"]
    for role in ("partner_viewer", "owner_viewer", None):
        token = tokens.get(role) if role else None
        whole = client.get("/api/v1/observations", params={"format": "json", "limit": 1000},
                           headers=bearer(token)).json()["observations"]
        pages = _walk(client, token, limit=2)
        walked = [o for p in pages for o in p["observations"]]
        assert walked == whole and len(pages) == len(whole) // 2 + 1, role
        ids = [o["hub_id"] for o in walked]
        assert ids == sorted(set(ids))
    # the partner's pages are the partner's view: the leopard generalized, the tiger absent, on every page
    partner = [o for p in _walk(client, tokens["partner_viewer"], limit=3) for o in p["observations"]]
    leo = [o for o in partner if o["scientific_name"] == "Panthera pardus orientalis" and o["dataset"] == "leopard-cams"]
    assert leo and all(o["lon"] != S.SECRET_SITES[0]["lon"] and o["coordinate_precision"] == 0.1 for o in leo)
    assert not [o for o in partner if o["scientific_name"] == "Panthera tigris altaica" and o["dataset"] == "leopard-cams"]


def test_filters_are_kept_across_pages(client, sample_hub):
    token = sample_hub["tokens"]["owner_viewer"]
    pages = _walk(client, token, limit=1, country="RU", dataset="leopard-cams")
    rows = [o for p in pages for o in p["observations"]]
    assert len(rows) == 5 and {o["dataset"] for o in rows} == {"leopard-cams"}
    assert {o["country_code"] for o in rows} == {"RU"}


def test_licenses_and_citation_with_every_format(client, sample_hub):
    token = sample_hub["tokens"]["partner_viewer"]
    params = {"dataset": "leopard-cams", "limit": 3}
    geo = client.get("/api/v1/observations", params=params, headers=bearer(token)).json()
    assert geo["type"] == "FeatureCollection" and geo["datasets"][0]["license"] == "CC-BY-NC-4.0"
    assert S.OWNER in geo["datasets"][0]["citation"]
    r = client.get("/api/v1/observations", params={**params, "format": "csv"}, headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["x-econet-license"] == "leopard-cams: CC-BY-NC-4.0"
    assert S.OWNER in r.headers["x-econet-citation"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3 and r.headers["x-econet-next"] == rows[-1]["hub_id"]
    one = client.get(f"/api/v1/observations/{rows[0]['hub_id']}", headers=bearer(token)).json()
    assert one["datasets"][0]["license"] == "CC-BY-NC-4.0"
    export = client.get("/api/v1/exports/observations", params={"format": "geojson", "dataset": "leopard-cams"},
                        headers=bearer(token))
    assert export.headers["x-econet-license"] == "leopard-cams: CC-BY-NC-4.0"
    saved = export.json()  # the file itself says under which terms it may be used
    assert saved["datasets"] == [{"dataset": "leopard-cams", "owner": S.OWNER, "license": "CC-BY-NC-4.0",
                                  "citation": geo["datasets"][0]["citation"]}]


def test_a_single_record_is_seen_as_the_view_sees_it(client, sample_hub):
    tokens = sample_hub["tokens"]
    owner = client.get("/api/v1/observations", params={"format": "json", "dataset": "leopard-cams"},
                       headers=bearer(tokens["owner_viewer"])).json()["observations"]
    tiger = next(o["hub_id"] for o in owner if o["scientific_name"] == "Panthera tigris altaica")
    leopard = next(o["hub_id"] for o in owner if o["scientific_name"] == "Panthera pardus orientalis")
    assert client.get(f"/api/v1/observations/{tiger}", headers=bearer(tokens["owner_viewer"])).status_code == 200
    for role in ("partner_viewer", "alliance_viewer"):  # withheld or hidden: the same 404 as an absent id
        assert client.get(f"/api/v1/observations/{tiger}", headers=bearer(tokens[role])).status_code == 404
    assert client.get("/api/v1/observations/99999999").status_code == 404
    r = client.get(f"/api/v1/observations/{leopard}", headers=bearer(tokens["partner_viewer"])).json()
    assert r["geometry"]["coordinates"] == [131.1, 43.2] and r["id"] == leopard


def test_reads_reach_the_audit_log_within_the_delay(client, sample_hub):
    import time
    from sqlalchemy import func, select
    from econet.hub import models as m, sharing
    from econet.hub.db import open_hub
    engine = open_hub(sample_hub["db"])

    def reads():
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(m.AuditEntry).where(
                m.AuditEntry.actor == "partner_viewer", m.AuditEntry.target == "observations")).scalar_one()

    sharing.flush_audit()  # entries of the module's earlier reads
    before = reads()
    for _ in range(3):
        assert client.get("/api/v1/observations", params={"limit": 2},
                          headers=bearer(sample_hub["tokens"]["partner_viewer"])).status_code == 200
    deadline = time.monotonic() + 10 * sharing.AUDIT_DELAY + 5
    while reads() < before + 3 and time.monotonic() < deadline:  # written by the buffer's timer, no flush
        time.sleep(sharing.AUDIT_DELAY / 2)
    assert reads() == before + 3
    log = client.get("/api/v1/audit", headers=bearer(sample_hub["tokens"]["owner_manager"])).json()["entries"]
    mine = [e for e in log if e["actor"] == "partner_viewer" and e["target"] == "observations"]
    assert mine and mine[0]["details"]["records"] == 2 and mine[0]["details"]["view"]["user"] == "partner_viewer"
