"""Bad input is refused with a clear 4xx, stores nothing and leaks nothing (issue 4, Proof)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from econet.hub import models as m
from econet.hub import sharing_sample as S

INJECTIONS = ["x'; DROP TABLE observations; --", "<script>alert(1)</script>", "\" OR 1=1 --",
              "leopard-cams' UNION SELECT password_hash FROM users --", "${jndi:ldap://x}", "\x00nul"]
CSV = "id,species,date,lon,lat,country,locality,n,animal\nb1,Sus scrofa,2023-05-01,131.5,43.5,RU,somewhere,1,\n"


def bearer(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def _counts(engine) -> dict:
    with engine.connect() as conn:
        return {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (m.Observation, m.Dataset, m.ImportBatch, m.Organization, m.User, m.AccessGrant,
                          m.SensitiveTaxon)}


def _no_leak(resp):
    body = resp.text
    for s in ("Traceback", "sqlalchemy", "sqlite3", "psycopg", "/tmp/", "econet-upload-", "password_hash"):
        assert s not in body, (s, body[:300])
    for site in S.SECRET_SITES + [S.PRIVATE_SITE]:
        assert site["locality"] not in body and repr(site["lon"]) not in body


def _upload(client, token, files, **data):
    form = {"dataset": "bad-input", "organization": S.OWNER, **data}
    return client.post("/api/v1/imports", headers=bearer(token), files=files, data=form)


def _zip(members: dict, compress=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def state(sample_hub):
    before = _counts(sample_hub["engine"])
    yield sample_hub
    assert _counts(sample_hub["engine"]) == before, "bad input must store nothing"


def test_forged_expired_revoked_tokens_are_refused(client, sample_hub):
    from econet.hub import accounts
    t = sample_hub["tokens"]["owner_viewer"]
    with sample_hub["engine"].begin() as conn:
        old = accounts.create_token(conn, "owner_viewer", days=1, now=m.utcnow() - dt.timedelta(days=2))["token"]
        gone = accounts.create_token(conn, "owner_viewer", days=1)
        accounts.revoke_token(conn, gone["id"])
    for bad in (t[:-2] + "xx", "ecn_" + "A" * 43, old, gone["token"], "not-a-token", "ecn_" + "x" * 5000):
        r = client.get("/api/v1/observations", headers=bearer(bad))
        assert r.status_code == 401 and r.json()["detail"] == "invalid, expired or revoked token"
        assert r.headers["www-authenticate"] == "Bearer"
        _no_leak(r)
    for header in ("Basic b3duZXI6cHc=", "Bearer", "Token " + t):
        r = client.get("/api/v1/observations", headers={"Authorization": header})
        assert r.status_code == 401
    r = client.get("/api/v1/users/me", headers=bearer(t))
    assert r.status_code == 200 and r.json()["username"] == "owner_viewer"


def test_sign_in_and_wrong_password(client):
    r = client.post("/api/v1/auth/token", data={"username": "owner_viewer", "password": "wrong password!"})
    assert r.status_code == 401 and "hash" not in r.text
    r = client.post("/api/v1/auth/token", data={"username": "nobody' OR '1'='1", "password": "x' OR '1'='1"})
    assert r.status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "owner_viewer", "password": "correct horse battery"})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = client.get("/api/v1/users/me", headers=bearer(r.json()["access_token"]))
    assert me.json()["username"] == "owner_viewer"


def test_oversized_upload(client, state):
    big = b"id,species\n" + b"x,Sus scrofa\n" * 20000  # > the test app's 200 kB cap
    r = _upload(client, state["tokens"]["owner_contributor"], {"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    _no_leak(r)


def test_malformed_uploads(client, state):
    tok = state["tokens"]["owner_contributor"]
    cases = [
        {"file": ("garbage.csv", b"\xff\xfe\x00garbage\x00" * 50, "text/csv"),
         "mapping": ("mapping.yaml", S.MAPPING.encode(), "text/yaml")},
        {"file": ("bad.csv", CSV.encode(), "text/csv"), "mapping": ("mapping.yaml", b"columns: [unclosed", "text/yaml")},
        {"file": ("notes.txt", b"just some words\n", "text/plain")},
        {"file": ("broken.zip", b"PK\x03\x04 not really a zip", "application/zip")},
        {"file": ("empty.csv", b"", "text/csv")},
    ]
    for files in cases:
        r = _upload(client, tok, files)
        assert 400 <= r.status_code < 500, (files["file"][0], r.status_code, r.text)
        assert r.json()["detail"]
        _no_leak(r)


def test_path_traversal_in_names_and_archives(client, state):
    tok = state["tokens"]["owner_contributor"]
    for name in ("../../etc/passwd", "/etc/passwd", "..\\..\\win.ini", "a/../../b.csv"):
        r = _upload(client, tok, {"file": (name, CSV.encode(), "text/csv")})
        assert r.status_code == 400 and "file name" in r.json()["detail"]
    for member in ("../evil.txt", "/abs/evil.txt", "ok/../../evil.txt", "C:/evil.txt"):
        data = _zip({"meta.xml": "<archive/>", member: "owned"})
        r = _upload(client, tok, {"file": ("archive.zip", data, "application/zip")})
        assert r.status_code == 400 and "path" in r.json()["detail"], (member, r.text)
        _no_leak(r)


def test_decompression_bomb(client, state):
    tok = state["tokens"]["owner_contributor"]
    bomb = _zip({"occurrence.txt": b"0" * 20_000_000})  # 20 MB of zeros -> ~20 kB
    assert len(bomb) < 200_000
    r = _upload(client, tok, {"file": ("bomb.zip", bomb, "application/zip")})
    assert r.status_code == 413 and ("bomb" in r.json()["detail"] or "limit" in r.json()["detail"])
    ratio = _zip({"occurrence.txt": b"0" * 3_000_000})  # under the size cap, but a bomb's ratio
    r = _upload(client, tok, {"file": ("ratio.zip", ratio, "application/zip")})
    assert r.status_code == 413 and "bomb" in r.json()["detail"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_every_text_field(client, state, payload):
    t = state["tokens"]
    admin, manager, contributor = t["admin"], t["owner_manager"], t["owner_contributor"]
    calls = [
        ("get", "/api/v1/observations", admin, {"params": {"taxon": payload}}),
        ("get", "/api/v1/observations", admin, {"params": {"dataset": payload}}),
        ("get", "/api/v1/observations", admin, {"params": {"individual": payload}}),
        ("get", "/api/v1/observations", admin, {"params": {"start": payload}}),
        ("get", "/api/v1/observations", admin, {"params": {"country": payload}}),
        ("get", "/api/v1/observations", admin, {"params": {"bbox": payload}}),
        ("get", "/api/v1/observations", admin, {"params": {"polygon": payload}}),
        ("get", "/api/v1/exports/observations", admin, {"params": {"taxon": payload}}),
        ("get", "/api/v1/sites", admin, {"params": {"dataset": payload}}),
        ("get", f"/api/v1/datasets/{quote(payload, safe='')}", admin, {}),
        ("post", "/api/v1/organizations", admin, {"json": {"name": payload}}),
        ("post", "/api/v1/users", admin, {"json": {"username": payload, "password": "long enough pw"}}),
        ("put", "/api/v1/datasets/leopard-cams/sharing", manager, {"json": {"citation": payload}}),
        ("put", "/api/v1/datasets/leopard-cams/sharing", manager, {"json": {"partners": [payload]}}),
        ("put", "/api/v1/datasets/leopard-cams/sharing", manager, {"json": {"visibility": payload}}),
        ("post", "/api/v1/grants", manager, {"json": {"grantee": payload, "dataset": "leopard-cams"}}),
        ("post", "/api/v1/grants", manager, {"json": {"grantee": S.PARTNER, "taxon": payload, "owner": S.OWNER}}),
        ("put", "/api/v1/sensitive-taxa", admin, {"json": {"taxon": payload, "country": "RU", "category": "0.1"}}),
        ("post", "/api/v1/analyses", admin, {"json": {"kind": "summary", "taxon": payload}}),
        ("post", "/api/v1/users/me/tokens", admin, {"json": {"name": payload}}),
    ]
    for method, url, tok, kw in calls:
        r = getattr(client, method)(url, headers=bearer(tok), **kw)
        assert 400 <= r.status_code < 500, (url, kw, r.status_code, r.text[:200])
        _no_leak(r)
    r = _upload(client, contributor, {"file": ("x.csv", CSV.encode(), "text/csv"),
                                      "mapping": ("mapping.yaml", S.MAPPING.encode(), "text/yaml")},
                dataset=payload)
    assert 400 <= r.status_code < 500
    r = _upload(client, contributor, {"file": ("x.csv", CSV.encode(), "text/csv")}, organization=payload)
    assert 400 <= r.status_code < 500


def test_contributor_role_needed_for_imports(client, state):
    for role in ("owner_viewer", "partner_manager", "outsider_admin"):
        r = _upload(client, state["tokens"][role], {"file": ("x.csv", CSV.encode(), "text/csv"),
                                                    "mapping": ("mapping.yaml", S.MAPPING.encode(), "text/yaml")})
        assert r.status_code == 403
    r = _upload(client, None, {"file": ("x.csv", CSV.encode(), "text/csv")})
    assert r.status_code == 401
